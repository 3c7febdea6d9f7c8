"""``/rest/v1`` under concurrent load, each figure against the same SQL run raw.

What it measures: a tenant is seeded with ``--entries`` entries (100,000) of one
thing with 10 fields of mixed types (text, integer, decimal, date, choice,
boolean, email, long text, URL, date-time), so 1,000,000 field values, written
set-based (``INSERT ... SELECT`` over the entries) with the typed shadow columns
filled as ``gathergrid.values.normalise`` would, then ``VACUUM ANALYZE``. The
server is started as ``make run`` starts it (``manage.py serve --no-demo``:
granian, ``WEB_CONCURRENCY`` workers x ``WEB_THREADS`` threads, default cores x
4), a token is obtained from ``/auth/v1/token`` with the tenant's API key, and
concurrent keep-alive clients (``--concurrency``, one thread and one connection
each, a fixed number of requests, a time limit) drive these scenarios:

1. single entry by id      ``GET /entries?id=eq.<random id>``
2. list of 20              ``GET /entries?thing_id=eq.<t>&limit=20&offset=<random>``
3. list of 20 with embed   the same ``&select=*,field_entries(*)``
4. filter by a value       ``GET /entries?thing_id=eq.<t>&values->>Points=eq.<v>
   &limit=20`` (Points: integer, 0..999 spread evenly: ~0.1% of the entries each)
5. bulk insert             ``POST /entries`` of 1,000 ``{"thing_id", "values"}``
   (10 values each), ``--bulk-concurrency`` at a time

Baseline, in the same run: the same work straight through psycopg, with as many
threads and connections. For reads, the statement ``pgrest.planner``
builds for the same query string (``grammar.parse_query`` + ``plan_read``, JSON
built in SQL), run with the search_path set to the tenant and client-side
binding as Django does, result fetched: the API/raw ratio is what HTTP, Django,
the auth check and the rest of the request cost. For the bulk insert, the same
1,000 entries and 10,000 values (normalised beforehand, outside the clock) in
one transaction, set-based (``INSERT ... SELECT FROM unnest(...)``); the API
also writes 11,000 ``entry_history`` rows, so a second baseline writes those too.

List offsets are random in 0..``--max-offset`` (1,000: the first 50 pages).
The statement computes every selected column, embeds included, for each row an
OFFSET skips, so deep pages cost O(offset) through the API and raw alike and
would hide the API's own cost; ``--max-offset 100000`` measures them.

Each scenario runs API then raw, ``--rounds`` times (A B A B: the spread between
rounds shows the noise); the summary is the mean req/s and the median of the
rounds' p50/p99. Targets: single-row GET >= 1,000 req/s; list with embed >= 40%
of the raw-SQL rate. The client is Python on the same machine as the server and
PostgreSQL, so absolute figures are a floor; the ratios are what to read.

It never touches the developer's database: it starts the embedded PostgreSQL
(or uses the server of ``DATABASE_URL``), creates a scratch database
``gg_restbench_<pid>`` and drops it at the end, on failure and on SIGINT/SIGTERM
too. Only 127.0.0.1 is contacted. Progress goes to stderr, results to stdout.

Run from the repository root::

    .venv/bin/python bench/rest.py
    .venv/bin/python bench/rest.py --entries 5000 --requests 300 --rounds 1
    .venv/bin/python bench/rest.py --explain    # also EXPLAIN ANALYZE each read
"""

import argparse
import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

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
    http_load,
    progress,
    run_in_scratch_database,
)

TENANT = "restbench"
EMAIL = "bench-editor@example.com"
THING = "Task"
FILTER_FIELD = "Points"
FILTER_VALUES = 1000  # Points is 0..999, spread evenly over the entries
PAGE = 20
BULK_ROWS = 1000
SINGLE_TARGET_RPS = 1000.0
EMBED_TARGET_RATIO = 0.40
START_TIMEOUT_S = 120.0
STATUSES = ["Todo", "Doing", "Done", "Blocked"]
BASE_DATE = date(2024, 1, 1)
BASE_TIME = datetime(2024, 1, 1, tzinfo=UTC)


def clear_progress() -> None:
    progress(" " * 78 + "\r")


# --- The data ----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldSpec:
    """One field of the seeded thing and how its seeded value is computed.

    ``sql`` maps ``entered_value`` and the shadow column of the type to SQL
    expressions of ``e.id`` and ``h`` (a hash of the entry and the field,
    0 <= h < 2^32), matching what ``gathergrid.values.normalise`` stores.
    """

    name: str
    data_type: str
    sql: dict[str, str]
    mandatory: bool = False
    required_for_initialization: bool = False
    options: dict[str, Any] = field(default_factory=dict)


