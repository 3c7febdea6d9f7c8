"""The one ingestion pipeline: every tracking endpoint runs these steps.

As PostHog's capture: one pipeline, and each dialect only its translation.
A request is received (its time taken), authenticated by its key, its body
read (gzip, size limit) and decoded, translated by the dialect into
canonical messages, written by the one writer, and answered. A dialect's
endpoint (``tracking/endpoints/<vendor>.py``) declares only what differs, as
an :class:`Endpoint`: how it finds its key and which kinds it takes, its
body limit and decoding, its translation and its success answer. Its view
(:func:`post_endpoint`, or :func:`cors_endpoint` for browser SDKs) hands the
request to :func:`capture`.

The key check (:func:`tracking_tenant_activate`) remembers a valid key for
``KEY_CACHE_SECONDS`` per process, so a revoked key stops working within that
time; an unknown or revoked key is looked up again on every request.

Errors are raised as :class:`~core.errors.ApplicationError`; the edge renders
them with :func:`error_response`, the ingestion face's renderer.
"""

import base64
import functools
import gzip
import json
import time
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import edge
from core.errors import ApplicationError, PayloadTooLarge, size_text
from core.http import request_body
from tenants.models import KeyKind, Tenant, hash_secret
from tenants.selectors import tenant_key_find
from tracking.group_commit import messages_ingest_grouped
from tracking.messages import DialectError, Message

ANY_KEY = (KeyKind.API, KeyKind.TRACKING)

# The URL's named groups (Segment's call, Bucket's key and method, ...).
Route = Mapping[str, str]


def error_response(error: ApplicationError) -> JsonResponse:
    """The ingestion face's renderer (registered with ``core.edge``):
    ``{code, message}``, plus ``details`` naming the bad messages or fields."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return JsonResponse(body, status=error.status)


# -- authenticate ----------------------------------------------------------------------

# How long a process trusts a key it found valid: a revoked key keeps
# working for at most this long (the REST API re-checks on every request).
KEY_CACHE_SECONDS = 5.0
_KEY_CACHE_MAX = 1000
_clock = time.monotonic
# (key hash, kinds) -> (valid until, on the monotonic clock; tenant id; schema)
_valid_keys: dict[tuple[str, tuple[str, ...]], tuple[float, int, str]] = {}


def tracking_tenant_activate(raw_key: str, *, kinds: tuple[str, ...]) -> bool:
    """Point the connection at the tenant of an active key of one of ``kinds``.

    False (nothing activated) when the key is unknown, revoked or of another
    kind. One query when the key is not cached, none when it is.
    """
    if not raw_key or len(raw_key) > 200:
        return False
    cache_key = (hash_secret(raw_key), tuple(kinds))
    now = _clock()
    found = _valid_keys.get(cache_key)
    if found is None or found[0] <= now:
        row = tenant_key_find(key_hash=cache_key[0], kinds=kinds)
        if row is None:
            _valid_keys.pop(cache_key, None)
            return False
        if len(_valid_keys) >= _KEY_CACHE_MAX:
            _valid_keys.clear()
        found = _valid_keys[cache_key] = (now + KEY_CACHE_SECONDS, *row)
    _, tenant_id, schema_name = found
    connection.set_tenant(Tenant(id=tenant_id, schema_name=schema_name))
    return True


def basic_auth_username(request: HttpRequest) -> str:
    """The username of ``Authorization: Basic`` (the key; password ignored)."""
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic" or not value:
        return ""
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return ""
    return decoded.split(":", 1)[0]


# -- read and decode -------------------------------------------------------------------


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, gunzipped when sent so, refused (413) beyond ``limit``
    bytes as sent and once decompressed: never more than ``limit + 1`` bytes
    of either are held (a small gzip bomb stays small)."""
    try:
        raw = request_body(request, limit=limit)
    except PayloadTooLarge:
        raise PayloadTooLarge(limit, message=too_large(limit)) from None
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in {"gzip", "x-gzip", "deflate"}:
        try:
            wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
            inflater = zlib.decompressobj(wbits)
            raw = inflater.decompress(raw, limit + 1)
        except (zlib.error, gzip.BadGzipFile):
            raise ApplicationError(
                "The body is not valid gzip data.", code="invalid_encoding"
            ) from None
        if len(raw) > limit:
            raise PayloadTooLarge(limit, message=too_large(limit, "decompressed "))
    elif encoding not in {"", "identity"}:
        raise ApplicationError(
            f"Content-Encoding {encoding!r} is not supported; use gzip.",
            code="invalid_encoding",
        )
    return raw


def too_large(limit: int, what: str = "") -> str:
    return (
        f"The request body {what}is larger than {size_text(limit)} ({limit} "
        "bytes), the limit of this endpoint; send smaller batches."
    )


# 20 digits in a row may be an integer beyond 64 bits, which orjson would
# turn into a float; such bodies (and anything orjson refuses: NaN, lone
# surrogates, UTF-16, ...) are parsed by json, whose reading the adapters
# check. The digits are found by mapping every digit to 0 (a regex over the
# whole body would cost more than the parse).
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_TWENTY_DIGITS = b"0" * 20


def parse_json(raw: bytes) -> Any:
    if _TWENTY_DIGITS not in raw.translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass
    try:
        return json.loads(raw)
    except RecursionError:
        # Reachable: orjson refuses more than 1024 levels (a JSONDecodeError),
        # and json's decoder then recurses past the interpreter's limit.
        raise ApplicationError(
            "The body is nested too deeply.", code="invalid_json"
        ) from None
    except (ValueError, UnicodeDecodeError) as error:
        raise ApplicationError(
            f"The body is not valid JSON: {error}", code="invalid_json"
        ) from None


