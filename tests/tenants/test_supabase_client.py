"""The official Python Supabase client, unmodified, against the running service."""

import pytest
from supabase import create_client
from supabase_auth.errors import AuthApiError

pytestmark = pytest.mark.slow


@pytest.fixture
def demo(served):
    return served.demo()


def test_sign_in_get_user_refresh_and_sign_out(demo):
    client = create_client(demo["url"], demo["api_key"])
    signed_in = client.auth.sign_in_with_password(
        {"email": demo["email"], "password": demo["password"]}
    )
    assert signed_in.user.email == demo["email"]
    assert signed_in.session.access_token
    assert client.auth.get_user().user.id == signed_in.user.id

    refreshed = client.auth.refresh_session()
    assert refreshed.session.refresh_token != signed_in.session.refresh_token

    client.auth.sign_out()
    assert client.auth.get_session() is None
    # The old access token no longer opens the user endpoint.
    with pytest.raises(AuthApiError):
        client.auth.get_user(refreshed.session.access_token)


def test_wrong_password_surfaces_gotrue_error_code(demo):
    client = create_client(demo["url"], demo["api_key"])
    with pytest.raises(AuthApiError) as raised:
        client.auth.sign_in_with_password(
            {"email": demo["email"], "password": "wrong password"}
        )
    assert raised.value.code == "invalid_credentials"
    assert raised.value.status == 400
    assert raised.value.message == "Invalid login credentials"
