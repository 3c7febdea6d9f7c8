"""The grid's actions on many cells at once, its saved views and its
reference picker: JSON endpoints on the services (``ui.json_face`` maps
their errors; viewers may read views and options and change nothing).

- ``POST grid/bulk`` ``{"action": "update"|"trash"|"restore", "ids": [..]}``
  or ``{"action", "all_matching": true, "query": "<grid/rows query>"}``, with
  ``"values": {"<field id>": text}`` for update → ``{changed, batch,
  referenced}``.
- ``POST grid/paste`` ``{"field_ids": [..], "rows": [{"id": id|null,
  "cells": [text, ..]}], "date_order": "dmy"|"mdy"}`` → ``{changed, created,
  batch}``, or 400 with ``details.cells`` (nothing written).
- ``POST grid/undo`` ``{"batch"}`` → ``{reverted, batch}``; 409 when a value
  was changed since by someone else.
- ``GET/POST grid/views``, ``PATCH/DELETE grid/views/<id>``.
- ``GET grid/fields/<field id>/options?q=&limit=`` → ``[{id, label}]``.
"""

import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404
from django.urls import path
from django.views.decorators.http import require_GET, require_http_methods

from core.errors import ApplicationError
from core.writes import WriteContext
from gathergrid.models import Field, FieldDataType, GridView
from gathergrid.selectors import (
    entry_ids_matching,
    entry_query_parse,
    grid_view_list,
    reference_options,
)
from gathergrid.services.bulk import entries_bulk_change, entries_paste
from gathergrid.services.undo import batch_undo
from gathergrid.services.views import (
    grid_view_create,
    grid_view_delete,
    grid_view_update,
)
from gathergrid.spreadsheet import DATE_ORDERS
from ui.json_face import json_body, json_view
from ui.permissions import write_required
from ui.views.grid import grid_route, rows_query, thing_and_fields

OPTIONS_LIMIT = 50


def _by(request: HttpRequest) -> WriteContext:
    return WriteContext(user_id=str(request.user.pk))


def _invalid(message: str) -> ApplicationError:
    return ApplicationError(message, code="invalid", status=400)


def _ids(raw: Any, what: str) -> list[int]:
    if not isinstance(raw, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in raw
    ):
        raise _invalid(f"{what} must be a list of entry ids.")
    return raw


def _date_order(body: dict[str, Any]) -> Any:
    order = body.get("date_order")
    if order is not None and order not in DATE_ORDERS:
        raise _invalid("date_order must be dmy or mdy.")
    return order


def _batch_text(batch: uuid.UUID | None) -> str | None:
    return str(batch) if batch else None


