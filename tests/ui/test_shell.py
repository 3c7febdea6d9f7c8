"""Sign in/out, the tenant switcher and tenant isolation of ``/t/<tenant>/``."""

import pytest
from django.test import Client

from tenants.models import Role
from tenants.services import membership_set
from tests.clients import ui_client
from tests.factories import PASSWORD, member_make


def test_sign_in_with_the_api_password_starts_a_session(tenant_a):
    user = member_make(tenant_a.tenant)
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/login/",
        {
            "email": user.email.upper(),
            "password": PASSWORD,
            "csrfmiddlewaretoken": token,
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/")["Location"] == "/t/tenant_a/"


def test_sign_in_without_csrf_token_is_refused(tenant_a):
    user = member_make(tenant_a.tenant)
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_wrong_password_is_told_in_words_and_throttled(tenant_a, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 2
    user = member_make(tenant_a.tenant)
    client = Client()
    for _ in range(2):
        response = client.post("/login/", {"email": user.email, "password": "nope"})
        assert response.status_code == 400
        assert b"Email or password is wrong." in response.content
    response = client.post("/login/", {"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert b"Too many failed sign-in attempts" in response.content


def test_next_must_stay_on_this_site(tenant_a):
    user = member_make(tenant_a.tenant)
    response = Client().post(
        "/login/",
        {"email": user.email, "password": PASSWORD, "next": "https://evil.example/"},
    )
    assert response["Location"] == "/"


@pytest.mark.parametrize("path", ["/", "/t/tenant_a/things/", "/t/tenant_a/settings/"])
def test_pages_need_a_signed_in_user(tenant_a, path):
    response = Client().get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_a_member_of_b_opening_a_urls_gets_404(tenant_a, client_b):
    for path in ["/t/tenant_a/", "/t/tenant_a/things/", "/t/tenant_a/accounts/"]:
        assert client_b.get(path).status_code == 404
    assert client_b.get("/t/no_such_tenant/things/").status_code == 404


def test_switcher_lists_only_the_users_tenants(tenant_a, tenant_b):
    user = member_make(tenant_a.tenant, Role.VIEWER, email="both@example.com")
    client = ui_client(user)
    home = client.get("/")
    assert home.status_code == 302  # one tenant: straight in
    membership_set(user=user, tenant=tenant_b.tenant, role=Role.EDITOR)
    listing = client.get("/").content.decode()
    assert "/t/tenant_a/" in listing and "/t/tenant_b/" in listing
    lonely = ui_client(member_make(tenant_b.tenant, email="only-b@example.com"))
    page = lonely.get("/t/tenant_b/things/").content.decode()
    assert "/t/tenant_b/" in page and "/t/tenant_a/" not in page


def test_sign_out_needs_post_and_ends_the_session(client_a):
    assert client_a.get("/logout/").status_code == 405
    assert client_a.post("/logout/")["Location"] == "/login/"
    assert client_a.get("/t/tenant_a/things/").status_code == 302


def test_our_css_and_htmx_are_served_without_a_cdn(client_a):
    page = client_a.get("/t/tenant_a/things/").content.decode()
    assert "/static/ui/app.css" in page
    assert "/static/django_htmx/htmx-2.min.js" in page or "htmx" in page
    assert "https://" not in page.split("<body")[0]


@pytest.mark.parametrize(
    ("path", "html"),
    [
        ("/t/tenant_a/things/", True),
        ("/admin/gathergrid/thing/", True),
        ("/rest/v1/things", False),
        ("/gg_pk_x/user", False),
        ("/badkey/user", False),  # Bucket with an unknown key: still JSON
    ],
)
def test_an_application_error_is_html_in_words_only_on_browser_pages(path, html):
    from django.test import RequestFactory

    from core.edge import ErrorMiddleware
    from core.errors import ApplicationError

    middleware = ErrorMiddleware(lambda request: None)
    error = ApplicationError("That thing cannot be changed now.", status=409)
    response = middleware.process_exception(RequestFactory().get(path), error)
    assert response.status_code == 409
    content_type = response["Content-Type"]
    assert content_type.startswith("text/html" if html else "application/json")
    assert "That thing cannot be changed now." in response.content.decode()


def test_an_htmx_call_without_a_session_is_401_json_not_the_sign_in_page(tenant_a):
    path = "/t/tenant_a/things/1/entries/1/cell/f1/"
    response = Client().post(path, {"value": "x"}, headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.json()["code"] == "signed_out"
    # A page (no htmx) still goes to the sign-in page.
    assert Client().get("/t/tenant_a/things/").status_code == 302


def test_signing_in_again_in_place_answers_json_with_the_new_csrf_token(tenant_a):
    user = member_make(tenant_a.tenant)
    client = Client(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    wrong = client.post(
        "/login/", {"email": user.email, "password": "nope"}, headers=headers
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "sign_in_failed"
    right = client.post(
        "/login/", {"email": user.email, "password": PASSWORD}, headers=headers
    )
    assert right.status_code == 200
    fresh = right.json()["csrf_token"]
    assert fresh
    assert client.get("/t/tenant_a/things/").status_code == 200


def test_tenant_pages_show_no_template_comment_text(tenant_a):
    html = ui_client(member_make(tenant_a.tenant)).get("/t/tenant_a/things/")
    assert "{#" not in html.content.decode()
    assert "Cloned into the dialog" not in html.content.decode()
