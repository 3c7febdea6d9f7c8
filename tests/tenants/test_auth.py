"""/auth/v1: GoTrue-compatible sign-in, refresh rotation, user, logout, throttling."""

import json
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.test import Client
from django.utils import timezone

from tenants.models import AuthSession, RefreshToken, Role, hash_secret
from tenants.tokens import refresh_token_open
from tests.clients import Session, password_login, sign_in
from tests.factories import PASSWORD, member_make

pytestmark = pytest.mark.django_db


def _refresh(client: Client, api_key: str, refresh_token: str):
    return client.post(
        "/auth/v1/token?grant_type=refresh_token",
        data=json.dumps({"refresh_token": refresh_token}),
        content_type="application/json",
        headers={"apikey": api_key},
    )


def test_password_grant_returns_gotrue_session(tenant_a):
    user = member_make(tenant_a.tenant, Role.EDITOR)
    response = password_login(Client(), tenant_a.api_key, user.email)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert isinstance(body["expires_at"], int)
    assert body["refresh_token"]
    assert body["user"]["id"] == str(user.id)
    assert body["user"]["email"] == user.email
    assert body["user"]["aud"] == "authenticated"
    assert body["user"]["role"] == "authenticated"
    assert body["user"]["app_metadata"]["tenants"] == ["tenant_a"]
    for key in ("user_metadata", "created_at", "identities"):
        assert key in body["user"]


def test_access_token_carries_identity_tenants_and_default_tenant(tenant_a, tenant_b):
    user = member_make(tenant_a.tenant, Role.ADMIN, email="both@example.com")
    member_make(tenant_b.tenant, Role.VIEWER, email="both@example.com")
    session = sign_in(tenant_b.api_key, user)
    claims = jwt.decode(
        session.access_token,
        settings.SIMPLE_JWT["SIGNING_KEY"],
        algorithms=["HS256"],
        audience="authenticated",
    )
    assert claims["sub"] == str(user.id)
    assert claims["email"] == "both@example.com"
    assert claims["role"] == "authenticated"
    assert claims["aud"] == "authenticated"
    assert claims["exp"] - claims["iat"] == 3600
    assert claims["tenants"] == ["tenant_a", "tenant_b"]
    assert claims["default_tenant"] == "tenant_b"  # the API key's tenant
    assert AuthSession.objects.filter(pk=claims["session_id"], user=user).exists()


def test_email_is_case_insensitive(tenant_a):
    user = member_make(tenant_a.tenant)
    response = password_login(Client(), tenant_a.api_key, user.email.upper())
    assert response.status_code == 200


def test_wrong_password_is_invalid_credentials(tenant_a):
    user = member_make(tenant_a.tenant)
    response = password_login(Client(), tenant_a.api_key, user.email, "wrong")
    assert response.status_code == 400
    assert response.json() == {
        "code": "invalid_credentials",
        "message": "Invalid login credentials",
    }
    assert response["X-Supabase-Api-Version"] == "2024-01-01"


def test_non_member_is_told_the_same_as_a_wrong_password(tenant_a, tenant_b):
    user = member_make(tenant_a.tenant)
    response = password_login(Client(), tenant_b.api_key, user.email)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"
    unknown = password_login(Client(), tenant_b.api_key, "nobody@example.com")
    assert unknown.json() == response.json()


