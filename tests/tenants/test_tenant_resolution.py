"""Tenant isolation on /rest/v1: no combination of API key, token and profile
header reaches another tenant's schema."""

import json
import time

import jwt
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client

from tenants.models import Membership, Role
from tenants.services import key_issue, key_revoke, membership_remove
from tests.clients import sign_in
from tests.factories import member_make

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.probe_urls")]

PROBE = "/rest/v1/_probe"


def things_in(schema: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT name FROM "{schema}".things ORDER BY name')
        return [row[0] for row in cursor.fetchall()]


def test_profile_header_selects_the_tenant(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = session.get(PROBE, **{"Accept-Profile": "tenant_a"})
    assert response.status_code == 200
    assert response.json()["schema"] == "tenant_a"
    search_path = response.json()["search_path"].replace('"', "").replace(" ", "")
    assert search_path == "tenant_a,public"  # what PostgreSQL really uses
    assert response.json()["role"] == "admin"


@pytest.mark.parametrize("profile", [None, "public"])
def test_absent_or_public_profile_defaults_to_the_tokens_default_tenant(
    tenant_a, profile
):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    headers = {} if profile is None else {"Accept-Profile": profile}
    response = session.get(PROBE, **headers)
    assert response.status_code == 200
    assert response.json()["schema"] == "tenant_a"


def test_an_empty_profile_is_refused_not_defaulted(tenant_a):
    # As PostgREST: a profile header names a schema, and "" is none of them. The
    # WSGI server also hands over a non-ASCII value as "": serving the default
    # tenant would answer for a tenant the client did not name.
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = session.get(PROBE, **{"Accept-Profile": ""})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST106"


def test_writes_use_content_profile_and_land_only_in_that_tenant(tenant_a, tenant_b):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant, Role.EDITOR))
    response = session.post(
        PROBE,
        {"name": "only-in-a"},
        **{"Content-Profile": "tenant_a", "Accept-Profile": "tenant_b"},
    )
    assert response.status_code == 200
    assert response.json()["schema"] == "tenant_a"
    assert "only-in-a" in things_in("tenant_a")
    assert "only-in-a" not in things_in("tenant_b")


def test_write_with_another_tenants_content_profile_is_406(tenant_a, tenant_b):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = session.post(
        PROBE, {"name": "sneaky"}, **{"Content-Profile": "tenant_b"}
    )
    assert response.status_code == 406
    assert "sneaky" not in things_in("tenant_b") + things_in("tenant_a")


def test_other_tenant_and_unknown_tenant_get_identical_answers(tenant_a, tenant_b):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    theirs = session.get(PROBE, **{"Accept-Profile": "tenant_b"})
    unknown = session.get(PROBE, **{"Accept-Profile": "tenant_zz"})
    assert theirs.status_code == unknown.status_code == 406
    body_theirs, body_unknown = theirs.json(), unknown.json()
    assert body_theirs["code"] == body_unknown["code"] == "PGRST106"
    assert body_theirs["message"].replace("tenant_b", "X") == body_unknown[
        "message"
    ].replace("tenant_zz", "X")
    assert body_theirs["hint"] == body_unknown["hint"]
    assert "tenant_b" not in body_theirs["hint"]
    assert set(body_theirs) == {"code", "message", "details", "hint"}


@pytest.mark.parametrize(
    "profile",
    ['tenant_a"; DROP SCHEMA tenant_b CASCADE; --', "pg_catalog", "Tenant_A", "a" * 64],
)
def test_malicious_or_invalid_profiles_are_406_and_reach_no_sql(tenant_a, profile):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = session.get(PROBE, **{"Accept-Profile": profile})
    assert response.status_code == 406
    assert things_in("tenant_b") is not None  # the schema is still there


def test_member_of_both_needs_the_matching_api_key(tenant_a, tenant_b):
    user = member_make(tenant_a.tenant, email="both@example.com")
    member_make(tenant_b.tenant, email="both@example.com")
    session = sign_in(tenant_a.api_key, user)
    # A's key cannot open B, even for a member of B ...
    response = session.get(PROBE, **{"Accept-Profile": "tenant_b"})
    assert response.status_code == 401
    # ... B's key with the same token can.
    session.api_key = tenant_b.api_key
    assert session.get(PROBE, **{"Accept-Profile": "tenant_b"}).json()["schema"] == (
        "tenant_b"
    )


def test_other_tenants_key_with_own_token_cannot_reach_either_schema_wrongly(
    tenant_a, tenant_b
):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    session.api_key = tenant_b.api_key
    assert session.get(PROBE, **{"Accept-Profile": "tenant_b"}).status_code == 406
    assert session.get(PROBE, **{"Accept-Profile": "tenant_a"}).status_code == 401
    assert session.get(PROBE).status_code == 401


