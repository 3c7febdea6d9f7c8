"""The rows of a CSV export of the grid's current view."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from django.db.models import QuerySet

from gathergrid.imports.common import ENTRY_COLUMNS
from gathergrid.models import (
    Entry,
    Field,
)

# --- Export -----------------------------------------------------------------------


def export_header(*, fields: Sequence[Field]) -> list[str]:
    """Columns of an export: the entry id, each field by name, the entry columns
    (named so that an import maps them back by itself)."""
    return ["id", *(f.name for f in fields), *ENTRY_COLUMNS]


def export_rows(
    *, entries: QuerySet[Entry], fields: Sequence[Field], batch: int = 2000
) -> Iterator[list[str]]:
    """One CSV row per entry of ``entries`` (in its order; annotated with
    ``values``, {"<field id>": entered_value}, as ``selectors.entries_filtered``
    gives them), values in their stored text form, which an import takes back
    unchanged. Memory stays constant: rows come through a server-side cursor."""
    keys = [str(f.id) for f in fields]
    yield export_header(fields=fields)
    rows = entries.values_list(
        "id",
        "values",
        "classification_item_id",
        "validity_start_date",
        "validity_end_date",
    ).iterator(chunk_size=batch)
    for entry_id, values, item, start, end in rows:
        values = values or {}
        yield [
            str(entry_id),
            *(values.get(key) or "" for key in keys),
            "" if item is None else str(item),
            "" if start is None else start.isoformat(),
            "" if end is None else end.isoformat(),
        ]
