"""Group commit: concurrent requests of one tenant share a transaction, each
still written whole or not at all, each answered with its own result.

The coordination is tested with a stand-in writer in real threads (no
database: the writer is what it would hand to PostgreSQL); the real writer
under real concurrency is tested over HTTP against the live service.
"""

import json
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import OperationalError

from tests.live import request
from tests.tracking.test_official_clients import stored
from tracking import group_commit
from tracking.ingest import IngestResult
from tracking.messages import Kind, Message

AT = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def messages(name: str, count: int = 3) -> list[Message]:
    return [
        Message(
            kind=Kind.EVENT,
            source="segment",
            message_id=f"{name}-{n}",
            timestamp=AT,
            user_id="u1",
            event="Clicked",
        )
        for n in range(count)
    ]


class Writer:
    """Stands in for ``requests_ingest``: records each transaction's requests."""

    def __init__(self, fail=lambda requests: False, hold: float = 0.0):
        self.transactions: list[list[str]] = []
        self.fail = fail
        self.hold = hold
        self.lock = threading.Lock()

    def __call__(self, requests):
        names = [ms[0].message_id.split("-")[0] for ms, _ in requests]
        time.sleep(self.hold)  # the leader is busy: others queue meanwhile
        with self.lock:
            self.transactions.append(names)
        if self.fail(names):
            raise OperationalError("could not serialize access")
        return [IngestResult(accepted=len(ms), duplicates=0) for ms, _ in requests]


def run_concurrently(count: int, writer: Writer, monkeypatch, size: int = 3):
    monkeypatch.setattr(group_commit, "requests_ingest", writer)
    start = threading.Barrier(count)

    def one(n: int):
        start.wait()
        try:
            return group_commit.messages_ingest_grouped(
                messages(f"r{n}", size), received_at=AT
            )
        except Exception as error:
            return error

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def test_requests_waiting_for_the_writer_share_its_next_transaction(monkeypatch):
    writer = Writer(hold=0.05)
    results = run_concurrently(8, writer, monkeypatch)
    assert results == [IngestResult(accepted=3, duplicates=0)] * 8
    written = [name for names in writer.transactions for name in names]
    assert sorted(written) == sorted(f"r{n}" for n in range(8))  # each once
    # The first request is written alone; the ones that arrived meanwhile
    # together, in fewer transactions than requests.
    assert len(writer.transactions) < 8
    assert max(len(names) for names in writer.transactions) > 1


def test_a_failed_group_is_written_again_one_request_per_transaction(monkeypatch):
    writer = Writer(fail=lambda names: len(names) > 1, hold=0.05)
    results = run_concurrently(6, writer, monkeypatch)
    assert results == [IngestResult(accepted=3, duplicates=0)] * 6
    alone = [names for names in writer.transactions if len(names) == 1]
    assert sorted(name for (name,) in alone) == sorted(f"r{n}" for n in range(6))


def test_only_the_request_whose_own_transaction_fails_gets_the_error(monkeypatch):
    writer = Writer(fail=lambda names: "r3" in names, hold=0.05)
    results = run_concurrently(6, writer, monkeypatch)
    assert isinstance(results[3], OperationalError)
    assert all(
        result == IngestResult(accepted=3, duplicates=0)
        for n, result in enumerate(results)
        if n != 3
    )


def test_a_group_is_capped_in_messages(monkeypatch):
    monkeypatch.setattr(group_commit, "MAX_GROUP_MESSAGES", 10)
    writer = Writer(hold=0.05)
    results = run_concurrently(8, writer, monkeypatch, size=4)
    assert results == [IngestResult(accepted=4, duplicates=0)] * 8
    # 4 messages each: at most two requests (8 messages) per transaction.
    assert max(len(names) for names in writer.transactions) <= 2
    assert sum(len(names) for names in writer.transactions) == 8


def test_a_request_larger_than_the_cap_is_written_alone(monkeypatch):
    monkeypatch.setattr(group_commit, "MAX_GROUP_MESSAGES", 2)
    writer = Writer(hold=0.02)
    results = run_concurrently(3, writer, monkeypatch, size=5)
    assert results == [IngestResult(accepted=5, duplicates=0)] * 3
    assert sorted(writer.transactions) == [["r0"], ["r1"], ["r2"]]


def test_tenants_never_share_a_transaction(monkeypatch):
    writer = Writer(hold=0.05)
    monkeypatch.setattr(group_commit, "requests_ingest", writer)
    schemas: dict[str, str] = {}

    def one(n: int):
        from django.db import connection

        schema = f"tenant_{n % 2}"
        connection.schema_name = schema  # this thread's own connection
        schemas[f"r{n}"] = schema
        start.wait()
        return group_commit.messages_ingest_grouped(messages(f"r{n}"), received_at=AT)

    start = threading.Barrier(8)
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(8)))
    for names in writer.transactions:
        assert len({schemas[name] for name in names}) == 1


@pytest.mark.slow
def test_concurrent_batches_with_shared_message_ids_land_exactly_once(served):
    """Real writer, real server (several workers and threads), real
    concurrency: 12 clients send 5 batches each at once; every batch repeats
    messages of the others' batches. Every message lands once, and every
    request is answered 200."""
    key = served.banner("Tracking key")
    prefix = f"gc{uuid.uuid4().hex[:8]}-"

    def batch(client: int, n: int) -> dict:
        ids = [f"{prefix}{client}-{n}-{m}" for m in range(20)]
        # And 10 ids that the batch of the next client sends too.
        ids += [f"{prefix}shared-{n}-{(client + k) % 12}" for k in range(2)]
        return {
            "batch": [
                {
                    "type": "track",
                    "messageId": message_id,
                    "userId": f"{prefix}user{client % 4}",
                    "event": f"{prefix}clicked",
                    "context": {"groupId": f"{prefix}account{client % 3}"},
                    "timestamp": "2026-11-01T12:00:00Z",
                }
                for message_id in ids
            ]
        }

    def client(c: int) -> list[int]:
        return [
            request(
                "POST",
                f"{served.url}/v1/batch",
                batch(c, n),
                Authorization=f"Bearer {key}",
            )[0]
            for n in range(5)
        ]

    with ThreadPoolExecutor(12) as pool:
        statuses = [s for got in pool.map(client, range(12)) for s in got]
    assert statuses == [200] * 60
    # 12 x 5 x 20 own ids, and 5 x 12 shared ids (each sent twice).
    assert stored(served, prefix) == {"events": 1260, "users": 4, "accounts": 3}
    output = served.manage(
        "shell",
        "-c",
        "from django.db import connection; connection.set_schema('demo'); "
        "from tracking.models import Event; from django.db.models import Count; "
        "import json; print(json.dumps(Event.objects.filter("
        f"name={prefix + 'clicked'!r}).values('message_id').annotate(n=Count('id'))"
        ".filter(n__gt=1).count()))",
    )
    assert json.loads(output.strip().splitlines()[-1]) == 0  # no duplicates
