"""The edge: each request's tenant is resolved here, once, and errors on API
paths are rendered in the API's own shape.

- ``/rest/v1``: the ``apikey`` (header or query parameter), the bearer JWT and
  the profile header (``Accept-Profile`` for GET/HEAD, ``Content-Profile``
  otherwise, defaulting to the token's default tenant when absent or
  ``public``). Membership, the key and the session are re-checked on every
  request in one query, so a removed member, a revoked key or a signed-out
  session stops working at once.
- ``/t/<tenant>/...`` (browser UI): the signed-in user's membership of the
  tenant in the URL; anyone else gets a 404, as if the tenant did not exist.
- Ingestion endpoints resolve their tenant from their key
  (``tracking.endpoints.common.tracking_tenant_activate``).
- Everything else runs in the public schema.
"""

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string

from core.errors import ApplicationError, PostgrestError, api_face, error_for_path
from tenants.models import WRITE_ROLES, Membership, Tenant, is_valid_schema_name
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
        return self.role in WRITE_ROLES


def request_api_key(request: HttpRequest) -> str:
    return request.headers.get("apikey") or request.GET.get("apikey") or ""


def request_bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def invalid_profile(profile: str, allowed: list[str]) -> PostgrestError:
    """The one answer for a profile that does not exist *or* is not the caller's."""
    return PostgrestError(
        f"Invalid schema: {profile}",
        code="PGRST106",
        status=406,
        hint="Only the following schemas are exposed: " + ", ".join(allowed),
    )


def resolve_rest_request(request: HttpRequest) -> RestAuth:
    """Authenticate a ``/rest/v1`` request and pick its tenant, or raise."""
    raw_key = request_api_key(request)
    if not raw_key:
        raise PostgrestError(
            "No API key found in request",
            code="PGRST000",
            status=401,
            hint="No `apikey` request header or url param was found.",
        )
    bearer = request_bearer(request)
    if not bearer or bearer == raw_key:
        # Supabase clients send the API key as the bearer before sign-in.
        raise PostgrestError(
            "Anonymous access is disabled",
            code="PGRST302",
            status=401,
            hint="Sign in with POST /auth/v1/token and send the access token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = access_token_decode(bearer)
    header = "Accept-Profile" if request.method in READ_METHODS else "Content-Profile"
    profile = request.headers.get(header, "").strip()
    if not profile or profile == "public":
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
        raise PostgrestError("Invalid API key", code="PGRST000", status=401)
    if not access.session_active:
        raise PostgrestError(
            "JWT session has ended (signed out or revoked)",
            code="PGRST303",
            status=401,
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
        raise PostgrestError(
            "Invalid API key",
            code="PGRST000",
            status=401,
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


def _database_unavailable(path: str) -> HttpResponse:
    error = error_for_path(
        path, "Could not connect to the database", status=503, code="PGRST001"
    )
    error.headers["Retry-After"] = "5"
    return error.as_response()


class TenantResolutionMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        request.rest_auth = None
        try:
            connection.set_schema_to_public()
            if api_face(request.path) == "rest" and request.method != "OPTIONS":
                auth = resolve_rest_request(request)
                request.rest_auth = auth
                request.tenant = auth.tenant
        except ApplicationError as error:
            connection.set_schema_to_public()
            return error.as_response()
        except (OperationalError, InterfaceError):
            connection.set_schema_to_public()
            logger.exception("database unavailable while resolving the tenant")
            return _database_unavailable(request.path)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()


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


def _is_browser_page(request: HttpRequest) -> bool:
    """The browser UI and the Django admin (other unlisted paths, such as
    Bucket's ``/<key>/user``, keep their JSON errors)."""
    path = request.path_info
    return (
        BROWSER_TENANT_PATH.match(path) is not None
        or path.startswith("/admin/")
        or path in ("/", "/login/", "/logout/")
    )


class ApiErrorMiddleware:
    """Render exceptions raised by views on API paths as JSON, never HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and api_face(request.path) is not None
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            # Django's own error responses (405, CSRF 403, ...) are HTML.
            error = error_for_path(
                request.path,
                response.reason_phrase,
                status=response.status_code,
                code=response.reason_phrase.lower().replace(" ", "_"),
            )
            if response.has_header("Allow"):
                error.headers["Allow"] = response["Allow"]
            return error.as_response()
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        if isinstance(exception, ApplicationError):
            if api_face(request.path) is None and _is_browser_page(request):
                # A browser page gets the message in words, not an API's JSON.
                page = render_to_string(
                    "application_error.html",
                    {
                        "status": exception.status,
                        "message": exception.message,
                        "hint": exception.hint,
                    },
                )
                return HttpResponse(page, status=exception.status)
            return exception.as_response()
        if api_face(request.path) is None:
            return None
        if isinstance(
            exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation
        ):
            return None  # the JSON-aware handler404/403/400 answer these
        if isinstance(exception, OperationalError | InterfaceError):
            logger.exception("database unavailable")
            return _database_unavailable(request.path)
        if isinstance(exception, DatabaseError):
            logger.exception("database error on %s", request.path)
        else:
            logger.exception("unexpected error on %s", request.path)
        return error_for_path(
            request.path, "Internal server error", status=500, code="unexpected_failure"
        ).as_response()
