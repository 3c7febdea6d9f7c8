"""Writes of many entries at once, as the grid makes them: a value set on every
selected entry, the selection trashed or restored, a pasted range of cells.

Each is one transaction with a fixed number of statements whatever the number
of rows, and one ``batch`` id on every history row it writes, so that it can be
undone as a whole (:mod:`gathergrid.services.undo`). Cells are read the way a
spreadsheet writes them (:mod:`gathergrid.spreadsheet`); a cell that cannot be
stored fails the whole write with :class:`~core.errors.InvalidCells` naming
each one, and nothing is written.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from core.errors import ApplicationError, InvalidCells
from core.writes import Upsert, WriteContext
from gathergrid.models import Entry, Field, FieldDataType, FieldEntry, Thing
from gathergrid.selectors import entries_named, entries_referrers_count
from gathergrid.services.entries import ENTRY_WRITER
from gathergrid.services.field_entries import (
    FIELD_ENTRY_WRITER,
    referable_entries,
    values_write,
)
from gathergrid.spreadsheet import DateOrder, cell_text, date_order_of, reference_cell
from gathergrid.values import InvalidValue, normalise

# Entries one bulk change may touch, and cells one paste may write: beyond,
# narrow the filter (one transaction holds every row it changes locked).
BULK_MAX_ENTRIES = 100_000
PASTE_MAX_CELLS = 100_000
# Cells named in one refusal; the count says how many more there are.
CELL_ERRORS_SHOWN = 200


class BulkAction:
    UPDATE = "update"
    TRASH = "trash"
    RESTORE = "restore"
    ALL = (UPDATE, TRASH, RESTORE)


@dataclass(frozen=True)
class BulkResult:
    changed: int
    batch: uuid.UUID | None
    # Active reference values (in other entries) naming the trashed entries.
    referenced: int = 0


@dataclass(frozen=True)
class PasteResult:
    changed: int
    created: list[int]
    batch: uuid.UUID | None


def _upper(message: str) -> str:
    return message[:1].upper() + message[1:]


class CellReader:
    """Reads a range of cells for ``columns`` (fields of one thing) into
    stored values: spreadsheet text (:func:`cell_text`), the field's rules
    (:func:`normalise`), references by id or by name (one query per target
    thing for the whole range). Errors are collected per cell."""

    def __init__(
        self, columns: Sequence[Field], *, date_order: DateOrder | None = None
    ) -> None:
        self.columns = list(columns)
        self.date_order = date_order
        self.errors: list[dict[str, Any]] = []
        self._wrong: set[tuple[int, int]] = set()

    def error(self, row: int, col: int, message: str) -> None:
        self.errors.append({"row": row, "col": col, "message": _upper(message)})
        self._wrong.add((row, col))

    def has_error(self, row: int, col: int) -> bool:
        return (row, col) in self._wrong

    def read(self, grid: Sequence[Sequence[str]]) -> list[list[str | None]]:
        """The stored text (None: no value) of each cell of ``grid``."""
        orders = [
            date_order_of(row[j] for row in grid if j < len(row)) or self.date_order
            if f.data_type in {FieldDataType.DATE, FieldDataType.DATETIME}
            else None
            for j, f in enumerate(self.columns)
        ]
        out: list[list[str | None]] = []
        names: list[tuple[int, int, str]] = []
        ids: list[tuple[int, int, int]] = []
        for i, row in enumerate(grid):
            values: list[str | None] = []
            for j, f in enumerate(self.columns):
                raw = row[j] if j < len(row) else ""
                values.append(None)
                if not isinstance(raw, str):
                    self.error(i, j, "send each cell as text")
                    continue
                try:
                    text = cell_text(f.data_type, f.options, raw, date_order=orders[j])
                    if f.data_type == FieldDataType.REFERENCE and text.strip():
                        number = reference_cell(text)
                        if number is None:
                            names.append((i, j, text.strip()))
                            continue
                        ids.append((i, j, number))
                        text = str(number)
                    values[j] = normalise(f.data_type, f.options, text).text
                except InvalidValue as invalid:
                    self.error(i, j, f"{f.name}: {invalid}")
            out.append(values)
        self._references(out, names, ids)
        return out

    def _target(self, col: int) -> Any:
        return (self.columns[col].options or {}).get("thing_id")

    def _references(
        self,
        out: list[list[str | None]],
        names: list[tuple[int, int, str]],
        ids: list[tuple[int, int, int]],
    ) -> None:
        wanted: dict[Any, set[int]] = {}
        for _, j, number in ids:
            wanted.setdefault(self._target(j), set()).add(number)
        found = referable_entries(wanted)
        for i, j, number in ids:
            if number not in found[self._target(j)]:
                out[i][j] = None
                self.error(
                    i,
                    j,
                    f"{self.columns[j].name}: no entry #{number} to point at "
                    "(it does not exist or is in the trash)",
                )
        by_target: dict[Any, set[str]] = {}
        for _, j, text in names:
            by_target.setdefault(self._target(j), set()).add(text)
        named = {
            target: entries_named(thing_id=target, names=texts)
            if isinstance(target, int)
            else {}
            for target, texts in by_target.items()
        }
        for i, j, text in names:
            matches = named[self._target(j)].get(text.lower(), [])
            field = self.columns[j].name
            if len(matches) == 1:
                out[i][j] = str(matches[0])
            elif matches:
                self.error(
                    i,
                    j,
                    f"{field}: {len(matches)} entries are named “{text}”; "
                    f"paste the id of the one you mean (#{matches[0]})",
                )
            else:
                self.error(i, j, f"{field}: no entry is named “{text}”")

    def refusal(self, what: str) -> InvalidCells:
        cells = sorted(self.errors, key=lambda c: (c["row"], c["col"]))
        n = len(cells)
        message = (
            f"Nothing was {what}: {n} cell{'s' if n != 1 else ''} cannot be stored."
        )
        return InvalidCells(message, cells=cells[:CELL_ERRORS_SHOWN])


def _current_values(
    entry_ids: Sequence[int], field_ids: Sequence[int]
) -> dict[tuple[int, int], str | None]:
    """{(entry id, field id): stored text} of active values, one query."""
    return {
        (entry_id, field_id): value
        for entry_id, field_id, value in FieldEntry.objects.filter(
            entry_id__in=entry_ids, field_id__in=field_ids, active=True
        ).values_list("entry_id", "field_id", "entered_value")
    }


def cells_write(
    changes: Sequence[tuple[int, int, str | None]], *, ctx: WriteContext
) -> None:
    """Set values ``(entry id, field id, stored text or None)`` in one upsert,
    with their history; the entries' ``updated_at`` moves. The caller has
    checked the values and holds the transaction."""
    if not changes:
        return
    rows = [
        FIELD_ENTRY_WRITER.clean(
            {"entry_id": entry_id, "field_id": field_id, "entered_value": text},
            index=None,
            ctx=ctx,
            creating=True,
        )
        for entry_id, field_id, text in changes
    ]
    values_write(
        rows,
        ctx=ctx,
        upsert=Upsert(on_conflict=("entry_id", "field_id"), ignore_duplicates=False),
        writer=FIELD_ENTRY_WRITER,
    )
    ENTRY_WRITER.update_rows(sorted({change[0] for change in changes}), {})


def _batch(by: WriteContext) -> WriteContext:
    return dataclasses.replace(by, batch=uuid.uuid4())


def _too_many(n: int, limit: int, what: str) -> ApplicationError:
    return ApplicationError(
        f"{n:,} {what} at once is more than the {limit:,} one change may hold; "
        "narrow the filter and do it in parts.",
        code="too_many",
        status=400,
    )


def entries_bulk_change(
    *,
    thing: Thing,
    fields: Sequence[Field],
    entry_ids: Sequence[int],
    action: str,
    values: dict[int, Any] | None = None,
    by: WriteContext,
    date_order: DateOrder | None = None,
) -> BulkResult:
    """Apply ``action`` to the entries ``entry_ids`` of ``thing`` (ids of other
    things, or already in the wanted state, are left alone): ``update`` sets
    ``values`` (field id -> cell text, "" or None to clear) on each, ``trash``
    and ``restore`` move them. ``fields``: the thing's active fields."""
    if action not in BulkAction.ALL:
        raise ApplicationError(
            "action must be update, trash or restore.", code="invalid"
        )
    if len(entry_ids) > BULK_MAX_ENTRIES:
        raise _too_many(len(entry_ids), BULK_MAX_ENTRIES, "entries")
    by_id = {f.id: f for f in fields}
    reader: CellReader | None = None
    columns: list[Field] = []
    texts: list[str | None] = []
    if action == BulkAction.UPDATE:
        if not values:
            raise ApplicationError(
                "Say which field to set under values.", code="invalid"
            )
        unknown = [key for key in values if key not in by_id]
        if unknown:
            raise ApplicationError(
                f"No active field {unknown[0]} in this thing.", code="invalid"
            )
        columns = [by_id[key] for key in values]
        reader = CellReader(columns, date_order=date_order)
        raw = [
            "" if v is None else v if isinstance(v, str) else str(v)
            for v in values.values()
        ]
        texts = reader.read([raw])[0]
        for j, f in enumerate(columns):
            if (
                texts[j] is None
                and f.mandatory
                and not any(c["col"] == j for c in reader.errors)
            ):
                reader.error(0, j, f"{f.name} is mandatory; it cannot be emptied")
        if reader.errors:
            raise reader.refusal("changed")
    with transaction.atomic():
        active = action != BulkAction.RESTORE
        ids = list(
            Entry.objects.select_for_update()
            .filter(thing_id=thing.id, pk__in=list(entry_ids), active=active)
            .order_by("id")
            .values_list("id", flat=True)
        )
        if not ids:
            return BulkResult(changed=0, batch=None)
        ctx = _batch(by)
        if action == BulkAction.TRASH:
            referenced = entries_referrers_count(thing_id=thing.id, entry_ids=ids)
            ENTRY_WRITER.delete(ids, ctx=ctx)
            return BulkResult(changed=len(ids), batch=ctx.batch, referenced=referenced)
        if action == BulkAction.RESTORE:
            ENTRY_WRITER.update(ids, {"active": True}, ctx=ctx)
            return BulkResult(changed=len(ids), batch=ctx.batch)
        current = _current_values(ids, [f.id for f in columns])
        changes = [
            (entry_id, f.id, texts[j])
            for entry_id in ids
            for j, f in enumerate(columns)
            if current.get((entry_id, f.id)) != texts[j]
        ]
        cells_write(changes, ctx=ctx)
        changed = len({change[0] for change in changes})
        return BulkResult(changed=changed, batch=ctx.batch if changes else None)


