"""The API request (PostgREST's ``ApiRequest``): media type negotiation, the
query string and ``Prefer`` header parsed by the grammar, the JSON body."""

import functools
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from django.db import connection
from django.http import HttpRequest

from core.errors import PayloadTooLarge
from core.http import json_has_nul, request_body
from pgrest import grammar
from pgrest.ast import Preferences, Query
from pgrest.errors import PostgrestError

JSON = "application/json"
SINGULAR = "application/vnd.pgrst.object+json"
ARRAY = "application/vnd.pgrst.array+json"
CSV = "text/csv"
OPENAPI = "application/openapi+json"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# The largest body a write takes (PostgREST has none of its own; its proxy's
# is the limit): beyond it a 413. Bulk writes of more rows go in several.
BODY_LIMIT = 10 * 1024 * 1024


@dataclass(frozen=True)
class Negotiated:
    media_type: str  # JSON, SINGULAR or CSV
    strip_nulls: bool = False  # `;nulls=stripped`: keys with null values left out

    @property
    def singular(self) -> bool:
        return self.media_type == SINGULAR

    @property
    def content_type(self) -> str:
        """The media type the response declares (PostgREST echoes its vendor
        types with ``nulls=stripped``)."""
        if self.strip_nulls:
            base = SINGULAR if self.singular else ARRAY
            return base + ";nulls=stripped"
        return self.media_type


def negotiate(request: HttpRequest) -> Negotiated:
    """Pick the response type from ``Accept``; ``*/*`` and absent mean JSON."""
    accept = request.headers.get("Accept", "")
    if not accept.strip():
        return Negotiated(JSON)
    for part in accept.split(","):
        media, *parameters = (piece.strip().lower() for piece in part.split(";"))
        strip = "nulls=stripped" in parameters
        if media in {JSON, "*/*", "application/*"}:
            return Negotiated(JSON)
        # PostgREST takes its vendor types with or without the +json suffix.
        if media in {ARRAY, ARRAY.removesuffix("+json")}:
            return Negotiated(JSON, strip_nulls=strip)
        if media in {SINGULAR, SINGULAR.removesuffix("+json")}:
            return Negotiated(SINGULAR, strip_nulls=strip)
        if media in {CSV, "text/*"}:
            return Negotiated(CSV)
    raise PostgrestError(
        f"None of these media types are available: {accept}",
        code="PGRST107",
        status=406,
    )


@functools.cache
def timezone_names() -> frozenset[str]:
    """The time zones PostgreSQL knows (read once per process)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_timezone_names")
        return frozenset(name for (name,) in cursor.fetchall())


def parse_request(request: HttpRequest) -> tuple[Query, Preferences]:
    params = [(key, value) for key, values in request.GET.lists() for value in values]
    if any("\x00" in key or "\x00" in value for key, value in params):
        # No PostgreSQL text holds NUL: what PostgreSQL answers PostgREST for it,
        # before any statement runs.
        raise PostgrestError(
            'invalid byte sequence for encoding "UTF8": 0x00', code="22021"
        )
    query = grammar.parse_query(params)
    prefs = grammar.parse_prefer(
        [request.headers.get("Prefer", "")], timezones=timezone_names
    )
    if prefs.handling == "strict" and prefs.invalid:
        raise PostgrestError(
            "Invalid preferences given with handling=strict",
            code="PGRST122",
            status=400,
            details="Invalid preferences: " + ", ".join(prefs.invalid),
        )
    return query, prefs


FORM = "application/x-www-form-urlencoded"


def nul_in_body() -> PostgrestError:
    # What PostgreSQL (and so PostgREST) answers for \u0000 in jsonb.
    return PostgrestError(
        "unsupported Unicode escape sequence",
        code="22P05",
        status=400,
        details="\\u0000 cannot be converted to text.",
    )


def request_bytes(request: HttpRequest) -> bytes:
    """The body, at most :data:`BODY_LIMIT` bytes (chunked ones too): beyond
    it a 413, PGRST102."""
    try:
        return request_body(request, limit=BODY_LIMIT)
    except PayloadTooLarge as error:
        error.hint = "Send fewer rows per request."
        raise


def json_body(request: HttpRequest) -> Any:
    """The body as JSON; a form (``a=1&b=x``) is one object of texts, as
    PostgREST reads it (InsertSpec, "accepts disparate json types")."""
    # Read within the limit first (chunked bodies too): request.body is it.
    request_bytes(request)
    content_type = (request.content_type or JSON).lower()
    if content_type == FORM:
        try:
            pairs = parse_qsl(request.body.decode(), keep_blank_values=True)
        except UnicodeDecodeError:
            raise PostgrestError(
                "Empty or invalid form", code="PGRST102", status=400
            ) from None
        if any("\x00" in key or "\x00" in value for key, value in pairs):
            raise nul_in_body()
        return dict(pairs)
    if content_type not in {JSON, "text/plain", SINGULAR}:
        raise PostgrestError(
            f"Content-Type not acceptable: {content_type}",
            code="PGRST102",
            status=415,
            hint="Send application/json (or a form).",
        )
    if not request.body.strip():
        raise PostgrestError("Empty or invalid json", code="PGRST102", status=400)
    try:
        data = orjson.loads(request.body)
    except orjson.JSONDecodeError as error:
        raise PostgrestError(
            "Empty or invalid json", code="PGRST102", status=400, details=str(error)
        ) from None
    if json_has_nul(request.body, data):
        raise nul_in_body()
    return data
