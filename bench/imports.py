"""CSV import: staging, validation and apply rates, against raw COPY of the rows.

What it measures: a tenant with a thing "Customers" of six typed fields (text
required, email, choice, integer, date, and a reference to one of 200
"People"), and a CSV of ``--rows`` rows (20,000; ~1% of them invalid: a bad
number, a bad date, an unknown choice). Through ``gathergrid.imports``, in
this process, one thread, as the browser UI's steps call it:

1. staging: ``import_job_create`` (parse the file, stage its rows);
2. validation: ``import_validate_step`` until done (1,000 rows a step);
3. apply: ``import_apply_start`` + ``import_apply_run`` (what the UI's
   background thread runs): every valid row becomes an entry with its six
   values and their history, in one transaction, progress reported per chunk.

Baseline, in the same run: PostgreSQL's raw rate for the very rows the apply
wrote: the thing's entries, values and history rows are read back (outside
the clock) and COPY'd into a second tenant's tables in one transaction.
Ratio: apply rows/s / raw rows/s (rows = CSV rows applied).

``--rounds`` (2) repeat staging, validation, apply and the baseline into fresh
things, alternating; the summary is the mean. It never touches the developer's
database: a scratch database ``gg_importbench_<pid>`` is created beside the
usual one and dropped at the end (on failure and SIGINT/SIGTERM too).

Run from the repository root::

    .venv/bin/python bench/imports.py
    .venv/bin/python bench/imports.py --rows 2000 --rounds 1      # quick
"""

import argparse
import io
import random
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))

from bench._common import progress, run_in_scratch_database  # noqa: E402

TENANT = "importbench"
RAW_TENANT = "importraw"
PEOPLE = 200
PLANS = ["free", "starter", "growth", "enterprise"]
# What the raw baseline copies: the apply's rows, table by table, in FK order.
COPIED = {
    "entries": "thing_id = %(thing)s",
    "field_entries": "entry_id IN (SELECT id FROM entries WHERE thing_id = %(thing)s)",
    "entry_history": "entry_id IN (SELECT id FROM entries WHERE thing_id = %(thing)s)",
}


@dataclass
class Round:
    rows: int
    valid: int
    stage_s: float
    validate_s: float
    apply_s: float
    raw_s: float
    created: int
    copied_rows: dict[str, int]

    @property
    def ratio(self) -> float:
        return (self.valid / self.apply_s) / (self.valid / self.raw_s)


def csv_text(rows: int, people_ids: list[int], rng: random.Random) -> bytes:
    lines = ["Name,Email,Plan,Seats,Since,Owner"]
    for n in range(rows):
        seats, since = str(rng.randint(1, 500)), f"2024-{1 + n % 12:02d}-15"
        plan = rng.choice(PLANS)
        if n % 300 == 7:
            seats = "a dozen"
        elif n % 300 == 107:
            since = "2024-02-30"
        elif n % 300 == 207:
            plan = "platinum"
        owner = rng.choice(people_ids)
        lines.append(f"Customer {n},c{n}@example.com,{plan},{seats},{since},{owner}")
    return ("\n".join(lines) + "\n").encode()


def make_thing(round_number: int, people_thing_id: int):
    from gathergrid.models import Field, Thing

    thing = Thing.objects.create(name=f"Customers {round_number}")
    specs = [
        ("Name", "text", {}, True),
        ("Email", "email", {}, False),
        ("Plan", "choice", {"choices": PLANS}, False),
        ("Seats", "integer", {}, False),
        ("Since", "date", {}, False),
        ("Owner", "reference", {"thing_id": people_thing_id}, False),
    ]
    for position, (name, data_type, options, required) in enumerate(specs):
        Field.objects.create(
            thing=thing,
            name=name,
            data_type=data_type,
            options=options,
            mandatory=required,
            required_for_initialization=required,
            position=position,
        )
    return thing


def copy_out(cursor, thing_id: int) -> dict[str, bytes]:
    """The apply's rows, as COPY text, table by table (outside the clock)."""
    out = {}
    for table, where in COPIED.items():
        buffer = io.BytesIO()
        query = f"COPY (SELECT * FROM {table} WHERE {where}) TO STDOUT"
        with cursor.copy(query.replace("%(thing)s", str(int(thing_id)))) as copy:
            for data in copy:
                buffer.write(data)
        out[table] = buffer.getvalue()
    return out


