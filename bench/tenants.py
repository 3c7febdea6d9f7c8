"""Tenant lifecycle at scale: creating tenants and a no-op ``migrate_schemas``.

What it measures, each against a baseline measured in the same run (the machine
is noisy, so the ratios mean more than the absolute figures):

- Creating N tenants with ``tenants.services.tenant_create`` (a clone of the
  migrated template schema, plus the tenant row and its two keys): p50, p95,
  max and total. Baseline: the slow way, for a smaller sample interleaved with
  the clones - ``CREATE SCHEMA`` and replaying every migration with
  ``migrate_schemas --schema``. Ratio: clone p50 / replay p50.
- A no-op ``migrate_schemas`` over the N tenants (our command skips schemas
  with nothing pending, one query per 500 schemas). Baseline: django-tenants'
  stock command with its multiprocessing executor, which runs ``migrate`` in
  every schema. Ours runs before and after the stock run, to show the noise.
  Ratio: ours / stock.
- Targets: creation p50 under 150 ms, no-op migrate under 10 s for 200 tenants.

It never touches the developer's database: it starts the embedded PostgreSQL
(or uses the server of ``DATABASE_URL`` if set), creates a scratch database
``gg_bench_<pid>`` beside the usual one, and drops it at the end, on failure too.

Run from the repository root::

    .venv/bin/python bench/tenants.py                 # 200 tenants, 10 replays
    .venv/bin/python bench/tenants.py --tenants 20 --replays 3 --skip-stock
"""

import argparse
import bisect
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# The repository root first; and not bench/ itself, where this file would shadow
# the project's ``tenants`` package.
BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench._common import (  # noqa: E402
    exit_on_sigterm,
    percentile,
    progress,
    scratch_database,
)

CREATE_P50_TARGET_MS = 150.0
NOOP_MIGRATE_TARGET_S = 10.0
NOOP_MIGRATE_TARGET_TENANTS = 200


# --- The measurements -----------------------------------------------------------


@dataclass
class Creation:
    clone_times: list[float] = field(default_factory=list)  # seconds per tenant
    clone_ended: list[float] = field(default_factory=list)  # time.time() at the end
    replay_times: list[tuple[int, float]] = field(default_factory=list)  # (i, s)


def create_tenants(count: int, replays: int) -> Creation:
    """Create ``count`` tenants by cloning, with ``replays`` slow ones interleaved.

    A replay at index ``i`` runs when ``i`` tenants exist.
    """
    from django.core.management import call_command
    from django.db import connection

    from tenants.services import tenant_create

    # Spread the replays over the run so both see the same catalog size and noise.
    replay_at = {round(j * count / replays) for j in range(replays)}
    run = Creation()
    for i in range(count):
        if i in replay_at:
            schema = f"slow_{len(run.replay_times):04d}"
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "{schema}"')
            call_command(
                "migrate_schemas", schema_name=schema, interactive=False, verbosity=0
            )
            run.replay_times.append((i, time.perf_counter() - started))
            # django-tenants closes the connection after a migration run: reopen
            # it here so that the next clone does not pay for the reconnection.
            connection.set_schema_to_public()
            connection.ensure_connection()
        started = time.perf_counter()
        tenant_create(schema_name=f"bench_{i:04d}", name=f"Bench {i}")
        run.clone_times.append(time.perf_counter() - started)
        run.clone_ended.append(time.time())
        if (i + 1) % 10 == 0 or i + 1 == count:
            progress(
                f"  created {i + 1}/{count} tenants "
                f"({len(run.replay_times)}/{replays} replays)",
                done=i + 1 == count,
            )
    return run


def catalog_autovacuums() -> tuple[int, int, float | None]:
    """Autovacuum and autoanalyze runs on ``pg_class`` in this database, and the
    time (epoch seconds) of the last one."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT autovacuum_count, autoanalyze_count, "
            "extract(epoch FROM greatest(last_autovacuum, last_autoanalyze)) "
            "FROM pg_stat_sys_tables WHERE relname = 'pg_class'"
        )
        row = cursor.fetchone()
    if row is None:
        return 0, 0, None
    return int(row[0]), int(row[1]), float(row[2]) if row[2] is not None else None


def schema_shape(schema: str) -> tuple[int, int, int, int]:
    """Tables, indexes, constraints and migration rows of ``schema``."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT "
            "(SELECT count(*) FROM pg_tables WHERE schemaname = %s), "
            "(SELECT count(*) FROM pg_indexes WHERE schemaname = %s), "
            "(SELECT count(*) FROM pg_constraint c JOIN pg_namespace n "
            " ON n.oid = c.connamespace WHERE n.nspname = %s)",
            [schema, schema, schema],
        )
        tables, indexes, constraints = cursor.fetchone()
        cursor.execute(f'SELECT count(*) FROM "{schema}".django_migrations')
        (migrations,) = cursor.fetchone()
    return tables, indexes, constraints, migrations


