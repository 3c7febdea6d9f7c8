"""Checking staged rows, in chunks, by the writer's own rules."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from core.errors import ValidationFailed
from core.writes import WriteContext
from gathergrid.imports.common import PREVIEW_ROWS, VALIDATE_CHUNK
from gathergrid.imports.mapping import active_fields, import_targets
from gathergrid.models import (
    ClassificationItem,
    FieldDataType,
    ImportJob,
    ImportRow,
    ImportStatus,
)
from gathergrid.selectors import entries_named
from gathergrid.services.entries import ENTRY_WRITER, required_values_missing
from gathergrid.services.field_entries import referable_entries
from gathergrid.spreadsheet import reference_cell
from gathergrid.values import InvalidValue, is_empty, normalise

# --- Validation -------------------------------------------------------------------

# The key of a reference value given by the entry's name, until it is resolved.
NAMED = "_named"


@dataclass
class CheckedRow:
    """One staged row checked against the mapping: the entry, or why not."""

    number: int
    raw: list[str]
    values: dict[str, Any] | None = None
    errors: list[str] = field(default_factory=list)
    # Per mapped column (in mapping order): the value as it will be stored (or
    # the cell as given when it is wrong) and whether that cell is wrong.
    cells: list[tuple[str, bool]] = field(default_factory=list)
    # Field id -> its position in ``cells``.
    cell_of_field: dict[int, int] = field(default_factory=dict)

    @property
    def error(self) -> str | None:
        return "; ".join(self.errors) if self.errors else None


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


class RowChecker:
    """Checks rows of one job by the writers' rules, without writing."""

    def __init__(self, job: ImportJob, mapping: list[str] | None = None) -> None:
        self.thing_id = job.thing_id
        self.header = job.header
        self.fields = {f.id: f for f in active_fields(job.thing_id)}
        known = {value for value, _ in import_targets(fields=self.fields.values())}
        # A field deactivated since the mapping was chosen takes no values, as
        # the API would refuse them; the mapping form names it on the next save.
        self.mapping = [
            target if target in known else ""
            for target in (mapping if mapping is not None else job.mapping)
        ]
        self.required = [
            f for f in self.fields.values() if f.required_for_initialization
        ]
        self.entry_writer = ENTRY_WRITER
        self.ctx = WriteContext(user_id=None)
        self.items: dict[int, str] | None = None

    def mapped(self) -> list[tuple[int, str, str]]:
        """(column index, target, label) of the mapped columns."""
        labels = dict(import_targets(fields=self.fields.values()))
        return [
            (index, target, labels.get(target, target))
            for index, target in enumerate(self.mapping)
            if target
        ]

    def _classification(self, cell: str) -> tuple[int | None, str | None]:
        if self.items is None:
            self.items = dict(
                ClassificationItem.objects.filter(active=True).values_list("id", "name")
            )
        text = cell.strip()
        if text.isdigit() and int(text) in self.items:
            return int(text), None
        named = [i for i, name in self.items.items() if name == text]
        if len(named) == 1:
            return named[0], None
        if len(named) > 1:
            return None, f"classification item “{text}” is ambiguous; give its id"
        return None, f"classification item “{text}” does not exist or is inactive"

    def check(self, rows: Sequence[tuple[int, list[str]]]) -> list[CheckedRow]:
        checked = [self._check_one(number, raw) for number, raw in rows]
        self._resolve_names(checked)
        self._check_references(checked)
        return checked

    def _resolve_names(self, rows: list[CheckedRow]) -> None:
        """Reference cells that name an entry by its name (its thing's first
        field, ignoring case) get that entry's id: one query per target thing
        per chunk; a name no entry or several entries have is the row's error."""
        named = [
            (row, value)
            for row in rows
            for value in (row.values or {}).get("field_entries", [])
            if NAMED in value
        ]
        wanted: dict[Any, set[str]] = defaultdict(set)
        for _, value in named:
            target = (self.fields[value["field_id"]].options or {}).get("thing_id")
            wanted[target].add(value[NAMED])
        found = {
            target: entries_named(thing_id=target, names=names)
            if isinstance(target, int)
            else {}
            for target, names in wanted.items()
        }
        for row, value in named:
            f = self.fields[value["field_id"]]
            name = value.pop(NAMED)
            matches = found[(f.options or {}).get("thing_id")].get(name.lower(), [])
            if len(matches) == 1:
                value["entered_value"] = str(matches[0])
                continue
            if matches:
                row.errors.append(
                    f"{f.name}: {len(matches)} entries are named “{name}”; "
                    f"give the id of the one you mean (#{matches[0]})"
                )
            else:
                row.errors.append(f"{f.name}: no entry is named “{name}”")
            row.values = None
            position = row.cell_of_field[f.id]
            row.cells[position] = (row.cells[position][0], True)

    def _check_one(self, number: int, raw: list[str]) -> CheckedRow:
        row = CheckedRow(number=number, raw=raw)
        width = len(self.header)
        if len(raw) > width and any(cell.strip() for cell in raw[width:]):
            row.errors.append(f"the row has {len(raw)} cells; the header has {width}")
        entry: dict[str, Any] = {"thing_id": self.thing_id}
        values: list[dict[str, Any]] = []
        filled: set[int] = set()
        for index, target in enumerate(self.mapping):
            if not target:
                continue
            cell = raw[index] if index < len(raw) else ""
            shown, wrong = cell, False
            if target.startswith("field:"):
                f = self.fields[int(target.removeprefix("field:"))]
                row.cell_of_field[f.id] = len(row.cells)
                if (
                    f.data_type == FieldDataType.REFERENCE
                    and not is_empty(cell)
                    and reference_cell(cell) is None
                ):
                    # An entry named by its name: resolved for the whole chunk
                    # at once (``_resolve_names``).
                    values.append(
                        {"field_id": f.id, "entered_value": None, NAMED: cell.strip()}
                    )
                    filled.add(f.id)
                elif not is_empty(cell):
                    try:
                        normal = normalise(
                            f.data_type,
                            f.options,
                            cell.strip().removeprefix("#")
                            if f.data_type == FieldDataType.REFERENCE
                            else cell,
                        )
                    except InvalidValue as error:
                        row.errors.append(f"{f.name}: {error}")
                        wrong = True
                    else:
                        shown = normal.text or ""
                        values.append({"field_id": f.id, "entered_value": normal.text})
                        filled.add(f.id)
            elif not is_empty(cell):
                if target == "classification_item_id":
                    item, problem = self._classification(cell)
                    if problem:
                        row.errors.append(problem)
                        wrong = True
                    else:
                        entry[target] = item
                else:
                    entry[target] = cell.strip()
            row.cells.append((shown, wrong))
        try:
            cleaned = self.entry_writer.clean(
                entry, index=None, ctx=self.ctx, creating=True
            )
        except ValidationFailed as error:
            row.errors.append(f"{error.field}: {error.reason}")
            cleaned = {}
        missing = required_values_missing(self.required, filled)
        if missing is not None:
            row.errors.append(missing.reason)
        if not row.errors:
            row.values = {
                **{k: _jsonable(v) for k, v in cleaned.items() if k != "thing_id"},
                "field_entries": values,
            }
        return row

    def _check_references(self, rows: list[CheckedRow]) -> None:
        """A reference must name an entry of the field's target thing that is not
        in the trash (the writer's own rule, ``referable_entries``), one query
        per target thing per chunk."""
        references = [
            (row, self.fields[value["field_id"]], int(value["entered_value"]))
            for row in rows
            for value in (row.values or {}).get("field_entries", [])
            if self.fields[value["field_id"]].data_type == FieldDataType.REFERENCE
        ]
        wanted: dict[Any, set[int]] = defaultdict(set)
        for _, f, entry_id in references:
            wanted[(f.options or {}).get("thing_id")].add(entry_id)
        found = referable_entries(wanted)
        for row, f, entry_id in references:
            target = (f.options or {}).get("thing_id")
            if entry_id not in found[target]:
                row.errors.append(
                    f"{f.name}: entry {entry_id} is not an active entry "
                    f"of thing {target}"
                )
                row.values = None
                position = row.cell_of_field[f.id]
                row.cells[position] = (row.cells[position][0], True)