FIELDS = [
    FieldSpec(
        "Title",
        "text",
        {"entered_value": "'Task ' || e.id"},
        mandatory=True,
        required_for_initialization=True,
    ),
    FieldSpec(
        FILTER_FIELD,
        "integer",
        {
            "entered_value": f"mod(h, {FILTER_VALUES})::text",
            "value_number": f"mod(h, {FILTER_VALUES})",
        },
    ),
    FieldSpec(
        "Estimate",
        "decimal",
        # Decimals are stored without trailing zeros: 12.50 -> 12.5, 3.00 -> 3.
        {
            "entered_value": "trim_scale(round(mod(h, 100000)::numeric / 100, 2))"
            "::text",
            "value_number": "round(mod(h, 100000)::numeric / 100, 2)",
        },
    ),
    FieldSpec(
        "Due",
        "date",
        {
            "entered_value": "to_char(DATE '2024-01-01' + mod(h, 1096)::int, "
            "'YYYY-MM-DD')",
            "value_date": "DATE '2024-01-01' + mod(h, 1096)::int",
        },
    ),
    FieldSpec(
        "Status",
        "choice",
        {
            "entered_value": "(ARRAY["
            + ", ".join(f"'{s}'" for s in STATUSES)
            + f"])[1 + mod(h, {len(STATUSES)})]"
        },
        mandatory=True,
        options={"choices": STATUSES},
    ),
    FieldSpec(
        "Done",
        "boolean",
        {
            "entered_value": "CASE WHEN mod(h, 3) = 0 THEN 'true' ELSE 'false' END",
            "value_boolean": "mod(h, 3) = 0",
        },
    ),
    FieldSpec(
        "Owner", "email", {"entered_value": "'owner' || mod(h, 500) || '@example.com'"}
    ),
    FieldSpec(
        "Notes",
        "long_text",
        {"entered_value": "'Notes on task ' || e.id || ': ' || md5(h::text)"},
    ),
    FieldSpec("Link", "url", {"entered_value": "'https://example.com/t/' || e.id"}),
    FieldSpec(
        "Started",
        "datetime",
        # UTC ISO 8601, as datetime.isoformat() writes it (no microseconds here).
        {
            "entered_value": "to_char((TIMESTAMPTZ '2024-01-01 00:00:00+00' "
            "+ mod(h, 31536000) * INTERVAL '1 second') AT TIME ZONE 'UTC', "
            "'YYYY-MM-DD\"T\"HH24:MI:SS') || '+00:00'",
            "value_datetime": "TIMESTAMPTZ '2024-01-01 00:00:00+00' "
            "+ mod(h, 31536000) * INTERVAL '1 second'",
        },
    ),
]
SHADOW_COLUMNS = (
    "value_number",
    "value_date",
    "value_datetime",
    "value_boolean",
    "value_json",
)


@dataclass
class Seeded:
    api_key: str
    password: str
    user_id: str
    thing_id: int
    field_ids: dict[str, int]
    first_id: int
    last_id: int
    entries: int


def field_values_insert(
    cursor, *, spec, field_id: int, user_id, position: int, thing_id: int
) -> None:
    """One field's values for every entry of a thing, set-based: deterministic
    pseudo-random values (``spec.sql``) from a hash of the entry id."""
    columns = ["entered_value", *SHADOW_COLUMNS]
    expressions = [spec.sql.get(c, "NULL") for c in columns]
    cursor.execute(
        "INSERT INTO field_entries (entry_id, field_id, "
        + ", ".join(columns)
        + ", active, created_by, created_at, updated_at) "
        "SELECT e.id, %s, " + ", ".join(expressions) + ", true, %s, now(), now() "
        "FROM entries e, LATERAL (SELECT "
        "(hashint8(e.id * 16 + %s)::bigint + 2147483648) AS h) k "
        "WHERE e.thing_id = %s ORDER BY e.id",
        [field_id, user_id, position, thing_id],
    )


def seed(entries: int) -> Seeded:
    """The tenant, an editor, the thing and its fields, the entries and values."""
    from django.core.management import call_command
    from django.db import connection, transaction

    from gathergrid.models import Field, Thing
    from tenants.services import membership_set, tenant_create, user_ensure

    started = time.perf_counter()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    elapsed = time.perf_counter() - started
    print(f"  migrate_schemas (public + template): {elapsed:.1f} s")
    created = tenant_create(schema_name=TENANT, name="REST benchmark")
    password = secrets.token_urlsafe(16)
    user, _ = user_ensure(email=EMAIL, password=password)
    membership_set(user=user, tenant=created.tenant, role="editor")

    started = time.perf_counter()
    connection.set_schema(TENANT)
    with transaction.atomic():
        thing = Thing.objects.create(name=THING, created_by=user.id)
        field_ids = {}
        for position, spec in enumerate(FIELDS):
            field_ids[spec.name] = Field.objects.create(
                thing=thing,
                name=spec.name,
                data_type=spec.data_type,
                mandatory=spec.mandatory,
                required_for_initialization=spec.required_for_initialization,
                position=position,
                options=spec.options,
                created_by=user.id,
            ).id
        with connection.cursor() as cursor:
            progress(f"  seeding: {entries} entries...")
            cursor.execute(
                "INSERT INTO entries (thing_id, classification_item_id, "
                "validity_start_date, validity_end_date, active, created_by, "
                "created_at, updated_at) "
                "SELECT %s, NULL, NULL, NULL, true, %s, now(), now() "
                "FROM generate_series(1, %s)",
                [thing.id, user.id, entries],
            )
            cursor.execute(
                "SELECT min(id), max(id), count(*) FROM entries WHERE thing_id = %s",
                [thing.id],
            )
            first_id, last_id, count = cursor.fetchone()
            if count != entries or last_id - first_id + 1 != entries:
                raise RuntimeError(f"{count} entries, ids {first_id}..{last_id}")
            for position, spec in enumerate(FIELDS):
                progress(
                    f"  seeding: {entries} entries, values of field "
                    f"{position + 1}/{len(FIELDS)} ({spec.name}, {spec.data_type}), "
                    f"{time.perf_counter() - started:.0f} s"
                )
                field_values_insert(
                    cursor,
                    spec=spec,
                    field_id=field_ids[spec.name],
                    user_id=user.id,
                    position=position,
                    thing_id=thing.id,
                )
    connection.set_schema_to_public()
    clear_progress()
    print(
        f"  seeded {entries:,} entries and {entries * len(FIELDS):,} values "
        f"(set-based INSERT ... SELECT): {time.perf_counter() - started:.1f} s"
    )
    return Seeded(
        api_key=created.api_key,
        password=password,
        user_id=str(user.id),
        thing_id=thing.id,
        field_ids=field_ids,
        first_id=first_id,
        last_id=last_id,
        entries=entries,
    )


