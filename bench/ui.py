"""Browser-UI pages and the grid's endpoints: server time, each against its
own SQL in the same run.

What it measures: a tenant is seeded with one thing of ``--entries`` entries
(100,000) x 10 fields of mixed types (``bench/_ui_seed.py``: bench/rest.py's
values, set-based), plus ``--accounts`` tracking accounts (10,000) with 5 users
each, 30 days of activity and some feedback (``bench/_ui_tracking_seed.py``),
then ``VACUUM ANALYZE``. Requests run in-process with Django's test client,
signed in (``force_login``) as an editor of the tenant, through the whole
middleware stack, templates included:

- the grid's first render: the page, ``grid/meta`` and the first 100 rows;
- ``grid/rows`` at row 50,000 of 100,000 (where "Go to row" or scrolling
  lands), sorted by a date field, and filtered;
- a bulk edit of one field on 1,000 entries (``POST grid/bulk``) and a paste
  of 100 rows x 5 fields (``POST grid/paste``: 500 cells), each writing values
  that differ from the round before;
- the plain table (``?plain=1``) and the accounts table, as first page, sorted
  and filtered.

Each is requested ``--warmup`` times, then ``--requests`` times on the clock
(p50/p95 of the server time: no HTTP, no browser).

Baseline, in the same run: for reads, the SQL statements the requests issued
(captured with ``CaptureQueriesContext`` on one request, exactly as sent, since
Django's psycopg backend binds client-side) run one after the other straight
through psycopg on one connection with the search_path on the tenant, results
fetched, as many times. For writes, the same change written by hand as
set-based SQL in one transaction (old values read, one upsert of the values,
the history rows, the entries' ``updated_at``). Django / raw is then what the
ORM, the services' checks, the views and the templates cost on top of the
database work. The number of queries per request is printed too (it must not
grow with the data: the view tests assert it).

Each scenario runs Django then raw, ``--rounds`` times (A B A B); the summary
is the median of the rounds' p50/p95. Targets: the grid's first render under
300 ms (issue 12), the other first pages under 150 ms (issue 5), on p95.

It never touches the developer's database: it starts the embedded PostgreSQL
(or uses the server of ``DATABASE_URL``), creates a scratch database
``gg_uibench_<pid>`` and drops it at the end, on failure and on SIGINT/SIGTERM
too. Progress goes to stderr, results to stdout.

Run from the repository root::

    .venv/bin/python bench/ui.py
    .venv/bin/python bench/ui.py --entries 5000 --accounts 500 --requests 20
    .venv/bin/python bench/ui.py --only grid_first bulk paste
    .venv/bin/python bench/ui.py --profile   # also where each request's time goes
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    percentile,
    progress,
    run_in_scratch_database,
)

if TYPE_CHECKING:
    from bench._ui_seed import SeededThing

TENANT = "uibench"
EMAIL = "bench-editor@example.com"
TARGET_MS = 150.0
# The Tabulator grid's first render: the page, its meta and the first rows.
GRID_TARGET_MS = 300.0
GRID_PAGE = 100
# Statements of the transaction machinery have no meaning outside it.
SKIPPED_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    # The JSON body of round ``i`` (writes alternate their values, so each
    # request really changes every cell it names).
    body: "Callable[[int], dict] | None" = None


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    requests: tuple[Request, ...]
    first_page: bool = False
    target_ms: float = TARGET_MS
    # Writes: the same change in hand-written set-based SQL, (conn, i) -> None.
    # Reads replay the statements the requests issued instead.
    own_sql: "Callable[[Any, int], None] | None" = None


def get(path: str) -> tuple[Request, ...]:
    return (Request("GET", path),)


@dataclass
class Runs:
    scenario: Scenario
    queries: int = 0
    django: list[list[float]] = field(default_factory=list)
    raw: list[list[float]] = field(default_factory=list)


def clear_progress() -> None:
    progress(" " * 78 + "\r")


def seed(args: argparse.Namespace, url: str) -> tuple[str, "SeededThing"]:
    """The tenant, its member, the thing with its entries, and the accounts."""
    import psycopg
    from django.core.management import call_command
    from django.db import connection

    from bench._ui_seed import seed_entries
    from bench._ui_tracking_seed import seed_accounts
    from tenants.models import Role
    from tenants.services import membership_set, tenant_create, user_ensure

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    print(f"  migrate_schemas: {time.perf_counter() - started:.1f} s")
    created = tenant_create(schema_name=TENANT, name="UI benchmark")
    user, _ = user_ensure(email=EMAIL, password=secrets.token_urlsafe(16))
    membership_set(user=user, tenant=created.tenant, role=Role.EDITOR)
    connection.set_schema(TENANT)
    try:
        started = time.perf_counter()
        progress(f"  seeding: {args.entries} entries x 10 fields...")
        (thing,) = seed_entries(entries=args.entries, fields=10, user_id=user.id)
        clear_progress()
        print(
            f"  seeded {args.entries:,} entries x 10 fields: "
            f"{time.perf_counter() - started:.1f} s"
        )
        started = time.perf_counter()
        progress(f"  seeding: {args.accounts} accounts...")
        seed_accounts(accounts=args.accounts, users_per_account=5, days=30)
        clear_progress()
        print(
            f"  seeded {args.accounts:,} accounts x 5 users, 30 days of activity: "
            f"{time.perf_counter() - started:.1f} s"
        )
    finally:
        connection.set_schema_to_public()
    # What autovacuum would have done by then: visibility map and statistics.
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("things", "fields", "entries", "field_entries"):
            conn.execute(f'VACUUM (ANALYZE) "{TENANT}"."{table}"')
    return TENANT, thing


def scenarios(schema: str, seeded: "SeededThing") -> list[Scenario]:
    thing = f"/t/{schema}/things/{seeded.thing_id}/"
    grid = f"{thing}grid/"
    points = seeded.field_ids["Points"]
    due = seeded.field_ids["Due"]
    accounts = f"/t/{schema}/accounts/"
    middle = seeded.entries // 2
    rows = f"{grid}rows?limit={GRID_PAGE}&offset="
    return [
        Scenario(
            "grid_first",
            "Grid first render (page + meta + first 100 rows)",
            (
                Request("GET", thing),
                Request("GET", f"{grid}meta"),
                Request("GET", f"{rows}0"),
            ),
            first_page=True,
            target_ms=GRID_TARGET_MS,
        ),
        Scenario(
            "grid_scroll",
            f"Grid rows at row {middle:,} of {seeded.entries:,}",
            get(f"{rows}{middle - GRID_PAGE}"),
        ),
        Scenario(
            "grid_sorted",
            "Grid rows sorted by a date field",
            get(f"{rows}0&sort=-{due}"),
        ),
        Scenario(
            "grid_filtered",
            "Grid rows filtered (Points, integer, = 500)",
            get(f"{rows}0&f={points}.eq.500"),
        ),
        Scenario(
            "plain",
            "Plain entries table (?plain=1), first page",
            get(f"{thing}?plain=1"),
            first_page=True,
        ),
        Scenario(
            "bulk",
            "Grid bulk edit: one field of 1,000 entries",
            (Request("POST", f"{grid}bulk", bulk_body(seeded)),),
            own_sql=bulk_sql(seeded),
        ),
        Scenario(
            "paste",
            "Grid paste: 100 rows x 5 fields (500 cells)",
            (Request("POST", f"{grid}paste", paste_body(seeded)),),
            own_sql=paste_sql(seeded),
        ),
        Scenario(
            "accounts", "Accounts table, first page", get(accounts), first_page=True
        ),
        Scenario(
            "accounts_sorted",
            "Accounts table, sorted by active users (30 d)",
            get(f"{accounts}?sort=-active_30"),
        ),
        Scenario(
            "accounts_filtered",
            "Accounts table, filtered (trait plan=pro)",
            get(f"{accounts}?trait=plan%3Dpro"),
        ),
    ]


# --- Writes and their own SQL --------------------------------------------------------
# The entries written: the first BULK_ROWS / PASTE_ROWS of the thing (its ids
# are consecutive). Round i writes values that differ from round i - 1's.
BULK_ROWS = 1_000
PASTE_ROWS = 100
PASTE_FIELDS = ("Title", "Points", "Estimate", "Due", "Status")


def bulk_body(seeded: "SeededThing") -> "Callable[[int], dict]":
    ids = list(range(seeded.first_id, seeded.first_id + BULK_ROWS))
    points = seeded.field_ids["Points"]
    return lambda i: {
        "action": "update",
        "ids": ids,
        "values": {str(points): str(100_000 + i)},
    }


def paste_cells(i: int) -> list[str]:
    return [
        f"Pasted task {i}",
        str(200_000 + i),
        f"{i % 1000}.5",
        f"2026-{i % 12 + 1:02}-15",
        ("Todo", "Done")[i % 2],
    ]


def paste_body(seeded: "SeededThing") -> "Callable[[int], dict]":
    field_ids = [seeded.field_ids[name] for name in PASTE_FIELDS]
    first = seeded.first_id + BULK_ROWS
    return lambda i: {
        "field_ids": field_ids,
        "rows": [
            {"id": first + r, "cells": paste_cells(i * 1000 + r)}
            for r in range(PASTE_ROWS)
        ],
    }


HISTORY_SQL = """
INSERT INTO entry_history (entry_id, field_id, action, before, after, changed_by,
                           changed_at, batch)
