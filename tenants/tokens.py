"""Access tokens (JWT, via simplejwt) and opaque refresh tokens of /auth/v1.

An access token carries GoTrue's claims (``sub, email, role, aud, exp, iat,
session_id, app_metadata, user_metadata``) plus ``tenants`` (the tenant ids the
user may use) and ``default_tenant``. What it says about tenants is a hint for
clients: membership is re-checked on every request.
"""

import hashlib
import hmac
import secrets
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.tokens import AccessToken

from core.errors import Unauthenticated

LEEWAY_SECONDS = int(settings.SIMPLE_JWT.get("LEEWAY", 0))


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


def _jwt_error(message: str, code: str, description: str) -> Unauthenticated:
    return Unauthenticated(
        message,
        code=code,
        headers={
            "WWW-Authenticate": (
                f'Bearer error="invalid_token", error_description="{description}"'
            )
        },
    )


# Verified tokens, by their text: a client sends the same token on every request
# until it refreshes, and the signature check is a third of a request's CPU.
# Only successfully verified tokens are kept, and expiry is checked on each use.
_verified: OrderedDict[str, tuple[AccessClaims, int]] = OrderedDict()
_VERIFIED_MAX = 4096


def access_token_decode(raw: str) -> AccessClaims:
    """Validate a bearer token's signature, expiry and audience.

    Raises :class:`~core.errors.Unauthenticated` (``jwt_expired``, or
    ``jwt_invalid`` when malformed or forged) with a ``WWW-Authenticate`` header.
    """
    cached = _verified.get(raw)
    if cached is not None:
        claims, expires_at = cached
        if time.time() < expires_at + LEEWAY_SECONDS:
            _verified.move_to_end(raw)
            return claims
        del _verified[raw]
    claims, expires_at = _decode_and_verify(raw)
    _verified[raw] = (claims, expires_at)
    if len(_verified) > _VERIFIED_MAX:
        _verified.popitem(last=False)
    return claims


def _decode_and_verify(raw: str) -> tuple[AccessClaims, int]:
    try:
        token = AccessToken(raw)
    except ExpiredTokenError:
        raise _jwt_error("JWT expired", "jwt_expired", "JWT expired") from None
    except TokenError:
        raise _jwt_error(
            "JWT could not be decoded or its signature is invalid",
            "jwt_invalid",
            "JWT invalid",
        ) from None
    payload = token.payload
    try:
        tenants = tuple(str(t) for t in payload.get("tenants") or ())
        claims = AccessClaims(
            user_id=str(uuid.UUID(str(payload["sub"]))),
            session_id=str(uuid.UUID(str(payload["session_id"]))),
            email=str(payload.get("email", "")),
            tenants=tenants,
            default_tenant=payload.get("default_tenant"),
        )
        return claims, int(payload["exp"])
    except (KeyError, ValueError, TypeError):
        raise _jwt_error(
            "JWT is missing required claims", "jwt_invalid", "JWT invalid"
        ) from None


def refresh_token_generate() -> str:
    """A new opaque refresh token (stored only as its hash)."""
    return secrets.token_urlsafe(32)


# --- The refresh token reuse interval ------------------------------------------
#
# Refresh tokens rotate: each is exchanged once for a new access token and a new
# refresh token, its child. Clients routinely refresh twice with the same token
# at the same moment (server-side rendering and middleware, two tabs, two
# workers), so, as GoTrue does (GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL), a
# used token presented again within the reuse interval of its first use is
# answered with the session's current refresh token, not taken as theft. Only
# hashes of refresh tokens are stored; to hand the current token out again, each
# child is stored sealed with a key derived from its parent, so that only whoever
# presents the parent can open it (a database dump opens nothing).

_SEAL_LABEL = b"gathergrid refresh token child"


def refresh_reuse_allowed(
    *, used_at: datetime, now: datetime, interval: timedelta
) -> bool:
    """True when a refresh token first used at ``used_at`` may be presented
    again at ``now``: within ``interval`` (0 turns reuse off). Later, a used
    token is taken as stolen."""
    return interval > timedelta(0) and now <= used_at + interval


def _keystream(parent: str, length: int) -> bytes:
    stream = hmac.new(parent.encode(), _SEAL_LABEL, hashlib.sha512).digest()
    if length > len(stream):
        raise ValueError("refresh token too long to seal")
    return stream[:length]


def refresh_token_seal(child: str, *, parent: str) -> str:
    """``child`` sealed with a key derived from ``parent`` (hex).

    The key stream is HMAC-SHA512 keyed with the parent token, a 256-bit secret
    that seals exactly one child, so it is never used twice."""
    data = child.encode("ascii")
    return bytes(
        a ^ b for a, b in zip(data, _keystream(parent, len(data)), strict=True)
    ).hex()


def refresh_token_open(sealed: str, *, parent: str) -> str | None:
    """The child token sealed by :func:`refresh_token_seal`, or None when
    ``sealed`` is not a sealed token (callers check its hash as well)."""
    try:
        data = bytes.fromhex(sealed)
        opened = bytes(
            a ^ b for a, b in zip(data, _keystream(parent, len(data)), strict=True)
        )
        return opened.decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return None
