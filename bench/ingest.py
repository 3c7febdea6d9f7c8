"""Tracking ingestion under load: ``POST /v1/batch`` against raw COPY of the same rows.

What it measures: a server started as ``make run`` starts it (``manage.py serve
--no-demo``: granian, ``WEB_CONCURRENCY`` workers x ``WEB_THREADS`` threads,
default cores x 4) on a scratch database, with one tenant and its tracking key
made in-process with ``tenants.services.tenant_create``. ``--concurrency``
keep-alive clients (default 8, one thread and one connection each) send
``--batches`` Segment batches per round (default 400) of ``BATCH`` (100) mixed
messages each, the way analytics.js / analytics-node traffic looks: ~70% track,
~20% page, ~7% identify, ~3% group; ``--users`` (3,000) users, skewed towards a
few active ones, ~90% of them in one of ``--accounts`` (300) accounts named in
``context.groupId``; ~5% of track/page calls anonymous; unique ``messageId``s;
per-message ``timestamp`` and a batch ``sentAt``; compact JSON (gzipped with
``--gzip``); the tracking key as the Basic-auth username. "Events" are the
track and page messages (what lands in ``events``); identify and group write
users and accounts. Each round is bounded by ``--time-limit`` (120 s); rates
count only the batches answered 200, over the round's wall time. A failed
request is retried as the SDKs do (5xx or a broken connection, up to
``RETRY_ATTEMPTS`` times with a short backoff); retries and PostgreSQL's
deadlock count are reported, and a request's latency includes its retries.
The CPU time each run cost the server's process tree, PostgreSQL (all its
processes: an estimate) and this client is printed per batch, for the API and
for the baseline.

Baseline, in the same run and per round: PostgreSQL's raw rate for the same
event rows (the columns and values the writer copies into ``events``: the
messages as ``tracking.dialects.segment.translate_batch`` makes them, JSON as
the writer serialises it, user and account ids as integers), pre-rendered as
COPY text outside the clock, sent with psycopg ``cursor.copy()`` into a second,
fresh tenant's ``events`` table: the event rows of each 100-message batch in
one COPY and one transaction, over as many connections. Ratio: API events/s /
raw rows/s.

Then a retry round resends ``--retry-fraction`` (10%) of the batches already
answered 200: every request must answer 200 and write nothing. Verification
counts rows in the tenant's schema against the batches answered 200 (a batch
that failed must have left nothing): events == their track+page messages
(zero loss),
``count(DISTINCT message_id) == count(*)`` (zero duplicates), one receipt per
message, users and accounts == distinct ids sent, and the usage counters
derived by the writer (``account_usage`` events and page views, ``sessions``
page views) add up to the events. Target: >= 20,000 events/s with zero loss
and zero duplicates (RudderStack documents ~1,700/s on 2 cores).

``--profile N`` then writes N more batches in-process into a third tenant,
one thread, with the server stopped: per-batch phase times (key check, JSON
parse, ``translate_batch``, ``messages_ingest``), the wall time of each SQL
statement, psycopg pipeline (its statements named), COPY and COMMIT inside
them (Django's ``execute_wrapper``, psycopg's ``Cursor.execute``,
``Connection.pipeline`` and ``Cursor.copy`` and the connection's commit,
wrapped for the profile only); N more through Django's whole request
handling (test client), to show what middleware and the response add; and a
cProfile of N more batches (apart, as cProfile slows Python down).

It never touches the developer's database: it starts the embedded PostgreSQL
(or uses the server of ``DATABASE_URL``), creates a scratch database
``gg_ingestbench_<pid>`` and drops it at the end, on failure and on
SIGINT/SIGTERM too. Only 127.0.0.1 is contacted. Progress goes to stderr,
results to stdout.

Run from the repository root::

    .venv/bin/python bench/ingest.py
    .venv/bin/python bench/ingest.py --batches 40 --rounds 1 --warmup 8   # quick
    .venv/bin/python bench/ingest.py --gzip
    .venv/bin/python bench/ingest.py --batches 50 --rounds 1 --profile 200
"""

import argparse
import base64
import contextlib
import cProfile
import gzip
import io
import json
import os
import pstats
import random
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    HOST,
    HttpClient,
    LoadResult,
    Request,
    Server,
    drive,
    free_port,
    percentile,
    progress,
    run_in_scratch_database,
)

TENANT = "ingestbench"
RAW_TENANT = "ingestraw"
PROFILE_TENANT = "ingestprof"
BATCH = 100
TARGET_EVENTS_PER_S = 20_000.0
RUDDERSTACK_EVENTS_PER_S = 1_700  # documented, 2 cores
START_TIMEOUT_S = 120.0
RETRY_ATTEMPTS = 5
MIX = {"track": 70, "page": 20, "identify": 7, "group": 3}
EVENT_TYPES = ("track", "page")
COPY_COLUMNS = (
    "event_time, received_at, name, properties, context, user_id, account_id, "
    "anonymous_id, message_id, source"
)

