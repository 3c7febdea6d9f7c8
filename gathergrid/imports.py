"""CSV import into a thing, and the rows of a CSV export.

An import is a job in the tenant's schema: the upload is parsed once into
staging rows (``import_rows``), so any worker can serve the next step. The
admin maps columns to fields, the rows are validated in chunks by the same
rules as the API's writers (``values.normalise`` and ``EntryWriter.clean``;
the required-for-initialization and reference rules as ``EntryWriter.insert``
applies them), and applying writes all chosen rows through
``EntryWriter.insert`` (COPY, history) in one transaction, which is also where
the job becomes ``applied``: a crash before the commit leaves nothing behind,
and a job cannot be applied twice.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import logging
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, BinaryIO, TextIO

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django_tenants.utils import quote_schema_name

from core.errors import ApplicationError, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import (
    ClassificationItem,
    Entry,
    Field,
    FieldDataType,
    ImportJob,
    ImportMode,
    ImportRow,
    ImportStatus,
    Thing,
)
from gathergrid.services.base import ModelWriter
from gathergrid.services.entries import ENTRY_WRITER, required_values_missing
from gathergrid.services.field_entries import referable_entries
from gathergrid.values import InvalidValue, is_empty, normalise

logger = logging.getLogger(__name__)

# Rows per validation step: one step is one short request (well under a second).
VALIDATE_CHUNK = 1000
# Rows per EntryWriter.insert call while applying (all in one transaction).
APPLY_CHUNK = 2000
STAGE_CHUNK = 5000
SNIFF_BYTES = 65536
PREVIEW_ROWS = 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

# Mapping targets besides the thing's fields ("field:<id>"); "" skips a column.
ENTRY_COLUMNS = {
    "classification_item_id": "Classification item (id or name)",
    "validity_start_date": "Valid from (validity_start_date)",
    "validity_end_date": "Valid to (validity_end_date)",
}
ENTRY_COLUMN_ALIASES = {
    "classification_item_id": {"classification_item_id", "classification_item"},
    "validity_start_date": {"validity_start_date", "valid from"},
    "validity_end_date": {"validity_end_date", "valid to"},
}


class ImportRefused(ApplicationError):
    """An import step refused, with the reason in words."""


class ImportFileError(ImportRefused):
    """The upload is not a CSV file we can read."""


class MappingErrors(ImportRefused):
    """Per column (index) what is wrong with the chosen target."""

    def __init__(self, columns: dict[int, str]) -> None:
        super().__init__("The mapping has problems; see the marked columns.")
        self.columns = columns


def max_bytes() -> int:
    return settings.UI_IMPORT_MAX_BYTES


# --- Parsing ----------------------------------------------------------------------


def csv_open(file: BinaryIO) -> tuple[TextIO, str]:
    """The file as text (UTF-8, a byte-order mark dropped) and its delimiter.

    Reads the file twice, a chunk at a time (memory stays flat for a 50 MB
    file): first to check it is UTF-8 (naming the line if not), then as text.
    """
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    if not head.strip():
        raise ImportFileError("The file is empty.")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ImportFileError(
            "The file is UTF-16 text; save it as “CSV UTF-8” and upload that."
        )
    if head.startswith(b"PK\x03\x04"):
        raise ImportFileError(
            "This looks like a spreadsheet workbook (.xlsx), not CSV; save the "
            "sheet as “CSV UTF-8” and upload that."
        )
    if b"\x00" in head:
        raise ImportFileError(
            "This is not a CSV file: it holds binary data. Save the sheet as "
            "“CSV UTF-8” and upload that."
        )
    decoder = codecs.getincrementaldecoder("utf-8")()
    line = 1
    for chunk in iter(lambda: file.read(1 << 20), b""):
        if b"\x00" in chunk:
            line += chunk[: chunk.index(b"\x00")].count(b"\n")
            raise ImportFileError(
                f"This is not a CSV file: it holds binary data (on line {line}). "
                "Save the sheet as “CSV UTF-8” and upload that."
            )
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            line += chunk[: error.start].count(b"\n")
            raise ImportFileError(
                f"The file is not UTF-8 text (an invalid byte on line {line}). "
                "Save it as “CSV UTF-8” and upload it again."
            ) from None
        line += chunk.count(b"\n")
    file.seek(0)
    # A character cut at the end of the head does not matter to the sniffing.
    delimiter = csv_sniff_delimiter(head.decode("utf-8-sig", errors="ignore"))
    return io.TextIOWrapper(file, encoding="utf-8-sig", newline=""), delimiter


def csv_sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the first rows most evenly."""
    sample = text[:65536]
    best, best_score = ",", (0, 0)
    for delimiter in DELIMITERS:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter)
        try:
            rows = [row for _, row in zip(range(20), reader, strict=False) if row]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        # Rows as wide as the header count most; the last may be cut off.
        score = (sum(1 for row in rows[:-1] if len(row) == width), width)
        if score > best_score:
            best, best_score = delimiter, score
    return best


