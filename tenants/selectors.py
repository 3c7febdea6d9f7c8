"""Reads of the public schema: tenants, keys, memberships."""

from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django_tenants.utils import quote_schema_name

from tenants.models import KeyKind, Membership, Tenant, TenantKey, hash_secret
from tenants.schemas import search_path_due, search_path_unknown


def tenant_key_resolve(*, raw_key: str, kinds: tuple[str, ...]) -> TenantKey | None:
    """The active key ``raw_key`` of one of ``kinds``, with its tenant, or None."""
    if not raw_key or len(raw_key) > 200:
        return None
    return (
        TenantKey.objects.select_related("tenant")
        .filter(key_hash=hash_secret(raw_key), kind__in=kinds, revoked_at__isnull=True)
        .first()
    )


# Schema-qualified: the connection may point at any tenant.
_KEY_TENANT_SQL = (
    "SELECT t.id, t.schema_name FROM public.tenants_tenantkey k "
    "JOIN public.tenants_tenant t ON t.id = k.tenant_id "
    "WHERE k.key_hash = %s AND k.kind = ANY(%s) AND k.revoked_at IS NULL"
)


def tenant_key_find(*, key_hash: str, kinds: tuple[str, ...]) -> tuple[int, str] | None:
    """``(tenant id, schema name)`` of the active key hashed ``key_hash`` of one
    of ``kinds``, or None: one statement and no model, for the ingestion hot
    path (:func:`tenant_key_resolve` is for callers that need the key row)."""
    with connection.cursor() as cursor:
        cursor.execute(_KEY_TENANT_SQL, [key_hash, list(kinds)])
        row = cursor.fetchone()
    return None if row is None else (row[0], row[1])


def tenant_keys(*, tenant: Tenant) -> QuerySet[TenantKey]:
    """The tenant's keys, newest first, revoked ones included."""
    return TenantKey.objects.filter(tenant=tenant).order_by("-created_at", "-id")


def tenant_members(*, tenant: Tenant) -> QuerySet[Membership]:
    """The tenant's memberships with their users, by email."""
    return (
        Membership.objects.select_related("user")
        .filter(tenant=tenant)
        .order_by("user__email")
    )


def user_memberships(*, user_id: str) -> list[Membership]:
    return list(
        Membership.objects.select_related("tenant")
        .filter(user_id=user_id)
        .order_by("tenant__schema_name")
    )


@dataclass(frozen=True)
class RestAccess:
    """What one REST request may do, read in one round trip."""

    key_tenant_id: int | None
    session_active: bool
    # schema name -> (tenant id, role), for every tenant the user belongs to
    memberships: dict[str, tuple[int, str]]


# Schema-qualified: it runs with the search_path already set to the tenant.
_REST_ACCESS_SQL = """
SELECT
  {search_path}
  (SELECT k.tenant_id FROM public.tenants_tenantkey k
    WHERE k.key_hash = %(key_hash)s AND k.kind = %(kind)s AND k.revoked_at IS NULL),
  EXISTS (SELECT 1 FROM public.tenants_authsession s
    JOIN public.tenants_user u ON u.id = s.user_id
    WHERE s.id = %(session_id)s AND s.user_id = %(user_id)s
      AND s.revoked_at IS NULL AND u.is_active),
  (SELECT coalesce(json_agg(json_build_array(t.schema_name, t.id, m.role)), '[]')
    FROM public.tenants_membership m JOIN public.tenants_tenant t ON t.id = m.tenant_id
    WHERE m.user_id = %(user_id)s)
"""


def rest_access_get(*, raw_key: str, user_id: str, session_id: str) -> RestAccess:
    """The API key's tenant, the session's state and the user's memberships.

    When the connection's search_path is due to change (the middleware has
    pointed it at the requested tenant), the change rides in this statement
    (``set_config``) instead of costing a ``SET`` round trip of its own; the
    schema names are the ones django-tenants validated and would have set.
    """
    params = {
        "key_hash": hash_secret(raw_key),
        "kind": KeyKind.API,
        "session_id": session_id,
        "user_id": user_id,
    }
    schemas = search_path_due() if settings.TENANT_LIMIT_SET_CALLS else None
    search_path = ""
    if schemas is not None:
        params["search_path"] = ",".join(quote_schema_name(s) for s in schemas)
        search_path = "set_config('search_path', %(search_path)s, false),"
    try:
        with connection.cursor() as cursor:
            cursor.execute(_REST_ACCESS_SQL.format(search_path=search_path), params)
            row = cursor.fetchone()
    except Exception:
        if schemas is not None:
            search_path_unknown()
        raise
    key_tenant_id, session_active, memberships = row[-3:]
    return RestAccess(
        key_tenant_id=key_tenant_id,
        session_active=bool(session_active),
        memberships={schema: (tid, role) for schema, tid, role in memberships},
    )