TRACK_EVENTS = [
    ("Signed In", {"method": ["password", "google", "sso"]}),
    ("Dashboard Viewed", {"dashboard": ["Overview", "Pipeline", "Health"]}),
    ("Report Exported", {"format": ["csv", "xlsx", "pdf"]}),
    ("Search Performed", {"scope": ["accounts", "users", "events"]}),
    ("Filter Applied", {"field": ["plan", "health", "owner", "region"]}),
    ("Comment Added", {"surface": ["account", "task", "note"]}),
    ("Invite Sent", {"role": ["admin", "editor", "viewer"]}),
    ("Feature Used", {"feature": ["playbooks", "segments", "alerts", "goals"]}),
    ("Settings Updated", {"section": ["profile", "billing", "notifications"]}),
    ("Task Completed", {"priority": ["low", "medium", "high"]}),
]
PAGES = [
    ("Home", "Marketing", "/"),
    ("Dashboard", "App", "/app/dashboard"),
    ("Accounts", "App", "/app/accounts"),
    ("Account", "App", "/app/accounts/{n}"),
    ("Reports", "App", "/app/reports"),
    ("Settings", "App", "/app/settings"),
    ("Pricing", "Marketing", "/pricing"),
    ("Docs", "Docs", "/docs/getting-started"),
]
USER_AGENTS = [
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/128.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:130.0) Gecko/20100101 Firefox/130.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.6 Mobile/15E148 Safari/604.1",
]
PLANS = ["free", "starter", "growth", "enterprise"]
INDUSTRIES = ["Software", "Retail", "Finance", "Health", "Media", "Logistics"]
LOCALES = ["en-US", "en-GB", "de-DE", "fr-FR", "da-DK"]
TIMEZONES = ["Europe/Copenhagen", "America/New_York", "Europe/London", "Asia/Tokyo"]


def clear_progress() -> None:
    progress(" " * 78 + "\r")


