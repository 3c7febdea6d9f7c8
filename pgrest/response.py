"""Responses as PostgREST sends them: media types, ``Content-Range``,
``Preference-Applied``, singular objects, CSV."""

import csv
import io
import json
from typing import Any
from urllib.parse import quote, urlencode

import orjson
from django.http import HttpRequest, HttpResponse

from pgrest.ast import Preferences
from pgrest.errors import PostgrestError
from pgrest.request import CSV, JSON, Negotiated


def preference_applied(prefs: Preferences) -> str | None:
    return ", ".join(prefs.applied) or None


def respond(
    status: int,
    body: str | bytes | None,
    *,
    media_type: str = JSON,
    headers: dict[str, str] | None = None,
    request: HttpRequest,
) -> HttpResponse:
    response = HttpResponse(
        b"" if body is None or request.method == "HEAD" else body,
        status=status,
        content_type=f"{media_type}; charset=utf-8",
    )
    if body is None:
        del response["Content-Type"]
    for name, value in (headers or {}).items():
        if value is not None:
            response[name] = value
    if request.tenant is not None:
        response["Content-Profile"] = request.tenant.schema_name
    return response


def render_rows(json_text: str, count: int, negotiated: Negotiated) -> str:
    if negotiated.singular:
        if count != 1:
            raise singular_error(count)
        return json_text[1:-1]
    if negotiated.media_type == CSV:
        return rows_as_csv(orjson.loads(json_text))
    return json_text


def singular_error(count: int) -> PostgrestError:
    return PostgrestError(
        "JSON object requested, multiple (or no) rows returned",
        code="PGRST116",
        status=406,
        details=f"The result contains {count} rows",
    )


def rows_as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.writer(out, lineterminator="\n")
    keys = list(rows[0])
    writer.writerow(keys)
    for row in rows:
        writer.writerow(
            [
                ""
                if row.get(key) is None
                else json.dumps(row[key])
                if isinstance(row.get(key), dict | list)
                else str(row[key]).lower()
                if isinstance(row.get(key), bool)
                else row[key]
                for key in keys
            ]
        )
    return out.getvalue()


def content_range(offset: int, count: int, total: int | None) -> str:
    total_text = "*" if total is None else str(total)
    if count == 0:
        return f"*/{total_text}"
    return f"{offset}-{offset + count - 1}/{total_text}"


def content_location(request: HttpRequest, table: str) -> str:
    """``/<table>?<query string sorted by key>`` as PostgREST sends with a read
    (QuerySpec, "Canonical location"); an ``apikey`` parameter, a secret, is
    left out."""
    params = sorted(
        (
            (key, value)
            for key, values in request.GET.lists()
            if key != "apikey"
            for value in values
        ),
        key=lambda item: item[0],
    )
    if not params:
        return f"/{table}"
    return f"/{table}?" + urlencode(params, quote_via=quote, safe="-_.~")
