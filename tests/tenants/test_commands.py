"""The tenant lifecycle commands documented in the README."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tenants.models import KeyKind, Membership, TenantKey
from tenants.selectors import tenant_key_resolve

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_create_tenant_json_prints_tenant_and_working_keys():
    data = json.loads(run("create_tenant", "cmd_tenant", "--name", "Cmd", "--json"))
    assert data["tenant"] == "cmd_tenant"
    api = tenant_key_resolve(raw_key=data["api_key"], kinds=(KeyKind.API,))
    tracking = tenant_key_resolve(
        raw_key=data["tracking_key"], kinds=(KeyKind.TRACKING,)
    )
    assert api.tenant.schema_name == tracking.tenant.schema_name == "cmd_tenant"


def test_create_tenant_text_output_shows_both_keys():
    out = run("create_tenant", "cmd_text", "--name", "Cmd text")
    assert "gg_sk_" in out and "gg_pk_" in out


@pytest.mark.parametrize("schema", ["public", "Nope", "pg_x"])
def test_create_tenant_rejects_bad_ids(schema):
    with pytest.raises(CommandError):
        run("create_tenant", schema, "--name", "x")


def test_create_tenant_admin_creates_user_and_membership_then_updates_role(tenant_a):
    run(
        "create_tenant_admin",
        "New@Example.com",
        "--tenant",
        "tenant_a",
        "--password",
        "a long enough password",
    )
    membership = Membership.objects.get(user__email="new@example.com")
    assert membership.role == "admin"
    assert membership.user.check_password("a long enough password")
    run(
        "create_tenant_admin",
        "new@example.com",
        "--tenant",
        "tenant_a",
        "--password",
        "another password",
        "--role",
        "viewer",
    )
    membership.refresh_from_db()
    assert membership.role == "viewer"
    assert membership.user.check_password("another password")


def test_create_tenant_admin_for_unknown_tenant_fails():
    with pytest.raises(CommandError, match="No tenant"):
        run(
            "create_tenant_admin",
            "x@example.com",
            "--tenant",
            "nope",
            "--password",
            "p",
        )


def test_issue_key_and_revoke_key(tenant_a):
    data = json.loads(run("issue_key", "tenant_a", "--kind", "api", "--json"))
    assert data["key"].startswith(data["prefix"])
    assert tenant_key_resolve(raw_key=data["key"], kinds=(KeyKind.API,)) is not None
    out = run("revoke_key", data["prefix"])
    assert "Revoked" in out
    assert tenant_key_resolve(raw_key=data["key"], kinds=(KeyKind.API,)) is None
    assert TenantKey.objects.get(prefix=data["prefix"]).revoked_at is not None


def test_revoke_key_unknown_prefix_fails():
    with pytest.raises(CommandError):
        run("revoke_key", "gg_sk_doesnotexist")