# A spreadsheet runs a cell starting with one of these as a formula (OWASP, "CSV
# Injection"); exports put a ' before them, which spreadsheets show as text.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def csv_cell_escape(cell: str) -> str:
    """``cell`` as a spreadsheet shows it and never runs it: a ' before a
    leading =, +, -, @, tab or CR, except in a plain number such as -5. A cell
    already starting with ' and then one of those gets one more ', so that
    :func:`csv_cell_unescape` gives every cell back exactly."""
    quoted = cell.startswith("'")
    if cell.lstrip("'").startswith(FORMULA_STARTS) and (
        quoted or not _PLAIN_NUMBER.fullmatch(cell)
    ):
        return "'" + cell
    return cell


def csv_cell_unescape(cell: str) -> str:
    """The cell :func:`csv_cell_escape` was given (imports read exports back)."""
    if cell.startswith("'") and cell.lstrip("'").startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def csv_records(text: TextIO | str, delimiter: str) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells) of each non-blank record; the header is row 1. Cells
    are unescaped (:func:`csv_cell_unescape`), so an export imports back as is."""
    source = io.StringIO(text, newline="") if isinstance(text, str) else text
    reader = csv.reader(source, delimiter=delimiter)
    number = 0
    try:
        for cells in reader:
            number += 1
            if cells and any(cell.strip() for cell in cells):
                yield number, [csv_cell_unescape(cell) for cell in cells]
    except csv.Error as error:
        raise ImportFileError(
            f"Row {number + 1} cannot be read as CSV: {error}."
        ) from None


def _header_names(cells: list[str]) -> list[str]:
    return [cell.strip() or f"Column {i + 1}" for i, cell in enumerate(cells)]


class _StagingWriter(ModelWriter):
    """COPY of staging rows (the same bulk path the entry writers use)."""

    model = ImportRow


_staging_writer = _StagingWriter()


@transaction.atomic
def import_job_create(
    *, thing: Thing, filename: str, file: BinaryIO, user_id: Any
) -> ImportJob:
    """Parse an upload (a binary file) into a new job and its staging rows,
    mapped by column names. The rows are staged as they are read."""
    size = file.seek(0, io.SEEK_END)
    file.seek(0)
    if size > max_bytes():
        raise ImportFileError(
            f"The file is {filesizeformat(size)}; the limit is "
            f"{filesizeformat(max_bytes())}. Split it into smaller files."
        )
    if not thing.active:
        raise ImportRefused("This thing is deactivated; restore it to import into it.")
    text, delimiter = csv_open(file)
    try:
        return _job_stage(
            thing, filename, csv_records(text, delimiter), delimiter, user_id
        )
    finally:
        text.detach()  # the caller owns the file


def _job_stage(
    thing: Thing,
    filename: str,
    records: Iterator[tuple[int, list[str]]],
    delimiter: str,
    user_id: Any,
) -> ImportJob:
    first = next(records, None)
    if first is None:
        raise ImportFileError("The file is empty.")
    header = _header_names(first[1])
    fields = list(_active_fields(thing.id))
    job = ImportJob.objects.create(
        thing=thing,
        filename=filename[:255],
        delimiter=delimiter,
        header=header,
        mapping=import_mapping_default(header=header, fields=fields),
        created_by=user_id,
    )
    total = 0
    batch: list[dict[str, Any]] = []
    for number, cells in records:
        batch.append({"job_id": job.id, "number": number, "raw": cells})
        if len(batch) >= STAGE_CHUNK:
            total += _stage(batch)
            batch = []
    total += _stage(batch)
    if total == 0:
        raise ImportFileError("The file has a header but no rows.")
    job.total_rows = total
    job.save(update_fields=["total_rows"])
    return job


def _stage(batch: list[dict[str, Any]]) -> int:
    if batch:
        _staging_writer.insert_rows(batch, ctx=WriteContext(user_id=None))
    return len(batch)


# --- Mapping ----------------------------------------------------------------------


def _active_fields(thing_id: int) -> QuerySet[Field]:
    return Field.objects.filter(thing_id=thing_id, active=True).order_by(
        "position", "id"
    )


def import_targets(*, fields: Iterable[Field]) -> list[tuple[str, str]]:
    """(value, label) of every column target: the fields, then entry columns."""
    return [
        *((f"field:{f.id}", f.name) for f in fields),
        *ENTRY_COLUMNS.items(),
    ]


def import_mapping_default(*, header: list[str], fields: Sequence[Field]) -> list[str]:
    """Each column's target by name, ignoring case (a field wins over an entry
    column); each target is used once."""
    by_name: dict[str, str] = {}
    for column, aliases in ENTRY_COLUMN_ALIASES.items():
        for alias in aliases:
            by_name[alias] = column
    for f in fields:
        by_name[f.name.strip().lower()] = f"field:{f.id}"
    mapping, used = [], set()
    for name in header:
        target = by_name.get(name.strip().lower(), "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


def import_mapping_check(*, job: ImportJob, mapping: list[str]) -> None:
    """Raise :class:`MappingErrors` for unknown targets or a target used twice."""
    valid = {value for value, _ in import_targets(fields=_active_fields(job.thing_id))}
    errors: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, target in enumerate(mapping):
        if not target:
            continue
        if target not in valid:
            errors[index] = "This field no longer exists; choose another."
        elif target in seen:
            errors[index] = (
                f"Already chosen for column “{job.header[seen[target]]}”; "
                "a target takes one column."
            )
        else:
            seen[target] = index
    if len(mapping) != len(job.header):
        errors[len(job.header)] = "Give a target (or skip) for every column."
    if errors:
        raise MappingErrors(errors)


def import_unmapped_fields(
    *, fields: Iterable[Field], mapping: list[str]
) -> dict[str, list[str]]:
    """Names of required-for-initialization and mandatory fields no column fills."""
    chosen = set(mapping)
    unmapped: dict[str, list[str]] = {"required": [], "mandatory": []}
    for f in fields:
        if f"field:{f.id}" in chosen:
            continue
        if f.required_for_initialization:
            unmapped["required"].append(f.name)
        elif f.mandatory:
            unmapped["mandatory"].append(f.name)
    return unmapped


@transaction.atomic
def import_mapping_set(*, job: ImportJob, mapping: list[str]) -> ImportJob:
    """Save the mapping and (re)start validation from the first row."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _refuse_unless(
        job, {ImportStatus.MAPPING, ImportStatus.VALIDATING, ImportStatus.VALIDATED}
    )
    import_mapping_check(job=job, mapping=mapping)
    job.mapping = mapping
    job.status = ImportStatus.VALIDATING
    job.validated_rows = job.validated_through = 0
    job.valid_rows = job.rejected_rows = 0
    job.validation_started_at = timezone.now()
    job.validation_seconds = None
    job.error = ""
    job.updated_at = timezone.now()
    job.save()
    return job