def time_noop_migrate_ours() -> float:
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    return time.perf_counter() - started


def time_noop_migrate_stock(schema_count: int) -> float:
    """django-tenants' own command (multiprocessing executor), with progress."""
    import multiprocessing

    from django.core.management import call_command
    from django_tenants.management.commands.migrate_schemas import (
        MigrateSchemasCommand,
    )
    from django_tenants.signals import schema_migrated

    # The executor forks its workers: a counter in shared memory, incremented
    # by a receiver the workers inherit, shows how far the run is.
    done = multiprocessing.get_context("fork").Value("i", 0)

    def on_migrated(sender, schema_name, **kwargs):
        with done.get_lock():
            done.value += 1
            value = done.value
        if value % 10 == 0 or value == schema_count:
            progress(f"  stock migrate_schemas: {value}/{schema_count} schemas")

    schema_migrated.connect(on_migrated, weak=False)
    try:
        started = time.perf_counter()
        call_command(
            MigrateSchemasCommand(),
            interactive=False,
            verbosity=0,
            executor="multiprocessing",
        )
        elapsed = time.perf_counter() - started
    finally:
        schema_migrated.disconnect(on_migrated)
    progress(f"  stock migrate_schemas: {done.value}/{schema_count} schemas", done=True)
    return elapsed


