"""Access tokens (JWT, via simplejwt) and opaque refresh tokens of /auth/v1.

An access token carries GoTrue's claims (``sub, email, role, aud, exp, iat,
session_id, app_metadata, user_metadata``) plus ``tenants`` (the tenant ids the
user may use) and ``default_tenant``. What it says about tenants is a hint for
clients: membership is re-checked on every request.
"""

import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from gathergrid.errors import PostgrestError


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    session_id: str
    email: str
    tenants: tuple[str, ...]
    default_tenant: str | None


def access_token_issue(
    *,
    user: Any,
    session_id: str,
    tenants: list[str],
    default_tenant: str,
) -> tuple[str, int]:
    """Return ``(token, exp)`` for ``user`` in auth session ``session_id``."""
    token = AccessToken.for_user(user)
    token["email"] = user.email
    token["role"] = "authenticated"
    token["aal"] = "aal1"
    token["session_id"] = session_id
    token["is_anonymous"] = False
    token["tenants"] = tenants
    token["default_tenant"] = default_tenant
    token["app_metadata"] = {
        "provider": "email",
        "providers": ["email"],
        "tenants": tenants,
        "default_tenant": default_tenant,
    }
    token["user_metadata"] = user.user_metadata or {}
    return str(token), int(token["exp"])


def _jwt_error(message: str, code: str, description: str) -> PostgrestError:
    return PostgrestError(
        message,
        code=code,
        status=401,
        headers={
            "WWW-Authenticate": (
                f'Bearer error="invalid_token", error_description="{description}"'
            )
        },
    )


def access_token_decode(raw: str) -> AccessClaims:
    """Validate a bearer token's signature, expiry and audience.

    Raises :class:`PostgrestError` (401, ``PGRST303`` when expired, ``PGRST301``
    when malformed or forged) with a ``WWW-Authenticate`` header.
    """
    try:
        token = AccessToken(raw)
    except ExpiredTokenError:
        raise _jwt_error("JWT expired", "PGRST303", "JWT expired") from None
    except TokenError:
        raise _jwt_error(
            "JWT could not be decoded or its signature is invalid",
            "PGRST301",
            "JWT invalid",
        ) from None
    payload = token.payload
    try:
        tenants = tuple(str(t) for t in payload.get("tenants") or ())
        return AccessClaims(
            user_id=str(uuid.UUID(str(payload["sub"]))),
            session_id=str(uuid.UUID(str(payload["session_id"]))),
            email=str(payload.get("email", "")),
            tenants=tenants,
            default_tenant=payload.get("default_tenant"),
        )
    except (KeyError, ValueError, TypeError):
        raise _jwt_error(
            "JWT is missing required claims", "PGRST301", "JWT invalid"
        ) from None


def refresh_token_generate() -> str:
    """A new opaque refresh token (stored only as its hash)."""
    return secrets.token_urlsafe(32)