# --- Validation -------------------------------------------------------------------


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
        self.fields = {f.id: f for f in _active_fields(job.thing_id)}
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
        self._check_references(checked)
        return checked

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
                if not is_empty(cell):
                    try:
                        normal = normalise(f.data_type, f.options, cell)
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


# --- Apply and discard ----------------------------------------------------------


def _refuse_unless(job: ImportJob, allowed: set[str]) -> None:
    if job.status in allowed:
        return
    if job.status == ImportStatus.APPLIED:
        raise ImportRefused(
            f"This import was already applied: it created {job.created_entries:,} "
            "entries. Nothing was done again."
        )
    if job.status == ImportStatus.DISCARDED:
        raise ImportRefused("This import was discarded; upload the file again.")
    if job.status == ImportStatus.MAPPING:
        raise ImportRefused("Map the columns first.")
    if job.status == ImportStatus.APPLYING:
        raise ImportRefused("This import is being applied; wait for it to finish.")
    raise ImportRefused("Validation has not finished yet; wait for it to finish.")


def _file_row_message(error: ApplicationError, numbers: list[int]) -> str:
    """The writer names rows by their index in its batch; name the file's row."""
    if isinstance(error, ValidationFailed):
        if error.row is not None and error.row < len(numbers):
            return f"row {numbers[error.row]}: {error.field}: {error.reason}"
        if error.row is None and len(numbers) == 1:
            return f"row {numbers[0]}: {error.field}: {error.reason}"
    if len(numbers) == 1:
        return f"row {numbers[0]}: {error.message}"
    return error.message