def iso(at: datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


# --- The workload ---------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    user_id: str
    anonymous_id: str
    account_id: str | None
    email: str
    first_name: str
    last_name: str


@dataclass
class Batch:
    """One request and what it says, counted from the payload itself."""

    body: bytes  # what is sent (gzipped with --gzip)
    json_body: bytes  # the batch as compact JSON
    messages: int
    events: int  # track + page messages
    page_views: int
    types: Counter
    user_ids: frozenset[str]
    account_ids: frozenset[str]  # groupId and context.groupId
    copy_text: bytes = b""  # its event rows as COPY text, for the baseline


@dataclass
class Expected:
    """What a set of batches says: what their ingestion must have written."""

    batches: int = 0
    messages: int = 0
    events: int = 0
    page_views: int = 0
    types: Counter = field(default_factory=Counter)
    user_ids: set[str] = field(default_factory=set)
    account_ids: set[str] = field(default_factory=set)

    @classmethod
    def of(cls, batches: list[Batch]) -> "Expected":
        expected = cls()
        for batch in batches:
            expected.batches += 1
            expected.messages += batch.messages
            expected.events += batch.events
            expected.page_views += batch.page_views
            expected.types.update(batch.types)
            expected.user_ids |= batch.user_ids
            expected.account_ids |= batch.account_ids
        return expected


class Workload:
    """Reproducible Segment batches: a population of users and accounts, a mix."""

    def __init__(self, args: argparse.Namespace, now: datetime):
        self.rng = random.Random(args.seed)
        self.now = now
        self.gzip = args.gzip
        self.accounts = [f"acct_{n:04d}" for n in range(args.accounts)]
        first = ["Ada", "Bo", "Chen", "Dana", "Emil", "Fatima", "Gus", "Hana", "Ivo"]
        last = ["Berg", "Costa", "Dahl", "Eze", "Fox", "Gill", "Holm", "Ito", "Jung"]
        self.people = []
        for n in range(args.users):
            account = (
                self.rng.choice(self.accounts) if self.rng.random() < 0.9 else None
            )
            self.people.append(
                Person(
                    user_id=f"usr_{n:05d}",
                    anonymous_id=f"{self.rng.getrandbits(128):032x}",
                    account_id=account,
                    email=f"user{n}@customer{n % 97}.example.com",
                    first_name=self.rng.choice(first),
                    last_name=self.rng.choice(last),
                )
            )
        self.types = list(MIX)
        self.weights = list(MIX.values())
        self.message_ids: set[str] = set()

    def person(self) -> Person:
        # Skewed: a few users are much more active than most (u^2).
        return self.people[int(len(self.people) * self.rng.random() ** 2)]

    def message(self, kind: str) -> dict[str, Any]:
        rng = self.rng
        person = self.person()
        at = self.now - timedelta(seconds=rng.uniform(0, 600))
        page_name, category, path = rng.choice(PAGES)
        path = path.format(n=rng.randrange(1000))
        context: dict[str, Any] = {
            "library": {"name": "analytics.js", "version": "next-1.70.0"},
            "ip": f"203.0.113.{rng.randrange(1, 255)}",
            "userAgent": rng.choice(USER_AGENTS),
            "locale": rng.choice(LOCALES),
            "timezone": rng.choice(TIMEZONES),
            "page": {
                "path": path,
                "referrer": "https://www.google.com/",
                "search": "",
                "title": f"{page_name} - Gather Grid",
                "url": f"https://app.example.com{path}",
            },
        }
        message: dict[str, Any] = {
            "type": kind,
            "messageId": f"ajs-next-{rng.getrandbits(128):032x}",
            "anonymousId": person.anonymous_id,
            "userId": person.user_id,
            "timestamp": iso(at),
            "context": context,
        }
        if kind in EVENT_TYPES and rng.random() < 0.05:
            # An anonymous visitor: no userId, no account.
            message["userId"] = None
            message["anonymousId"] = f"{rng.getrandbits(128):032x}"
        elif person.account_id is not None and kind != "group":
            context["groupId"] = person.account_id
        if kind == "track":
            name, choices = rng.choice(TRACK_EVENTS)
            message["event"] = name
            message["properties"] = {
                key: rng.choice(values) for key, values in choices.items()
            } | {
                "plan": rng.choice(PLANS),
                "durationMs": rng.randrange(20, 5000),
                "count": rng.randrange(1, 50),
            }
        elif kind == "page":
            message["name"] = page_name
            message["category"] = category
            message["properties"] = {
                "path": path,
                "referrer": "https://www.google.com/",
                "search": "",
                "title": f"{page_name} - Gather Grid",
                "url": f"https://app.example.com{path}",
            }
        elif kind == "identify":
            message["traits"] = {
                "email": person.email,
                "firstName": person.first_name,
                "lastName": person.last_name,
                "name": f"{person.first_name} {person.last_name}",
                "plan": rng.choice(PLANS),
                "title": rng.choice(["CSM", "Engineer", "Head of CS", "Founder"]),
                "logins": rng.randrange(1, 500),
            }
        else:  # group
            account = person.account_id or rng.choice(self.accounts)
            message["groupId"] = account
            message["traits"] = {
                "name": f"Customer {account[5:]}",
                "industry": rng.choice(INDUSTRIES),
                "employees": rng.randrange(5, 5000),
                "plan": rng.choice(PLANS),
                "mrr": rng.randrange(100, 50000),
            }
        if message["messageId"] in self.message_ids:
            raise RuntimeError("generated a duplicate messageId")
        self.message_ids.add(message["messageId"])
        return message

    def batch(self) -> Batch:
        kinds = self.rng.choices(self.types, self.weights, k=BATCH)
        messages = [self.message(kind) for kind in kinds]
        body = {"batch": messages, "sentAt": iso(self.now)}
        json_body = compact(body)
        sent = gzip.compress(json_body, compresslevel=6) if self.gzip else json_body
        return Batch(
            body=sent,
            json_body=json_body,
            messages=len(messages),
            events=sum(m["type"] in EVENT_TYPES for m in messages),
            page_views=sum(m["type"] == "page" for m in messages),
            types=Counter(m["type"] for m in messages),
            user_ids=frozenset(m["userId"] for m in messages if m["userId"]),
            account_ids=frozenset(
                account
                for m in messages
                for account in (m.get("groupId"), m["context"].get("groupId"))
                if account
            ),
        )

    def batches(self, count: int, label: str) -> list[Batch]:
        made = []
        for index in range(count):
            if index % 50 == 0:
                progress(f"  preparing the batches: {label} {index}/{count}".ljust(60))
            made.append(self.batch())
        return made


def copy_field(value: Any) -> str:
    """One field of PostgreSQL's COPY text format."""
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    return (
        text.replace("\\", "\\\\")
        .replace("\t", "\\t")
        .replace("\n", "\\n")
        .replace("\r", "\\r")
    )


def render_copy_rows(batches: list[Batch], workload: Workload) -> None:
    """Each batch's event rows, as the writer would copy them, in COPY text.

    The messages are what ``translate_batch`` makes of the body; JSON is
    serialised as the writer does (``tracking.ingest.json_text``); user and
    account ids are integers (the table has no foreign keys).
    """
    from tracking.dialects.segment import translate_batch
    from tracking.ingest import json_text
    from tracking.messages import Kind

    user_ids = {p.user_id: n + 1 for n, p in enumerate(workload.people)}
    account_ids = {a: n + 1 for n, a in enumerate(workload.accounts)}
    for batch in batches:
        received_at = workload.now
        messages = translate_batch(json.loads(batch.json_body), received_at=received_at)
        lines = []
        for m in messages:
            if m.kind != Kind.EVENT:
                continue
            row = (
                m.timestamp,
                received_at,
                m.event,
                json_text(m.properties),
                json_text(m.context),
                user_ids.get(m.user_id),
                account_ids.get(m.account_id),
                m.anonymous_id,
                m.message_id,
                m.source,
            )
            lines.append("\t".join(copy_field(v) for v in row) + "\n")
        if len(lines) != batch.events:
            raise RuntimeError(f"{len(lines)} event rows for {batch.events} events")
        batch.copy_text = "".join(lines).encode()


# --- Sending --------------------------------------------------------------------------


@dataclass
class Run:
    """One load run: the driver's result and what it delivered."""

    result: LoadResult
    messages: int = 0  # in the batches answered 200
    events: int = 0
    delivered: list[Batch] = field(default_factory=list)  # answered 200
    failed_batches: int = 0  # refused, or failed on every attempt
    unsent_batches: int = 0  # not sent: the time limit came first
    retries: Counter = field(default_factory=Counter)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds by whom

    @property
    def msgs_per_s(self) -> float:
        return self.messages / self.result.seconds if self.result.seconds else 0.0

    @property
    def events_per_s(self) -> float:
        return self.events / self.result.seconds if self.result.seconds else 0.0


class CpuMeter:
    """CPU seconds used by this process, the server's process tree and PostgreSQL.

    PostgreSQL's are its postmaster's and its children's. Per process: a
    process that exits between two samples takes its last CPU time with it
    (the server's workers reconnect after ``CONN_MAX_AGE``), and other
    databases' work on the same server is counted, so read it as an estimate.
    """

    def __init__(self, url: str, server_pid: int):
        import psutil
        import psycopg

        self.psutil = psutil
        self.server = psutil.Process(server_pid)
        with psycopg.connect(url) as conn:
            self.postmaster = psutil.Process(conn.info.backend_pid).parent()

    def _tree(self, root) -> dict[int, float]:
        times = {}
        with contextlib.suppress(self.psutil.Error):
            for process in [root, *root.children(recursive=True)]:
                with contextlib.suppress(self.psutil.Error):
                    cpu = process.cpu_times()
                    times[process.pid] = cpu.user + cpu.system
        return times

    def sample(self) -> dict[str, dict[int, float]]:
        return {
            "server": self._tree(self.server),
            "PostgreSQL": self._tree(self.postmaster),
            "client": {os.getpid(): time.process_time()},
        }

    @staticmethod
    def since(before: dict[str, dict], after: dict[str, dict]) -> dict[str, float]:
        """CPU seconds per group between two samples (new processes: all theirs)."""
        return {
            group: sum(
                cpu - before[group].get(pid, 0.0) for pid, cpu in after[group].items()
            )
            for group in before
        }


def metered(meter: CpuMeter | None, work) -> tuple[Any, dict[str, float]]:
    """``work()`` and the CPU seconds it took, by whom (nothing without a meter)."""
    before = meter.sample() if meter else {}
    result = work()
    return result, (meter.since(before, meter.sample()) if meter else {})


def batch_request(batch: Batch, key: str, gzipped: bool) -> Request:
    credential = base64.b64encode(f"{key}:".encode()).decode()
    headers = {
        "Content-Type": "application/json",
        "Authorization": f"Basic {credential}",
    }
    if gzipped:
        headers["Content-Encoding"] = "gzip"
    return Request("POST", "/v1/batch", batch.body, headers)


def send(
    port: int,
    batches: list[Batch],
    key: str,
    args: argparse.Namespace,
    label: str,
    meter: CpuMeter | None = None,
) -> Run:
    """Every batch once, over ``--concurrency`` keep-alive connections.

    5xx answers and broken connections are retried (nothing was stored, the
    writer promises; any duplicate would show in the row counts).
    """
    requests = [batch_request(b, key, args.gzip) for b in batches]
    outcome: list[bool | None] = [None] * len(batches)  # None: never sent
    retries: Counter = Counter()
    lock = threading.Lock()
    done = [0]

    def call(client: HttpClient, k: int) -> str | None:
        failure = None
        for attempt in range(RETRY_ATTEMPTS):
            failure = client(requests[k])
            outcome[k] = failure is None
            if failure is None:
                with lock:
                    done[0] += 1
                    if done[0] % 20 == 0:
                        progress(f"  {label}: {done[0]}/{len(batches)} batches")
                return None
            if failure.startswith("HTTP 4"):
                return failure
            with lock:
                retries[failure[:70]] += 1
            time.sleep(min(0.05 * 2**attempt, 1.0))
        return failure

    result, cpu = metered(
        meter,
        lambda: drive(
            len(batches),
            args.concurrency,
            args.time_limit,
            connect=lambda index: HttpClient(port, timeout=60),
            call=call,
        ),
    )
    run = Run(result, retries=retries, cpu=cpu)
    for batch, ok in zip(batches, outcome, strict=True):
        if ok:
            run.messages += batch.messages
            run.events += batch.events
            run.delivered.append(batch)
        elif ok is None:
            run.unsent_batches += 1
        else:
            run.failed_batches += 1
    return run


class CopyClient:
    """A psycopg connection with the search_path on the baseline tenant."""

    def __init__(self, url: str):
        import psycopg

        self.conn = psycopg.connect(url, autocommit=True)
        self.conn.execute(f'SET search_path = "{RAW_TENANT}", public')

    def copy(self, data: bytes) -> None:
        with (
            self.conn.transaction(),
            self.conn.cursor() as cursor,
            cursor.copy(f"COPY events ({COPY_COLUMNS}) FROM STDIN") as copy,
        ):
            copy.write(data)

    def close(self) -> None:
        self.conn.close()


@dataclass
class _Kept:
    """A client that ``drive`` may close: it stays open."""

    client: Any

    def close(self) -> None:
        pass


def copy_raw(
    url: str,
    batches: list[Batch],
    args: argparse.Namespace,
    meter: CpuMeter | None = None,
) -> Run:
    """Each batch's event rows in one COPY and one transaction, as concurrent."""

    copied = [False] * len(batches)

    def call(client: CopyClient, k: int) -> str | None:
        client.copy(batches[k].copy_text)
        copied[k] = True
        return None

    # Connected before and closed after the CPU samples: a backend that has
    # exited takes its CPU time with it.
    clients = [CopyClient(url) for _ in range(args.concurrency)]
    try:
        result, cpu = metered(
            meter,
            lambda: drive(
                len(batches),
                args.concurrency,
                args.time_limit,
                connect=lambda index: _Kept(clients[index]),
                call=lambda kept, k: call(kept.client, k),
            ),
        )
    finally:
        for client in clients:
            client.close()
    run = Run(result, cpu=cpu)
    run.events = sum(b.events for b, ok in zip(batches, copied, strict=True) if ok)
    run.messages = run.events
    return run


def deadlocks(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()[0]


# --- Verification ---------------------------------------------------------------------


def tenant_counts(url: str, schema: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f'SET search_path = "{schema}", public')
        row = conn.execute(
            "SELECT (SELECT count(*) FROM events),"
            " (SELECT count(DISTINCT message_id) FROM events),"
            " (SELECT count(*) FROM events WHERE name = 'page.viewed'),"
            " (SELECT count(*) FROM events WHERE account_id IS NOT NULL),"
            " (SELECT count(*) FROM events WHERE account_id IS NOT NULL"
            "   AND name = 'page.viewed'),"
            " (SELECT count(*) FROM events WHERE user_id IS NOT NULL"
            "   AND name = 'page.viewed'),"
            " (SELECT count(*) FROM message_receipts),"
            " (SELECT count(*) FROM users),"
            " (SELECT count(*) FROM accounts),"
            " (SELECT count(*) FROM account_users),"
            " (SELECT coalesce(sum(events), 0) FROM account_usage),"
            " (SELECT coalesce(sum(page_views), 0) FROM account_usage),"
            " (SELECT coalesce(sum(page_views), 0) FROM sessions)"
        ).fetchone()
    names = [
        "events",
        "distinct_message_ids",
        "page_views",
        "events_with_account",
        "page_views_with_account",
        "page_views_with_user",
        "receipts",
        "users",
        "accounts",
        "account_users",
        "usage_events",
        "usage_page_views",
        "session_page_views",
    ]
    return dict(zip(names, map(int, row), strict=True))


def verify(counts: dict[str, int], expected: Expected) -> list[tuple[str, str, bool]]:
    """(check, detail, ok) for every promise the row counts can show."""

    def check(name: str, actual: int, wanted: int) -> tuple[str, str, bool]:
        return (name, f"{actual:,} (expected {wanted:,})", actual == wanted)

    return [
        check(
            "events == track+page messages sent (zero loss)",
            counts["events"],
            expected.events,
        ),
        check(
            "count(DISTINCT message_id) == count(*) on events (zero duplicates)",
            counts["distinct_message_ids"],
            counts["events"],
        ),
        check(
            "page.viewed events == page messages",
            counts["page_views"],
            expected.page_views,
        ),
        check(
            "message_receipts == messages sent", counts["receipts"], expected.messages
        ),
        check(
            "users == distinct userIds sent", counts["users"], len(expected.user_ids)
        ),
        check(
            "accounts == distinct groupIds sent",
            counts["accounts"],
            len(expected.account_ids),
        ),
        check(
            "sum(account_usage.events) == events with an account",
            counts["usage_events"],
            counts["events_with_account"],
        ),
        check(
            "sum(account_usage.page_views) == page views with an account",
            counts["usage_page_views"],
            counts["page_views_with_account"],
        ),
        check(
            "sum(sessions.page_views) == page views with a user",
            counts["session_page_views"],
            counts["page_views_with_user"],
        ),
    ]


# --- Profile (in-process, server stopped) ---------------------------------------------


def _statement_kind(sql: str) -> str:
    text = re.sub(r"\s+", " ", sql).strip()
    if text.startswith("WITH "):  # named by the tables it writes
        tables = re.findall(r"(?:INSERT INTO|DELETE FROM|(?<!DO )UPDATE) (\w+)", text)
        return "WITH, writing " + ", ".join(dict.fromkeys(tables))
    match = re.match(
        r"(INSERT INTO \w+|UPDATE \w+|DELETE FROM \w+|SELECT .{0,40}|SET \w+)", text
    )
    return match.group(1) if match else text[:50]


def profile(args: argparse.Namespace, workload: Workload) -> None:
    """Where the time of one request goes, without HTTP: see the docstring."""
    import psycopg
    from django.db import connection
    from django.utils import timezone

    from tenants.services import tenant_create
    from tracking.capture import ANY_KEY, tracking_tenant_activate
    from tracking.dialects.segment import translate_batch
    from tracking.ingest import messages_ingest

    created = tenant_create(schema_name=PROFILE_TENANT, name="Ingest profile")
    key = created.tracking_key
    timed = workload.batches(args.profile, "profile (timed)")
    whole = workload.batches(args.profile, "profile (whole request)")
    profiled = workload.batches(args.profile, "profile (cProfile)")
    clear_progress()

    phase = ["key check (tracking_tenant_activate)"]
    # (phase, what) -> [calls, seconds]: SQL statements, COPY and COMMIT.
    database: dict[tuple[str, str], list[float]] = defaultdict(lambda: [0, 0.0])
    phases: dict[str, float] = defaultdict(float)
    clock = [False]

    def record(what: str, started: float) -> None:
        if clock[0]:
            entry = database[(phase[0], what)]
            entry[0] += 1
            entry[1] += time.perf_counter() - started

    def wrapper(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            record(_statement_kind(sql), started)

    original_copy = psycopg.Cursor.copy
    original_execute = psycopg.Cursor.execute
    original_pipeline = psycopg.Connection.pipeline
    queued: list[list[str]] = []  # statements of the open pipeline, if any

    def timed_execute(self, query, *execute_args, **execute_kwargs):
        if queued:
            queued[-1].append(_statement_kind(str(query)))
            return original_execute(self, query, *execute_args, **execute_kwargs)
        started = time.perf_counter()
        try:
            return original_execute(self, query, *execute_args, **execute_kwargs)
        finally:
            record(_statement_kind(str(query)), started)

    @contextlib.contextmanager
    def timed_pipeline(self):
        queued.append([])
        started = time.perf_counter()
        try:
            with original_pipeline(self) as pipeline:
                yield pipeline
        finally:
            record("pipeline: " + " + ".join(queued.pop()), started)

    @contextlib.contextmanager
    def timed_copy(self, *copy_args, **copy_kwargs):
        started = time.perf_counter()
        try:
            with original_copy(self, *copy_args, **copy_kwargs) as copy:
                yield copy
        finally:
            record("COPY events (rows formatted, sent, ended)", started)

    def one(batch: Batch) -> None:
        phase[0] = "key check (tracking_tenant_activate)"
        t0 = time.perf_counter()
        if not tracking_tenant_activate(key, kinds=ANY_KEY):
            raise RuntimeError("the tracking key does not resolve")
        phase[0] = "json.loads"
        t1 = time.perf_counter()
        body = json.loads(batch.json_body)
        phase[0] = "translate_batch"
        t2 = time.perf_counter()
        received_at = timezone.now()
        messages = translate_batch(body, received_at=received_at)
        phase[0] = "messages_ingest"
        t3 = time.perf_counter()
        messages_ingest(messages, received_at=received_at)
        t4 = time.perf_counter()
        phase[0] = "after"
        connection.set_schema_to_public()
        if clock[0]:
            phases["key check (tracking_tenant_activate)"] += t1 - t0
            phases["json.loads"] += t2 - t1
            phases["translate_batch"] += t3 - t2
            phases["messages_ingest"] += t4 - t3

    print(f"\nProfile: {args.profile} batches in-process, one thread, server stopped")
    connection.ensure_connection()
    original_commit = connection._commit

    def timed_commit():
        started = time.perf_counter()
        try:
            return original_commit()
        finally:
            record("COMMIT", started)

    psycopg.Cursor.copy = timed_copy
    psycopg.Cursor.execute = timed_execute
    psycopg.Connection.pipeline = timed_pipeline
    connection._commit = timed_commit
    try:
        with connection.execute_wrapper(wrapper):
            one(timed[0])  # connection, statement caches
            clock[0] = True
            started = time.perf_counter()
            for index, batch in enumerate(timed[1:], 2):
                progress(f"  profile, timed: {index}/{len(timed)}")
                one(batch)
            elapsed = time.perf_counter() - started
            clock[0] = False
    finally:
        psycopg.Cursor.copy = original_copy
        psycopg.Cursor.execute = original_execute
        psycopg.Connection.pipeline = original_pipeline
        del connection._commit
    clear_progress()
    n = len(timed) - 1
    events = sum(b.events for b in timed[1:])
    print(
        f"  {n / elapsed:,.1f} batches/s, {events / elapsed:,.0f} events/s on one "
        f"thread ({elapsed / n * 1000:.2f} ms per batch of {BATCH}, "
        f"{events / n:.1f} events)"
    )
    total = sum(phases.values())
    print("\n| Phase / step, per batch | calls | ms | share |")
    print("|---|---|---|---|")
    for name, seconds in phases.items():
        steps = sorted(
            ((what, v) for (p, what), v in database.items() if p == name),
            key=lambda item: -item[1][1],
        )
        in_database = sum(v[1] for _, v in steps)
        print(
            f"| **{name}** | | **{seconds / n * 1000:.2f}** | "
            f"**{seconds / total:.0%}** |"
        )
        if not steps:
            continue
        for what, (calls, spent) in steps:
            print(
                f"| &nbsp;&nbsp;`{what}` | {calls / n:.1f} | {spent / n * 1000:.2f} | "
                f"{spent / total:.0%} |"
            )
        rest = seconds - in_database
        print(
            f"| &nbsp;&nbsp;Python (the rest of {name}) | | {rest / n * 1000:.2f} | "
            f"{rest / total:.0%} |"
        )
    in_database = sum(v[1] for v in database.values())
    print(
        f"\n  round trips (statements, COPY, COMMIT) per batch: "
        f"{sum(v[0] for v in database.values()) / n:.1f}, "
        f"{in_database / n * 1000:.2f} ms ({in_database / total:.0%}); "
        f"Python {(total - in_database) / n * 1000:.2f} ms "
        f"({(total - in_database) / total:.0%})"
    )

    # The same through Django's whole request handling (middleware, view,
    # response), in-process with its test client: what HTTP adds on top.
    from django.test import Client

    client = Client()
    credential = base64.b64encode(f"{key}:".encode()).decode()

    def post(batch: Batch) -> None:
        response = client.post(
            "/v1/batch",
            data=batch.json_body,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Basic {credential}",
        )
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.content!r}")

    post(whole[0])
    started = time.perf_counter()
    for index, batch in enumerate(whole[1:], 2):
        progress(f"  profile, whole requests: {index}/{len(whole)}")
        post(batch)
    elapsed_whole = time.perf_counter() - started
    clear_progress()
    per_request = elapsed_whole / (len(whole) - 1) * 1000
    print(
        f"\n  whole request through Django in-process (test client): "
        f"{per_request:.2f} ms per batch; the phases above: {total / n * 1000:.2f} "
        f"ms; middleware, request and response handling: "
        f"{per_request - total / n * 1000:.2f} ms"
    )

    profiler = cProfile.Profile()
    progress("  profile: cProfile run...")
    profiler.enable()
    for batch in profiled:
        one(batch)
    profiler.disable()
    clear_progress()
    for order, limit in (("tottime", 25), ("cumulative", 40)):
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order)
        stats.print_stats(limit)
        lines = out.getvalue().splitlines()
        start = next(
            (i for i, line in enumerate(lines) if line.lstrip().startswith("ncalls")), 0
        )
        print(f"\ncProfile, {len(profiled)} batches, top {limit} by {order}:")
        print("\n".join(lines[start:]).rstrip())


# --- Running --------------------------------------------------------------------------


def describe(label: str, run: Run, unit: str = "events") -> str:
    result = run.result
    text = (
        f"    {label:10} {run.msgs_per_s:9,.0f} msgs/s {run.events_per_s:9,.0f} "
        f"{unit}/s   p50 {result.latency_ms(0.50):7.1f} ms   "
        f"p99 {result.latency_ms(0.99):7.1f} ms   {result.requests} ok, "
        f"{result.errors} failed, {result.seconds:.1f} s"
    )
    if run.retries:
        text += f"\n      retried {sum(run.retries.values())} time(s): " + "; ".join(
            f"{count} x {reason}" for reason, count in run.retries.most_common(3)
        )
    if result.errors:
        text += f"\n      first failure: {result.first_error}"
    if run.cpu and result.requests:
        text += "\n      CPU per batch answered: " + ", ".join(
            f"{who} {seconds / result.requests * 1000:.1f} ms"
            for who, seconds in run.cpu.items()
        )
    if run.failed_batches or run.unsent_batches:
        text += (
            f"\n      {run.failed_batches} batch(es) failed on every attempt, "
            f"{run.unsent_batches} not sent (time limit)"
        )
    return text


def error_lines(server: Server, lines: int = 40) -> str:
    """The server log without its access log: tracebacks and warnings."""
    text = server.log_path.read_text(errors="replace").splitlines()
    kept = [line for line in text if '"GET /' not in line and '"POST /' not in line]
    return "\n".join("    " + line for line in kept[-lines:])


def retried_sample(
    rng: random.Random, sent: list[Batch], fraction: float
) -> list[Batch]:
    count = min(len(sent), max(1, round(len(sent) * fraction)))
    return rng.sample(sent, count)


def run(args: argparse.Namespace, url: str) -> None:
    from django.core.management import call_command
    from django.db import connection

    from config.management.commands.serve import default_workers
    from tenants.services import tenant_create

    workers = default_workers()
    threads = os.environ.get("WEB_THREADS", "4")
    print(
        f"Ingest benchmark: POST /v1/batch, {args.batches} batches of {BATCH} mixed "
        f"messages per round over {args.concurrency} keep-alive connections "
        f"(after {args.warmup} warm-up batches), {args.rounds} round(s); "
        f"{'gzip' if args.gzip else 'plain JSON'}"
    )
    print(
        f"  PostgreSQL {connection.pg_version}, scratch database "
        f"{connection.settings_dict['NAME']}; {os.cpu_count()} cores shared by the "
        "client, the server and PostgreSQL"
    )
    print(
        f"  server: manage.py serve --no-demo: granian, {workers} workers x "
        f"{threads} threads"
    )
    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    print(
        f"  migrate_schemas (public + template): {time.perf_counter() - started:.1f} s"
    )
    api_tenant = tenant_create(schema_name=TENANT, name="Ingest benchmark")
    tenant_create(schema_name=RAW_TENANT, name="Ingest baseline")
    key = api_tenant.tracking_key

    workload = Workload(args, datetime.now(UTC))
    started = time.perf_counter()
    warmup = workload.batches(args.warmup, "warm-up")
    rounds = [
        workload.batches(args.batches, f"round {r + 1}") for r in range(args.rounds)
    ]
    everything = warmup + [b for r in rounds for b in r]
    render_copy_rows(everything, workload)
    clear_progress()
    sizes = [len(b.json_body) for b in everything]
    sent_sizes = [len(b.body) for b in everything]
    planned = Expected.of(everything)
    print(
        f"  prepared {len(everything)} batches in "
        f"{time.perf_counter() - started:.1f} s: "
        f"{planned.messages:,} messages ("
        + ", ".join(f"{planned.types[t]:,} {t}" for t in MIX)
        + f"), {planned.events:,} events, {len(planned.user_ids):,} users, "
        f"{len(planned.account_ids):,} accounts"
    )
    print(
        f"  batch body: {statistics.mean(sizes) / 1024:.1f} KiB of JSON on average"
        + (
            f", {statistics.mean(sent_sizes) / 1024:.1f} KiB gzipped"
            if args.gzip
            else ""
        )
        + f"; {statistics.mean(b.events for b in everything):.1f} events per batch"
    )

    port = free_port()
    env = {
        "DATABASE_URL": url,
        "SECRET_KEY": os.environ["SECRET_KEY"],
        # This process owns the embedded PostgreSQL, not the server.
        "GATHERGRID_EMBEDDED_DB": None,
    }
    command = [
        sys.executable, "manage.py", "serve",
        "--host", HOST, "--port", str(port), "--no-demo",
    ]  # fmt: skip
    api_runs: list[Run] = []
    raw_runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="gg_ingest_bench_") as log_dir:
        server = Server("serve", port, command, Path(log_dir), env=env)
        try:
            progress("  starting manage.py serve (it migrates first)...")
            startup = server.wait_healthy(START_TIMEOUT_S)
            progress(f"  server healthy after {startup:.1f} s", done=True)
            deadlocks_before = deadlocks(url)
            meter = CpuMeter(url, server.process.pid)

            progress("  warm-up: API...")
            warm = send(port, warmup, key, args, "warm-up")
            progress("  warm-up: raw COPY...")
            warm_raw = copy_raw(url, warmup, args)
            clear_progress()
            print("\nWarm-up (not in the figures)")
            print(describe("API", warm))
            print(describe("raw COPY", warm_raw, "rows"))
            for number, batches in enumerate(rounds, 1):
                progress(f"  round {number}: API...")
                api = send(port, batches, key, args, f"round {number}: API", meter)
                progress(f"  round {number}: raw COPY...")
                raw = copy_raw(url, batches, args, meter)
                clear_progress()
                print(f"\nRound {number}")
                print(describe("API", api))
                print(describe("raw COPY", raw, "rows"))
                if api.result.errors or api.retries:
                    print(f"  server log:\n{error_lines(server)}", file=sys.stderr)
                api_runs.append(api)
                raw_runs.append(raw)
            deadlocks_load = deadlocks(url) - deadlocks_before

            before = tenant_counts(url, TENANT)
            sent = [b for r in api_runs for b in r.delivered]
            sample = retried_sample(
                random.Random(args.seed + 1), sent, args.retry_fraction
            )
            progress("  retry round: API...")
            retry = send(port, sample, key, args, "retry round")
            clear_progress()
            retry_events = retry.events
            retry.events = 0  # nothing new may be written
            print(
                f"\nRetry round: {len(sample)} batches already sent "
                f"({args.retry_fraction:.0%}), resent"
            )
            print(describe("API", retry, "new events"))
            after = tenant_counts(url, TENANT)
        except Exception:
            clear_progress()
            print(f"  server log:\n{error_lines(server)}", file=sys.stderr)
            raise
        finally:
            code = server.stop()
    if code not in (0, None):
        print(f"  note: serve exited with {code}", file=sys.stderr)

    loads = [warm, *api_runs]
    # Zero loss is about what was acknowledged: every batch answered 200 must be
    # stored, and (the writer's promise) one that failed must have left nothing.
    checks = verify(after, Expected.of([b for r in loads for b in r.delivered]))
    failed = sum(r.failed_batches for r in loads)
    unsent = sum(r.unsent_batches for r in loads)
    total = sum(len(r.delivered) for r in loads) + failed + unsent
    checks.append(
        (
            "every batch answered 200 (after SDK-style retries of 5xx)",
            f"{total - failed - unsent:,} of {total:,}; {failed} failed on every "
            f"attempt, {unsent} not sent before the time limit",
            failed == 0 and unsent == 0,
        )
    )
    changed = [
        f"{k} {before[k]:,} -> {after[k]:,}" for k in before if before[k] != after[k]
    ]
    checks.append(
        (
            f"retry round ({len(sample)} batches, {retry_events:,} events) wrote "
            "nothing and answered 200",
            f"{len(retry.delivered)} answered 200; changed: "
            + (", ".join(changed[:4]) if changed else "nothing"),
            not changed and len(retry.delivered) == len(sample),
        )
    )
    raw_rows = tenant_counts(url, RAW_TENANT)["events"]
    raw_expected = sum(r.events for r in [warm_raw, *raw_runs])
    checks.append(
        (
            "baseline events rows == rows copied",
            f"{raw_rows:,} (expected {raw_expected:,})",
            raw_rows == raw_expected,
        )
    )
    retries = sum(sum(r.retries.values()) for r in [warm, *api_runs, retry])
    report(
        args,
        api_runs,
        raw_runs,
        retry,
        checks,
        retries,
        deadlocks_load,
        workers,
        threads,
    )
    if args.profile:
        profile(args, workload)


