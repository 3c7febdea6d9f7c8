"""Group commit: concurrent requests of one tenant share a transaction.

Every ingestion request takes row locks on the tenant's busiest rows (the
active users' last-seen, the accounts' usage of the day) until it commits, so
concurrent requests of one tenant wait for one another anyway; and a
transaction has a fixed cost (statements, round trips, COMMIT) and a cost per
distinct user, account and day that a larger one shares.

So within a server process, the requests of one tenant that arrive while its
previous write is running are written together by the first of them (the
leader; the others wait for it) in ONE transaction through
:func:`tracking.ingest.requests_ingest`; each request is answered only after
that transaction has committed. A request is still written whole or not at
all: if the shared transaction fails, each of its requests is written again
alone, in its own transaction, and only a request whose own transaction fails
gets the error (a 503: nothing of it was committed). Different tenants never
share a transaction.

A group holds at most ``MAX_GROUP_MESSAGES`` messages (a request larger than
that is written alone).
"""

import threading
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection

from tracking.ingest import IngestResult, requests_ingest
from tracking.messages import Message

MAX_GROUP_MESSAGES = 2000


@dataclass(eq=False)
class _Request:
    messages: list[Message]
    received_at: datetime
    result: IngestResult | None = None
    error: BaseException | None = None
    done: bool = False


@dataclass
class _Queue:
    """The requests of one tenant waiting to be written, in one process."""

    condition: threading.Condition = field(default_factory=threading.Condition)
    waiting: list[_Request] = field(default_factory=list)
    writing: bool = False


_queues: dict[str, _Queue] = {}
_queues_lock = threading.Lock()


def _queue(schema_name: str) -> _Queue:
    with _queues_lock:
        queue = _queues.get(schema_name)
        if queue is None:
            queue = _queues[schema_name] = _Queue()
        return queue


def _group(waiting: list[_Request]) -> list[_Request]:
    """The first requests waiting, up to ``MAX_GROUP_MESSAGES`` (at least one)."""
    size = 0
    for count, request in enumerate(waiting):
        size += len(request.messages)
        if count and size > MAX_GROUP_MESSAGES:
            return waiting[:count]
    return list(waiting)


def _write(group: list[_Request]) -> None:
    """Write ``group`` in one transaction; alone each, if that fails."""
    try:
        results = requests_ingest([(r.messages, r.received_at) for r in group])
    except Exception as error:
        if len(group) == 1:
            group[0].error = error
            return
    else:
        for request, result in zip(group, results, strict=True):
            request.result = result
        return
    for request in group:
        try:
            request.result = requests_ingest([(request.messages, request.received_at)])[
                0
            ]
        except Exception as error:
            request.error = error


def messages_ingest_grouped(
    messages: list[Message], *, received_at: datetime
) -> IngestResult:
    """Write one request's validated messages, in a transaction it may share
    with other requests of the same tenant (see the module's docstring).

    The connection must point at the tenant (``connection.schema_name``).
    Raises what :func:`tracking.ingest.requests_ingest` raised for this
    request's own transaction.
    """
    if connection.in_atomic_block:
        # Inside a caller's transaction (a test, a script): no one to share with.
        return requests_ingest([(messages, received_at)])[0]
    queue = _queue(connection.schema_name)
    request = _Request(messages, received_at)
    with queue.condition:
        queue.waiting.append(request)
    while True:
        with queue.condition:
            while queue.writing and not request.done:
                queue.condition.wait()
            if request.done:
                break
            # This thread leads: it writes what waits, its own request first
            # or among the first groups.
            group = _group(queue.waiting)
            del queue.waiting[: len(group)]
            queue.writing = True
        try:
            _write(group)
        finally:
            with queue.condition:
                for written in group:
                    written.done = True
                    if written.result is None and written.error is None:
                        written.error = RuntimeError("the group's writer failed")
                queue.writing = False
                queue.condition.notify_all()
    if request.error is not None:
        raise request.error
    assert request.result is not None
    return request.result