def import_preview(
    *, job: ImportJob, mapping: list[str] | None = None, limit: int = PREVIEW_ROWS
) -> tuple[RowChecker, list[CheckedRow]]:
    """The first rows as they would be stored under ``mapping`` (not saved)."""
    checker = RowChecker(job, mapping)
    rows = ImportRow.objects.filter(job=job).order_by("number")[:limit]
    return checker, checker.check([(r.number, r.raw) for r in rows])


def import_validate_step(*, job: ImportJob, chunk: int = VALIDATE_CHUNK) -> ImportJob:
    """Validate the next ``chunk`` staged rows; the last step marks the job
    validated. Steps of one job run one at a time (the job row is locked)."""
    with transaction.atomic():
        job = ImportJob.objects.select_for_update().get(pk=job.pk)
        if job.status != ImportStatus.VALIDATING:
            return job
        rows = list(
            ImportRow.objects.filter(job=job, number__gt=job.validated_through)
            .order_by("number")
            .values_list("id", "number", "raw")[:chunk]
        )
        checked = RowChecker(job).check([(number, raw) for _, number, raw in rows])
        # One JSON document for the chunk: binding three arrays of 1,000
        # elements costs more client-side quoting than the checks themselves.
        outcome = json.dumps(
            [
                {"id": row_id, "values": c.values, "error": c.error}
                for (row_id, _, _), c in zip(rows, checked, strict=True)
            ]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                'UPDATE "import_rows" AS r SET "values" = v."values", '
                '"error" = v."error" FROM jsonb_to_recordset(%s::jsonb) '
                'AS v("id" bigint, "values" jsonb, "error" text) WHERE r."id" = v."id"',
                [outcome],
            )
        valid = sum(1 for c in checked if c.values is not None)
        job.validated_rows += len(rows)
        job.valid_rows += valid
        job.rejected_rows += len(rows) - valid
        if rows:
            job.validated_through = rows[-1][1]
        if not rows or job.validated_rows >= job.total_rows:
            job.status = ImportStatus.VALIDATED
            job.validation_seconds = import_elapsed(job)
        job.updated_at = timezone.now()
        job.save()
    return job


def import_elapsed(job: ImportJob) -> float:
    if job.validation_seconds is not None:
        return job.validation_seconds
    if job.validation_started_at is None:
        return 0.0
    return (timezone.now() - job.validation_started_at).total_seconds()


def import_rows_per_second(job: ImportJob) -> int:
    seconds = import_elapsed(job)
    return int(job.validated_rows / seconds) if seconds > 0 else 0