# --- The report -----------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(
    args: argparse.Namespace,
    api_runs: list[Run],
    raw_runs: list[Run],
    retry: Run,
    checks: list[tuple[str, str, bool]],
    retries: int,
    deadlocks_load: int,
    workers: int,
    threads: str,
) -> None:
    print()
    print("Verification (row counts in the tenant's schema)")
    for name, detail, ok in checks:
        print(f"  {verdict(ok)}  {name}: {detail}")
    print(
        f"  (SDK-style retries during the load: {retries}; deadlocks reported by "
        f"PostgreSQL during the warm-up and the rounds: {deadlocks_load})"
    )
    all_ok = all(ok for _, _, ok in checks)

    print()
    print(
        f"Summary: {args.batches} batches x {BATCH} mixed messages per round over "
        f"{args.concurrency} keep-alive connections, "
        f"{'gzip' if args.gzip else 'plain JSON'}; "
        f"granian {workers} workers x {threads} threads; {os.cpu_count()} cores "
        "shared by client, server and PostgreSQL; p50/p99 per request (batch)"
    )
    print()
    print("| Scenario | msgs/s | events/s | p50 | p99 | raw COPY rows/s | ratio |")
    print("|---|---|---|---|---|---|---|")

    def row(title: str, api: Run, raw: Run | None) -> None:
        result = api.result
        raw_rate = f"{raw.events_per_s:,.0f}" if raw else "-"
        ratio = f"{api.events_per_s / raw.events_per_s:.3f}" if raw else "-"
        print(
            f"| {title} | {api.msgs_per_s:,.0f} | {api.events_per_s:,.0f} | "
            f"{result.latency_ms(0.5):.1f} ms | {result.latency_ms(0.99):.1f} ms | "
            f"{raw_rate} | {ratio} |"
        )

    for number, (api, raw) in enumerate(zip(api_runs, raw_runs, strict=True), 1):
        row(f"/v1/batch, round {number}", api, raw)
    api_rate = statistics.mean(r.events_per_s for r in api_runs)
    raw_rate = statistics.mean(r.events_per_s for r in raw_runs)
    if len(api_runs) > 1:
        latencies = [x for r in api_runs for x in r.result.latencies]
        print(
            f"| **/v1/batch, mean of {len(api_runs)} rounds** | "
            f"{statistics.mean(r.msgs_per_s for r in api_runs):,.0f} | "
            f"**{api_rate:,.0f}** | {percentile(latencies, 0.5) * 1000:.1f} ms | "
            f"{percentile(latencies, 0.99) * 1000:.1f} ms | {raw_rate:,.0f} | "
            f"**{api_rate / raw_rate:.3f}** |"
        )
    print(
        f"| Retry of {len(retry.result.latencies)} sent batches (all duplicates, "
        f"0 new events) | {retry.msgs_per_s:,.0f} | 0 | "
        f"{retry.result.latency_ms(0.5):.1f} ms | "
        f"{retry.result.latency_ms(0.99):.1f} ms | - | - |"
    )
    print()
    print("Target")
    print(
        f"  >= {TARGET_EVENTS_PER_S:,.0f} events/s with zero loss and zero duplicates "
        f"(RudderStack documents ~{RUDDERSTACK_EVENTS_PER_S:,}/s on 2 cores): "
        f"{api_rate:,.0f} events/s, verification {verdict(all_ok)}  "
        f"{verdict(api_rate >= TARGET_EVENTS_PER_S and all_ok)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--batches", type=int, default=400, help=f"batches of {BATCH} per round"
    )
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2, help="API/raw pairs to run")
    parser.add_argument(
        "--warmup", type=int, default=16, help="batches before the first round"
    )
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--gzip", action="store_true", help="send gzipped bodies")
    parser.add_argument(
        "--retry-fraction",
        type=float,
        default=0.10,
        help="share of the sent batches resent in the retry round",
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="then profile N batches in-process (server stopped)",
    )
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="max seconds per load run"
    )
    args = parser.parse_args()
    if min(args.batches, args.concurrency, args.rounds, args.users, args.accounts) < 1:
        parser.error("counts, --concurrency and --rounds must be >= 1")
    if args.warmup < 0 or args.profile < 0 or not 0 < args.retry_fraction <= 1:
        parser.error("--warmup and --profile >= 0, 0 < --retry-fraction <= 1")

    run_in_scratch_database("gg_ingestbench", lambda url: run(args, url))


if __name__ == "__main__":
    main()
