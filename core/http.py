"""Request helpers every face shares: credentials, JSON bodies, redirects."""

from typing import Any

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, *, default: str) -> str:
    """``next`` (POST, then query string) if it is a path on this site, else
    ``default``. Only paths: ``redirect()`` would take a bare word for a URL
    name (a 500 when none matches) and another host is an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def request_api_key(request: HttpRequest) -> str:
    return request.headers.get("apikey") or request.GET.get("apikey") or ""


def request_bearer(request: HttpRequest) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer":
        return ""
    return value.strip()


def json_has_nul(body: bytes, data: Any) -> bool:
    """Whether parsed JSON ``data`` (from ``body``) holds a NUL character, which
    no PostgreSQL text or jsonb value can store. The byte scan makes it free for
    bodies without a ``\\u0000`` escape."""
    if b"\\u0000" not in body:
        return False

    def walk(value: Any) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(walk(k) or walk(v) for k, v in value.items())
        if isinstance(value, list):
            return any(walk(item) for item in value)
        return False

    return walk(data)