SELECT w.entry_id, w.field_id, 'update',
       jsonb_build_object('entered_value', o.entered_value),
       jsonb_build_object('entered_value', w.entered_value), NULL, now(),
       gen_random_uuid()
FROM written w JOIN old o USING (entry_id, field_id)
WHERE o.entered_value IS DISTINCT FROM w.entered_value
"""


def _values_upsert(conn, rows: list[tuple]) -> None:
    """The set-based write a bulk change or paste amounts to: the old values,
    the upsert, the history rows and the entries' updated_at, in one
    transaction (rows: entry id, field id, text, typed value, its column)."""
    with conn.transaction(), conn.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS written (entry_id bigint, "
            "field_id bigint, entered_value text, value_number numeric, "
            "value_date date) ON COMMIT DELETE ROWS"
        )
        cursor.execute(
            "CREATE TEMP TABLE IF NOT EXISTS old (entry_id bigint, field_id bigint, "
            "entered_value text) ON COMMIT DELETE ROWS"
        )
        cursor.executemany(
            "INSERT INTO written VALUES (%s, %s, %s, %s, %s)",
            [
                (
                    e,
                    f,
                    text,
                    value if shadow == "number" else None,
                    value if shadow == "date" else None,
                )
                for e, f, text, value, shadow in rows
            ],
        )
        cursor.execute(
            "INSERT INTO old SELECT fe.entry_id, fe.field_id, fe.entered_value "
            "FROM field_entries fe JOIN written w USING (entry_id, field_id)"
        )
        cursor.execute(
            "INSERT INTO field_entries (entry_id, field_id, entered_value, "
            "value_number, value_date, active, created_at, updated_at) "
            "SELECT entry_id, field_id, entered_value, value_number, value_date, "
            "true, now(), now() FROM written "
            "ON CONFLICT (entry_id, field_id) DO UPDATE SET "
            "entered_value = EXCLUDED.entered_value, "
            "value_number = EXCLUDED.value_number, value_date = EXCLUDED.value_date, "
            "active = true, updated_at = EXCLUDED.updated_at"
        )
        cursor.execute(HISTORY_SQL)
        cursor.execute(
            "UPDATE entries SET updated_at = now() "
            "WHERE id IN (SELECT DISTINCT entry_id FROM written)"
        )


def bulk_sql(seeded: "SeededThing") -> "Callable[[Any, int], None]":
    points = seeded.field_ids["Points"]

    def write(conn, i: int) -> None:
        text = str(300_000 + i)
        rows = [
            (e, points, text, int(text), "number")
            for e in range(seeded.first_id, seeded.first_id + BULK_ROWS)
        ]
        _values_upsert(conn, rows)

    return write


def paste_sql(seeded: "SeededThing") -> "Callable[[Any, int], None]":
    from datetime import date
    from decimal import Decimal

    field_ids = [seeded.field_ids[name] for name in PASTE_FIELDS]
    first = seeded.first_id + BULK_ROWS

    def write(conn, i: int) -> None:
        rows = []
        for r in range(PASTE_ROWS):
            title, points, estimate, due, status = paste_cells(500_000 + i * 1000 + r)
            typed = (
                (title, None, None),
                (points, int(points), "number"),
                (estimate, Decimal(estimate), "number"),
                (due, date.fromisoformat(due), "date"),
                (status, None, None),
            )
            for field_id, (text, value, shadow) in zip(field_ids, typed, strict=True):
                rows.append((first + r, field_id, text, value, shadow))
        _values_upsert(conn, rows)

    return write


class Counter:
    """Round numbers for the writes' bodies, never reused within a run."""

    def __init__(self) -> None:
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def send(client, request: Request, i: int) -> None:
    import json

    if request.method == "GET":
        response = client.get(request.path)
    else:
        response = client.generic(
            request.method,
            request.path,
            json.dumps(request.body(i)),
            content_type="application/json",
        )
    if response.status_code != 200:
        raise RuntimeError(
            f"{request.method} {request.path}: HTTP {response.status_code} "
            f"{response.content[:300]!r}"
        )


