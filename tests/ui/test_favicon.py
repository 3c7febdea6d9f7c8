"""Every page names an icon, and /favicon.ico (which browsers ask for whatever
the page says) leads to it: no 404 on every page."""

from django.test import Client


def test_favicon_ico_leads_to_the_icon(db):
    client = Client()
    response = client.get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[0][1] == 301
    assert response["Content-Type"].startswith("image/svg+xml")
    assert b"<svg" in b"".join(response.streaming_content)


def test_pages_link_the_icon(db, client_a, root):
    for client, path in [
        (Client(), "/login/"),
        (client_a, "/t/tenant_a/things/"),
        (root, "/admin/"),
    ]:
        page = client.get(path).content.decode()
        assert '<link rel="icon" href="/static/ui/favicon.svg"' in page, path