def json_body(request: HttpRequest, limit: int) -> Any:
    """The body as JSON: the decoding of every endpoint that names no other."""
    return parse_json(read_body(request, limit=limit))


# -- translate and write ---------------------------------------------------------------


def dialect_error(error: DialectError) -> ApplicationError:
    return ApplicationError(
        str(error),
        code="invalid_request",
        status=error.status,
        details=[{"path": e.path, "message": e.message} for e in error.errors],
    )


def ingest_or_error(messages: list[Message], *, received_at: datetime) -> None:
    try:
        messages_ingest_grouped(messages, received_at=received_at)
    except DatabaseError:
        # Nothing of this request was committed (its transaction failed), so a
        # retry is safe.
        raise ApplicationError(
            "Temporarily unable to store the data; retry.",
            code="unavailable",
            status=503,
            headers={"Retry-After": "2"},
        ) from None


# -- the declaration -------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """A 401 in the endpoint's own words (and headers, such as a challenge)."""

    message: str
    code: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def error(self) -> ApplicationError:
        return ApplicationError(
            self.message, code=self.code, status=401, headers=dict(self.headers)
        )


@dataclass(frozen=True, kw_only=True)
class KeyCheck:
    """How an endpoint authenticates.

    ``find`` gives the keys the request offers, to be tried in order (none:
    ``missing``); it may raise a refusal of its own. No key that activates:
    ``invalid``. ``in_body``: the key may be in the body (Segment's
    ``writeKey``), so the body is read first. ``retry_when_down``: a database
    error while checking is a 503 to retry (Bucket's SDKs retry it), else it
    is left to the edge.
    """

    find: Callable[[HttpRequest, Any, Route], Sequence[str]]
    missing: Refusal
    invalid: Refusal
    kinds: tuple[str, ...] = ANY_KEY
    in_body: bool = False
    retry_when_down: bool = False


@dataclass(frozen=True, kw_only=True)
class Endpoint:
    """One dialect endpoint: everything the pipeline needs to know of it.

    ``decode(request, body_limit)`` reads and decodes the body (JSON by
    default). ``translate(body, received_at, route)`` is the dialect's.
    ``translate=None``: the call stores nothing and reads no body, only its
    key is checked. ``answer(messages)`` is the success body.
    """

    key: KeyCheck
    answer: Callable[[list[Message]], dict[str, Any]]
    translate: Callable[[Any, datetime, Route], list[Message]] | None = None
    body_limit: int = 0
    decode: Callable[[HttpRequest, int], Any] = json_body


# -- the pipeline ----------------------------------------------------------------------


def capture(request: HttpRequest, *, endpoint: Endpoint, route: Route) -> JsonResponse:
    """The pipeline: receive, authenticate, read and decode, translate, write,
    answer. Raises :class:`ApplicationError` for anything the client must know."""
    received_at = timezone.now()
    body = None
    if endpoint.key.in_body:
        body = endpoint.decode(request, endpoint.body_limit)
    key_check(request, check=endpoint.key, body=body, route=route)
    if endpoint.translate is None:
        return JsonResponse(endpoint.answer([]))
    if not endpoint.key.in_body:
        body = endpoint.decode(request, endpoint.body_limit)
    try:
        messages = endpoint.translate(body, received_at, route)
    except DialectError as error:
        raise dialect_error(error) from None
    ingest_or_error(messages, received_at=received_at)
    return JsonResponse(endpoint.answer(messages))


def key_check(
    request: HttpRequest, *, check: KeyCheck, body: Any, route: Route
) -> None:
    """Activate the tenant of the first of the request's keys that is valid,
    or raise the endpoint's 401 (or its 503, see :class:`KeyCheck`)."""
    keys = [key for key in check.find(request, body, route) if key]
    if not keys:
        raise check.missing.error()
    try:
        for key in dict.fromkeys(keys):
            if tracking_tenant_activate(key, kinds=check.kinds):
                return
    except DatabaseError:
        if not check.retry_when_down:
            raise
        raise ApplicationError(
            "Temporarily unable to check the key; retry.",
            code="unavailable",
            status=503,
            headers={"Retry-After": "2"},
        ) from None
    raise check.invalid.error()


# -- views -----------------------------------------------------------------------------


def post_endpoint(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A POST-only, CSRF-exempt view (auth is the key, never a cookie); its
    errors, a 405 included, are the edge's to render."""
    return csrf_exempt(require_POST(view))


def cors_endpoint(
    *, allow_headers: str, method: str = "POST"
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A view that answers CORS itself, for browser SDKs calling from any
    origin (auth is the key, never a cookie): its preflight, a 405 for another
    method than ``method``, and its errors, all with
    ``Access-Control-Allow-Origin``. ``allow_headers`` is what a preflight
    allows when it names none."""
    allowed = f"{method}, OPTIONS"

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @csrf_exempt
        @functools.wraps(view)
        def cors_view(request: HttpRequest, **route: str) -> HttpResponse:
            if request.method == "OPTIONS":
                response = HttpResponse(status=200)
                response["Access-Control-Allow-Methods"] = allowed
                response["Access-Control-Allow-Headers"] = request.headers.get(
                    "Access-Control-Request-Headers", allow_headers
                )
                response["Access-Control-Max-Age"] = "86400"
            else:
                try:
                    if request.method != method:
                        raise ApplicationError(
                            f"Method not allowed: use {method}.",
                            code="method_not_allowed",
                            status=405,
                            headers={"Allow": allowed},
                        )
                    response = view(request, **route)
                except ApplicationError as error:
                    response = edge.error_response(request.path, error)
            response["Access-Control-Allow-Origin"] = "*"
            return response

        return cors_view

    return decorate