def django_times(
    client, scenario: Scenario, count: int, rounds: Counter
) -> list[float]:
    times = []
    for _ in range(count):
        i = rounds.next()
        started = time.perf_counter()
        for request in scenario.requests:
            send(client, request, i)
        times.append(time.perf_counter() - started)
    return times


def captured_statements(client, scenario: Scenario, rounds: Counter) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        i = rounds.next()
        for request in scenario.requests:
            send(client, request, i)
    return [
        query["sql"]
        for query in captured.captured_queries
        if not query["sql"].startswith(SKIPPED_PREFIXES)
    ]


def raw_times(conn, statements: list[str], count: int) -> list[float]:
    times = []
    with conn.cursor() as cursor:
        for _ in range(count):
            started = time.perf_counter()
            for sql in statements:
                cursor.execute(sql)
                if cursor.description is not None:
                    cursor.fetchall()
            times.append(time.perf_counter() - started)
    return times


def own_sql_times(conn, scenario: Scenario, count: int, rounds: Counter) -> list[float]:
    times = []
    for _ in range(count):
        i = rounds.next()
        started = time.perf_counter()
        scenario.own_sql(conn, i)
        times.append(time.perf_counter() - started)
    return times


def run(args: argparse.Namespace, url: str) -> None:
    import psycopg
    from django.test import Client

    from tenants.models import User

    schema, seeded = seed(args, url)
    client = Client()
    client.force_login(User.objects.get(email=EMAIL))
    raw = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    raw.execute(f'SET search_path = "{schema}", public')
    rounds = Counter()
    all_runs = []
    try:
        for scenario in scenarios(schema, seeded):
            if args.only and scenario.key not in args.only:
                continue
            runs = Runs(scenario)
            statements = captured_statements(client, scenario, rounds)
            runs.queries = len(statements)
            for round_ in range(args.rounds):
                progress(f"  {scenario.title}: round {round_ + 1}, Django...")
                django_times(client, scenario, args.warmup, rounds)
                runs.django.append(
                    django_times(client, scenario, args.requests, rounds)
                )
                progress(f"  {scenario.title}: round {round_ + 1}, raw SQL...")
                if scenario.own_sql is None:
                    raw_times(raw, statements, args.warmup)
                    runs.raw.append(raw_times(raw, statements, args.requests))
                else:
                    own_sql_times(raw, scenario, args.warmup, rounds)
                    runs.raw.append(own_sql_times(raw, scenario, args.requests, rounds))
            all_runs.append(runs)
            if args.profile:
                profile(client, scenario, rounds)
    finally:
        raw.close()
    clear_progress()
    report(args, all_runs)


