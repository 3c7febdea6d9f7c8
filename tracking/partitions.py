"""Monthly partitions of ``events``, created ahead of the months they hold.

``events`` is partitioned by range of ``event_time``: one partition per UTC
month, ``events_YYYY_MM``, beside ``events_default``, which takes the rows of
any month without a partition, so ingestion never fails for lack of one.
Rows found in the default partition for a month being given its partition are
moved into it in the same transaction (PostgreSQL refuses to create a
partition whose range has rows in the default one).
"""

from datetime import UTC, date, datetime

from django.db import connection, transaction
from django.utils import timezone

EVENTS_TABLE = "events"
DEFAULT_PARTITION = "events_default"
# Last month for late events; older backfills land in the default partition
# until `event_partitions --months-back N` splits them out. Every partition is
# a table and five indexes in every tenant, cloned into each new tenant (12
# months back measured 25% slower tenant creation than 1). A quarter ahead so
# that a missed monthly run (cron) never leaves a month to the default.
MONTHS_BACK = 1
MONTHS_AHEAD = 3


def month_add(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``first``'s."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def event_partition_name(month: date) -> str:
    return f"{EVENTS_TABLE}_{month.year:04d}_{month.month:02d}"


def event_partitions() -> list[str]:
    """The names of the partitions of ``events`` in the current schema."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = %s::regclass ORDER BY c.relname",
            [EVENTS_TABLE],
        )
        return [row[0] for row in cursor.fetchall()]


def event_partitions_ensure(
    *,
    months_back: int = MONTHS_BACK,
    months_ahead: int = MONTHS_AHEAD,
    today: date | None = None,
) -> list[str]:
    """Give ``events`` a partition for every month from ``months_back`` before
    ``today``'s (UTC) to ``months_ahead`` after it, in the current schema.

    Idempotent: months that have one are left alone. Returns the names of the
    partitions created, oldest first. Each month is one short transaction.
    """
    if months_back < 0 or months_ahead < 0:
        raise ValueError("months_back and months_ahead must be >= 0")
    first = (today or timezone.now().astimezone(UTC).date()).replace(day=1)
    created = []
    for offset in range(-months_back, months_ahead + 1):
        month = month_add(first, offset)
        if _event_partition_create(month):
            created.append(event_partition_name(month))
    return created


@transaction.atomic
def _event_partition_create(month: date) -> bool:
    """Create and attach ``month``'s partition unless it exists; True if created.

    The partition is built as a plain table, filled with the month's rows
    moved out of the default partition (usually none), then attached, which
    builds its indexes after the rows are in. Locks, taken up front in the
    order ``ATTACH PARTITION`` takes them: ``events`` in SHARE ROW EXCLUSIVE
    mode (writes to ``events`` wait, reads go on; concurrent runs queue here
    and then see the partition made by the first), and the default partition
    in ACCESS EXCLUSIVE mode (what attaching needs anyway). Writers that wait
    route their rows with the new partition once this commits.
    """
    name = event_partition_name(month)
    quote = connection.ops.quote_name
    table, default, partition = map(quote, (EVENTS_TABLE, DEFAULT_PARTITION, name))
    start = datetime.combine(month, datetime.min.time(), tzinfo=UTC)
    end = datetime.combine(month_add(month, 1), datetime.min.time(), tzinfo=UTC)
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")
        if name in event_partitions():
            return False
        cursor.execute(f"LOCK TABLE {default} IN ACCESS EXCLUSIVE MODE")
        # No IDENTITY: rows get their ids from the parent's sequence.
        cursor.execute(
            f"CREATE TABLE {partition} (LIKE {table} INCLUDING DEFAULTS "
            "INCLUDING CONSTRAINTS INCLUDING STORAGE)"
        )
        cursor.execute(
            f"WITH moved AS (DELETE FROM {default} "
            "WHERE event_time >= %s AND event_time < %s RETURNING *) "
            f"INSERT INTO {partition} SELECT * FROM moved",
            [start, end],
        )
        # Literal bounds: ATTACH takes no parameters. ISO text of UTC instants.
        cursor.execute(
            f"ALTER TABLE {table} ATTACH PARTITION {partition} "
            f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
        )
    return True