def test_tracking_key_is_not_an_api_key(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    session.api_key = tenant_a.tracking_key
    response = session.get(PROBE)
    assert response.status_code == 401
    assert response.json()["message"] == "Invalid API key"


def test_removed_member_loses_access_at_once(tenant_a):
    user = member_make(tenant_a.tenant)
    session = sign_in(tenant_a.api_key, user)
    assert session.get(PROBE).status_code == 200
    membership_remove(user=user, tenant=tenant_a.tenant)
    assert session.get(PROBE).status_code == 406


def test_revoked_key_stops_working_at_once_and_a_second_key_keeps_working(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    key, second = key_issue(tenant=tenant_a.tenant, kind="api")
    session.api_key = second
    assert session.get(PROBE).status_code == 200
    key_revoke(prefix=key.prefix)
    assert session.get(PROBE).status_code == 401
    session.api_key = tenant_a.api_key
    assert session.get(PROBE).status_code == 200


def test_signed_out_session_cannot_use_its_access_token(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    assert session.post("/auth/v1/logout").status_code == 204
    response = session.get(PROBE)
    assert response.status_code == 401
    assert response.json()["code"] == "PGRST303"


def test_missing_api_key_is_401(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = Client().get(
        PROBE, headers={"Authorization": f"Bearer {session.access_token}"}
    )
    assert response.status_code == 401
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_api_key_in_query_string_is_accepted(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = Client().get(
        f"{PROBE}?apikey={tenant_a.api_key}",
        headers={"Authorization": f"Bearer {session.access_token}"},
    )
    assert response.status_code == 200


@pytest.mark.parametrize("bearer", ["", "api_key"])
def test_no_jwt_is_401_with_www_authenticate(tenant_a, bearer):
    headers = {"apikey": tenant_a.api_key}
    if bearer:
        # What supabase-js sends before sign-in.
        headers["Authorization"] = f"Bearer {tenant_a.api_key}"
    response = Client().get(PROBE, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == "PGRST302"
    assert response["WWW-Authenticate"].startswith("Bearer")


def _claims(session) -> dict:
    return jwt.decode(session.access_token, options={"verify_signature": False})


def test_forged_jwt_is_401_pgrst301(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    claims = _claims(session) | {"tenants": ["tenant_a", "tenant_b"]}
    session.access_token = jwt.encode(
        claims, "someone-elses-secret-that-is-32-bytes-long", algorithm="HS256"
    )
    response = session.get(PROBE)
    assert response.status_code == 401
    assert response.json()["code"] == "PGRST301"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_garbage_jwt_is_401_pgrst301(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    session.access_token = "not.a.jwt"
    assert session.get(PROBE).json()["code"] == "PGRST301"


def test_expired_jwt_is_401_pgrst303(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    now = int(time.time())
    claims = _claims(session) | {"iat": now - 7200, "exp": now - 3600}
    session.access_token = jwt.encode(
        claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"
    )
    response = session.get(PROBE)
    assert response.status_code == 401
    assert response.json()["code"] == "PGRST303"
    assert response.json()["message"] == "JWT expired"


def test_token_claiming_extra_tenants_grants_nothing(tenant_a, tenant_b):
    """Membership is re-checked server-side: the token's list is only a hint."""
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    claims = _claims(session) | {
        "tenants": ["tenant_a", "tenant_b"],
        "default_tenant": "tenant_b",
    }
    session.access_token = jwt.encode(
        claims, settings.SIMPLE_JWT["SIGNING_KEY"], algorithm="HS256"
    )
    session.api_key = tenant_b.api_key
    assert session.get(PROBE).status_code == 406


def test_roles_are_reported_per_tenant(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant, Role.VIEWER))
    assert session.get(PROBE).json()["role"] == "viewer"
    Membership.objects.filter(tenant=tenant_a.tenant).update(role=Role.EDITOR)
    assert session.get(PROBE).json()["role"] == "editor"


def test_resolution_costs_one_statement_and_search_path_is_reset(
    tenant_a, django_assert_num_queries
):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    # One statement checks access and sets the search_path; the unknown table
    # is answered without touching the database.
    with django_assert_num_queries(1):
        response = session.client.get(
            "/rest/v1/nothing_here", headers=session.headers()
        )
    assert response.status_code == 404
    assert connection.schema_name == "public"


def test_view_exception_on_api_path_is_json_500(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    session.client.raise_request_exception = False
    response = session.get(f"{PROBE}?boom=1")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_unknown_rest_path_is_json_404(tenant_a):
    session = sign_in(tenant_a.api_key, member_make(tenant_a.tenant))
    response = session.get("/rest/v1/no_such_table")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json; charset=utf-8"
    body = json.loads(response.content)
    assert set(body) == {"code", "message", "details", "hint"}