def profile(client, scenario: Scenario, rounds: Counter, count: int = 10) -> None:
    """Print (stderr) the functions the page's time goes to, by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(django_times, client, scenario, count, rounds)
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(15)
    clear_progress()
    print(f"\n--- {scenario.title}: {count} requests ---", file=sys.stderr)
    print(out.getvalue(), file=sys.stderr)


def median_ms(rounds: list[list[float]], fraction: float) -> float:
    return statistics.median(percentile(times, fraction) for times in rounds) * 1000


def report(args: argparse.Namespace, all_runs: list[Runs]) -> None:
    print()
    print(
        f"{args.entries:,} entries x 10 fields; {args.accounts:,} accounts x 5 users; "
        f"{args.requests} requests per page and round after {args.warmup} warm-up, "
        f"{args.rounds} round(s); median of the rounds' p50/p95; "
        f"page size {os.environ.get('UI_PAGE_SIZE', '50')}; {os.cpu_count()} cores"
    )
    print()
    print(
        "| Page | Queries | Django p50 | Django p95 | Raw SQL p50 | Raw SQL p95 | "
        "Django / raw (p50) |"
    )
    print("|---|---|---|---|---|---|---|")
    for runs in all_runs:
        django_p50 = median_ms(runs.django, 0.5)
        raw_p50 = median_ms(runs.raw, 0.5)
        print(
            f"| {runs.scenario.title} | {runs.queries} | {django_p50:.1f} ms | "
            f"{median_ms(runs.django, 0.95):.1f} ms | {raw_p50:.1f} ms | "
            f"{median_ms(runs.raw, 0.95):.1f} ms | {django_p50 / raw_p50:.2f} |"
        )
    print()
    print(
        "Raw SQL: reads replay the statements the requests issued; writes run "
        "the same change as hand-written set-based SQL."
    )
    print("Targets (server time, p95):")
    for runs in all_runs:
        if runs.scenario.first_page:
            p95 = median_ms(runs.django, 0.95)
            target = runs.scenario.target_ms
            verdict = "PASS" if p95 < target else "FAIL"
            print(
                f"  {runs.scenario.title}: p95 {p95:.1f} ms "
                f"(under {target:.0f} ms)  {verdict}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument(
        "--requests", type=int, default=50, help="per page and round, on the clock"
    )
    parser.add_argument("--warmup", type=int, default=5, help="per page and round")
    parser.add_argument("--rounds", type=int, default=2, help="Django/raw pairs")
    parser.add_argument(
        "--profile", action="store_true", help="cProfile each page (to stderr)"
    )
    parser.add_argument(
        "--only", nargs="*", default=[], help="scenario keys (grid_first, bulk, ...)"
    )
    args = parser.parse_args()
    if min(args.requests, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests and --rounds must be >= 1, --warmup >= 0")
    if args.entries < 20 or args.accounts < 1:
        parser.error("--entries must be >= 20 and --accounts >= 1")

    run_in_scratch_database("gg_uibench", lambda url: run(args, url))


if __name__ == "__main__":
    main()
