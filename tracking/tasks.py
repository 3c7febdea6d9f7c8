"""Background jobs of tracking (run by ``manage.py worker``; core/jobs.py)."""

from __future__ import annotations

from core.jobs import periodic
from tenants.commands import in_each_schema
from tracking.partitions import event_partitions_ensure


@periodic("event_partitions", cron="7 * * * *")
def event_partitions() -> dict[str, list[str]]:
    """Hourly (cheap when there is nothing to do): give ``events`` its coming
    months' partitions in the template and every tenant, as ``manage.py
    event_partitions`` does; the partitions created by schema."""
    return in_each_schema(
        event_partitions_ensure, template=True, name="event_partitions"
    )
