"""Tracking endpoints: each dialect's path, credential, limits and answers.

Views only read the request (credential, body, encoding), hand the payload to
the dialect's adapter, and give the canonical messages to the one writer.
"""

import base64
import gzip
import json
import zlib
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from gathergrid.errors import IngestError
from tenants.middleware import request_bearer, tenant_from_key
from tenants.models import KeyKind
from tracking.dialects import segment
from tracking.ingest import messages_ingest
from tracking.messages import DialectError, Message

ANY_KEY = (KeyKind.API, KeyKind.TRACKING)


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
            raise IngestError(
                "The body is not valid gzip data.", code="invalid_encoding"
            ) from None
    elif encoding not in {"", "identity"}:
        raise IngestError(
            f"Content-Encoding {encoding!r} is not supported; use gzip.",
            code="invalid_encoding",
        )
    if len(raw) > limit:
        raise IngestError(
            f"The body is larger than {limit // 1024} KB; send smaller batches.",
            code="payload_too_large",
        )
    return raw


def parse_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise IngestError(
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


def dialect_error(error: DialectError) -> IngestError:
    return IngestError(
        str(error),
        code="invalid_request",
        status=error.status,
        details=[{"path": e.path, "message": e.message} for e in error.errors],
    )


def ingest_or_error(messages: list[Message], *, received_at) -> None:
    try:
        messages_ingest(messages, received_at=received_at)
    except DatabaseError:
        # Nothing was committed (one transaction), so a retry is safe.
        raise IngestError(
            "Temporarily unable to store the data; retry.",
            code="unavailable",
            status=503,
            headers={"Retry-After": "2"},
        ) from None


# --- Segment HTTP Tracking API (Dreamdata, RudderStack, Segment SDKs) ----------------


def segment_endpoint(translate: Callable[[Any, Any], list[Message]]):
    @csrf_exempt
    @require_POST
    def view(request: HttpRequest, **kwargs) -> JsonResponse:
        received_at = timezone.now()
        raw = read_body(request, limit=segment.BATCH_LIMIT)
        body = parse_json(raw)
        key = (
            segment.write_key(body)
            or basic_auth_username(request)
            or request_bearer(request)
        )
        if not key:
            raise IngestError(
                "No write key: send it as the Basic auth username, a Bearer token "
                "or `writeKey` in the body.",
                code="missing_write_key",
                status=401,
            )
        if tenant_from_key(key, kinds=ANY_KEY) is None:
            raise IngestError(
                "Invalid write key.", code="invalid_write_key", status=401
            )
        try:
            messages = translate(body, received_at, **kwargs)
        except DialectError as error:
            raise dialect_error(error) from None
        ingest_or_error(messages, received_at=received_at)
        return JsonResponse({"success": True})

    return view


segment_batch = segment_endpoint(
    lambda body, received_at: segment.translate_batch(body, received_at=received_at)
)
segment_single = segment_endpoint(
    lambda body, received_at, kind: segment.translate_single(
        kind, body, received_at=received_at
    )
)