# --- The report --------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def run(args: argparse.Namespace) -> None:
    from django.core.management import call_command
    from django.db import connection

    from tenants.schemas import TEMPLATE_SCHEMA, schemas_with_pending_migrations

    n = args.tenants
    print(f"Tenant lifecycle benchmark: {n} tenants, {args.replays} replays")
    database = connection.settings_dict["NAME"]
    print(f"  PostgreSQL {connection.pg_version}, scratch database {database}")

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    print(
        f"  initial migrate_schemas (public + template): "
        f"{time.perf_counter() - started:.1f} s"
    )

    vacuums_before, analyzes_before, _ = catalog_autovacuums()
    creation = create_tenants(n, args.replays)
    clone_times, replay_times = creation.clone_times, creation.replay_times
    vacuums_after, analyzes_after, last_vacuum = catalog_autovacuums()
    clone_ms = [t * 1000 for t in clone_times]
    c50, c95 = percentile(clone_ms, 0.50), percentile(clone_ms, 0.95)
    print()
    print(f"Tenant creation (tenant_create, clone of {TEMPLATE_SCHEMA!r}), n={n}")
    print(
        f"  p50 {c50:7.1f} ms   p95 {c95:7.1f} ms   max {max(clone_ms):7.1f} ms   "
        f"total {sum(clone_times):6.1f} s   (first {clone_ms[0]:.1f} ms, "
        f"last 10% p50 {statistics.median(clone_ms[-max(1, n // 10) :]):.1f} ms)"
    )
    r50 = None
    if replay_times:
        replay_ms = [t * 1000 for _, t in replay_times]
        r50 = percentile(replay_ms, 0.50)
        print(f"Baseline: CREATE SCHEMA + replayed migrations, n={len(replay_ms)}")
        print(
            f"  p50 {r50:7.1f} ms   p95 {percentile(replay_ms, 0.95):7.1f} ms   "
            f"max {max(replay_ms):7.1f} ms"
        )
        faster = (
            f"clone {r50 / c50:.1f}x faster"
            if c50 <= r50
            else f"clone {c50 / r50:.1f}x SLOWER"
        )
        print(f"  ratio clone p50 / replay p50 = {c50 / r50:.3f} ({faster})")

    print("By tenants already present (clone p50 of the block; the replays in it)")
    blocks = 10 if n >= 20 else 1
    for b in range(blocks):
        lo, hi = b * n // blocks, (b + 1) * n // blocks
        replays_here = "  ".join(
            f"{t * 1000:.0f}" for i, t in replay_times if lo <= i < hi
        )
        block_p50 = statistics.median(clone_ms[lo:hi])
        print(
            f"  {lo:5}-{hi - 1:<5} clone p50 {block_p50:7.1f} ms"
            + (f"   replay {replays_here} ms" if replays_here else "")
        )

    # Clones slow down as tenants accumulate until autovacuum visits the catalogs.
    vacuums = vacuums_after - vacuums_before
    analyzes = analyzes_after - analyzes_before
    if (vacuums or analyzes) and last_vacuum is not None:
        after = bisect.bisect_left(creation.clone_ended, last_vacuum)
        print(
            f"  autovacuum ran on pg_class {vacuums}x (autoanalyze {analyzes}x) "
            f"during the creations, the last time after tenant #{after}"
        )
    else:
        print("  autovacuum did not visit pg_class during the creations")

    shapes = {
        TEMPLATE_SCHEMA: schema_shape(TEMPLATE_SCHEMA),
        "bench_0000": schema_shape("bench_0000"),
    }
    if replay_times:
        shapes["slow_0000"] = schema_shape("slow_0000")
    print("Sanity: tables / indexes / constraints / migration rows per schema")
    for schema, shape in shapes.items():
        print(f"  {schema:16} {shape[0]:4} {shape[1]:4} {shape[2]:4} {shape[3]:4}")
    if len(set(shapes.values())) != 1:
        print("  WARNING: the schemas differ")

    connection.set_schema_to_public()
    tenant_schemas = [f"bench_{i:04d}" for i in range(n)]
    pending = schemas_with_pending_migrations([TEMPLATE_SCHEMA, *tenant_schemas])
    print(f"  schemas with pending migrations before the no-op runs: {len(pending)}")

    print()
    print(f"No-op migrate_schemas over {n} tenants")
    ours = [time_noop_migrate_ours()]
    print(f"  ours, run 1:  {ours[0]:7.2f} s")
    stock = None
    if not args.skip_stock:
        # Public + every tenant (the stock command does not know the template).
        stock = time_noop_migrate_stock(n + 1)
        print(f"  stock (django-tenants, multiprocessing): {stock:7.2f} s")
        ours.append(time_noop_migrate_ours())
        print(f"  ours, run 2:  {ours[1]:7.2f} s")
    ours_mean = statistics.mean(ours)
    if stock:
        print(
            f"  ratio ours (mean {ours_mean:.2f} s) / stock = {ours_mean / stock:.3f} "
            f"(ours {stock / ours_mean:.0f}x faster)"
        )
    else:
        print("  stock run skipped (--skip-stock)")

    create_ok = c50 < CREATE_P50_TARGET_MS
    migrate_ok = max(ours) < NOOP_MIGRATE_TARGET_S
    scale_note = (
        ""
        if n == NOOP_MIGRATE_TARGET_TENANTS
        else (
            f" (target is for {NOOP_MIGRATE_TARGET_TENANTS} tenants; this run has {n})"
        )
    )
    print()
    print("Targets")
    print(
        f"  creation p50 < {CREATE_P50_TARGET_MS:.0f} ms: {c50:.1f} ms  "
        f"{verdict(create_ok)}"
    )
    print(
        f"  no-op migrate < {NOOP_MIGRATE_TARGET_S:.0f} s: worst {max(ours):.2f} s  "
        f"{verdict(migrate_ok)}{scale_note}"
    )

    def ratio(value: float | None) -> str:
        return f"{value:.3f}" if value is not None else "n/a"

    print()
    print("| Measure | Gather Grid | Baseline | Ratio | Target |")
    print("|---|---|---|---|---|")
    print(
        f"| Tenant creation p50 ({n} tenants) | {c50:.1f} ms | "
        + (f"{r50:.1f} ms (replay, n={len(replay_times)})" if r50 else "n/a")
        + f" | {ratio(c50 / r50 if r50 else None)} | "
        f"< {CREATE_P50_TARGET_MS:.0f} ms {verdict(create_ok)} |"
    )
    print(f"| Tenant creation p95 / max | {c95:.1f} / {max(clone_ms):.1f} ms | | | |")
    print(
        f"| No-op migrate_schemas ({n} tenants) | {ours_mean:.2f} s | "
        + (f"{stock:.2f} s (django-tenants)" if stock else "n/a")
        + f" | {ratio(ours_mean / stock if stock else None)} | "
        f"< {NOOP_MIGRATE_TARGET_S:.0f} s {verdict(migrate_ok)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenants", type=int, default=200, help="tenants to create")
    parser.add_argument(
        "--replays",
        type=int,
        default=10,
        help="schemas created the slow way (baseline)",
    )
    parser.add_argument(
        "--skip-stock",
        action="store_true",
        help="skip the django-tenants migrate_schemas baseline (slow)",
    )
    args = parser.parse_args()
    if args.tenants < 1 or args.replays < 0:
        parser.error("--tenants must be >= 1 and --replays >= 0")
    args.replays = min(args.replays, args.tenants)

    # The server first (embedded unless DATABASE_URL is set), then a scratch
    # database beside the usual one, and only then Django.
    exit_on_sigterm()
    from core.embedded_db import ensure_database_url

    server_url = ensure_database_url()
    with scratch_database(server_url, f"gg_bench_{os.getpid()}") as url:
        os.environ["DATABASE_URL"] = url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
        import django

        django.setup()
        run(args)


if __name__ == "__main__":
    main()
