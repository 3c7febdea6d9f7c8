"""Import jobs and their staging rows: upload, discard, expiry, the rejected
rows."""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, BinaryIO

from django.db import transaction
from django.db.models import QuerySet
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from core.writes import WriteContext
from gathergrid.imports.common import (
    STAGE_CHUNK,
    ImportFileError,
    ImportRefused,
    max_bytes,
    refuse_unless,
    staging_drop,
)
from gathergrid.imports.csvfile import csv_open, csv_records, header_names
from gathergrid.imports.mapping import active_fields, import_mapping_default
from gathergrid.models import (
    ImportJob,
    ImportRow,
    ImportStatus,
    Thing,
)
from gathergrid.services.base import ModelWriter


class StagingWriter(ModelWriter):
    """COPY of staging rows (the same bulk path the entry writers use)."""

    model = ImportRow


STAGING_WRITER = StagingWriter()


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
        return job_stage(
            thing, filename, csv_records(text, delimiter), delimiter, user_id
        )
    finally:
        text.detach()  # the caller owns the file


def job_stage(
    thing: Thing,
    filename: str,
    records: Iterator[tuple[int, list[str]]],
    delimiter: str,
    user_id: Any,
) -> ImportJob:
    first = next(records, None)
    if first is None:
        raise ImportFileError("The file is empty.")
    header = header_names(first[1])
    fields = list(active_fields(thing.id))
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
        STAGING_WRITER.insert_rows(batch, ctx=WriteContext(user_id=None))
    return len(batch)


@transaction.atomic
def import_discard(*, job: ImportJob) -> ImportJob:
    """Drop a job that was not applied, with its staging rows."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    refuse_unless(job, PENDING)
    job.status = ImportStatus.DISCARDED
    job.updated_at = timezone.now()
    job.save()
    staging_drop(job)
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
                f"{duration_words(older_than)} of its last step."
            )
            job.updated_at = timezone.now()
            job.save()
            staging_drop(job)
    return ExpiredImports(jobs=jobs, staged_rows=rows)


def duration_words(duration: timedelta) -> str:
    days, hours = duration.days, duration.seconds // 3600
    if days and not hours:
        return f"{days} day{'s' if days != 1 else ''}"
    hours += days * 24
    return f"{hours} hour{'s' if hours != 1 else ''}"


# --- Reads ------------------------------------------------------------------------


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