def import_apply(*, job: ImportJob, mode: str, user_id: Any) -> ImportJob:
    """Apply the job here and now: :func:`import_apply_start`, then
    :func:`import_apply_run` in this thread (the browser UI runs the second in
    the background)."""
    job = import_apply_start(job=job, mode=mode, user_id=user_id)
    return import_apply_run(job_id=job.pk)


def import_apply_start(*, job: ImportJob, mode: str, user_id: Any) -> ImportJob:
    """Check that the job can be applied and mark it ``applying`` (committed):
    a second apply is refused from here on.

    ``all`` refuses when any row is rejected.
    """
    if mode not in ImportMode.values:
        raise ImportRefused("Choose how to apply: the valid rows, or all or nothing.")
    with transaction.atomic():
        job = (
            ImportJob.objects.select_for_update().select_related("thing").get(pk=job.pk)
        )
        _refuse_unless(job, {ImportStatus.VALIDATED})
        if mode == ImportMode.ALL_OR_NOTHING and job.rejected_rows:
            raise ImportRefused(
                f"All or nothing: {job.rejected_rows:,} row(s) are rejected, so "
                "nothing was imported. Fix them and upload again, or apply the "
                "valid rows."
            )
        if not job.thing.active:
            raise ImportRefused("This thing is deactivated; restore it to import.")
        job.status = ImportStatus.APPLYING
        job.mode = mode
        job.applied_rows = 0
        job.applied_by = user_id or None
        job.apply_started_at = job.updated_at = timezone.now()
        job.error = ""
        job.save()
    return job


def import_apply_run(*, job_id: int) -> ImportJob:
    """Write an ``applying`` job's valid rows as entries, all in one
    transaction, reporting progress (``applied_rows``) as it goes; the job
    becomes ``applied`` in that transaction and its staging rows go with it.

    If it cannot finish, nothing is written and the job is ``validated``
    again, with ``error`` saying why (ImportRefused is raised for a reason the
    user can act on; anything else is re-raised after that).
    """
    started = time.perf_counter()
    # Inside a caller's transaction, the job row may be locked by it: progress
    # reports (another connection) would wait on it; there are none then.
    report_progress = not connection.in_atomic_block
    try:
        with transaction.atomic():
            _apply_lock(job_id)
            job = ImportJob.objects.select_related("thing").get(pk=job_id)
            if job.status != ImportStatus.APPLYING:
                return job
            if not job.thing.active:
                raise ImportRefused("This thing is deactivated; restore it to import.")
            with _ApplyProgress(job, enabled=report_progress) as progress:
                created = _apply_rows(job, progress)
            job.status = ImportStatus.APPLIED
            job.created_entries = job.applied_rows = created
            job.applied_at = job.updated_at = timezone.now()
            job.apply_seconds = time.perf_counter() - started
            job.save()
            _staging_drop(job)
        return job
    except ImportRefused as refused:
        _apply_undone(job_id, refused.message)
        raise
    except Exception:
        _apply_undone(
            job_id,
            "The import failed unexpectedly, so nothing was imported; the error "
            "was logged. Apply again, or ask your administrator.",
        )
        raise


