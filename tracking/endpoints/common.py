"""What every tracking endpoint shares: body reading (gzip, size limit), JSON,
Basic auth, the key check, and the hand-over to the one writer.

The key check (:func:`tracking_tenant_activate`) remembers a valid key for
``KEY_CACHE_SECONDS`` per process, so a revoked key stops working within that
time; an unknown or revoked key is looked up again on every request.

Each dialect's endpoints (``tracking/endpoints/<vendor>.py``) only read the
request, hand the payload to the dialect's adapter, and pass the canonical
messages to :func:`ingest_or_error`; each module exposes ``urlpatterns``.
"""

import base64
import gzip
import json
import time
import zlib
from typing import Any

import orjson
from django.db import DatabaseError, connection
from django.http import HttpRequest, JsonResponse

from core.errors import ApplicationError
from tenants.models import KeyKind, Tenant, hash_secret
from tenants.selectors import tenant_key_find
from tracking.group_commit import messages_ingest_grouped
from tracking.messages import DialectError, Message

ANY_KEY = (KeyKind.API, KeyKind.TRACKING)


def error_response(error: ApplicationError) -> JsonResponse:
    """The ingestion face's renderer (registered with ``core.edge``):
    ``{code, message}``, plus ``details`` naming the bad messages or fields."""
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.details is not None:
        body["details"] = error.details
    return JsonResponse(body, status=error.status)


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
    kind.
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


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, gunzipped when sent so, refused beyond ``limit`` bytes."""
    raw = request.body
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in {"gzip", "x-gzip", "deflate"}:
        try:
            wbits = 16 + zlib.MAX_WBITS if encoding != "deflate" else zlib.MAX_WBITS
            inflater = zlib.decompressobj(wbits)
            # Never inflate more than the limit allows (a small bomb stays small).
            raw = inflater.decompress(raw, limit + 1)
        except (zlib.error, gzip.BadGzipFile):
            raise ApplicationError(
                "The body is not valid gzip data.", code="invalid_encoding"
            ) from None
    elif encoding not in {"", "identity"}:
        raise ApplicationError(
            f"Content-Encoding {encoding!r} is not supported; use gzip.",
            code="invalid_encoding",
        )
    if len(raw) > limit:
        raise ApplicationError(
            f"The body is larger than {limit // 1024} KB; send smaller batches.",
            code="payload_too_large",
        )
    return raw


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


def dialect_error(error: DialectError) -> ApplicationError:
    return ApplicationError(
        str(error),
        code="invalid_request",
        status=error.status,
        details=[{"path": e.path, "message": e.message} for e in error.errors],
    )


def ingest_or_error(messages: list[Message], *, received_at) -> None:
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
