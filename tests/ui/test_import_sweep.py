"""``manage.py import_sweep``: imports left unapplied are discarded with their
staged rows, in every tenant; recent, applied and discarded ones are left."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from gathergrid import imports
from gathergrid.models import ImportJob, ImportRow, ImportStatus
from tests.factories import grid_make, in_tenant

pytestmark = pytest.mark.django_db

CSV = "Name,Age\nAda,36\nBob,41\nCy,29\n"


def job_in(tenant, *, age_days: float, status: str = ImportStatus.MAPPING):
    """A staged upload whose last step was ``age_days`` ago."""
    thing = grid_make(tenant, name=f"T{timezone.now().timestamp()}").thing
    with in_tenant(tenant):
        job = imports.import_job_create(
            thing=thing,
            filename="people.csv",
            file=io.BytesIO(CSV.encode()),
            user_id=None,
        )
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, updated_at=timezone.now() - timedelta(days=age_days)
        )
        return job.pk


def state(tenant, job_id) -> tuple[str, int, str]:
    with in_tenant(tenant):
        job = ImportJob.objects.get(pk=job_id)
        return job.status, ImportRow.objects.filter(job=job).count(), job.error


def sweep(*args: str) -> str:
    out = io.StringIO()
    call_command("import_sweep", *args, stdout=out)
    return out.getvalue()


def test_abandoned_imports_are_discarded_in_every_tenant(tenant_a, tenant_b):
    old_a = job_in(tenant_a, age_days=8)
    validated_b = job_in(tenant_b, age_days=30, status=ImportStatus.VALIDATED)
    recent_a = job_in(tenant_a, age_days=2)
    applied_b = job_in(tenant_b, age_days=30, status=ImportStatus.APPLIED)

    output = sweep()

    assert state(tenant_a, old_a) == (
        ImportStatus.DISCARDED,
        0,
        "Discarded automatically: not applied within 7 days of its last step.",
    )
    assert state(tenant_b, validated_b)[:2] == (ImportStatus.DISCARDED, 0)
    assert state(tenant_a, recent_a) == (ImportStatus.MAPPING, 3, "")
    assert state(tenant_b, applied_b) == (ImportStatus.APPLIED, 3, "")
    assert "tenant_a: discarded 1 import(s), 3 staged row(s)" in output
    assert "tenant_b: discarded 1 import(s), 3 staged row(s)" in output
    assert "Discarded 2 import(s) and 6 staged row(s)" in output


def test_dry_run_counts_and_changes_nothing(tenant_a):
    old = job_in(tenant_a, age_days=10)
    output = sweep("--dry-run")
    assert "tenant_a: would discard 1 import(s), 3 staged row(s)" in output
    assert state(tenant_a, old) == (ImportStatus.MAPPING, 3, "")


def test_days_and_schema_narrow_the_sweep(tenant_a, tenant_b):
    a = job_in(tenant_a, age_days=2)
    b = job_in(tenant_b, age_days=2)
    output = sweep("--days", "1", "--schema", "tenant_b")
    assert "[1/1] tenant_b" in output
    assert state(tenant_a, a)[0] == ImportStatus.MAPPING
    assert state(tenant_b, b) == (
        ImportStatus.DISCARDED,
        0,
        "Discarded automatically: not applied within 1 day of its last step.",
    )


def test_bad_arguments_are_refused(tenant_a):
    with pytest.raises(CommandError, match="--days"):
        sweep("--days", "0")
    with pytest.raises(CommandError, match="No tenant schema"):
        sweep("--schema", "nobody")


def test_the_import_page_says_why_it_was_discarded(tenant_a, client_a):
    job_id = job_in(tenant_a, age_days=9)
    sweep()
    with in_tenant(tenant_a):
        thing_id = ImportJob.objects.get(pk=job_id).thing_id
    response = client_a.get(f"/t/tenant_a/things/{thing_id}/import/{job_id}/")
    assert response.status_code == 200
    assert b"not applied within 7 days" in response.content