def _apply_rows(job: ImportJob, progress: _ApplyProgress) -> int:
    writer = ENTRY_WRITER
    ctx = WriteContext(user_id=str(job.applied_by) if job.applied_by else None)
    created, last = 0, 0
    while True:
        batch = list(
            ImportRow.objects.filter(
                job=job, number__gt=last, values__isnull=False, error__isnull=True
            )
            .order_by("number")
            .values_list("number", "values")[:APPLY_CHUNK]
        )
        if not batch:
            return created
        numbers = [number for number, _ in batch]
        try:
            result = writer.insert(
                [{"thing_id": job.thing_id, **values} for _, values in batch],
                ctx=ctx,
                upsert=None,
            )
        except ApplicationError as error:
            # Something changed since validation (a field, a reference).
            raise ImportRefused(
                "Nothing was imported: "
                + _file_row_message(error, numbers)
                + ". Validate again (change mapping) to see every such row."
            ) from None
        created += result.inserted
        last = numbers[-1]
        progress.report(created)


# A transaction-scoped advisory lock per job, held by its apply: another
# process can tell whether an ``applying`` job is still being applied.
def _apply_lock_key(job_id: int) -> str:
    return f"import_apply:{connection.schema_name}:{job_id}"


def _apply_lock(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [_apply_lock_key(job_id)],
        )


def _apply_lock_taken(job_id: int) -> bool:
    """Take the job's apply lock if it is free, for the rest of the caller's
    transaction; False when an apply holds it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_try_advisory_xact_lock(hashtextextended(%s, 0))",
            [_apply_lock_key(job_id)],
        )
        return cursor.fetchone()[0]


def _apply_undone(job_id: int, reason: str) -> None:
    """An apply that did not finish (nothing of it was written): the job is
    ``validated`` again, saying why."""
    ImportJob.objects.filter(pk=job_id, status=ImportStatus.APPLYING).update(
        status=ImportStatus.VALIDATED,
        applied_rows=0,
        error=reason,
        updated_at=timezone.now(),
    )


class _ApplyProgress:
    """Reports an apply's progress from inside its (long, uncommitted)
    transaction, over a connection of its own that commits each report."""

    def __init__(self, job: ImportJob, *, enabled: bool = True) -> None:
        self.job_id = job.pk
        self.table = f'{quote_schema_name(connection.schema_name)}."import_jobs"'
        self.enabled = enabled
        self.raw = None

    def __enter__(self) -> _ApplyProgress:
        if not self.enabled:
            return self
        try:
            self.raw = connection.get_new_connection(connection.get_connection_params())
            self.raw.autocommit = True
            # Never wait long on the job row: a report can be skipped.
            self.raw.execute("SET lock_timeout = '2s'")
        except Exception:  # no progress shown is better than no import
            logger.warning("Import %s: no connection to report progress", self.job_id)
        return self

    def report(self, rows: int) -> None:
        if self.raw is None:
            return
        try:
            with self.raw.cursor() as cursor:
                cursor.execute(
                    f'UPDATE {self.table} SET "applied_rows" = %s, '
                    '"updated_at" = now() WHERE "id" = %s',
                    [rows, self.job_id],
                )
        except Exception:
            logger.warning("Import %s: progress not reported", self.job_id)
            self.raw.close()
            self.raw = None

    def __exit__(self, *exc) -> None:
        if self.raw is not None:
            self.raw.close()


def import_apply_in_background(*, job: ImportJob) -> threading.Thread:
    """Run :func:`import_apply_run` for an ``applying`` job in a thread of
    this process, on a database connection of its own; the job's page
    follows its progress. If the process stops first, nothing is written and
    :func:`import_apply_recover` puts the job back."""
    tenant = connection.tenant

    def run() -> None:
        try:
            connection.set_tenant(tenant)
            import_apply_run(job_id=job.pk)
        except ImportRefused:
            pass  # the job says why
        except Exception:
            logger.exception("The apply of import %s failed", job.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=run, name=f"import-apply-{job.pk}", daemon=True)
    thread.start()
    return thread


# An ``applying`` job whose progress has not moved for this long, and whose
# apply lock is free, was interrupted (its process stopped): nothing of it was
# written, and it can be applied again.
APPLY_STALE = timedelta(seconds=30)


def import_apply_recover(job: ImportJob) -> ImportJob:
    """``job`` as it stands, after putting an interrupted apply back to
    ``validated`` (with a reason); a running one is left alone."""
    if (
        job.status != ImportStatus.APPLYING
        or timezone.now() - job.updated_at < APPLY_STALE
    ):
        return job
    # The lock stays taken until the job is back to validated: an apply that
    # starts meanwhile waits for it, then finds the job validated and stops.
    with transaction.atomic():
        if not _apply_lock_taken(job.pk):
            return job
        _apply_undone(
            job.pk,
            "The import was interrupted before it finished (the server stopped), "
            "so nothing was imported. Apply it again.",
        )
    job.refresh_from_db()
    return job


@transaction.atomic
def import_discard(*, job: ImportJob) -> ImportJob:
    """Drop a job that was not applied, with its staging rows."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    _refuse_unless(job, PENDING)
    job.status = ImportStatus.DISCARDED
    job.updated_at = timezone.now()
    job.save()
    _staging_drop(job)
    return job