def copy_in(url: str, rows: dict[str, bytes], setup: str) -> float:
    """COPY the rows into the raw tenant in one transaction; seconds."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f"SET search_path = {RAW_TENANT}, public")
        with conn.transaction(), conn.cursor() as cursor:
            cursor.execute(setup)  # the thing and its fields (not timed)
        started = time.perf_counter()
        with conn.transaction(), conn.cursor() as cursor:
            for table, data in rows.items():
                with cursor.copy(f"COPY {table} FROM STDIN") as copy:
                    copy.write(data)
        return time.perf_counter() - started


def one_round(number: int, url: str, people_thing_id: int, people_ids, args) -> Round:
    from django.db import connection

    from gathergrid import imports

    connection.set_schema(TENANT)
    thing = make_thing(number, people_thing_id)
    content = csv_text(args.rows, people_ids, random.Random(args.seed + number))

    progress(f"  round {number}: staging {args.rows:,} rows")
    started = time.perf_counter()
    job = imports.import_job_create(
        thing=thing, filename="customers.csv", file=io.BytesIO(content), user_id=None
    )
    stage_s = time.perf_counter() - started
    job = imports.import_mapping_set(job=job, mapping=job.mapping)

    started = time.perf_counter()
    while job.status != "validated":
        job = imports.import_validate_step(job=job)
        progress(
            f"  round {number}: validating {job.validated_rows:,}/{job.total_rows:,}"
        )
    validate_s = time.perf_counter() - started

    progress(f"  round {number}: applying {job.valid_rows:,} rows".ljust(60))
    started = time.perf_counter()
    job = imports.import_apply_start(job=job, mode="valid", user_id=None)
    job = imports.import_apply_run(job_id=job.pk)
    apply_s = time.perf_counter() - started

    with connection.cursor() as cursor:
        rows = copy_out(cursor.cursor, thing.pk)
        setup = (
            f"INSERT INTO things SELECT * FROM {TENANT}.things WHERE id = {thing.pk};"
            f"INSERT INTO fields SELECT * FROM {TENANT}.fields "
            f"WHERE thing_id = {thing.pk}"
        )
    connection.set_schema_to_public()
    progress(f"  round {number}: raw COPY of the same rows".ljust(60))
    raw_s = copy_in(url, rows, setup)
    return Round(
        rows=args.rows,
        valid=job.valid_rows,
        stage_s=stage_s,
        validate_s=validate_s,
        apply_s=apply_s,
        raw_s=raw_s,
        created=job.created_entries,
        copied_rows={t: data.count(b"\n") for t, data in rows.items()},
    )


def run(args: argparse.Namespace, url: str) -> None:
    from django.core.management import call_command
    from django.db import connection

    from gathergrid.models import Entry, Thing
    from tenants.services import tenant_create

    call_command("migrate_schemas", interactive=False, verbosity=0)
    tenant_create(schema_name=TENANT, name="Import benchmark")
    tenant_create(schema_name=RAW_TENANT, name="Import baseline")
    connection.set_schema(TENANT)
    people = Thing.objects.create(name="People")
    people_ids = [Entry.objects.create(thing=people).pk for _ in range(PEOPLE)]
    connection.set_schema_to_public()
    # The raw tenant needs the People thing too (references are values only).
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RAW_TENANT}.things SELECT * FROM {TENANT}.things")

    print(
        f"Import benchmark: {args.rows:,} CSV rows x 6 typed fields (one a "
        f"reference), {args.rounds} round(s), in-process, one thread"
    )
    rounds = [
        one_round(n, url, people.pk, people_ids, args) for n in range(args.rounds)
    ]
    progress("", done=True)
    for n, r in enumerate(rounds):
        print(
            f"  round {n}: staged in {r.stage_s:.2f} s, validated "
            f"{r.rows / r.validate_s:,.0f} rows/s, applied {r.valid:,} rows in "
            f"{r.apply_s:.2f} s ({r.valid / r.apply_s:,.0f} rows/s); raw COPY of "
            f"the same {sum(r.copied_rows.values()):,} table rows "
            f"({', '.join(f'{t} {c:,}' for t, c in r.copied_rows.items())}) "
            f"{r.raw_s:.2f} s ({r.valid / r.raw_s:,.0f} CSV rows/s); "
            f"ratio {r.ratio:.3f}"
        )
        if r.created != r.valid:
            raise SystemExit(f"round {n}: {r.created} entries for {r.valid} rows")

    def mean(values) -> float:
        return statistics.fmean(values)

    print()
    print("| Step | rows/s (mean of rounds) | raw COPY rows/s | ratio |")
    print("|---|---|---|---|")
    print(
        f"| Staging (parse + stage) | {mean(r.rows / r.stage_s for r in rounds):,.0f}"
        " | | |"
    )
    print(f"| Validation | {mean(r.rows / r.validate_s for r in rounds):,.0f} | | |")
    print(
        f"| Apply | {mean(r.valid / r.apply_s for r in rounds):,.0f} | "
        f"{mean(r.valid / r.raw_s for r in rounds):,.0f} | "
        f"{mean(r.ratio for r in rounds):.3f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.rows < 1 or args.rounds < 1:
        parser.error("--rows and --rounds must be >= 1")
    run_in_scratch_database("gg_importbench", lambda url: run(args, url))


if __name__ == "__main__":
    main()
