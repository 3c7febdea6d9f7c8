"""Applying a validated import: every chosen row through the entry writer in
one transaction, with progress."""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import quote_schema_name

from core.errors import ApplicationError, ValidationFailed
from core.writes import WriteContext
from gathergrid.imports.common import (
    APPLY_CHUNK,
    ImportRefused,
    refuse_unless,
    staging_drop,
)
from gathergrid.models import (
    ImportJob,
    ImportMode,
    ImportRow,
    ImportStatus,
)
from gathergrid.services.entries import ENTRY_WRITER

logger = logging.getLogger(__name__)


# --- Apply and discard ----------------------------------------------------------


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
    :func:`import_apply_run` in this thread (the browser UI queues the second
    for the background worker: gathergrid.tasks.import_apply_queue)."""
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
        refuse_unless(job, {ImportStatus.VALIDATED})
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
            staging_drop(job)
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


# A transaction-scoped advisory lock per job, held by its apply: two applies
# of one job (a job run twice) never overlap; the second finds it applied.
def _apply_lock_key(job_id: int) -> str:
    return f"import_apply:{connection.schema_name}:{job_id}"


def _apply_lock(job_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
            [_apply_lock_key(job_id)],
        )


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
