"""What every tracking endpoint shares: body reading (gzip, size limit), JSON,
Basic auth, the key check, and the hand-over to the one writer.

Each dialect's endpoints (``tracking/endpoints/<vendor>.py``) only read the
request, hand the payload to the dialect's adapter, and pass the canonical
messages to :func:`ingest_or_error`; each module exposes ``urlpatterns``.
"""

import base64
import gzip
import json
import zlib
from typing import Any

from django.db import DatabaseError
from django.http import HttpRequest

from gathergrid.errors import IngestError
from tenants.models import KeyKind
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
    except RecursionError:
        raise IngestError(
            "The body is nested too deeply.", code="invalid_json"
        ) from None
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
