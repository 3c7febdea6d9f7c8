"""Monthly partitions of ``events``: creation ahead of time, the move out of
the default partition, cloning into new tenants, the cron command."""

from datetime import UTC, date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.schemas import TEMPLATE_SCHEMA
from tenants.services import tenant_create
from tracking.ingest import messages_ingest
from tracking.messages import Kind, Message
from tracking.models import Event
from tracking.partitions import (
    event_partition_name,
    event_partitions,
    event_partitions_ensure,
    month_add,
)

pytestmark = pytest.mark.django_db

RECEIVED = datetime(2026, 11, 1, 12, 5, tzinfo=UTC)


@pytest.fixture
def in_a(tenant_a):
    with tenant_a.tenant:
        yield tenant_a


def ingest_events(*times: datetime, prefix: str = "e") -> None:
    messages = [
        Message(
            kind=Kind.EVENT,
            source="segment",
            message_id=f"{prefix}{number}",
            timestamp=at,
            user_id="u1",
            event="Clicked",
        )
        for number, at in enumerate(times)
    ]
    assert messages_ingest(messages, received_at=RECEIVED).accepted == len(times)


def partition_of_each_event() -> dict[datetime, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT event_time, tableoid::regclass::text FROM events")
        return dict(cursor.fetchall())


def indexes_of(table: str) -> list[str]:
    """Index definitions of ``table``, its name and schema's left out."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT replace(replace(indexdef, schemaname || '.', ''), %s, 'T') "
            "FROM pg_indexes "
            "WHERE tablename = %s AND schemaname = current_schema() ORDER BY 1",
            [table, table],
        )
        return [row[0] for row in cursor.fetchall()]


def bounds_of(partition: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class "
            "WHERE oid = %s::regclass",
            [partition],
        )
        return cursor.fetchone()[0]


def test_month_arithmetic_crosses_years():
    assert month_add(date(2030, 11, 1), 2) == date(2031, 1, 1)
    assert month_add(date(2030, 1, 1), -1) == date(2029, 12, 1)
    assert month_add(date(2030, 1, 1), -25) == date(2027, 12, 1)
    assert event_partition_name(date(2031, 2, 1)) == "events_2031_02"


def test_ensure_creates_each_month_of_the_window_with_utc_bounds(in_a):
    created = event_partitions_ensure(
        months_back=2, months_ahead=1, today=date(2031, 1, 31)
    )
    assert created == [
        "events_2030_11",
        "events_2030_12",
        "events_2031_01",
        "events_2031_02",
    ]
    assert bounds_of("events_2030_12") == (
        "FOR VALUES FROM ('2030-12-01 00:00:00+00') TO ('2031-01-01 00:00:00+00')"
    )
    assert set(created) <= set(event_partitions())


def test_ensure_is_idempotent(in_a):
    first = event_partitions_ensure(
        months_back=1, months_ahead=1, today=date(2032, 5, 1)
    )
    before = event_partitions()
    again = event_partitions_ensure(
        months_back=1, months_ahead=1, today=date(2032, 5, 1)
    )
    assert first == ["events_2032_04", "events_2032_05", "events_2032_06"]
    assert again == []
    assert event_partitions() == before


def test_negative_windows_are_refused(in_a):
    with pytest.raises(ValueError):
        event_partitions_ensure(months_back=-1, months_ahead=0)


def test_a_partition_has_the_parents_indexes(in_a):
    event_partitions_ensure(months_back=0, months_ahead=0, today=date(2033, 3, 3))
    partition = indexes_of("events_2033_03")
    assert len(partition) == 5  # primary key, account, user, name, (time, id)
    assert any("(event_time, id)" in index for index in partition)
    assert indexes_of("events_default") == partition


def test_ingested_events_of_old_current_and_future_months_are_stored(in_a):
    event_partitions_ensure()  # the current window, as the migration and cron make it
    this_month = datetime.now(UTC).replace(day=15, hour=12, minute=0, second=0)
    this_month = this_month.replace(microsecond=0)
    next_quarter = datetime.combine(
        month_add(this_month.date().replace(day=1), 3), datetime.min.time(), UTC
    )
    long_ago = datetime(2001, 2, 3, tzinfo=UTC)
    far_future = datetime(2099, 1, 1, tzinfo=UTC)
    ingest_events(this_month, next_quarter, long_ago, far_future)
    assert partition_of_each_event() == {
        this_month: event_partition_name(this_month.date()),
        next_quarter: event_partition_name(next_quarter.date()),
        long_ago: "events_default",  # no partition: the default one takes it
        far_future: "events_default",
    }
    assert Event.objects.filter(event_time=next_quarter).get().name == "Clicked"


def test_creating_a_month_moves_its_rows_out_of_the_default_partition(in_a):
    june = datetime(2034, 6, 1, tzinfo=UTC)
    inside = [june, june + timedelta(days=15), june + timedelta(days=29, hours=23)]
    outside = [june - timedelta(microseconds=1), datetime(2034, 7, 1, tzinfo=UTC)]
    ingest_events(*inside, *outside)
    ids = dict(Event.objects.values_list("event_time", "id"))
    assert set(partition_of_each_event().values()) == {"events_default"}

    created = event_partitions_ensure(
        months_back=0, months_ahead=0, today=date(2034, 6, 20)
    )

    assert created == ["events_2034_06"]
    placed = partition_of_each_event()
    assert {placed[at] for at in inside} == {"events_2034_06"}
    assert {placed[at] for at in outside} == {"events_default"}
    assert dict(Event.objects.values_list("event_time", "id")) == ids  # ids kept
    assert indexes_of("events_2034_06") == indexes_of("events_default")
    # New rows of that month go to its partition, the others still to the default.
    ingest_events(
        june + timedelta(days=2), datetime(2034, 8, 1, tzinfo=UTC), prefix="n"
    )
    placed = partition_of_each_event()
    assert placed[june + timedelta(days=2)] == "events_2034_06"
    assert placed[datetime(2034, 8, 1, tzinfo=UTC)] == "events_default"


def test_a_new_tenant_gets_the_templates_partitions_and_indexes(tenant_a):
    created = tenant_create(schema_name="partitioned", name="Partitioned")
    with connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL search_path TO {TEMPLATE_SCHEMA}")
        template_partitions = event_partitions()
        template_indexes = {name: indexes_of(name) for name in template_partitions}
    with created.tenant:
        assert len(template_partitions) > 1
        assert event_partitions() == template_partitions
        assert {name: indexes_of(name) for name in event_partitions()} == (
            template_indexes
        )
        now = datetime.now(UTC).replace(microsecond=0)
        ingest_events(now)
        assert partition_of_each_event() == {now: event_partition_name(now.date())}
        # Every column of the template's events, the latest migrations' too.
        assert columns_of("events") == columns_of(f"{TEMPLATE_SCHEMA}.events")
        assert {"original_timestamp", "sent_at"} <= set(columns_of("events"))


def columns_of(table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass "
            "AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            [table],
        )
        return [row[0] for row in cursor.fetchall()]


def test_a_month_given_its_partition_keeps_the_clients_times(in_a):
    # Rows moved out of the default partition keep every column.
    month = datetime(2037, 3, 4, tzinfo=UTC)
    sent = month + timedelta(seconds=5)
    message = Message(
        kind=Kind.EVENT,
        source="segment",
        message_id="late",
        timestamp=month,
        original_timestamp=month - timedelta(hours=1),
        sent_at=sent,
        user_id="u1",
        event="Clicked",
    )
    messages_ingest([message], received_at=RECEIVED)
    assert partition_of_each_event() == {month: "events_default"}
    assert event_partitions_ensure(months_back=0, months_ahead=0, today=month.date())
    assert partition_of_each_event() == {month: "events_2037_03"}
    event = Event.objects.get()
    assert (event.original_timestamp, event.sent_at) == (
        month - timedelta(hours=1),
        sent,
    )
    assert columns_of("events_2037_03") == columns_of("events")


def test_a_month_added_to_the_template_later_is_cloned(tenant_a):
    tenant_create(schema_name="before_month", name="Before")  # script read
    connection.set_schema(TEMPLATE_SCHEMA)
    try:
        added = event_partitions_ensure(
            months_back=0, months_ahead=0, today=date(2040, 9, 9)
        )
    finally:
        connection.set_schema_to_public()
    assert added == ["events_2040_09"]
    later = tenant_create(schema_name="after_month", name="After")
    with later.tenant:
        assert "events_2040_09" in event_partitions()
        assert indexes_of("events_2040_09") == indexes_of("events_default")


def test_command_runs_every_schema_and_prints_what_it_created(tenants_ab, db):
    # The default window ends 3 months ahead: 4 adds one.
    ahead = month_add(datetime.now(UTC).date().replace(day=1), 4)
    name = event_partition_name(ahead)
    call_command("event_partitions", stdout=StringIO())  # the default window
    out = StringIO()
    call_command("event_partitions", "--months-ahead", "4", stdout=out)
    lines = out.getvalue().splitlines()
    schemas = [line.split()[1].rstrip(":") for line in lines]
    assert schemas[0] == TEMPLATE_SCHEMA
    assert {"tenant_a", "tenant_b"} <= set(schemas)
    count = len(lines)
    assert lines[0] == f"[1/{count}] {TEMPLATE_SCHEMA}: created {name}"
    assert f"[2/{count}] tenant_a: created {name}" in lines

    again = StringIO()
    call_command(
        "event_partitions", "--months-ahead", "4", "--schema", "tenant_b", stdout=again
    )
    assert again.getvalue() == "[1/1] tenant_b: up to date\n"


def test_command_refuses_an_unknown_schema(tenants_ab, db):
    with pytest.raises(CommandError):
        call_command("event_partitions", "--schema", "no_such_tenant")