PENDING = {ImportStatus.MAPPING, ImportStatus.VALIDATING, ImportStatus.VALIDATED}


@dataclass(frozen=True)
class ExpiredImports:
    jobs: int
    staged_rows: int


def import_jobs_expire(
    *, older_than: timedelta, dry_run: bool = False
) -> ExpiredImports:
    """Discard the imports (of the connection's tenant) left unapplied for
    ``older_than``, with their staged rows: an upload nobody finishes would
    otherwise keep its whole file in the database."""
    cutoff = timezone.now() - older_than
    if not dry_run:  # interrupted applies become validated imports again
        for job in ImportJob.objects.filter(
            status=ImportStatus.APPLYING, updated_at__lt=timezone.now() - APPLY_STALE
        ):
            import_apply_recover(job)
    stale = ImportJob.objects.filter(status__in=PENDING, updated_at__lt=cutoff)
    jobs = rows = 0
    for job_id in stale.order_by("id").values_list("id", flat=True):
        with transaction.atomic():
            job = ImportJob.objects.select_for_update().get(pk=job_id)
            if job.status not in PENDING or job.updated_at >= cutoff:
                continue  # touched meanwhile
            jobs += 1
            rows += ImportRow.objects.filter(job=job).count()
            if dry_run:
                continue
            job.status = ImportStatus.DISCARDED
            job.error = (
                f"Discarded automatically: not applied within "
                f"{_duration_words(older_than)} of its last step."
            )
            job.updated_at = timezone.now()
            job.save()
            _staging_drop(job)
    return ExpiredImports(jobs=jobs, staged_rows=rows)


def _duration_words(duration: timedelta) -> str:
    days, hours = duration.days, duration.seconds // 3600
    if days and not hours:
        return f"{days} day{'s' if days != 1 else ''}"
    hours += days * 24
    return f"{hours} hour{'s' if hours != 1 else ''}"


# --- Reads ------------------------------------------------------------------------


def _staging_drop(job: ImportJob) -> None:
    """Delete a job's staging rows in one statement (nothing refers to them;
    Django's ``delete()`` would first fetch them all to look for cascades)."""
    with connection.cursor() as cursor:
        cursor.execute('DELETE FROM "import_rows" WHERE "job_id" = %s', [job.pk])


def import_jobs_of(*, thing_id: int) -> QuerySet[ImportJob]:
    """A thing's imports, newest first."""
    return ImportJob.objects.filter(thing_id=thing_id).order_by("-id")


def import_rejected_rows(*, job: ImportJob) -> QuerySet[ImportRow]:
    """A validated job's rejected rows in file order."""
    return ImportRow.objects.filter(job=job, error__isnull=False).order_by("number")


def import_rejected_csv(*, job: ImportJob, batch: int = 2000) -> Iterator[list[str]]:
    """The rejected rows as CSV rows: row number, reason, the cells as given."""
    yield ["row", "reason", *job.header]
    last = 0
    while True:
        rows = list(
            import_rejected_rows(job=job)
            .filter(number__gt=last)
            .values_list("number", "error", "raw")[:batch]
        )
        if not rows:
            return
        for number, error, raw in rows:
            yield [str(number), error, *raw]
        last = rows[-1][0]


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
