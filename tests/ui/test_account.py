"""Changing one's own password in the browser: any signed-in member (viewers
too), the old password once and the new one twice, Django's validators; a
member added with a temporary password is sent there after signing in."""

import html
import re

import pytest
from django.test import Client

from tenants.models import Role, User
from tests.clients import password_login, ui_client
from tests.factories import PASSWORD, member_make

PAGE = "/account/password/"
NEW = "a brand new horse battery"


def text(response) -> str:
    return html.unescape(response.content.decode())


def change(client: Client, old: str = PASSWORD, new: str = NEW, again: str = NEW):
    return client.post(
        PAGE,
        {"old_password": old, "new_password1": new, "new_password2": again},
    )


@pytest.mark.parametrize("role", [Role.VIEWER, Role.EDITOR, Role.ADMIN])
def test_any_member_changes_their_own_password_and_stays_signed_in(tenant_a, role):
    user = member_make(tenant_a.tenant, role)
    client = ui_client(user)
    page = client.get("/t/tenant_a/things/")
    assert f'href="{PAGE}?next=/t/tenant_a/things/"' in text(page)
    assert client.get(PAGE).status_code == 200
    response = client.post(
        PAGE,
        {
            "old_password": PASSWORD,
            "new_password1": NEW,
            "new_password2": NEW,
            "next": "/t/tenant_a/things/",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/t/tenant_a/things/"
    user.refresh_from_db()
    assert user.check_password(NEW)
    after = client.get("/t/tenant_a/things/")
    assert after.status_code == 200  # the session survived the new hash
    assert "Your password has been changed." in text(after)
    assert (
        Client().post("/login/", {"email": user.email, "password": NEW}).status_code
        == 302
    )


@pytest.mark.parametrize(
    ("old", "new", "again", "field", "words"),
    [
        ("wrong", NEW, NEW, "old_password", "old password was entered incorrectly"),
        (PASSWORD, NEW, NEW + "x", "new_password2", "two password fields didn"),
        (PASSWORD, "123", "123", "new_password2", "too short"),
        (PASSWORD, "password", "password", "new_password2", "too common"),
    ],
)
def test_a_refused_change_says_why_next_to_the_field_and_changes_nothing(
    tenant_a, old, new, again, field, words
):
    user = member_make(tenant_a.tenant, Role.VIEWER)
    response = change(ui_client(user), old, new, again)
    assert response.status_code == 400
    assert f'id="id_{field}-error"' in text(response)
    assert words in text(response)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_signed_out_visitors_are_sent_to_sign_in(db):
    response = Client().get(PAGE)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_member_with_a_temporary_password_is_nudged_until_they_choose_one(
    tenant_a, client_a
):
    added = client_a.post(
        "/t/tenant_a/settings/members/add/",
        {"email": "temp@example.com", "role": "viewer"},
    )
    page = text(client_a.get(added["Location"]))
    temporary = re.search(r'id="fresh-password">([^<]+)<', page).group(1)
    browser = Client()
    signed_in = browser.post(
        "/login/",
        {"email": "temp@example.com", "password": temporary, "next": "/t/tenant_a/"},
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == f"{PAGE}?next=%2Ft%2Ftenant_a%2F"
    assert 'id="temporary-password-note"' in text(browser.get(signed_in["Location"]))
    things = text(browser.get("/t/tenant_a/things/"))
    assert 'id="temporary-password-nudge"' in things
    assert change(browser, old=temporary).status_code == 302
    assert not User.objects.get(email="temp@example.com").password_temporary
    assert 'id="temporary-password-nudge"' not in text(
        browser.get("/t/tenant_a/things/")
    )


def test_the_api_password_change_also_ends_the_temporary_password(tenant_a):
    user = member_make(tenant_a.tenant, Role.VIEWER)
    User.objects.filter(pk=user.pk).update(password_temporary=True)
    client = Client()
    token = password_login(client, tenant_a.api_key, user.email).json()
    response = client.put(
        "/auth/v1/user",
        data={"password": NEW},
        content_type="application/json",
        headers={
            "apikey": tenant_a.api_key,
            "Authorization": f"Bearer {token['access_token']}",
        },
    )
    assert response.status_code == 200, response.content
    user.refresh_from_db()
    assert not user.password_temporary