@require_http_methods(["POST"])
@json_view
@write_required
def grid_bulk(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    body = json_body(request)
    action = body.get("action")
    active = action != "restore"
    if body.get("all_matching") is True:
        query_text = body.get("query", "")
        if not isinstance(query_text, str):
            raise _invalid("query must be the grid's rows query string.")
        query = entry_query_parse(
            params=rows_query(QueryDict(query_text)), fields=fields
        )
        if query.errors:
            raise _invalid(" ".join(query.errors))
        ids = entry_ids_matching(thing=thing, fields=fields, query=query, active=active)
    else:
        ids = _ids(body.get("ids"), "ids")
    values = body.get("values")
    by_field: dict[int, Any] | None = None
    if values is not None:
        if not isinstance(values, dict) or not all(str(k).isdigit() for k in values):
            raise _invalid("values must map field ids to text.")
        by_field = {int(k): v for k, v in values.items()}
    result = entries_bulk_change(
        thing=thing,
        fields=fields,
        entry_ids=ids,
        action=action,
        values=by_field,
        by=_by(request),
        date_order=_date_order(body),
    )
    return JsonResponse(
        {
            "changed": result.changed,
            "batch": _batch_text(result.batch),
            "referenced": result.referenced,
        }
    )


@require_http_methods(["POST"])
@json_view
@write_required
def grid_paste(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    body = json_body(request)
    field_ids = body.get("field_ids")
    if (
        not isinstance(field_ids, list)
        or not field_ids
        or not all(isinstance(i, int) and not isinstance(i, bool) for i in field_ids)
    ):
        raise _invalid("field_ids must list the pasted columns' field ids.")
    raw_rows = body.get("rows")
    if not isinstance(raw_rows, list) or not raw_rows:
        raise _invalid("rows must list the pasted rows.")
    rows = []
    for row in raw_rows:
        if not isinstance(row, dict) or not isinstance(row.get("cells"), list):
            raise _invalid("Each row is {id, cells: [text, ...]}.")
        entry_id = row.get("id")
        if entry_id is not None:
            _ids([entry_id], "id")
        rows.append((entry_id, row["cells"]))
    result = entries_paste(
        thing=thing,
        fields=fields,
        field_ids=field_ids,
        rows=rows,
        by=_by(request),
        date_order=_date_order(body),
    )
    return JsonResponse(
        {
            "changed": result.changed,
            "created": result.created,
            "batch": _batch_text(result.batch),
        }
    )


@require_http_methods(["POST"])
@json_view
@write_required
def grid_undo(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing_and_fields(thing_id)
    body = json_body(request)
    try:
        batch = uuid.UUID(str(body.get("batch")))
    except ValueError:
        raise _invalid("batch must be the id a change answered with.") from None
    result = batch_undo(batch=batch, by=_by(request))
    return JsonResponse(
        {"reverted": result.reverted, "batch": _batch_text(result.batch)}
    )


def view_json(view: GridView) -> dict[str, Any]:
    return {
        "id": view.id,
        "name": view.name,
        "config": view.config,
        "updated_at": view.updated_at.isoformat(),
    }


@require_http_methods(["GET", "POST"])
@json_view
@write_required
def grid_views(request: HttpRequest, schema: str, thing_id: int) -> JsonResponse:
    thing, fields = thing_and_fields(thing_id)
    if request.method == "GET":
        return JsonResponse(
            [view_json(v) for v in grid_view_list(thing_id=thing.id)], safe=False
        )
    body = json_body(request)
    view = grid_view_create(
        thing=thing,
        fields=fields,
        name=body.get("name"),
        config=body.get("config", {}),
        by=_by(request),
    )
    return JsonResponse(view_json(view), status=201)


@require_http_methods(["PATCH", "DELETE"])
@json_view
@write_required
def grid_view(
    request: HttpRequest, schema: str, thing_id: int, view_id: int
) -> HttpResponse:
    thing, fields = thing_and_fields(thing_id)
    view = get_object_or_404(GridView, pk=view_id, thing_id=thing.id)
    if request.method == "DELETE":
        grid_view_delete(view=view, by=_by(request))
        return HttpResponse(status=204)
    body = json_body(request)
    view = grid_view_update(
        view=view,
        fields=fields,
        name=body.get("name"),
        config=body.get("config"),
        by=_by(request),
    )
    return JsonResponse(view_json(view))


@require_GET
@json_view
def grid_options(
    request: HttpRequest, schema: str, thing_id: int, field_id: int
) -> JsonResponse:
    thing, _ = thing_and_fields(thing_id)
    field = get_object_or_404(
        Field,
        pk=field_id,
        thing_id=thing.id,
        active=True,
        data_type=FieldDataType.REFERENCE,
    )
    raw = request.GET.get("limit", "")
    limit = int(raw) if raw.isascii() and raw.isdigit() else 20
    search = request.GET.get("q", "")
    if "\x00" in search:
        raise _invalid("q cannot contain a NUL character.")
    options = reference_options(
        field=field, search=search, limit=max(1, min(limit, OPTIONS_LIMIT))
    )
    return JsonResponse(options, safe=False)


urlpatterns = [
    path(grid_route("bulk"), grid_bulk, name="grid_bulk"),
    path(grid_route("paste"), grid_paste, name="grid_paste"),
    path(grid_route("undo"), grid_undo, name="grid_undo"),
    path(grid_route("views"), grid_views, name="grid_views"),
    path(grid_route("views/<int:view_id>"), grid_view, name="grid_view"),
    path(
        grid_route("fields/<int:field_id>/options"), grid_options, name="grid_options"
    ),
]
