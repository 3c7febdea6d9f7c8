"""The entries grid's JSON endpoints (static/ui/grid.js, built on Tabulator).

The grid talks to these, on the same services as every other face, with the
session cookie and the CSRF header: no token in the browser, the UI's roles.
Errors are JSON ``{"code", "message", "details"}`` (``ui.json_face``).

- ``GET grid/meta``: the columns (fields with their type, choices, reference
  target), the filter conditions each type takes, the saved views.
- ``GET grid/rows?offset=&limit=&sort=&f=<field id>.<op>.<value>&q=``: a
  window of rows and the exact count (three queries however far or wide).
- ``PATCH grid/rows/<entry id>``: change cells; ``seen`` (the values as loaded)
  makes it conditional, so someone else's change meanwhile is a 409 carrying
  the row as it is now, never silently overwritten.
"""

import uuid
from typing import Any

from django import forms
from django.http import HttpRequest, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import STALE, ApplicationError, Conflict, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import Entry, Field, FieldDataType, Thing
from gathergrid.selectors import (
    FILTER_OPERATORS,
    classification_items,
    entries_window,
    entry_query_parse,
    entry_row,
    filter_operator_label,
    grid_view_list,
    reference_labels,
    thing_fields,
)
from gathergrid.services.entries import entry_update
from gathergrid.values import choices_of
from ui.forms_entries import NUMERIC_TYPES, check_value, error_words
from ui.json_face import json_body, json_error, json_view
from ui.permissions import can_write, write_required

# Rows one request may ask for (the grid asks for a page of 100).
MAX_LIMIT = 500
DEFAULT_LIMIT = 100
# Past this an offset would overflow PostgreSQL's bigint; no grid is that long.
MAX_OFFSET = 10**12


def thing_and_fields(thing_id: int) -> tuple[Thing, list[Field]]:
    """The active thing of the URL (404 otherwise) and its active fields."""
    thing = get_object_or_404(Thing, pk=thing_id, active=True)
    return thing, thing_fields(thing_id=thing.id)


def _entries_url(schema: str, thing_id: int) -> str:
    return reverse(
        "ui:entry_edit",
        kwargs={"schema": schema, "thing_id": thing_id, "entry_id": 0},
    ).removesuffix("0/")


def _column(field: Field, schema: str) -> dict[str, Any]:
    options = field.options or {}
    column: dict[str, Any] = {
        "id": field.id,
        "name": field.name,
        "data_type": field.data_type,
        "mandatory": field.mandatory,
        "numeric": field.data_type in NUMERIC_TYPES,
    }
    if field.data_type in {FieldDataType.CHOICE, FieldDataType.MULTI_CHOICE}:
        column["choices"] = choices_of(options)
    target = options.get("thing_id")
    if field.data_type == FieldDataType.REFERENCE and isinstance(target, int):
        column["target"] = {"thing_id": target, "url": _entries_url(schema, target)}
    return column


def _operators() -> dict[str, list[dict[str, str]]]:
    return {
        data_type: [
            {"op": op, "label": filter_operator_label(data_type, op)} for op in ops
        ]
        for data_type, ops in FILTER_OPERATORS.items()
    }


def _views(thing: Thing) -> list[dict[str, Any]]:
    """The thing's saved views (every member sees them)."""
    return [
        {"id": v.id, "name": v.name, "config": v.config}
        for v in grid_view_list(thing_id=thing.id)
    ]


