"""Browser-UI pages' server time, each against its own SQL run raw.

What it measures: a tenant is seeded with one thing of ``--entries`` entries
(100,000) x 10 fields of mixed types (``bench/_ui_seed.py``: bench/rest.py's
values, set-based), plus ``--accounts`` tracking accounts (10,000) with 5 users
each, 30 days of activity and some feedback (``bench/_ui_tracking_seed.py``),
then ``VACUUM ANALYZE``. Pages are requested in-process with Django's test
client, signed in (``force_login``) as a member of the tenant, through the
whole middleware stack, templates included: the entries grid
(``/t/<tenant>/things/<id>/``) and the accounts table
(``/t/<tenant>/accounts/``), each as its first page, sorted and filtered. Each
page is requested ``--warmup`` times, then ``--requests`` times on the clock
(p50/p95 of the server time: no HTTP, no browser).

Baseline, in the same run: the SQL statements the page issued (captured with
``CaptureQueriesContext`` on one request, exactly as sent, since Django's
psycopg backend binds client-side) run one after the other straight through
psycopg on one connection with the search_path on the tenant, results fetched,
as many times. Django / raw is then what the ORM, the views, the forms and the
templates cost on top of the database work. The number of queries per page is
printed too (it must not grow with the data: the view tests assert it).

Each page runs Django then raw, ``--rounds`` times (A B A B); the summary is
the median of the rounds' p50/p95. Target (issue 5): the first page of each
table renders in under 150 ms of server time (checked on p95).

It never touches the developer's database: it starts the embedded PostgreSQL
(or uses the server of ``DATABASE_URL``), creates a scratch database
``gg_uibench_<pid>`` and drops it at the end, on failure and on SIGINT/SIGTERM
too. Progress goes to stderr, results to stdout.

Run from the repository root::

    .venv/bin/python bench/ui.py
    .venv/bin/python bench/ui.py --entries 5000 --accounts 500 --requests 20
    .venv/bin/python bench/ui.py --profile   # also where each page's time goes
"""

import argparse
import os
import secrets
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

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
# Statements of the transaction machinery have no meaning outside it.
SKIPPED_PREFIXES = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    path: str
    first_page: bool = False


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
    points = seeded.field_ids["Points"]
    due = seeded.field_ids["Due"]
    accounts = f"/t/{schema}/accounts/"
    return [
        Scenario("grid", "Entries grid, first page", thing, first_page=True),
        Scenario(
            "grid_sorted",
            "Entries grid, sorted by a date field",
            f"{thing}?sort=-f{due}",
        ),
        Scenario(
            "grid_filtered",
            "Entries grid, filtered (Points, integer, = 500)",
            f"{thing}?f={points}:eq:500",
        ),
        Scenario("accounts", "Accounts table, first page", accounts, first_page=True),
        Scenario(
            "accounts_sorted",
            "Accounts table, sorted by active users (30 d)",
            f"{accounts}?sort=-active_30",
        ),
        Scenario(
            "accounts_filtered",
            "Accounts table, filtered (trait plan=pro)",
            f"{accounts}?trait=plan%3Dpro",
        ),
    ]


def django_times(client, path: str, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        response = client.get(path)
        elapsed = time.perf_counter() - started
        if response.status_code != 200:
            raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
        times.append(elapsed)
    return times


def captured_statements(client, path: str) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    if response.status_code != 200:
        raise RuntimeError(f"GET {path}: HTTP {response.status_code}")
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


def run(args: argparse.Namespace, url: str) -> None:
    import psycopg
    from django.test import Client

    from tenants.models import User

    schema, seeded = seed(args, url)
    client = Client()
    client.force_login(User.objects.get(email=EMAIL))
    raw = psycopg.connect(url, autocommit=True, cursor_factory=psycopg.ClientCursor)
    raw.execute(f'SET search_path = "{schema}", public')
    all_runs = []
    try:
        for scenario in scenarios(schema, seeded):
            runs = Runs(scenario)
            statements = captured_statements(client, scenario.path)
            runs.queries = len(statements)
            for round_ in range(args.rounds):
                progress(f"  {scenario.title}: round {round_ + 1}, Django...")
                django_times(client, scenario.path, args.warmup)
                runs.django.append(django_times(client, scenario.path, args.requests))
                progress(f"  {scenario.title}: round {round_ + 1}, raw SQL...")
                raw_times(raw, statements, args.warmup)
                runs.raw.append(raw_times(raw, statements, args.requests))
            all_runs.append(runs)
            if args.profile:
                profile(client, scenario)
    finally:
        raw.close()
    clear_progress()
    report(args, all_runs)


def profile(client, scenario: Scenario, count: int = 10) -> None:
    """Print (stderr) the functions the page's time goes to, by own time."""
    import cProfile
    import io
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(django_times, client, scenario.path, count)
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
    print(f"Target: first page under {TARGET_MS:.0f} ms of server time (p95)")
    for runs in all_runs:
        if runs.scenario.first_page:
            p95 = median_ms(runs.django, 0.95)
            verdict = "PASS" if p95 < TARGET_MS else "FAIL"
            print(f"  {runs.scenario.title}: p95 {p95:.1f} ms  {verdict}")


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
    args = parser.parse_args()
    if min(args.requests, args.rounds) < 1 or args.warmup < 0:
        parser.error("--requests and --rounds must be >= 1, --warmup >= 0")
    if args.entries < 20 or args.accounts < 1:
        parser.error("--entries must be >= 20 and --accounts >= 1")

    run_in_scratch_database("gg_uibench", lambda url: run(args, url))


if __name__ == "__main__":
    main()
