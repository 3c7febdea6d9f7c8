"""Saved views of a thing's grid: a name and how the grid is arranged
(columns with their width, order and visibility, the frozen first column,
sort, filters, search), shared by every member of the tenant."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.writes import WriteContext
from gathergrid.models import Field, GridView, Thing
from gathergrid.selectors import FILTER_OPERATORS
from gathergrid.services.base import invalid, name_clean, written_once

MAX_NAME = 200
MAX_FILTERS = 50
MAX_TEXT = 1_000
_SORT = re.compile(r"^-?(\d{1,18}|created_at)$")


def _whole(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = int(value)
    return number if low <= number <= high else None


def grid_view_config_clean(config: Any, fields: Sequence[Field]) -> dict[str, Any]:
    """A view's arrangement, checked: known keys only, of the right types;
    columns and filters of fields the thing no longer has are dropped (a
    field may be removed after the view was saved)."""
    if not isinstance(config, dict):
        raise invalid("config", "must be an object")
    by_id = {f.id: f for f in fields}
    if not isinstance(config.get("columns") or [], list):
        raise invalid("config", "columns must be a list")
    columns = []
    seen: set[int] = set()
    for column in config.get("columns") or []:
        if not isinstance(column, dict):
            raise invalid("config", "each column must be an object")
        field_id = _whole(column.get("field_id"), 1, 2**62)
        if field_id is None:
            raise invalid("config", "each column needs its field_id")
        if field_id not in by_id or field_id in seen:
            continue
        seen.add(field_id)
        width = column.get("width")
        columns.append(
            {
                "field_id": field_id,
                "width": _whole(width, 20, 4000),
                "hidden": column.get("hidden") is True,
            }
        )
    filters = []
    raw_filters = config.get("filters") or []
    if not isinstance(raw_filters, list) or len(raw_filters) > MAX_FILTERS:
        raise invalid("config", f"filters must be a list of at most {MAX_FILTERS}")
    for item in raw_filters:
        if not isinstance(item, dict):
            raise invalid("config", "each filter must be an object")
        field = by_id.get(_whole(item.get("field"), 1, 2**62) or 0)
        if field is None:
            continue
        op, value = item.get("op"), item.get("value", "")
        if op not in FILTER_OPERATORS.get(field.data_type, ()):
            raise invalid("config", f"{op!r} is not a condition for {field.name}")
        if not isinstance(value, str) or len(value) > MAX_TEXT:
            raise invalid("config", "a filter's value must be text")
        filters.append({"field": field.id, "op": op, "value": value})
    sort = config.get("sort") or ""
    if not isinstance(sort, str) or (sort and not _SORT.match(sort)):
        raise invalid("config", "sort must be a field id, -field id or created_at")
    if sort.lstrip("-").isdigit() and int(sort.lstrip("-")) not in by_id:
        sort = ""
    q = config.get("q") or ""
    if not isinstance(q, str) or len(q) > MAX_TEXT:
        raise invalid("config", "q must be text")
    frozen = config.get("frozen", 1)
    return {
        "columns": columns,
        "order": [c["field_id"] for c in columns],
        "frozen": 1 if frozen in (1, True) else 0,
        "sort": sort,
        "filters": filters,
        "q": q,
    }


def _name(name: Any) -> str:
    if not isinstance(name, str):
        raise invalid("name", "is required")
    name = name_clean(name, row=None)
    if len(name) > MAX_NAME:
        raise invalid("name", f"may have at most {MAX_NAME} characters")
    return name


def grid_view_create(
    *,
    thing: Thing,
    fields: Sequence[Field],
    name: Any,
    config: Any,
    by: WriteContext,
) -> GridView:
    """A new saved view of ``thing``'s grid; Conflict (``unique``) when the
    thing has a view of that name in any case."""
    clean_name = _name(name)
    clean = grid_view_config_clean(config, fields)
    return written_once(
        lambda: GridView.objects.create(
            thing=thing, name=clean_name, config=clean, created_by=by.user_id
        ),
        name=clean_name,
    )


def grid_view_update(
    *,
    view: GridView,
    fields: Sequence[Field],
    name: Any = None,
    config: Any = None,
    by: WriteContext,
) -> GridView:
    """Rename a view and/or save a new arrangement in it."""
    if name is None and config is None:
        raise ValidationFailed("config", "send a name or a config to change")
    if name is not None:
        view.name = _name(name)
    if config is not None:
        view.config = grid_view_config_clean(config, fields)
    view.updated_at = timezone.now()
    written_once(view.save, name=view.name)
    return view


def grid_view_delete(*, view: GridView, by: WriteContext) -> None:
    with transaction.atomic():
        view.delete()
