"""Background jobs of gathergrid (run by ``manage.py worker``; core/jobs.py).

A tenant's job takes its ``schema_name`` and activates that tenant itself.
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from django.db import connection, transaction

from core.jobs import defer, job, job_status, periodic
from gathergrid.imports import (
    ImportRefused,
    import_apply_run,
    import_apply_start,
    import_jobs_expire,
)
from gathergrid.models import ImportJob, ImportStatus
from tenants.commands import in_each_schema, tenant_active

# import_sweep's default: what `manage.py import_sweep` discards without --days.
IMPORT_SWEEP_AFTER = timedelta(days=7)


@job("import_apply")
def import_apply_job(*, schema_name: str, import_id: int) -> None:
    """Apply tenant ``schema_name``'s import ``import_id`` (queued by
    :func:`import_apply_queue`). The apply holds the import's advisory lock and
    writes in one transaction: a worker killed half-way leaves nothing, and the
    job, queued again (core.jobs.jobs_retry_stalled), applies it whole."""
    # ImportRefused: the import says why; nothing for the worker to retry.
    with tenant_active(schema_name), contextlib.suppress(ImportRefused):
        import_apply_run(job_id=import_id)


def _apply_lock(import_id: int) -> str:
    return f"import_apply:{connection.schema_name}:{import_id}"


def import_apply_queue(*, job: ImportJob, mode: str, user_id: Any) -> ImportJob:
    """Check that ``job`` can be applied, mark it ``applying`` and queue its
    apply for the worker, in one transaction: both or neither."""
    with transaction.atomic():
        job = import_apply_start(job=job, mode=mode, user_id=user_id)
        defer(
            import_apply_job,
            lock=_apply_lock(job.pk),
            schema_name=connection.schema_name,
            import_id=job.pk,
        )
    return job


def import_apply_waiting(job: ImportJob) -> bool:
    """Whether an ``applying`` import is still waiting for a worker (queued)
    rather than being applied."""
    if job.status != ImportStatus.APPLYING:
        return False
    return job_status(lock=_apply_lock(job.pk)) == "todo"


@periodic("import_sweep", cron="17 3 * * *")
def import_sweep() -> dict[str, int]:
    """Daily: discard every tenant's imports left unapplied for a week, as
    ``manage.py import_sweep`` does; discarded imports by schema."""
    results = in_each_schema(
        lambda: import_jobs_expire(older_than=IMPORT_SWEEP_AFTER),
        name="import_sweep",
    )
    return {schema: expired.jobs for schema, expired in results.items()}