def vacuum_analyze(url: str) -> None:
    """What autovacuum would have done by then: visibility map and statistics."""
    import psycopg

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("things", "fields", "entries", "field_entries"):
            progress(f"  VACUUM ANALYZE {table}...")
            conn.execute(f'VACUUM (ANALYZE) "{TENANT}"."{table}"')
    clear_progress()
    print(f"  VACUUM ANALYZE: {time.perf_counter() - started:.1f} s")


def check_seeded_values(url: str, seeded: Seeded) -> None:
    """Every seeded text is what ``normalise`` makes of it, shadow columns too."""
    import psycopg

    from gathergrid.values import normalise

    with psycopg.connect(url) as conn:
        conn.execute(f'SET search_path = "{TENANT}", public')
        rows = conn.execute(
            "SELECT f.name, f.data_type, f.options, fe.entered_value, "
            + ", ".join(f"fe.{c}" for c in SHADOW_COLUMNS)
            + " FROM field_entries fe JOIN fields f ON f.id = fe.field_id "
            "WHERE fe.entry_id IN (%s, %s, %s)",
            [seeded.first_id, (seeded.first_id + seeded.last_id) // 2, seeded.last_id],
        ).fetchall()
    for name, data_type, options, text, *shadow in rows:
        normal = normalise(data_type, options, text)
        expected = [normal.text, *normal.shadow_values().values()]
        if [text, *shadow] != expected:
            raise RuntimeError(
                f"seeded value of {name!r} ({data_type}) is not normalised: "
                f"{[text, *shadow]!r} != {expected!r}"
            )


# --- The scenarios -----------------------------------------------------------------


@dataclass(frozen=True)
class ReadScenario:
    key: str
    title: str
    params: Callable[[random.Random], list[tuple[str, str]]]


def last_offset(args: argparse.Namespace) -> int:
    """List offsets are random in 0..this: the first pages."""
    return min(args.max_offset, args.entries - PAGE)


def read_scenarios(seeded: Seeded, max_offset: int) -> list[ReadScenario]:
    thing = f"eq.{seeded.thing_id}"
    offsets = max_offset + 1
    return [
        ReadScenario(
            "single",
            "Single entry by id",
            lambda rng: [("id", f"eq.{rng.randint(seeded.first_id, seeded.last_id)}")],
        ),
        ReadScenario(
            "list",
            f"{PAGE} entries of a thing",
            lambda rng: [
                ("thing_id", thing),
                ("limit", str(PAGE)),
                ("offset", str(rng.randrange(offsets))),
            ],
        ),
        ReadScenario(
            "embed",
            f"{PAGE} entries with field_entries",
            lambda rng: [
                ("thing_id", thing),
                ("limit", str(PAGE)),
                ("offset", str(rng.randrange(offsets))),
                ("select", "*,field_entries(*)"),
            ],
        ),
        ReadScenario(
            "filter",
            f"Filter by a field value ({FILTER_FIELD})",
            lambda rng: [
                ("thing_id", thing),
                (f"values->>{FILTER_FIELD}", f"eq.{rng.randrange(FILTER_VALUES)}"),
                ("limit", str(PAGE)),
            ],
        ),
    ]


def query_string(params: list[tuple[str, str]]) -> str:
    return urlencode(params, safe="*,()-.")


def plan_sql(params: list[tuple[str, str]]) -> tuple[str, list[Any]]:
    """The statement the API runs for this query string (as ``views.read`` does)."""
    from django.db import connection

    from gathergrid.resources import ENTRIES
    from pgrest.grammar import parse_query
    from pgrest.planner import plan_read

    query = parse_query(params)
    # The planner looks up the fields a values->> filter names: in the tenant.
    connection.set_schema(TENANT)
    try:
        plan = plan_read(
            ENTRIES, query, limit=query.root.limit, offset=query.root.offset or 0
        )
    finally:
        connection.set_schema_to_public()
    return plan.sql, plan.params


class RawClient:
    """A psycopg connection with the search_path on the tenant.

    Client-side binding by default, as Django's backend does, so that the
    statement PostgreSQL sees is the one the API sends.
    """

    def __init__(self, url: str, *, client_side: bool = True):
        import psycopg

        self.conn = psycopg.connect(
            url,
            autocommit=True,
            cursor_factory=psycopg.ClientCursor if client_side else psycopg.Cursor,
        )
        self.conn.execute(f'SET search_path = "{TENANT}", public')

    def read(self, sql: str, params: list[Any]) -> tuple[int, str] | None:
        return self.conn.execute(sql, params).fetchone()

    def close(self) -> None:
        self.conn.close()


# --- Bulk insert -------------------------------------------------------------------


@dataclass
class BulkBatch:
    body: bytes  # the API's JSON array
    # The same rows normalised, as arrays for the raw INSERT (index = entry in batch).
    entry_index: list[int]
    field_id: list[int]
    columns: dict[str, list[Any]]


def bulk_batches(
    seeded: Seeded, count: int, seed_value: int, label: str
) -> list[BulkBatch]:
    """``count`` batches of ``BULK_ROWS`` entries with a value for every field."""
    import orjson

    from gathergrid.values import normalise

    rng = random.Random(seed_value)
    batches = []
    for b in range(count):
        rows = []
        entry_index: list[int] = []
        field_ids: list[int] = []
        columns: dict[str, list[Any]] = {
            c: [] for c in ("entered_value", *SHADOW_COLUMNS)
        }
        for i in range(BULK_ROWS):
            values = {
                "Title": f"{label} {b}.{i}",
                "Points": rng.randrange(FILTER_VALUES),
                "Estimate": f"{rng.randrange(100000) / 100:.2f}",
                "Due": (BASE_DATE + timedelta(days=rng.randrange(1096))).isoformat(),
                "Status": rng.choice(STATUSES),
                "Done": rng.random() < 1 / 3,
                "Owner": f"owner{rng.randrange(500)}@Example.com",
                "Notes": f"Notes on {label} {b}.{i}: {rng.getrandbits(64):016x}",
                "Link": f"https://example.com/{label}/{b}/{i}",
                "Started": (
                    BASE_TIME + timedelta(seconds=rng.randrange(31536000))
                ).isoformat(),
            }
            rows.append({"thing_id": seeded.thing_id, "values": values})
            for spec in FIELDS:
                normal = normalise(spec.data_type, spec.options, values[spec.name])
                entry_index.append(i)
                field_ids.append(seeded.field_ids[spec.name])
                columns["entered_value"].append(normal.text)
                for column, value in normal.shadow_values().items():
                    columns[column].append(value)
        batches.append(BulkBatch(orjson.dumps(rows), entry_index, field_ids, columns))
    return batches


RAW_INSERT_ENTRIES = (
    "INSERT INTO entries (thing_id, classification_item_id, validity_start_date, "
    "validity_end_date, active, created_by, created_at, updated_at) "
    "SELECT %s, NULL, NULL, NULL, true, %s, now(), now() "
    "FROM generate_series(1, %s) RETURNING id"
)
RAW_VALUES_SELECT = (
    "SELECT v.entry_id, v.field_id, v.entered_value, v.value_number, v.value_date, "
    "v.value_datetime, v.value_boolean, NULL::jsonb, true, %s, now(), now() "
    "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::numeric[], "
    "%s::date[], %s::timestamptz[], %s::boolean[]) AS v(entry_id, field_id, "
    "entered_value, value_number, value_date, value_datetime, value_boolean)"
)
RAW_VALUES_COLUMNS = (
    "INSERT INTO field_entries (entry_id, field_id, entered_value, value_number, "
    "value_date, value_datetime, value_boolean, value_json, active, created_by, "
    "created_at, updated_at) "
)
RAW_HISTORY_ENTRIES = (
    "INSERT INTO entry_history (entry_id, field_id, action, before, after, "
    "changed_by, changed_at) SELECT id, NULL, 'create', NULL, "
    "jsonb_build_object('thing_id', %s::bigint), %s, now() FROM unnest(%s::bigint[]) id"
)


def raw_bulk_insert(
    client: RawClient,
    batch: BulkBatch,
    seeded: Seeded,
    *,
    history: bool,
) -> str | None:
    """The batch in one transaction: entries, then their values (then history)."""
    conn = client.conn
    with conn.transaction():
        ids = [
            row[0]
            for row in conn.execute(
                RAW_INSERT_ENTRIES, [seeded.thing_id, seeded.user_id, BULK_ROWS]
            ).fetchall()
        ]
        if len(ids) != BULK_ROWS:
            return f"{len(ids)} entries inserted"
        params = [
            seeded.user_id,
            [ids[i] for i in batch.entry_index],
            batch.field_id,
            batch.columns["entered_value"],
            batch.columns["value_number"],
            batch.columns["value_date"],
            batch.columns["value_datetime"],
            batch.columns["value_boolean"],
        ]
        if history:
            conn.execute(RAW_HISTORY_ENTRIES, [seeded.thing_id, seeded.user_id, ids])
            conn.execute(
                "WITH fe AS ("
                + RAW_VALUES_COLUMNS
                + RAW_VALUES_SELECT
                + " RETURNING entry_id, field_id, entered_value) "
                "INSERT INTO entry_history (entry_id, field_id, action, before, "
                "after, changed_by, changed_at) SELECT entry_id, field_id, "
                "'create', NULL, jsonb_build_object('entered_value', "
                "entered_value), %s, now() FROM fe",
                [*params, seeded.user_id],
            )
        else:
            conn.execute(RAW_VALUES_COLUMNS + RAW_VALUES_SELECT, params)
    return None


# --- Running -------------------------------------------------------------------------


@dataclass
class Runs:
    """One scenario's API and baseline runs, one of each per round."""

    key: str
    title: str
    api: list[LoadResult] = field(default_factory=list)
    raw: list[LoadResult] = field(default_factory=list)
    # Bulk only: the baseline that also writes entry_history, as the API does.
    raw_history: list[LoadResult] = field(default_factory=list)
    per_request: int = 1  # entries per request


@dataclass
class Prepared:
    """Every request of every run, and its raw statement, built before the clock."""

    params: dict[tuple[str, int], list[list[tuple[str, str]]]]
    plans: dict[tuple[str, int], list[tuple[str, list[Any]]]]
    bulk: dict[tuple[str, int], list[BulkBatch]]


def prepare(
    args: argparse.Namespace, seeded: Seeded, scenarios: list[ReadScenario]
) -> Prepared:
    started = time.perf_counter()
    params: dict[tuple[str, int], list[list[tuple[str, str]]]] = {}
    plans: dict[tuple[str, int], list[tuple[str, list[Any]]]] = {}
    for s_index, scenario in enumerate(scenarios):
        for round_ in range(1, args.rounds + 1):
            progress(f"  planning the raw statements: {scenario.key}, round {round_}")
            rng = random.Random(1000 * round_ + s_index)
            key = (scenario.key, round_)
            params[key] = [
                scenario.params(rng) for _ in range(args.warmup + args.requests)
            ]
            plans[key] = [plan_sql(p) for p in params[key]]
    bulk = {}
    for round_ in range(1, args.rounds + 1):
        for k_index, kind in enumerate(("api", "raw", "rawh")):
            progress(f"  preparing the bulk batches: {kind}, round {round_}".ljust(60))
            bulk[(kind, round_)] = bulk_batches(
                seeded,
                args.bulk_concurrency + args.bulk_requests,
                100 * round_ + k_index,
                f"{kind}{round_}",
            )
    progress(
        f"  requests and raw statements prepared in "
        f"{time.perf_counter() - started:.1f} s".ljust(60),
        done=True,
    )
    return Prepared(params, plans, bulk)


def describe(label: str, result: LoadResult, per_request: int = 1) -> str:
    extra = f" ({result.rps * per_request:,.0f} entries/s)" if per_request > 1 else ""
    text = (
        f"    {label:13} {result.rps:8.1f} req/s{extra}   "
        f"p50 {result.latency_ms(0.50):8.2f} ms   "
        f"p99 {result.latency_ms(0.99):8.2f} ms   "
        f"{result.requests} ok, {result.errors} errors, {result.seconds:.1f} s"
    )
    if result.errors:
        text += f"\n      first error: {result.first_error}"
    return text


def require_no_errors(result: LoadResult, what: str) -> None:
    """Warm-ups must be clean: a failing setup would make the figures meaningless."""
    if result.errors:
        raise RuntimeError(
            f"{what}: {result.errors} of {result.errors + result.requests} failed: "
            f"{result.first_error}"
        )


def error_lines(server: Server, lines: int = 40) -> str:
    """The server log without its access log: tracebacks and warnings."""
    text = server.log_path.read_text(errors="replace").splitlines()
    kept = [line for line in text if '"GET /' not in line and '"POST /' not in line]
    return "\n".join("    " + line for line in kept[-lines:])


class Session:
    """The signed-in API client's headers, from ``POST /auth/v1/token``."""

    def __init__(self, port: int, seeded: Seeded):
        import orjson

        client = HttpClient(port, timeout=30)
        try:
            client.conn.request(
                "POST",
                "/auth/v1/token?grant_type=password",
                body=orjson.dumps({"email": EMAIL, "password": seeded.password}),
                headers={"apikey": seeded.api_key, "Content-Type": "application/json"},
            )
            response = client.conn.getresponse()
            body = response.read()
        finally:
            client.close()
        if response.status != 200:
            raise RuntimeError(f"sign-in: HTTP {response.status}: {body[:300]!r}")
        token = orjson.loads(body)["access_token"]
        auth = {"apikey": seeded.api_key, "Authorization": f"Bearer {token}"}
        self.get_headers = {**auth, "Accept-Profile": TENANT}
        self.post_headers = {
            **auth,
            "Content-Profile": TENANT,
            "Content-Type": "application/json",
        }


def get(params: list[tuple[str, str]], session: Session) -> Request:
    path = "/rest/v1/entries?" + query_string(params)
    return Request("GET", path, None, session.get_headers)


def same_answer(port: int, session: Session, url: str, params) -> str:
    """One API request and its raw statement give the same rows."""
    import orjson

    request = get(params, session)
    client = HttpClient(port, timeout=30)
    try:
        client.conn.request(request.method, request.path, headers=request.headers)
        response = client.conn.getresponse()
        body = response.read()
    finally:
        client.close()
    if response.status != 200:
        raise RuntimeError(
            f"GET {request.path}: HTTP {response.status}: {body[:300]!r}"
        )
    raw = RawClient(url)
    try:
        count, text = raw.read(*plan_sql(params))
    finally:
        raw.close()
    if orjson.loads(body) != orjson.loads(text):
        raise RuntimeError(f"GET {request.path}: the API and raw SQL rows differ")
    return f"{count} row(s), {len(body):,} bytes"


def explain(url: str, params: list[tuple[str, str]]) -> str:
    raw = RawClient(url)
    try:
        sql, values = plan_sql(params)
        rows = raw.conn.execute(
            "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + sql, values
        ).fetchall()
    finally:
        raw.close()
    return "\n".join("      " + row[0] for row in rows)


def raw_reads(
    url: str, plans: list[tuple[str, list[Any]]], total: int, skip: int, args
) -> LoadResult:
    """Statements ``skip .. skip + total - 1`` of ``plans`` over as many connections."""

    def call(client: RawClient, k: int) -> str | None:
        row = client.read(*plans[skip + k])
        return None if row is not None and row[1] is not None else "no result"

    return drive(
        total,
        args.concurrency,
        args.time_limit,
        connect=lambda index: RawClient(url),
        call=call,
    )


def raw_bulk(
    url: str,
    batches: list[BulkBatch],
    total: int,
    skip: int,
    seeded: Seeded,
    args,
    *,
    history: bool,
) -> LoadResult:
    def call(client: RawClient, k: int) -> str | None:
        return raw_bulk_insert(client, batches[skip + k], seeded, history=history)

    return drive(
        total,
        args.bulk_concurrency,
        args.time_limit,
        connect=lambda index: RawClient(url, client_side=False),
        call=call,
    )


def measure_reads(
    args, url: str, server: Server, session: Session, scenarios, prepared: Prepared
) -> list[Runs]:
    runs = {s.key: Runs(s.key, s.title) for s in scenarios}
    steps = args.rounds * len(scenarios) * 2
    step = 0
    for round_ in range(1, args.rounds + 1):
        print(f"\nReads, round {round_}")
        for scenario in scenarios:
            key = (scenario.key, round_)
            requests = [get(p, session) for p in prepared.params[key]]
            step += 1
            progress(f"  [{step}/{steps}] {scenario.key}: API, round {round_}...")
            warm = http_load(
                server.port,
                requests[: args.warmup],
                args.warmup,
                args.concurrency,
                args.time_limit,
            )
            require_no_errors(warm, f"{scenario.key}: API warm-up")
            api = http_load(
                server.port,
                requests[args.warmup :],
                args.requests,
                args.concurrency,
                args.time_limit,
            )
            step += 1
            progress(f"  [{step}/{steps}] {scenario.key}: raw SQL, round {round_}...")
            plans = prepared.plans[key]
            warm = raw_reads(url, plans, args.warmup, 0, args)
            require_no_errors(warm, f"{scenario.key}: raw SQL warm-up")
            raw = raw_reads(url, plans, args.requests, args.warmup, args)
            clear_progress()
            print(f"  {scenario.title}")
            print(describe("API", api))
            print(describe("raw SQL", raw))
            if api.errors:
                print(f"  server log:\n{error_lines(server)}", file=sys.stderr)
            runs[scenario.key].api.append(api)
            runs[scenario.key].raw.append(raw)
    return list(runs.values())


def measure_bulk(
    args,
    url: str,
    server: Server,
    session: Session,
    seeded: Seeded,
    prepared: Prepared,
) -> Runs:
    runs = Runs(
        "bulk", f"Bulk insert, {BULK_ROWS:,} entries with values", per_request=BULK_ROWS
    )
    n, c = args.bulk_requests, args.bulk_concurrency
    steps = args.rounds * 3
    step = 0
    for round_ in range(1, args.rounds + 1):
        print(f"\nBulk inserts, round {round_} ({c} at a time)")
        step += 1
        progress(f"  [{step}/{steps}] bulk insert: API, round {round_}...")
        requests = [
            Request("POST", "/rest/v1/entries", b.body, session.post_headers, 201)
            for b in prepared.bulk[("api", round_)]
        ]
        warm = http_load(server.port, requests[:c], c, c, args.time_limit)
        require_no_errors(warm, "bulk insert: API warm-up")
        api = http_load(server.port, requests[c:], n, c, args.time_limit)
        raws = []
        for kind, history in (("raw", False), ("rawh", True)):
            step += 1
            what = "raw SQL + history" if history else "raw SQL"
            progress(f"  [{step}/{steps}] bulk insert: {what}, round {round_}...")
            batches = prepared.bulk[(kind, round_)]
            warm = raw_bulk(url, batches, c, 0, seeded, args, history=history)
            require_no_errors(warm, f"bulk insert: {what} warm-up")
            raws.append(raw_bulk(url, batches, n, c, seeded, args, history=history))
        clear_progress()
        print(f"  {runs.title}")
        print(describe("API", api, BULK_ROWS))
        print(describe("raw SQL", raws[0], BULK_ROWS))
        print(describe("raw + history", raws[1], BULK_ROWS))
        if api.errors:
            print(f"  server log:\n{error_lines(server)}", file=sys.stderr)
        runs.api.append(api)
        runs.raw.append(raws[0])
        runs.raw_history.append(raws[1])
    return runs


def verify_bulk(url: str, seeded: Seeded) -> str:
    """What each kind of bulk insert wrote, per entry: 10 values (and 11 history
    rows, for the API and the baseline with history)."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute(f'SET search_path = "{TENANT}", public')
        rows = conn.execute(
            "SELECT regexp_replace(split_part(t.entered_value, ' ', 1), '[0-9]+$', ''),"
            " count(*),"
            " sum((SELECT count(*) FROM field_entries v"
            "      WHERE v.entry_id = t.entry_id)),"
            " sum((SELECT count(*) FROM entry_history h"
            "      WHERE h.entry_id = t.entry_id))"
            " FROM field_entries t WHERE t.field_id = %s AND t.entry_id > %s"
            " GROUP BY 1 ORDER BY 1",
            [seeded.field_ids["Title"], seeded.last_id],
        ).fetchall()
    history_per_entry = {"api": len(FIELDS) + 1, "raw": 0, "rawh": len(FIELDS) + 1}
    for kind, entries, values, history in rows:
        if values != entries * len(FIELDS) or (
            history != entries * history_per_entry[kind]
        ):
            raise RuntimeError(
                f"bulk insert {kind}: {entries} entries, {values} values, "
                f"{history} history rows"
            )
    names = {"api": "API", "raw": "raw SQL", "rawh": "raw SQL + history"}
    return "\n".join(
        f"    {names[kind]:18} {entries:,} entries, {values:,} values, "
        f"{history:,} history rows"
        for kind, entries, values, history in rows
    )


def run(args: argparse.Namespace, url: str) -> None:
    from django.db import connection

    from config.management.commands.serve import default_workers

    workers = default_workers()
    threads = os.environ.get("WEB_THREADS", "4")
    print(
        f"REST benchmark: {args.entries:,} entries x {len(FIELDS)} fields; "
        f"{args.requests} requests per read scenario and round over "
        f"{args.concurrency} connections (after {args.warmup} warm-up); "
        f"{args.bulk_requests} bulk inserts of {BULK_ROWS:,} entries per round, "
        f"{args.bulk_concurrency} at a time; {args.rounds} round(s)"
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

    seeded = seed(args.entries)
    vacuum_analyze(url)
    check_seeded_values(url, seeded)
    scenarios = read_scenarios(seeded, last_offset(args))
    for scenario in scenarios:
        example = "&".join(f"{k}={v}" for k, v in scenario.params(random.Random(0)))
        print(f"  {scenario.key:7} GET /rest/v1/entries?{example}")
    prepared = prepare(args, seeded, scenarios)

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
    with tempfile.TemporaryDirectory(prefix="gg_rest_bench_") as log_dir:
        server = Server("serve", port, command, Path(log_dir), env=env)
        try:
            progress("  starting manage.py serve (it migrates first)...")
            startup = server.wait_healthy(START_TIMEOUT_S)
            progress(f"  server healthy after {startup:.1f} s", done=True)
            session = Session(port, seeded)
            print("  sanity, one request each: API rows == raw SQL rows")
            for scenario in scenarios:
                params = prepared.params[(scenario.key, 1)][0]
                print(f"    {scenario.key:7} {same_answer(port, session, url, params)}")
            if args.explain:
                print("\nEXPLAIN ANALYZE, one request of each read scenario")
                for scenario in scenarios:
                    params = prepared.params[(scenario.key, 1)][0]
                    print(f"  {scenario.title}: ?{query_string(params)}")
                    print(explain(url, params))
            # Every read round first: the bulk inserts add entries to the thing.
            reads = measure_reads(args, url, server, session, scenarios, prepared)
            bulk = measure_bulk(args, url, server, session, seeded, prepared)
            print("  written by the bulk inserts (warm-ups included):")
            print(verify_bulk(url, seeded))
        except Exception:
            clear_progress()
            print(f"  server log:\n{error_lines(server)}", file=sys.stderr)
            raise
        finally:
            code = server.stop()
    if code not in (0, None):
        print(f"  note: serve exited with {code}", file=sys.stderr)
    report(args, [*reads, bulk], workers, threads)


# --- The report -----------------------------------------------------------------------


def mean_rps(results: list[LoadResult]) -> float:
    return statistics.mean(r.rps for r in results)


def median_ms(results: list[LoadResult], fraction: float) -> float:
    return statistics.median(r.latency_ms(fraction) for r in results)


def spread(results: list[LoadResult]) -> float:
    """(max - min) / mean of the rounds' req/s."""
    rates = [r.rps for r in results]
    mean = statistics.mean(rates)
    return (max(rates) - min(rates)) / mean if mean else 0.0


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args, all_runs: list[Runs], workers: int, threads: str) -> None:
    print()
    print(
        f"Summary: mean req/s of {args.rounds} round(s) (± spread = (max-min)/mean), "
        "median of the rounds' p50/p99"
    )
    print(
        f"{args.entries:,} entries x {len(FIELDS)} fields; reads over "
        f"{args.concurrency} keep-alive connections (list offsets "
        f"0..{last_offset(args)}), bulk inserts {args.bulk_concurrency} at a time; "
        f"granian {workers} "
        f"workers x {threads} threads; {os.cpu_count()} cores shared by client, "
        "server and PostgreSQL"
    )
    print()
    print(
        "| Scenario | API req/s | API p50 | API p99 | Raw SQL req/s | Raw p50 | "
        "Raw p99 | API / raw |"
    )
    print("|---|---|---|---|---|---|---|---|")

    def rate(results: list[LoadResult], per: int) -> str:
        value = mean_rps(results)
        text = f"{value:,.0f}" if value >= 100 else f"{value:,.1f}"
        if len(results) > 1:
            text += f" ±{spread(results):.0%}"
        if per > 1:
            text += f" ({value * per:,.0f} entries/s)"
        return text

    def row(title: str, api: list[LoadResult], raw: list[LoadResult], per: int):
        print(
            f"| {title} | {rate(api, per)} | {median_ms(api, 0.5):.1f} ms | "
            f"{median_ms(api, 0.99):.1f} ms | {rate(raw, per)} | "
            f"{median_ms(raw, 0.5):.1f} ms | {median_ms(raw, 0.99):.1f} ms | "
            f"{mean_rps(api) / mean_rps(raw):.2f} |"
        )

    for runs in all_runs:
        row(runs.title, runs.api, runs.raw, runs.per_request)
        if runs.raw_history:
            row(
                f"{runs.title} (baseline also writes entry_history)",
                runs.api,
                runs.raw_history,
                runs.per_request,
            )
    errors = [
        f"{runs.title}: API {sum(r.errors for r in runs.api)}, raw "
        f"{sum(r.errors for r in runs.raw + runs.raw_history)}"
        for runs in all_runs
        if any(r.errors for r in runs.api + runs.raw + runs.raw_history)
    ]
    if errors:
        print("\nERRORS (failed requests are left out of the figures):")
        for line in errors:
            print(f"  {line}")

    by_key = {runs.key: runs for runs in all_runs}
    single, embed = by_key["single"], by_key["embed"]
    single_rps = mean_rps(single.api)
    embed_ratio = mean_rps(embed.api) / mean_rps(embed.raw)
    print()
    print("Targets")
    print(
        f"  single-row GET >= {SINGLE_TARGET_RPS:,.0f} req/s: {single_rps:,.0f} req/s"
        f"  {verdict(single_rps >= SINGLE_TARGET_RPS)}"
    )
    print(
        f"  list with embed >= {EMBED_TARGET_RATIO:.0%} of raw SQL: "
        f"{embed_ratio:.0%}  {verdict(embed_ratio >= EMBED_TARGET_RATIO)}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument(
        "--requests", type=int, default=3000, help="per read scenario and round"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="for the reads")
    parser.add_argument(
        "--bulk-requests", type=int, default=10, help="bulk inserts per round"
    )
    parser.add_argument("--bulk-concurrency", type=int, default=2)
    parser.add_argument(
        "--warmup", type=int, default=200, help="requests before each read run"
    )
    parser.add_argument("--rounds", type=int, default=2, help="API/raw pairs to run")
    parser.add_argument(
        "--max-offset",
        type=int,
        default=1000,
        help="list offsets are random in 0..this: the first pages (a deep OFFSET "
        "costs O(offset) in the SQL, API and raw alike)",
    )
    parser.add_argument(
        "--time-limit", type=float, default=120.0, help="max seconds per load run"
    )
    parser.add_argument(
        "--explain", action="store_true", help="EXPLAIN ANALYZE each read scenario"
    )
    args = parser.parse_args()
    counts = (args.requests, args.concurrency, args.bulk_requests)
    if min(*counts, args.bulk_concurrency, args.rounds) < 1:
        parser.error("request counts, concurrencies and --rounds must be >= 1")
    if args.entries < PAGE or args.warmup < 0 or args.max_offset < 0:
        parser.error(f"--entries must be >= {PAGE}, --warmup and --max-offset >= 0")

    run_in_scratch_database("gg_restbench", lambda url: run(args, url))


if __name__ == "__main__":
    main()