def entries_paste(
    *,
    thing: Thing,
    fields: Sequence[Field],
    field_ids: Sequence[int],
    rows: Sequence[tuple[int | None, Sequence[str]]],
    by: WriteContext,
    date_order: DateOrder | None = None,
) -> PasteResult:
    """Write a pasted range: ``rows`` of (entry id, or None for a new entry;
    cell texts for ``field_ids`` in order). All or nothing: a cell that
    cannot be stored (or a new entry lacking a value required when an entry
    is created) refuses the whole paste with :class:`InvalidCells`.
    Unchanged cells are not rewritten; wholly empty new rows are skipped."""
    by_id = {f.id: f for f in fields}
    unknown = [key for key in field_ids if key not in by_id]
    if unknown:
        raise ApplicationError(
            f"No active field {unknown[0]} in this thing.", code="invalid"
        )
    if len(set(field_ids)) != len(field_ids):
        raise ApplicationError("A field is named twice in field_ids.", code="invalid")
    if len(field_ids) * len(rows) > PASTE_MAX_CELLS:
        raise _too_many(len(field_ids) * len(rows), PASTE_MAX_CELLS, "cells")
    columns = [by_id[key] for key in field_ids]
    reader = CellReader(columns, date_order=date_order)
    stored = reader.read([cells for _, cells in rows])
    existing_ids = [entry_id for entry_id, _ in rows if entry_id is not None]
    required = [f for f in fields if f.required_for_initialization]
    with transaction.atomic():
        alive = set(
            Entry.objects.select_for_update()
            .filter(thing_id=thing.id, pk__in=existing_ids, active=True)
            .values_list("id", flat=True)
        )
        current = _current_values(sorted(alive), list(field_ids))
        changes: list[tuple[int, int, str | None]] = []
        creates: list[dict[str, Any]] = []
        for i, ((entry_id, _), values) in enumerate(zip(rows, stored, strict=True)):
            if entry_id is not None and entry_id not in alive:
                reader.error(i, 0, "this entry is no longer here (trashed or deleted)")
                continue
            if entry_id is None:
                if all(v is None for v in values):
                    continue
                for f in required:
                    j = field_ids.index(f.id) if f.id in field_ids else None
                    if j is None:
                        reader.error(
                            i, 0, f"{f.name} is required when an entry is created"
                        )
                    elif values[j] is None and not reader.has_error(i, j):
                        reader.error(
                            i, j, f"{f.name} is required when an entry is created"
                        )
                creates.append(
                    {
                        "thing_id": thing.id,
                        "values": {
                            f.name: v
                            for f, v in zip(columns, values, strict=True)
                            if v is not None
                        },
                    }
                )
                continue
            for j, f in enumerate(columns):
                if values[j] is None and f.mandatory:
                    if current.get(
                        (entry_id, f.id)
                    ) is not None and not reader.has_error(i, j):
                        reader.error(
                            i, j, f"{f.name} is mandatory; it cannot be emptied"
                        )
                    continue
                if current.get((entry_id, f.id)) != values[j]:
                    changes.append((entry_id, f.id, values[j]))
        if reader.errors:
            raise reader.refusal("pasted")
        if not changes and not creates:
            return PasteResult(changed=0, created=[], batch=None)
        ctx = _batch(by)
        cells_write(changes, ctx=ctx)
        created = (
            ENTRY_WRITER.insert(creates, ctx=ctx, upsert=None).ids if creates else []
        )
        return PasteResult(changed=len(changes), created=created, batch=ctx.batch)
