"""Request helpers every face shares: the body, credentials, JSON, redirects."""

from io import BytesIO
from typing import Any

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

from core.errors import ApplicationError, PayloadTooLarge

_READ_SIZE = 64 * 1024


def request_body(request: HttpRequest, *, limit: int) -> bytes:
    """The request's body, never more than ``limit`` bytes: the one way every
    API face reads a body (never ``request.body``).

    A ``Content-Length`` above ``limit`` is refused before anything is read.
    A body without one (``Transfer-Encoding: chunked``) is read from the
    server's input to its end, which Django's own reading would take as empty.
    Either way at most ``limit + 1`` bytes are read into memory; beyond
    ``limit`` is :class:`~core.errors.PayloadTooLarge` (413). The body read is
    kept on the request, so ``request.body`` and ``request.POST`` give it
    after this (and a second call reads nothing).
    """
    if hasattr(request, "_body"):  # read already (by this, or by Django)
        body = request._body
        if len(body) > limit:
            raise PayloadTooLarge(limit)
        return body
    meta = request.META
    declared = (meta.get("CONTENT_LENGTH") or "").strip()
    if declared:
        try:
            length = int(declared)
        except ValueError:
            raise ApplicationError(
                "Content-Length is not a number.", code="bad_request"
            ) from None
        if length > limit:
            raise PayloadTooLarge(limit)
        stream = request._stream  # Django's, bounded by Content-Length
    elif "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower() and hasattr(
        request, "environ"
    ):
        # The WSGI servers (granian, gunicorn) de-chunk: read to the end.
        stream = request.environ["wsgi.input"]
    else:
        stream = request._stream  # no body, or ASGI's (already whole)
    chunks: list[bytes] = []
    size = 0
    try:
        while size <= limit:
            chunk = stream.read(min(_READ_SIZE, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError:
        raise ApplicationError(
            "The request body could not be read to its end.", code="bad_request"
        ) from None
    if size > limit:
        raise PayloadTooLarge(limit)
    body = b"".join(chunks)
    request._body = body
    request._stream = BytesIO(body)
    if not declared:
        meta["CONTENT_LENGTH"] = str(len(body))
    return body


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
