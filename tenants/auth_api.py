"""``/auth/v1``: GoTrue-compatible sign-in, refresh, user and logout.

Supabase clients (supabase-js, supabase-py) work against these unmodified.
Errors are GoTrue's ``{code, message}``, with ``X-Supabase-Api-Version`` so
that supabase-js reads ``code`` as the error code.
"""

import json
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import ApplicationError, Unauthenticated
from core.http import json_has_nul, request_api_key, request_bearer, request_body
from tenants.models import AuthSession, KeyKind, Tenant, User
from tenants.selectors import tenant_key_resolve, user_memberships
from tenants.services import (
    auth_logout,
    auth_password_grant,
    auth_refresh_grant,
    gotrue_user,
    user_update,
)
from tenants.tokens import AccessClaims, access_token_decode

# GoTrue answers with this header; supabase-js then reads `code` as the error code.
GOTRUE_API_VERSION = "2024-01-01"

# The largest body this face takes (credentials, a user's metadata): beyond
# it a 413.
BODY_LIMIT = 64 * 1024

# Codes raised below this face that GoTrue spells its own way.
GOTRUE_CODES = {"jwt_invalid": "bad_jwt", "jwt_expired": "bad_jwt"}


def error_response(error: ApplicationError) -> JsonResponse:
    """The auth face's renderer (registered with ``core.edge``): ``{code, message}``."""
    code = GOTRUE_CODES.get(error.code, error.code)
    message = error.message
    if code == "bad_jwt" and error.code != code:
        message = f"invalid JWT: {message}"
    response = JsonResponse({"code": code, "message": message}, status=error.status)
    response["X-Supabase-Api-Version"] = GOTRUE_API_VERSION
    return response


def _json(data: Any, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status, safe=False)
    response["X-Supabase-Api-Version"] = GOTRUE_API_VERSION
    return response


def _api_key_tenant(request: HttpRequest) -> Tenant:
    raw_key = request_api_key(request)
    if not raw_key:
        raise Unauthenticated("No API key found in request", code="no_api_key")
    key = tenant_key_resolve(raw_key=raw_key, kinds=(KeyKind.API,))
    if key is None:
        raise Unauthenticated("Invalid API key", code="invalid_api_key")
    return key.tenant


def _body(request: HttpRequest) -> dict:
    content_type = request.content_type or ""
    raw = request_body(request, limit=BODY_LIMIT)
    body = raw.lstrip()
    if not body:
        return {}
    # `curl -d '{...}'` labels JSON as a form: trust the body's first character.
    if content_type == "application/x-www-form-urlencoded" and not body.startswith(
        b"{"
    ):
        return request.POST.dict()
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise ApplicationError(
            f"Could not parse request body as JSON: {error}", code="bad_json"
        ) from None
    if not isinstance(data, dict):
        raise ApplicationError("Request body must be a JSON object.", code="bad_json")
    if json_has_nul(raw, data):
        raise ApplicationError(
            "Request body must not contain \\u0000.", code="bad_json"
        )
    return data


def _client_ip(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def _session_claims(request: HttpRequest) -> AccessClaims:
    """The bearer token's claims, its session still active, or a GoTrue error."""
    bearer = request_bearer(request)
    if not bearer or bearer == request_api_key(request):
        raise ApplicationError(
            "This endpoint requires a Bearer token",
            code="no_authorization",
            status=401,
            headers={"WWW-Authenticate": "Bearer"},
        )
    claims = access_token_decode(bearer)
    active = AuthSession.objects.filter(
        pk=claims.session_id,
        user_id=claims.user_id,
        revoked_at__isnull=True,
        user__is_active=True,
    ).exists()
    if not active:
        raise ApplicationError(
            "Session from session_id claim in JWT does not exist",
            code="session_not_found",
            status=401,
        )
    return claims


@csrf_exempt
@require_http_methods(["POST"])
def token(request: HttpRequest) -> JsonResponse:
    """``POST /auth/v1/token?grant_type=password|refresh_token``."""
    tenant = _api_key_tenant(request)
    grant_type = request.GET.get("grant_type", "")
    body = _body(request)
    if grant_type == "password":
        email, password = body.get("email"), body.get("password")
        if not isinstance(email, str) or not isinstance(password, str):
            raise ApplicationError(
                "Email and password are required.", code="validation_failed"
            )
        result = auth_password_grant(
            email=email,
            password=password,
            tenant=tenant,
            ip=_client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
    elif grant_type == "refresh_token":
        refresh = body.get("refresh_token")
        if not isinstance(refresh, str):
            raise ApplicationError(
                "refresh_token is required.", code="validation_failed"
            )
        result = auth_refresh_grant(refresh_token=refresh, tenant=tenant)
    else:
        raise ApplicationError(
            "unsupported_grant_type: use grant_type=password or refresh_token",
            code="unsupported_grant_type",
        )
    return _json(result)


@csrf_exempt
@require_http_methods(["GET", "PUT"])
def user(request: HttpRequest) -> JsonResponse:
    """``GET /auth/v1/user``: the signed-in user; ``PUT``: change password or data."""
    _api_key_tenant(request)
    claims = _session_claims(request)
    user = User.objects.get(pk=claims.user_id)
    if request.method == "PUT":
        body = _body(request)
        user = user_update(
            user=user,
            email=body.get("email"),
            password=body.get("password"),
            data=body.get("data"),
        )
    return _json(gotrue_user(user, user_memberships(user_id=user.id)))


@csrf_exempt
@require_http_methods(["POST"])
def signup(request: HttpRequest) -> JsonResponse:
    """Accounts are created by tenant admins, never by self sign-up."""
    _api_key_tenant(request)
    raise ApplicationError(
        "Signups not allowed for this instance", code="signup_disabled", status=422
    )


@require_http_methods(["GET"])
def auth_settings(request: HttpRequest) -> JsonResponse:
    """``GET /auth/v1/settings``: what this GoTrue-compatible server offers."""
    _api_key_tenant(request)
    return _json(
        {
            "external": {"email": True, "phone": False, "anonymous_users": False},
            "disable_signup": True,
            "mailer_autoconfirm": False,
            "phone_autoconfirm": False,
            "sms_provider": "",
            "saml_enabled": False,
        }
    )


@csrf_exempt
@require_http_methods(["POST"])
def logout(request: HttpRequest) -> HttpResponse:
    """``POST /auth/v1/logout?scope=global|local|others``: revoke sessions (204)."""
    _api_key_tenant(request)
    claims = _session_claims(request)
    auth_logout(
        user_id=claims.user_id,
        session_id=claims.session_id,
        scope=request.GET.get("scope", "global"),
    )
    response = HttpResponse(status=204)
    response["X-Supabase-Api-Version"] = GOTRUE_API_VERSION
    return response