@require_GET
@json_view
def grid_meta(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    base = reverse("ui:entries", kwargs={"schema": schema, "thing_id": thing.id})
    return JsonResponse(
        {
            "thing": {"id": thing.id, "name": thing.name},
            "fields": [_column(f, schema) for f in fields],
            "operators": _operators(),
            "classification_items": [
                {"id": item.id, "name": item.name} for item in classification_items()
            ],
            "views": _views(thing),
            "can_write": can_write(request),
            "urls": {
                "grid": base + "grid/",
                "entries": _entries_url(schema, thing.id),
            },
        }
    )


def row_json(entry: Entry, fields: list[Field], labels: dict[int, str]) -> dict:
    """One grid row: stored values as text by field id (what ``seen`` sends
    back), and the names of the entries its references point at."""
    values = entry.values or {}
    row_labels = {}
    for f in fields:
        text = values.get(str(f.id))
        if f.data_type == FieldDataType.REFERENCE and text and text.isdigit():
            row_labels[str(f.id)] = labels.get(int(text)) or f"#{text}"
    return {
        "id": entry.id,
        "updated_at": entry.updated_at.isoformat(),
        "values": {str(f.id): values.get(str(f.id)) for f in fields},
        "labels": row_labels,
        "initialized": entry.initialized,
        "complete": entry.complete,
    }


def rows_query(params: QueryDict) -> QueryDict:
    """The grid's ``f=<field id>.<op>.<value>`` filters and ``sort`` in the
    form ``entry_query_parse`` reads (``<field id>:<op>:<value>``,
    ``f<field id>``); the rest as is."""
    query = params.copy()
    filters = []
    for raw in params.getlist("f"):
        field_id, _, rest = raw.partition(".")
        operator, _, value = rest.partition(".")
        filters.append(f"{field_id}:{operator}:{value}")
    query.setlist("f", filters)
    # sort=<field id>|-<field id>|created_at (ids grow with creation).
    sort = params.get("sort", "")
    key = sort.removeprefix("-")
    if key.isascii() and key.isdigit():
        query["sort"] = sort.replace(key, f"f{key}", 1)
    elif key == "created_at":
        query["sort"] = sort.replace(key, "id", 1)
    return query


def _bounded(params: QueryDict, key: str, default: int, high: int) -> int:
    raw = params.get(key, "")
    if not raw:
        return default
    if not (raw.isascii() and raw.isdigit()):
        raise ApplicationError(f"{key} must be a whole number.", code="invalid")
    return min(int(raw), high)


@require_GET
@json_view
def grid_rows(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    params = request.GET
    offset = _bounded(params, "offset", 0, MAX_OFFSET)
    limit = max(1, _bounded(params, "limit", DEFAULT_LIMIT, MAX_LIMIT))
    query = entry_query_parse(params=rows_query(params), fields=fields)
    if query.errors:
        return json_error(
            "invalid",
            " ".join(query.errors),
            status=400,
            details={"query": list(query.errors)},
        )
    window = entries_window(
        thing=thing, fields=fields, query=query, offset=offset, limit=limit
    )
    labels = reference_labels(fields=fields, entries=window.rows)
    return JsonResponse(
        {
            "count": window.count,
            "offset": window.offset,
            "rows": [row_json(e, fields, labels) for e in window.rows],
        }
    )


def _current(thing: Thing, fields: list[Field], entry_id: int) -> dict:
    entry = entry_row(thing=thing, fields=fields, entry_id=entry_id)
    return row_json(entry, fields, reference_labels(fields=fields, entries=[entry]))


def _changes(
    body: dict[str, Any], fields: list[Field]
) -> tuple[dict[str, Any], dict[str, str], dict[str, str]]:
    """(values by field name, seen by field name, errors by field id) of a
    PATCH body; values checked against their field's type."""
    by_id = {str(f.id): f for f in fields}
    sent, seen = body.get("values"), body.get("seen") or {}
    if not isinstance(sent, dict) or not sent:
        raise ApplicationError("Send the cells to change under values.", code="invalid")
    if not isinstance(seen, dict):
        raise ApplicationError("seen must map field ids to values.", code="invalid")
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key, raw in sent.items():
        field = by_id.get(str(key))
        if field is None:
            errors[str(key)] = "No such field."
            continue
        if isinstance(raw, bool):
            raw = "true" if raw else "false"
        if raw is not None and not isinstance(raw, str | int | float):
            errors[str(key)] = "Send the value as text, a number or null."
            continue
        try:
            values[field.name] = check_value(field, raw)
        except forms.ValidationError as invalid:
            errors[str(key)] = " ".join(invalid.messages)
    expected = {
        by_id[str(key)].name: "" if was is None else str(was)
        for key, was in seen.items()
        if str(key) in by_id and str(key) in sent
    }
    return values, expected, errors


@require_http_methods(["PATCH"])
@json_view
@write_required
def grid_row(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    entry = get_object_or_404(Entry, pk=entry_id, thing_id=thing.id, active=True)
    values, seen, errors = _changes(json_body(request), fields)
    if errors:
        return _invalid(errors)
    ids_by_name = {f.name: str(f.id) for f in fields}
    by = WriteContext(user_id=str(request.user.pk), batch=uuid.uuid4())
    try:
        entry_update(
            entry=entry,
            changes={"values": values},
            by=by,
            seen=seen or None,
        )
    except Conflict as stale:
        if stale.code != STALE:
            raise
        return json_error(
            "conflict",
            stale.reason,
            status=409,
            details={
                "field": ids_by_name.get(stale.field or ""),
                "current": _current(thing, fields, entry.id),
            },
        )
    except ValidationFailed as invalid:
        field_id = ids_by_name.get(invalid.field) or next(iter(values), "")
        return _invalid({ids_by_name.get(field_id, field_id): error_words(invalid)})
    return JsonResponse({**_current(thing, fields, entry.id), "batch": str(by.batch)})


def _invalid(fields: dict[str, str]) -> JsonResponse:
    return json_error(
        "invalid",
        " ".join(fields.values()),
        status=400,
        details={"fields": fields},
    )


def grid_route(name: str) -> str:
    """The route of a grid endpoint, under ``/t/<tenant>/``."""
    return f"things/<int:thing_id>/grid/{name}"


urlpatterns = [
    path(grid_route("meta"), grid_meta, name="grid_meta"),
    path(grid_route("rows"), grid_rows, name="grid_rows"),
    path(grid_route("rows/<int:entry_id>"), grid_row, name="grid_row"),
]
