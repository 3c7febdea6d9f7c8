"""Background jobs (core/jobs.py) on the real queue, run in-process with
``jobs_run_pending``: the periodic jobs are registered with the worker's app
and do what their commands do in every tenant; a failed job is counted,
listed and retried; ``manage.py jobs`` shows the counts."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from procrastinate.contrib.django import app

from core.jobs import (
    AlreadyQueued,
    defer,
    job,
    job_counts,
    job_status,
    jobs_failed,
    jobs_run_pending,
    periodic_jobs,
)
from gathergrid import imports
from gathergrid.models import ImportJob, ImportStatus
from gathergrid.tasks import import_sweep
from tests.factories import grid_make, in_tenant
from tracking.partitions import MONTHS_AHEAD, event_partitions, month_add
from tracking.tasks import event_partitions as event_partitions_job

pytestmark = pytest.mark.django_db


@job("tests_fails")
def fails(*, why: str) -> None:
    raise RuntimeError(why)


@job("tests_noop")
def noop() -> None:
    pass


def test_the_periodic_jobs_are_registered_with_the_worker():
    assert periodic_jobs() == {
        "event_partitions": "7 * * * *",
        "import_sweep": "17 3 * * *",
        "jobs_retry_stalled": "* * * * *",
    }
    registered = {
        task.task.name: task.cron
        for task in app.periodic_registry.periodic_tasks.values()
    }
    assert registered == periodic_jobs()
    for name in ("import_apply", *periodic_jobs()):
        assert name in app.tasks


def test_the_event_partitions_job_fills_every_tenant_and_the_template(
    tenant_a, tenant_b
):
    today = timezone.now().date().replace(day=1)
    last = month_add(today, MONTHS_AHEAD)
    name = f"events_{last.year:04d}_{last.month:02d}"
    for schema in ("tenant_a", "tenant_b", "tenant_template"):
        connection.set_schema(schema)
        with connection.cursor() as cursor:
            cursor.execute(f'DROP TABLE "{name}"')
        assert name not in event_partitions()
    connection.set_schema_to_public()
    defer(event_partitions_job, timestamp=0)
    (run,) = jobs_run_pending()
    assert (run.task, run.status) == ("event_partitions", "succeeded")
    for schema in ("tenant_a", "tenant_b", "tenant_template"):
        connection.set_schema(schema)
        assert name in event_partitions()
    connection.set_schema_to_public()


def test_the_import_sweep_job_discards_stale_imports_of_every_tenant(
    tenant_a, tenant_b
):
    stale = {}
    for created in (tenant_a, tenant_b):
        thing = grid_make(created, name="Sweep", fields=[{"name": "Name"}]).thing
        with in_tenant(created):
            job_ = imports.import_job_create(
                thing=thing,
                filename="old.csv",
                file=io.BytesIO(b"Name\nA\n"),
                user_id=None,
            )
            ImportJob.objects.filter(pk=job_.pk).update(
                updated_at=timezone.now() - timedelta(days=8)
            )
            stale[created] = job_.pk
    defer(import_sweep, timestamp=0)
    assert [r.status for r in jobs_run_pending()] == ["succeeded"]
    for created, pk in stale.items():
        with in_tenant(created):
            assert ImportJob.objects.get(pk=pk).status == ImportStatus.DISCARDED


def test_a_failed_job_is_counted_listed_and_retried():
    job_id = defer(fails, why="boom")
    assert job_counts()[-1].status == "todo"
    (run,) = jobs_run_pending(raise_errors=False)
    assert (run.id, run.status, str(run.error)) == (job_id, "failed", "boom")
    assert [(f.id, f.task, f.args) for f in jobs_failed()] == [
        (job_id, "tests_fails", {"why": "boom"})
    ]
    out = io.StringIO()
    call_command("jobs", "--failed", stdout=out)
    table = out.getvalue()
    assert "tests_fails" in table and f"{job_id}  tests_fails" in table
    row = next(line for line in table.splitlines() if line.startswith("tests_fails"))
    assert row.split()[1:] == ["0", "0", "1"]
    call_command("jobs", "--retry", str(job_id), stdout=io.StringIO())
    assert [c.status for c in job_counts() if c.task == "tests_fails"] == ["todo"]
    with pytest.raises(RuntimeError, match="boom"):
        jobs_run_pending()


def test_a_job_with_a_lock_is_queued_once_and_succeeded_jobs_go():
    defer(noop, lock="one")
    with pytest.raises(AlreadyQueued):
        defer(noop, lock="one")
    assert job_status(lock="one") == "todo"
    assert [r.status for r in jobs_run_pending()] == ["succeeded"]
    assert job_status(lock="one") is None and job_counts() == []
    defer(noop, lock="one")  # free again


def test_retry_of_a_job_that_is_not_failed_is_refused():
    from django.core.management.base import CommandError

    job_id = defer(noop)
    with pytest.raises(CommandError, match=f"No failed job {job_id}"):
        call_command("jobs", "--retry", str(job_id))


def test_the_job_tables_are_in_the_public_schema_only(tenant_a):
    """migrate_schemas creates them once, in public: a tenant's schema (and
    so tenant creation, a clone of the template) has none of them."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT table_schema FROM information_schema.tables "
            "WHERE table_name LIKE 'procrastinate%'"
        )
        assert [row[0] for row in cursor.fetchall()] == ["public"]
