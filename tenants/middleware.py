"""Tenant resolution: each request's tenant is resolved here, once (errors are
rendered by the edge, :mod:`core.edge`, in the face's own shape).

- ``/rest/v1``: the ``apikey`` (header or query parameter), the bearer JWT and
  the profile header (``Accept-Profile`` for GET/HEAD, ``Content-Profile``
  otherwise, defaulting to the token's default tenant when absent or
  ``public``). Membership, the key and the session are re-checked on every
  request in one query, so a removed member, a revoked key or a signed-out
  session stops working at once.
- ``/t/<tenant>/...`` (browser UI): the signed-in user's membership of the
  tenant in the URL; anyone else gets a 404, as if the tenant did not exist.
- Ingestion endpoints resolve their tenant from their key
  (``tracking.capture.tracking_tenant_activate``).
- Everything else runs in the public schema.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.edge import REST, api_face, database_unavailable, error_response
from core.errors import ApplicationError, Unauthenticated
from core.http import request_api_key, request_bearer
from tenants.models import Membership, Tenant, is_valid_schema_name, role_can_write
from tenants.selectors import rest_access_get
from tenants.tokens import access_token_decode

logger = logging.getLogger(__name__)

READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class RestAuth:
    """Who is calling ``/rest/v1``, in which tenant, with which role."""

    user_id: str
    email: str
    session_id: str
    tenant: Tenant
    role: str

    @property
    def can_write(self) -> bool:
        return role_can_write(self.role)


def invalid_profile(profile: str, allowed: list[str]) -> ApplicationError:
    """The one answer for a profile that does not exist *or* is not the caller's."""
    return ApplicationError(
        f"Invalid schema: {profile}",
        code="invalid_profile",
        status=406,
        hint="Only the following schemas are exposed: " + ", ".join(allowed),
    )


def resolve_rest_request(request: HttpRequest) -> RestAuth:
    """Authenticate a ``/rest/v1`` request and pick its tenant, or raise."""
    raw_key = request_api_key(request)
    if not raw_key:
        raise Unauthenticated(
            "No API key found in request",
            code="no_api_key",
            hint="No `apikey` request header or url param was found.",
        )
    bearer = request_bearer(request)
    if not bearer or bearer == raw_key:
        # Supabase clients send the API key as the bearer before sign-in.
        raise Unauthenticated(
            "Anonymous access is disabled",
            code="anonymous",
            hint="Sign in with POST /auth/v1/token and send the access token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = access_token_decode(bearer)
    header = "Accept-Profile" if request.method in READ_METHODS else "Content-Profile"
    sent = request.headers.get(header)
    profile = (sent or "").strip()
    # A header sent empty is refused like any unknown profile: the WSGI server
    # hands over a value it cannot decode (non-ASCII) as "", and serving the
    # default tenant instead would answer for a tenant the client did not name.
    if sent is None or profile == "public":
        profile = claims.default_tenant or ""
    if is_valid_schema_name(profile):
        # Point the connection at the tenant before the access check, so that
        # the check's own round trip carries the `SET search_path` and a served
        # request costs one SET, one check and its own statement. The check reads
        # schema-qualified public tables; a refusal resets the path to public.
        connection.set_schema(profile)
    access = rest_access_get(
        raw_key=raw_key, user_id=claims.user_id, session_id=claims.session_id
    )
    if access.key_tenant_id is None:
        raise Unauthenticated("Invalid API key", code="invalid_api_key")
    if not access.session_active:
        raise Unauthenticated(
            "JWT session has ended (signed out or revoked)",
            code="session_ended",
            headers={
                "WWW-Authenticate": 'Bearer error="invalid_token", '
                'error_description="JWT session ended"'
            },
        )
    allowed = sorted(access.memberships)
    if not is_valid_schema_name(profile) or profile not in access.memberships:
        raise invalid_profile(profile, allowed)
    tenant_id, role = access.memberships[profile]
    if tenant_id != access.key_tenant_id:
        raise Unauthenticated(
            "Invalid API key",
            code="invalid_api_key",
            hint=f"This API key does not belong to tenant {profile!r}.",
        )
    # Identity comes from the check itself: no cache that could outlive a
    # deleted (or deleted and re-created) tenant.
    tenant = Tenant(id=tenant_id, schema_name=profile)
    return RestAuth(
        user_id=claims.user_id,
        email=claims.email,
        session_id=claims.session_id,
        tenant=tenant,
        role=role,
    )


class TenantResolutionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.rest_auth = None
        try:
            connection.set_schema_to_public()
            if api_face(request.path) == REST and request.method != "OPTIONS":
                auth = resolve_rest_request(request)
                request.rest_auth = auth
                request.tenant = auth.tenant
        except ApplicationError as error:
            connection.set_schema_to_public()
            return error_response(request.path, error)
        except (OperationalError, InterfaceError):
            connection.set_schema_to_public()
            logger.exception("database unavailable while resolving the tenant")
            return database_unavailable(request.path)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()


def wants_json(request: HttpRequest) -> bool:
    """A fetch or htmx call of a page (not a page load): it gets JSON, never
    the sign-in page."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        or "X-Requested-With" in headers
        or headers.get("Accept", "").startswith("application/json")
    )


BROWSER_TENANT_PATH = re.compile(r"^/t/(?P<schema>[^/]+)/")


class BrowserTenantMiddleware:
    """Activate the tenant named in a ``/t/<tenant>/`` URL for its members.

    Sets ``request.tenant`` and ``request.membership`` (with the role). Runs after
    ``AuthenticationMiddleware``.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = BROWSER_TENANT_PATH.match(request.path_info)
        if match is None:
            return self.get_response(request)
        if not request.user.is_authenticated:
            if wants_json(request):
                # A call from the page, not a page: the page keeps the edit and
                # asks for the password in place (static/ui/app.js, grid.js).
                return JsonResponse(
                    {
                        "code": "signed_out",
                        "message": "Your session has ended; sign in again.",
                    },
                    status=401,
                )
            return redirect_to_login(request.get_full_path())
        schema = match["schema"]
        membership = None
        if is_valid_schema_name(schema):
            membership = (
                Membership.objects.select_related("tenant")
                .filter(user=request.user, tenant__schema_name=schema)
                .first()
            )
        if membership is None:
            raise Http404("No such tenant.")
        request.tenant = membership.tenant
        request.membership = membership
        connection.set_tenant(membership.tenant)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()