def test_missing_api_key_is_401_json(tenant_a):
    response = Client().post(
        "/auth/v1/token?grant_type=password",
        data="{}",
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["code"] == "no_api_key"


@pytest.mark.parametrize("key_attr", ["unknown", "tracking_key"])
def test_unknown_or_tracking_key_is_401(tenant_a, key_attr):
    user = member_make(tenant_a.tenant)
    key = "gg_sk_" + "x" * 40 if key_attr == "unknown" else tenant_a.tracking_key
    response = password_login(Client(), key, user.email)
    assert response.status_code == 401
    assert response.json() == {"code": "invalid_api_key", "message": "Invalid API key"}


def test_malformed_json_is_400(tenant_a):
    response = Client().post(
        "/auth/v1/token?grant_type=password",
        data="{not json",
        content_type="application/json",
        headers={"apikey": tenant_a.api_key},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"


def test_nul_in_credentials_is_400_not_500(tenant_a):
    user = member_make(tenant_a.tenant)
    response = password_login(Client(), tenant_a.api_key, user.email + "\x00")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_json"


def test_unknown_grant_type_is_400(tenant_a):
    response = Client().post(
        "/auth/v1/token?grant_type=magic",
        data="{}",
        content_type="application/json",
        headers={"apikey": tenant_a.api_key},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_grant_type"


def test_wrong_method_on_auth_endpoint_is_json(tenant_a):
    response = Client().get("/auth/v1/token", headers={"apikey": tenant_a.api_key})
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"


def test_repeated_failures_are_throttled_even_with_the_right_password(
    tenant_a, settings
):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    user = member_make(tenant_a.tenant)
    client = Client()
    for _ in range(3):
        assert (
            password_login(client, tenant_a.api_key, user.email, "bad").status_code
            == 400
        )
    response = password_login(client, tenant_a.api_key, user.email)
    assert response.status_code == 429
    assert response.json()["code"] == "over_request_rate_limit"
    assert int(response["Retry-After"]) > 0


def test_successful_login_clears_earlier_failures(tenant_a, settings):
    settings.LOGIN_THROTTLE_MAX_FAILURES = 3
    user = member_make(tenant_a.tenant)
    client = Client()
    for _ in range(2):
        password_login(client, tenant_a.api_key, user.email, "bad")
    assert password_login(client, tenant_a.api_key, user.email).status_code == 200
    for _ in range(2):
        password_login(client, tenant_a.api_key, user.email, "bad")
    assert password_login(client, tenant_a.api_key, user.email).status_code == 200


def test_passwords_are_hashed_with_argon2(tenant_a, settings):
    """In production: the suite itself hashes with MD5 (tests/settings.py)."""
    from config import settings as production

    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS
    user = member_make(tenant_a.tenant)
    assert user.password.startswith("argon2$")
    assert PASSWORD not in user.password


def _used_long_ago(refresh_token: str) -> None:
    """Move the first use of ``refresh_token`` out of the reuse interval."""
    past = timezone.now() - settings.JWT_REFRESH_TOKEN_REUSE_INTERVAL
    updated = RefreshToken.objects.filter(
        token_hash=hash_secret(refresh_token), used_at__isnull=False
    ).update(used_at=past - timedelta(seconds=1))
    assert updated == 1


def _signed_in_as(api_key: str, body: dict) -> Session:
    return Session(
        client=Client(),
        api_key=api_key,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        body=body,
    )


def test_refresh_rotates_and_a_used_token_cannot_be_replayed(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    client = Client()
    first = _refresh(client, tenant_a.api_key, session.refresh_token)
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refresh_token"] != session.refresh_token
    assert rotated["access_token"] != session.access_token

    _used_long_ago(session.refresh_token)
    replay = _refresh(client, tenant_a.api_key, session.refresh_token)
    assert replay.status_code == 400
    assert replay.json() == {
        "code": "refresh_token_already_used",
        "message": "Invalid Refresh Token: Already Used",
    }
    # A replay is taken as theft: the whole session, rotated token included, ends.
    after = _refresh(client, tenant_a.api_key, rotated["refresh_token"])
    assert after.status_code == 400
    assert after.json()["code"] == "refresh_token_not_found"
    assert session.get("/auth/v1/user").status_code == 401
    stolen = _signed_in_as(tenant_a.api_key, rotated)
    assert stolen.get("/rest/v1/things").json()["code"] == "PGRST303"


def test_refreshing_twice_within_the_reuse_interval_keeps_the_session(tenant_a):
    """Two tabs, or SSR and middleware, refresh with the same token at once:
    both are answered with the session's current refresh token."""
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    first = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    second = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert first.status_code == second.status_code == 200
    assert second.json()["refresh_token"] == first.json()["refresh_token"]
    assert second.json()["access_token"] != first.json()["access_token"]
    assert second.json()["user"]["id"] == str(user.id)
    for body in (first.json(), second.json()):
        signed_in = _signed_in_as(tenant_a.api_key, body)
        assert signed_in.get("/auth/v1/user").status_code == 200
        assert signed_in.get("/rest/v1/things").status_code == 200
    # The family did not fork: one current token, and it still refreshes.
    tokens = RefreshToken.objects.filter(session__user=user)
    assert tokens.count() == 2
    assert tokens.filter(used_at__isnull=True).count() == 1
    onwards = _refresh(Client(), tenant_a.api_key, first.json()["refresh_token"])
    assert onwards.status_code == 200
    assert onwards.json()["refresh_token"] != first.json()["refresh_token"]


def test_reuse_within_the_interval_follows_the_chain_to_the_current_token(
    tenant_a,
):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    second = _refresh(Client(), tenant_a.api_key, session.refresh_token).json()
    third = _refresh(Client(), tenant_a.api_key, second["refresh_token"]).json()
    again = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert again.status_code == 200
    assert again.json()["refresh_token"] == third["refresh_token"]


def test_the_interval_counts_from_the_first_use(tenant_a, settings):
    settings.JWT_REFRESH_TOKEN_REUSE_INTERVAL = timedelta(seconds=30)
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    assert (
        _refresh(Client(), tenant_a.api_key, session.refresh_token).status_code == 200
    )
    token = RefreshToken.objects.get(token_hash=hash_secret(session.refresh_token))
    token.used_at -= timedelta(seconds=29)
    token.save()
    assert (
        _refresh(Client(), tenant_a.api_key, session.refresh_token).status_code == 200
    )
    token.used_at -= timedelta(seconds=2)
    token.save()
    late = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert late.json()["code"] == "refresh_token_already_used"


def test_reuse_interval_zero_takes_every_reuse_as_theft(tenant_a, settings):
    settings.JWT_REFRESH_TOKEN_REUSE_INTERVAL = timedelta(0)
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    first = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    second = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert first.status_code == 200
    assert second.status_code == 400
    assert second.json()["code"] == "refresh_token_already_used"
    signed_in = _signed_in_as(tenant_a.api_key, first.json())
    assert signed_in.get("/rest/v1/things").json()["code"] == "PGRST303"


@pytest.mark.parametrize("ended_by", ["logout", "theft"])
def test_no_token_of_an_ended_session_refreshes_even_within_the_interval(
    tenant_a, ended_by
):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    first = _refresh(Client(), tenant_a.api_key, session.refresh_token).json()
    second = _refresh(Client(), tenant_a.api_key, first["refresh_token"]).json()
    if ended_by == "logout":
        assert (
            _signed_in_as(tenant_a.api_key, second)
            .post("/auth/v1/logout?scope=local")
            .status_code
            == 204
        )
    else:
        _used_long_ago(session.refresh_token)
        stolen = _refresh(Client(), tenant_a.api_key, session.refresh_token)
        assert stolen.json()["code"] == "refresh_token_already_used"
    # Within the interval of their use, current or not: all refused.
    for token in (
        first["refresh_token"],
        second["refresh_token"],
        session.refresh_token,
    ):
        response = _refresh(Client(), tenant_a.api_key, token)
        assert response.status_code == 400
        assert response.json()["code"] == "refresh_token_not_found"
    # Nothing was issued after the end: the session still has its three tokens.
    assert RefreshToken.objects.filter(session__user=user).count() == 3


def test_reuse_with_another_tenants_key_is_not_found_and_harmless(tenant_a, tenant_b):
    """Within the interval or after it, a used token of tenant A's session
    shown with tenant B's key is unknown there: no token, and A's session lives."""
    user = member_make(tenant_a.tenant, email="both-reuse@example.com")
    member_make(tenant_b.tenant, email="both-reuse@example.com")
    session = sign_in(tenant_a.api_key, user)
    first = _refresh(Client(), tenant_a.api_key, session.refresh_token).json()
    within = _refresh(Client(), tenant_b.api_key, session.refresh_token)
    assert within.status_code == 400
    assert within.json()["code"] == "refresh_token_not_found"
    _used_long_ago(session.refresh_token)
    after = _refresh(Client(), tenant_b.api_key, session.refresh_token)
    assert after.json()["code"] == "refresh_token_not_found"
    current = _refresh(Client(), tenant_b.api_key, first["refresh_token"])
    assert current.json()["code"] == "refresh_token_not_found"
    signed_in = _signed_in_as(tenant_a.api_key, first)
    assert signed_in.get("/auth/v1/user").status_code == 200
    assert (
        _refresh(Client(), tenant_a.api_key, first["refresh_token"]).status_code == 200
    )


def test_refresh_tokens_are_stored_neither_plain_nor_openable(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    child = _refresh(Client(), tenant_a.api_key, session.refresh_token).json()
    stored = RefreshToken.objects.get(token_hash=hash_secret(child["refresh_token"]))
    assert stored.parent.token_hash == hash_secret(session.refresh_token)
    assert child["refresh_token"] not in stored.sealed
    assert (
        refresh_token_open(stored.sealed, parent=child["refresh_token"])
        != (child["refresh_token"])
    )


def test_refresh_after_sign_out_is_not_found_as_in_gotrue(tenant_a):
    """GoTrue's sign-out deletes the session: its refresh tokens are then not
    found (supabase-js would turn `session_not_found` into a code-less "Auth
    session missing!")."""
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    assert session.post("/auth/v1/logout").status_code == 204
    response = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert response.status_code == 400
    assert response.json() == {
        "code": "refresh_token_not_found",
        "message": "Invalid Refresh Token: Refresh Token Not Found",
    }


def test_refresh_of_a_deactivated_user_is_user_banned(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    user.is_active = False
    user.save()
    response = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert response.status_code == 400
    assert response.json() == {
        "code": "user_banned",
        "message": "Invalid Refresh Token: User Banned",
    }


def test_refresh_with_unknown_token_is_400(tenant_a):
    response = _refresh(Client(), tenant_a.api_key, "nope")
    assert response.status_code == 400
    assert response.json()["code"] == "refresh_token_not_found"


def test_refresh_with_another_tenants_key_is_refused(tenant_a, tenant_b):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    response = _refresh(Client(), tenant_b.api_key, session.refresh_token)
    assert response.status_code == 400
    assert response.json()["code"] == "refresh_token_not_found"


def test_refresh_after_removal_from_tenant_is_refused(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    user.memberships.all().delete()
    response = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert response.status_code == 400


def test_get_user_returns_the_signed_in_user(tenant_a):
    user = member_make(tenant_a.tenant, Role.VIEWER)
    session = sign_in(tenant_a.api_key, user)
    response = session.get("/auth/v1/user")
    assert response.status_code == 200
    assert response.json()["email"] == user.email
    assert response.json()["app_metadata"]["roles"] == {"tenant_a": "viewer"}


def test_get_user_without_token_is_401(tenant_a):
    response = Client().get("/auth/v1/user", headers={"apikey": tenant_a.api_key})
    assert response.status_code == 401
    assert response.json()["code"] == "no_authorization"


def test_get_user_with_forged_token_is_401(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    claims = jwt.decode(session.access_token, options={"verify_signature": False})
    forged = jwt.encode(
        claims, "a-different-secret-that-is-long-enough-for-hs256", algorithm="HS256"
    )
    response = Client().get(
        "/auth/v1/user",
        headers={"apikey": tenant_a.api_key, "Authorization": f"Bearer {forged}"},
    )
    assert response.status_code == 401
    assert response.json()["code"] == "bad_jwt"


def test_logout_revokes_the_session_and_its_refresh_tokens(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    response = session.post("/auth/v1/logout")
    assert response.status_code == 204
    assert session.get("/auth/v1/user").status_code == 401
    refresh = _refresh(Client(), tenant_a.api_key, session.refresh_token)
    assert refresh.status_code == 400


def test_logout_local_keeps_other_sessions(tenant_a):
    user = member_make(tenant_a.tenant)
    first = sign_in(tenant_a.api_key, user)
    second = sign_in(tenant_a.api_key, user)
    assert first.post("/auth/v1/logout?scope=local").status_code == 204
    assert first.get("/auth/v1/user").status_code == 401
    assert second.get("/auth/v1/user").status_code == 200


def test_logout_others_keeps_this_session(tenant_a):
    user = member_make(tenant_a.tenant)
    first = sign_in(tenant_a.api_key, user)
    second = sign_in(tenant_a.api_key, user)
    assert first.post("/auth/v1/logout?scope=others").status_code == 204
    assert first.get("/auth/v1/user").status_code == 200
    assert second.get("/auth/v1/user").status_code == 401


def test_inactive_user_cannot_sign_in(tenant_a):
    user = member_make(tenant_a.tenant)
    user.is_active = False
    user.save()
    response = password_login(Client(), tenant_a.api_key, user.email)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_credentials"


def test_signup_is_disabled(tenant_a):
    response = Client().post(
        "/auth/v1/signup",
        data=json.dumps({"email": "new@example.com", "password": "whatever123"}),
        content_type="application/json",
        headers={"apikey": tenant_a.api_key},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "signup_disabled"


def test_settings_say_email_only_and_no_signup(tenant_a):
    response = Client().get("/auth/v1/settings", headers={"apikey": tenant_a.api_key})
    assert response.status_code == 200
    assert response.json()["disable_signup"] is True


def test_user_changes_own_password_and_metadata(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    response = session.client.put(
        "/auth/v1/user",
        data=json.dumps(
            {"password": "a brand new passphrase", "data": {"theme": "dark"}}
        ),
        content_type="application/json",
        headers=session.headers(),
    )
    assert response.status_code == 200
    assert response.json()["user_metadata"] == {"theme": "dark"}
    assert password_login(Client(), tenant_a.api_key, user.email).status_code == 400
    assert (
        password_login(
            Client(), tenant_a.api_key, user.email, "a brand new passphrase"
        ).status_code
        == 200
    )


def test_weak_new_password_is_refused_and_old_one_still_works(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    response = session.client.put(
        "/auth/v1/user",
        data=json.dumps({"password": "123"}),
        content_type="application/json",
        headers=session.headers(),
    )
    assert response.status_code == 422
    assert response.json()["code"] == "weak_password"
    assert password_login(Client(), tenant_a.api_key, user.email).status_code == 200
