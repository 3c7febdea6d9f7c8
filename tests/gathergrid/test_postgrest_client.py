"""/rest/v1 through the official supabase-py client (its postgrest builder),
unmodified, against the live service (`served`).

Statuses are not part of the client's answer, so each client gets its own
``httpx.Client`` (a documented ``ClientOptions`` option) whose response hook
records every response: ``grid.last`` is the one a query was answered with.

The served database lives for the whole session: every test names its rows
uniquely and filters on those names, never assuming an empty table.
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import Client, ClientOptions, create_client

pytestmark = pytest.mark.slow

PASSWORD = "client tests battery staple"
ERROR_KEYS = {"code", "message", "details", "hint"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@dataclass
class Grid:
    """A supabase client (signed in, or not) and every HTTP response it received."""

    client: Client
    http: httpx.Client
    responses: list[httpx.Response]
    user_id: str | None = None
    access_token: str | None = None

    def table(self, name: str):
        return self.client.table(name)

    @property
    def last(self) -> httpx.Response:
        return self.responses[-1]


def connect(
    url: str,
    api_key: str,
    email: str | None = None,
    password: str = PASSWORD,
    schema: str | None = "demo",
) -> Grid:
    responses: list[httpx.Response] = []
    http = httpx.Client(event_hooks={"response": [responses.append]})
    options = ClientOptions(httpx_client=http)
    if schema:
        options = ClientOptions(schema=schema, httpx_client=http)
    grid = Grid(create_client(url, api_key, options=options), http, responses)
    if email:
        signed_in = grid.client.auth.sign_in_with_password(
            {"email": email, "password": password}
        )
        grid.user_id = signed_in.user.id
        grid.access_token = signed_in.session.access_token
    return grid


def api_error(call: Callable[[], object]) -> APIError:
    with pytest.raises(APIError) as raised:
        call()
    return raised.value


# --------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="module")
def demo(served) -> dict[str, str]:
    return served.demo()


@pytest.fixture
def fresh():
    """``connect`` for one test; every client it made is closed afterwards."""
    made: list[Grid] = []

    def make(*args, **kwargs) -> Grid:
        made.append(connect(*args, **kwargs))
        return made[-1]

    yield make
    for grid in made:
        grid.http.close()


def member(served, tenant: str, role: str) -> str:
    email = f"{unique(role)}@example.com"
    served.manage(
        "create_tenant_admin",
        email,
        "--tenant",
        tenant,
        "--password",
        PASSWORD,
        "--role",
        role,
    )
    return email


@pytest.fixture(scope="module")
def grid(served, demo):
    """An editor of the demo tenant, signed in once for the module.

    Its own user, so that another module signing the demo admin out everywhere
    cannot end this session."""
    signed_in = connect(demo["url"], demo["api_key"], member(served, "demo", "editor"))
    yield signed_in
    signed_in.http.close()


@pytest.fixture(scope="module")
def viewer(served, demo):
    signed_in = connect(demo["url"], demo["api_key"], member(served, "demo", "viewer"))
    yield signed_in
    signed_in.http.close()


@dataclass
class OtherTenant:
    schema: str
    api_key: str
    grid: Grid


@pytest.fixture(scope="module")
def other(served):
    """A second tenant, created with manage.py against the served database."""
    schema = f"iso_{uuid.uuid4().hex[:12]}"
    created = json.loads(
        served.manage("create_tenant", schema, "--name", "Isolation", "--json")
    )
    email = member(served, schema, "admin")
    signed_in = connect(served.url, created["api_key"], email, schema=schema)
    yield OtherTenant(schema=schema, api_key=created["api_key"], grid=signed_in)
    signed_in.http.close()


@dataclass
class Task:
    """A thing with typed fields, made through the client for one test."""

    thing_id: int
    name: str
    fields: dict[str, int]


@pytest.fixture
def task(grid) -> Task:
    name = unique("Task")
    thing = grid.table("things").insert({"name": name}).execute().data[0]
    specs = [
        ("Title", "text", True, {}),
        ("Status", "choice", False, {"choices": ["Todo", "Doing", "Done"]}),
        ("Due", "date", False, {}),
        ("Points", "integer", False, {}),
    ]
    rows = [
        {
            "thing_id": thing["id"],
            "name": field,
            "data_type": data_type,
            "mandatory": required,
            "required_for_initialization": required,
            "position": position,
            "options": options,
        }
        for position, (field, data_type, required, options) in enumerate(specs, 1)
    ]
    fields = grid.table("fields").insert(rows).execute().data
    return Task(thing["id"], name, {f["name"]: f["id"] for f in fields})


def add_entry(grid: Grid, task: Task, **values: str) -> int:
    response = (
        grid.table("entries")
        .insert({"thing_id": task.thing_id, "values": {"Title": "t", **values}})
        .execute()
    )
    return response.data[0]["id"]


@pytest.fixture(scope="module")
def greek(grid) -> dict[str, str]:
    """Three things, alpha/beta/gamma plus a suffix, for the filter tests."""
    suffix = uuid.uuid4().hex[:10]
    rows = [
        {"name": f"alpha-{suffix}", "description": "red fox jumps"},
        {"name": f"beta-{suffix}", "description": "lazy dog"},
        {"name": f"gamma-{suffix}", "description": "quick brown fox"},
    ]
    grid.table("things").insert(rows).execute()
    names = {row["name"].split("-")[0]: row["name"] for row in rows}
    return {"suffix": suffix, **names}


def greek_query(grid: Grid, greek: dict[str, str], columns: str = "name"):
    return (
        grid.table("things")
        .select(columns)
        .like("name", f"*-{greek['suffix']}")
        .order("name")
    )


def prefixes(rows: list[dict]) -> list[str]:
    return [row["name"].split("-")[0] for row in rows]


def things_named(grid: Grid, *names: str, columns: str = "name") -> list[dict]:
    return (
        grid.table("things")
        .select(columns)
        .in_("name", names)
        .order("name")
        .execute()
        .data
    )


# --------------------------------------------------------------------------
# Signing in


def test_requests_before_sign_in_are_refused_with_pgrst302(demo, fresh):
    anonymous = fresh(demo["url"], demo["api_key"])
    error = api_error(lambda: anonymous.table("things").select("id").execute())
    assert error.code == "PGRST302"
    assert anonymous.last.status_code == 401


def test_sign_in_with_banner_credentials_then_rows_are_created_by_that_user(
    demo, fresh
):
    admin = fresh(demo["url"], demo["api_key"], demo["email"], demo["password"])
    response = admin.table("things").insert({"name": unique("signed-in")}).execute()
    assert admin.last.request.headers["authorization"] == (
        f"Bearer {admin.access_token}"
    )
    assert admin.last.request.headers["content-profile"] == "demo"
    assert response.data[0]["created_by"] == admin.user_id


def test_default_public_schema_means_the_tokens_default_tenant(demo, grid, fresh):
    name = unique("default-tenant")
    grid.table("things").insert({"name": name}).execute()
    unset = fresh(
        demo["url"], demo["api_key"], demo["email"], demo["password"], schema=None
    )
    rows = unset.table("things").select("name").eq("name", name).execute().data
    assert unset.last.request.headers["accept-profile"] == "public"
    assert rows == [{"name": name}]


# --------------------------------------------------------------------------
# Insert


def test_insert_one_row_returns_it_by_default(grid):
    name = unique("insert-one")
    response = grid.table("things").insert({"name": name}).execute()
    assert grid.last.status_code == 201
    assert grid.last.request.headers["prefer"] == "return=representation"
    assert len(response.data) == 1
    row = response.data[0]
    assert row["name"] == name
    assert isinstance(row["id"], int)
    assert row["active"] is True
    assert row["created_by"] == grid.user_id
    assert response.count is None


def test_bulk_insert_returns_every_row_in_order(grid):
    names = [unique("bulk-a"), unique("bulk-b"), unique("bulk-c")]
    response = (
        grid.table("things")
        .insert([{"name": n, "description": f"d{i}"} for i, n in enumerate(names)])
        .execute()
    )
    assert grid.last.status_code == 201
    assert [row["name"] for row in response.data] == names
    assert [row["description"] for row in response.data] == ["d0", "d1", "d2"]
    assert len({row["id"] for row in response.data}) == 3


def test_insert_returning_minimal_has_no_data_but_a_location(grid):
    name = unique("minimal-one")
    response = (
        grid.table("things").insert({"name": name}, returning="minimal").execute()
    )
    assert grid.last.status_code == 201
    assert response.data == []
    assert response.count is None
    assert grid.last.content == b""
    location = grid.last.headers["location"]
    assert location.startswith("/things?id=eq.")
    [row] = things_named(grid, name, columns="id,name")
    assert location == f"/things?id=eq.{row['id']}"


def test_bulk_insert_returning_minimal_writes_every_row(grid):
    names = sorted(unique(f"minimal-bulk{i}") for i in range(3))
    response = (
        grid.table("things")
        .insert([{"name": n} for n in names], returning="minimal")
        .execute()
    )
    assert grid.last.status_code == 201
    assert response.data == []
    assert [row["name"] for row in things_named(grid, *names)] == names


@pytest.mark.parametrize("returning", ["representation", "minimal"])
def test_insert_with_count_exact_reports_the_rows_written(grid, returning):
    names = [unique("counted-a"), unique("counted-b")]
    response = (
        grid.table("things")
        .insert([{"name": n} for n in names], count="exact", returning=returning)
        .execute()
    )
    assert grid.last.status_code == 201
    assert len(response.data) == (2 if returning == "representation" else 0)
    # PostgREST answers a counted POST with `Content-Range: */2`.
    assert grid.last.headers["content-range"] == "*/2"
    assert response.count == 2


def test_duplicate_active_name_is_409_23505(grid):
    name = unique("twice")
    grid.table("things").insert({"name": name}).execute()
    error = api_error(lambda: grid.table("things").insert({"name": name}).execute())
    assert error.code == "23505"
    assert grid.last.status_code == 409
    assert len(things_named(grid, name)) == 1


def test_one_bad_row_rejects_the_whole_bulk_insert(grid):
    good = unique("bulk-good")
    error = api_error(
        lambda: grid.table("things").insert([{"name": good}, {"name": 5}]).execute()
    )
    assert grid.last.status_code == 400
    assert error.code == "23514"
    assert things_named(grid, good) == []


# --------------------------------------------------------------------------
# Select: filters


FILTERS = {
    "eq": (lambda q, n: q.eq("name", n["beta"]), ["beta"]),
    "neq": (lambda q, n: q.neq("name", n["beta"]), ["alpha", "gamma"]),
    "gt": (lambda q, n: q.gt("name", n["alpha"]), ["beta", "gamma"]),
    "gte": (lambda q, n: q.gte("name", n["beta"]), ["beta", "gamma"]),
    "lt": (lambda q, n: q.lt("name", n["beta"]), ["alpha"]),
    "lte": (lambda q, n: q.lte("name", n["beta"]), ["alpha", "beta"]),
    "in_": (lambda q, n: q.in_("name", [n["alpha"], n["gamma"]]), ["alpha", "gamma"]),
    "not_.in_": (
        lambda q, n: q.not_.in_("name", [n["alpha"], n["gamma"]]),
        ["beta"],
    ),
    "is_ null": (lambda q, n: q.is_("description", None), []),
    "not_.is_ null": (
        lambda q, n: q.not_.is_("description", None),
        ["alpha", "beta", "gamma"],
    ),
    "is_ true": (lambda q, n: q.is_("active", True), ["alpha", "beta", "gamma"]),
    "like": (lambda q, n: q.like("name", "*eta-*"), ["beta"]),
    "not_.like": (lambda q, n: q.not_.like("name", "*eta-*"), ["alpha", "gamma"]),
    "ilike": (lambda q, n: q.ilike("name", "*ETA-*"), ["beta"]),
    "like_any_of": (lambda q, n: q.like_any_of("name", "a*,g*"), ["alpha", "gamma"]),
    "ilike_all_of": (lambda q, n: q.ilike_all_of("name", "*A*,*M*"), ["gamma"]),
    "or_": (
        lambda q, n: q.or_(f"name.eq.{n['alpha']},name.eq.{n['gamma']}"),
        ["alpha", "gamma"],
    ),
    "not_.or_": (
        lambda q, n: q.not_.or_(f"name.eq.{n['alpha']},name.eq.{n['gamma']}"),
        ["beta"],
    ),
    "or_ with and": (
        lambda q, n: q.or_(f"name.eq.{n['alpha']},and(description.like.*dog,id.gt.0)"),
        ["alpha", "beta"],
    ),
    "match": (lambda q, n: q.match({"name": n["beta"], "active": True}), ["beta"]),
    "filter": (
        lambda q, n: q.filter("description", "match", "^(red|lazy)"),
        ["alpha", "beta"],
    ),
    "text_search": (
        lambda q, n: q.text_search("description", "fox"),
        ["alpha", "gamma"],
    ),
    "text_search plain english": (
        lambda q, n: q.text_search(
            "description", "quick foxes", {"type": "plain", "config": "english"}
        ),
        ["gamma"],
    ),
    "text_search phrase": (
        lambda q, n: q.text_search("description", "brown fox", {"type": "phrase"}),
        ["gamma"],
    ),
    "text_search web_search": (
        lambda q, n: q.text_search("description", "fox -red", {"type": "web_search"}),
        ["gamma"],
    ),
}


@pytest.mark.parametrize("case", list(FILTERS))
def test_filter_method_selects_the_matching_rows(grid, greek, case):
    apply, expected = FILTERS[case]
    response = apply(greek_query(grid, greek), greek).execute()
    assert grid.last.status_code == 200
    assert prefixes(response.data) == expected


def test_contains_and_contained_by_filter_json_columns(grid, task):
    def names(query) -> list[str]:
        rows = query.eq("thing_id", task.thing_id).order("name").execute().data
        return [row["name"] for row in rows]

    fields = grid.table("fields").select("name")
    assert names(fields.contains("options", {"choices": ["Done"]})) == ["Status"]
    fields = grid.table("fields").select("name")
    assert names(fields.contains("options->choices", '["Doing"]')) == ["Status"]
    fields = grid.table("fields").select("name")
    assert names(fields.contained_by("options", {"choices": ["Todo"]})) == [
        "Due",
        "Points",
        "Title",
    ]


def test_boolean_given_as_python_bool_filters(grid, greek):
    assert prefixes(greek_query(grid, greek).eq("active", True).execute().data) == [
        "alpha",
        "beta",
        "gamma",
    ]
    assert grid.last.request.url.params.get_list("active") == ["eq.true"]
    assert greek_query(grid, greek).eq("active", False).execute().data == []


# --------------------------------------------------------------------------
# Select: order, limit, range, counts, singular, HEAD, CSV


def test_order_descending_and_limit(grid, greek):
    response = (
        grid.table("things")
        .select("name")
        .like("name", f"*-{greek['suffix']}")
        .order("name", desc=True)
        .limit(2)
        .execute()
    )
    assert prefixes(response.data) == ["gamma", "beta"]
    assert grid.last.status_code == 200
    assert grid.last.headers["content-range"] == "0-1/*"


def test_order_on_several_columns(grid, greek):
    response = (
        grid.table("things")
        .select("name")
        .like("name", f"*-{greek['suffix']}")
        .order("description", desc=True, nullsfirst=False)
        .order("id")
        .execute()
    )
    # "red fox jumps" > "quick brown fox" > "lazy dog"
    assert prefixes(response.data) == ["alpha", "gamma", "beta"]


def test_range_selects_a_page_without_a_total(grid, greek):
    response = greek_query(grid, greek).range(1, 2).execute()
    assert prefixes(response.data) == ["beta", "gamma"]
    assert response.count is None
    assert grid.last.status_code == 200
    assert grid.last.headers["content-range"] == "1-2/*"


def test_range_with_count_exact_is_206_with_the_total(grid, greek):
    response = (
        grid.table("things")
        .select("name", count="exact")
        .like("name", f"*-{greek['suffix']}")
        .order("name")
        .range(1, 1)
        .execute()
    )
    assert prefixes(response.data) == ["beta"]
    assert response.count == 3
    assert grid.last.status_code == 206
    assert grid.last.headers["content-range"] == "1-1/3"


def test_range_covering_every_row_with_count_is_200(grid, greek):
    response = (
        grid.table("things")
        .select("name", count="exact")
        .like("name", f"*-{greek['suffix']}")
        .range(0, 9)
        .execute()
    )
    assert response.count == 3
    assert grid.last.status_code == 200
    assert grid.last.headers["content-range"] == "0-2/3"


def test_count_exact_counts_every_match_beyond_the_limit(grid, greek):
    response = (
        grid.table("things")
        .select("name", count="exact")
        .like("name", f"*-{greek['suffix']}")
        .limit(1)
        .execute()
    )
    assert len(response.data) == 1
    assert response.count == 3
    assert grid.last.status_code == 206
    assert grid.last.headers["preference-applied"] == "count=exact"


def test_count_exact_of_nothing_is_zero(grid):
    response = (
        grid.table("things")
        .select("id", count="exact")
        .eq("name", unique("absent"))
        .execute()
    )
    assert response.data == []
    assert response.count == 0
    assert grid.last.status_code == 200
    assert grid.last.headers["content-range"] == "*/0"


@pytest.mark.parametrize("count", ["planned", "estimated"])
def test_planned_and_estimated_counts_are_numbers(grid, greek, count):
    response = (
        grid.table("things")
        .select("name", count=count)
        .like("name", f"*-{greek['suffix']}")
        .limit(1)
        .execute()
    )
    assert len(response.data) == 1
    assert isinstance(response.count, int) and response.count >= 0


def test_offset_past_the_end_with_count_is_416_pgrst103(grid, greek):
    error = api_error(
        lambda: (
            grid.table("things")
            .select("name", count="exact")
            .like("name", f"*-{greek['suffix']}")
            .range(10, 19)
            .execute()
        )
    )
    assert error.code == "PGRST103"
    assert grid.last.status_code == 416


def test_head_counts_without_returning_rows(grid, greek):
    response = (
        grid.table("things")
        .select("*", count="exact", head=True)
        .like("name", f"*-{greek['suffix']}")
        .execute()
    )
    assert grid.last.request.method == "HEAD"
    assert grid.last.status_code == 200
    assert grid.last.content == b""
    assert response.data == []
    assert response.count == 3


def test_head_with_limit_is_206(grid, greek):
    response = (
        grid.table("things")
        .select("*", count="exact", head=True)
        .like("name", f"*-{greek['suffix']}")
        .limit(2)
        .execute()
    )
    assert response.count == 3
    assert grid.last.status_code == 206
    assert grid.last.headers["content-range"] == "0-1/3"


def test_single_returns_the_one_row_as_an_object(grid, greek):
    response = (
        grid.table("things").select("name").eq("name", greek["beta"]).single().execute()
    )
    assert response.data == {"name": greek["beta"]}
    assert grid.last.status_code == 200
    assert grid.last.headers["content-type"].startswith(
        "application/vnd.pgrst.object+json"
    )


@pytest.mark.parametrize("picked", [[], ["alpha", "gamma"]])
def test_single_with_zero_or_several_rows_is_406_pgrst116(grid, greek, picked):
    names = [greek[p] for p in picked] or [unique("absent")]
    error = api_error(
        grid.table("things").select("name").in_("name", names).single().execute
    )
    rows = len(picked)
    assert error.code == "PGRST116"
    assert error.details == f"The result contains {rows} rows"
    assert error.message == "JSON object requested, multiple (or no) rows returned"
    assert grid.last.status_code == 406


def test_maybe_single_returns_the_row_or_none(grid, greek):
    one = (
        grid.table("things")
        .select("name")
        .eq("name", greek["gamma"])
        .maybe_single()
        .execute()
    )
    assert one.data == {"name": greek["gamma"]}
    none = (
        grid.table("things")
        .select("name")
        .eq("name", unique("absent"))
        .maybe_single()
        .execute()
    )
    assert none is None
    assert grid.last.status_code == 200


def test_maybe_single_with_two_rows_raises(grid, greek):
    error = api_error(
        lambda: (
            grid.table("things")
            .select("name")
            .in_("name", [greek["alpha"], greek["beta"]])
            .maybe_single()
            .execute()
        )
    )
    # Raised by the client itself from a 200 array of two rows.
    assert error.code == "406"
    assert grid.last.status_code == 200


def test_csv_returns_the_rows_as_text(grid):
    names = sorted([unique("csv"), unique("csv")])
    grid.table("things").insert(
        [
            {"name": names[0], "description": "a,b"},
            {"name": names[1], "description": "c"},
        ]
    ).execute()
    response = (
        grid.table("things")
        .select("name,description")
        .in_("name", names)
        .order("name")
        .csv()
        .execute()
    )
    assert grid.last.headers["content-type"].startswith("text/csv")
    assert response.data.splitlines() == [
        "name,description",
        f'{names[0]},"a,b"',
        f"{names[1]},c",
    ]


def test_select_renames_and_casts(grid, greek):
    response = (
        grid.table("things")
        .select("label:name, ident:id::text")
        .eq("name", greek["alpha"])
        .execute()
    )
    [row] = response.data
    assert set(row) == {"label", "ident"}
    assert row["label"] == greek["alpha"]
    assert isinstance(row["ident"], str) and row["ident"].isdigit()


def test_strip_nulls_leaves_null_fields_out(grid, task):
    entry = add_entry(grid, task)
    response = (
        grid.table("entries")
        .select("id, classification_item_id, validity_start_date")
        .eq("id", entry)
        .strip_nulls()
        .execute()
    )
    assert grid.last.status_code == 200
    assert response.data == [{"id": entry}]


# --------------------------------------------------------------------------
# Upsert


def test_upsert_on_conflict_merges_into_the_existing_field_entry(grid, task):
    entry = add_entry(grid, task, Status="Todo")
    status = task.fields["Status"]
    response = (
        grid.table("field_entries")
        .upsert(
            {"entry_id": entry, "field_id": status, "entered_value": "Done"},
            on_conflict="entry_id,field_id",
        )
        .execute()
    )
    [row] = response.data
    assert row["entered_value"] == "Done"
    stored = (
        grid.table("field_entries")
        .select("id, entered_value")
        .eq("entry_id", entry)
        .eq("field_id", status)
        .execute()
        .data
    )
    assert stored == [{"id": row["id"], "entered_value": "Done"}]


def test_upsert_status_is_201_when_inserting_and_200_when_only_merging(grid, task):
    entry = add_entry(grid, task)
    body = {"entry_id": entry, "field_id": task.fields["Points"], "entered_value": "1"}
    upsert = grid.table("field_entries").upsert
    upsert(body, on_conflict="entry_id,field_id").execute()
    assert grid.last.status_code == 201
    upsert({**body, "entered_value": "2"}, on_conflict="entry_id,field_id").execute()
    # PostgREST >= 12: a merge-duplicates POST that inserts nothing is 200.
    assert grid.last.status_code == 200


def test_upsert_ignore_duplicates_keeps_the_existing_value(grid, task):
    entry = add_entry(grid, task, Status="Todo")
    status, due = task.fields["Status"], task.fields["Due"]
    response = (
        grid.table("field_entries")
        .upsert(
            [
                {"entry_id": entry, "field_id": status, "entered_value": "Done"},
                {"entry_id": entry, "field_id": due, "entered_value": "2026-05-01"},
            ],
            on_conflict="entry_id,field_id",
            ignore_duplicates=True,
        )
        .execute()
    )
    assert grid.last.status_code == 201
    assert [(r["field_id"], r["entered_value"]) for r in response.data] == [
        (due, "2026-05-01")
    ]
    values = grid.table("entries").select("values").eq("id", entry).single().execute()
    assert values.data["values"] == {
        "Title": "t",
        "Status": "Todo",
        "Due": "2026-05-01",
    }


def test_bulk_upsert_merges_existing_and_inserts_new(grid, task):
    entry = add_entry(grid, task, Status="Todo")
    status, points = task.fields["Status"], task.fields["Points"]
    response = (
        grid.table("field_entries")
        .upsert(
            [
                {"entry_id": entry, "field_id": status, "entered_value": "Doing"},
                {"entry_id": entry, "field_id": points, "entered_value": "007"},
            ],
            on_conflict="entry_id,field_id",
        )
        .execute()
    )
    assert sorted((r["field_id"], r["entered_value"]) for r in response.data) == sorted(
        [(status, "Doing"), (points, "7")]
    )
    count = (
        grid.table("field_entries")
        .select("id", count="exact", head=True)
        .eq("entry_id", entry)
        .execute()
        .count
    )
    assert count == 3


def test_upsert_returning_minimal_has_no_data(grid, task):
    entry = add_entry(grid, task)
    response = (
        grid.table("field_entries")
        .upsert(
            {
                "entry_id": entry,
                "field_id": task.fields["Due"],
                "entered_value": "2026-01-02",
            },
            on_conflict="entry_id,field_id",
            returning="minimal",
        )
        .execute()
    )
    assert response.data == []
    assert grid.last.status_code == 201
    values = grid.table("entries").select("values->>Due").eq("id", entry).execute()
    assert values.data == [{"Due": "2026-01-02"}]


# --------------------------------------------------------------------------
# Update


def test_update_with_filters_returns_the_updated_rows(grid):
    names = sorted(unique(f"upd{i}") for i in range(3))
    grid.table("things").insert([{"name": n} for n in names]).execute()
    response = (
        grid.table("things")
        .update({"description": "updated"})
        .in_("name", names[:2])
        .execute()
    )
    assert grid.last.status_code == 200
    assert sorted(row["name"] for row in response.data) == names[:2]
    assert {row["description"] for row in response.data} == {"updated"}
    rows = things_named(grid, *names, columns="name,description")
    assert [row["description"] for row in rows] == ["updated", "updated", ""]


def test_update_returning_minimal_is_204_without_data(grid):
    name = unique("upd-minimal")
    grid.table("things").insert({"name": name}).execute()
    response = (
        grid.table("things")
        .update({"description": "quiet"}, returning="minimal")
        .eq("name", name)
        .execute()
    )
    assert grid.last.status_code == 204
    assert response.data == []
    assert things_named(grid, name, columns="description") == [{"description": "quiet"}]


def test_update_matching_nothing_returns_no_rows(grid):
    response = (
        grid.table("things")
        .update({"description": "ghost"})
        .eq("name", unique("absent"))
        .execute()
    )
    assert response.data == []
    assert grid.last.status_code == 200


@pytest.mark.parametrize("method", ["update", "delete"])
def test_write_with_count_exact_reports_the_rows_affected(grid, method):
    names = [unique(f"{method}-count"), unique(f"{method}-count")]
    grid.table("things").insert([{"name": n} for n in names]).execute()
    table = grid.table("things")
    builder = (
        table.update({"description": "c"}, count="exact")
        if method == "update"
        else table.delete(count="exact")
    )
    response = builder.in_("name", names).execute()
    assert len(response.data) == 2
    # PostgREST: PATCH `Content-Range: 0-1/2`, DELETE `Content-Range: */2`.
    expected = "0-1/2" if method == "update" else "*/2"
    assert grid.last.headers["content-range"] == expected
    assert response.count == 2


@pytest.mark.parametrize("method", ["update", "delete"])
def test_update_or_delete_without_a_filter_is_refused_with_21000(grid, method):
    name = unique(f"unfiltered-{method}")
    grid.table("things").insert({"name": name}).execute()
    table = grid.table("things")
    builder = (
        table.update({"description": "all"}) if method == "update" else table.delete()
    )
    error = api_error(builder.execute)
    assert error.code == "21000"
    assert error.message == f"{method.upper()} requires a WHERE clause"
    assert grid.last.status_code == 400
    rows = things_named(grid, name, columns="description,active")
    assert rows == [{"description": "", "active": True}]


def test_max_affected_exceeded_is_rolled_back_with_pgrst124(grid):
    names = [unique("capped"), unique("capped")]
    grid.table("things").insert([{"name": n} for n in names]).execute()
    error = api_error(
        lambda: (
            grid.table("things")
            .update({"description": "capped"})
            .in_("name", names)
            .max_affected(1)
            .execute()
        )
    )
    assert error.code == "PGRST124"
    assert grid.last.status_code == 400
    descriptions = things_named(grid, *names, columns="description")
    assert descriptions == [{"description": ""}, {"description": ""}]


def test_unfiltered_update_with_max_affected_is_bounded_not_refused(grid):
    names = [unique("bounded"), unique("bounded")]
    grid.table("things").insert([{"name": n} for n in names]).execute()
    # Past the 21000 guard, but the table has more than one row: rolled back.
    error = api_error(
        lambda: (
            grid.table("things")
            .update({"description": "every"})
            .max_affected(1)
            .execute()
        )
    )
    assert error.code == "PGRST124"
    assert things_named(grid, *names, columns="description") == [
        {"description": ""},
        {"description": ""},
    ]


def test_update_entry_values_by_field_name(grid, task):
    entry = add_entry(grid, task, Status="Todo")
    grid.table("entries").update({"values": {"Status": "Done", "Points": "3"}}).eq(
        "id", entry
    ).execute()
    assert grid.last.status_code == 200
    response = grid.table("entries").select("values").eq("id", entry).single().execute()
    assert response.data["values"] == {"Title": "t", "Status": "Done", "Points": "3"}


def test_value_that_does_not_fit_its_field_is_23514(grid, task):
    entry = add_entry(grid, task, Status="Todo")
    error = api_error(
        lambda: (
            grid.table("entries")
            .update({"values": {"Status": "Blocked"}})
            .eq("id", entry)
            .execute()
        )
    )
    assert error.code == "23514"
    assert "Status" in error.message
    assert grid.last.status_code == 400


# --------------------------------------------------------------------------
# Delete (soft)


def test_delete_is_soft_and_the_row_stays_readable_as_inactive(grid):
    name = unique("soft")
    grid.table("things").insert({"name": name}).execute()
    response = grid.table("things").delete().eq("name", name).execute()
    assert grid.last.status_code == 200
    [deleted] = response.data
    assert deleted["name"] == name and deleted["active"] is False
    assert things_named(grid, name) == []
    inactive = (
        grid.table("things").select("name, active").eq("name", name).eq("active", False)
    ).execute()
    assert inactive.data == [{"name": name, "active": False}]
    both = (
        grid.table("things")
        .select("name")
        .eq("name", name)
        .or_("active.is.true,active.is.false")
        .execute()
    )
    assert both.data == [{"name": name}]


def test_delete_returning_minimal_is_204(grid):
    name = unique("soft-minimal")
    grid.table("things").insert({"name": name}).execute()
    response = (
        grid.table("things").delete(returning="minimal").eq("name", name).execute()
    )
    assert grid.last.status_code == 204
    assert response.data == []
    assert things_named(grid, name) == []


@pytest.mark.parametrize("value", ["False", "false", "FALSE"])
def test_active_given_as_a_python_string_compares_case_insensitively(grid, value):
    keep, gone = unique("keep"), unique("gone")
    grid.table("things").insert([{"name": keep}, {"name": gone}]).execute()
    grid.table("things").delete().eq("name", gone).execute()
    response = (
        grid.table("things")
        .select("name")
        .in_("name", [keep, gone])
        .eq("active", value)
        .execute()
    )
    assert grid.last.request.url.params.get_list("active") == [f"eq.{value}"]
    assert response.data == [{"name": gone}]


def test_soft_deleted_row_is_restored_by_an_update(grid):
    name = unique("restore")
    grid.table("things").insert({"name": name}).execute()
    grid.table("things").delete().eq("name", name).execute()
    restored = (
        grid.table("things")
        .update({"active": True})
        .eq("name", name)
        .eq("active", False)
        .execute()
    )
    assert [row["active"] for row in restored.data] == [True]
    assert things_named(grid, name) == [{"name": name}]


# --------------------------------------------------------------------------
# Embedding


def test_embeds_the_parent_and_children_with_their_fields(grid, task):
    entry = add_entry(grid, task, Status="Done", Points="4")
    response = (
        grid.table("entries")
        .select("id, things(name), field_entries(entered_value, fields(name))")
        .eq("id", entry)
        .single()
        .execute()
    )
    row = response.data
    assert row["id"] == entry
    assert row["things"] == {"name": task.name}
    by_field = {
        fe["fields"]["name"]: fe["entered_value"] for fe in row["field_entries"]
    }
    assert by_field == {"Title": "t", "Status": "Done", "Points": "4"}


def test_inner_embed_with_an_embedded_filter_leaves_out_other_parents(grid, task):
    done = add_entry(grid, task, Status="Done")
    add_entry(grid, task, Status="Todo")
    response = (
        grid.table("entries")
        .select("id, field_entries!inner(entered_value)")
        .eq("thing_id", task.thing_id)
        .eq("field_entries.entered_value", "Done")
        .execute()
    )
    assert response.data == [{"id": done, "field_entries": [{"entered_value": "Done"}]}]


def test_embedded_filter_without_inner_keeps_every_parent(grid, task):
    done = add_entry(grid, task, Status="Done")
    todo = add_entry(grid, task, Status="Todo")
    response = (
        grid.table("entries")
        .select("id, field_entries(entered_value)")
        .eq("thing_id", task.thing_id)
        .eq("field_entries.entered_value", "Done")
        .order("id")
        .execute()
    )
    assert response.data == [
        {"id": done, "field_entries": [{"entered_value": "Done"}]},
        {"id": todo, "field_entries": []},
    ]


def test_embedded_order_limit_and_or_through_foreign_table(grid, task):
    entry = add_entry(grid, task, Status="Doing", Points="4", Due="2026-03-04")

    def values(query) -> list[str]:
        rows = query.eq("id", entry).single().execute().data["field_entries"]
        return [fe["entered_value"] for fe in rows]

    select = grid.table("entries").select("id, field_entries(entered_value)")
    ordered = select.order("entered_value", desc=True, foreign_table="field_entries")
    assert values(ordered.limit(2, foreign_table="field_entries")) == ["t", "Doing"]
    select = grid.table("entries").select("id, field_entries(entered_value)")
    either = select.or_("entered_value.eq.4,entered_value.eq.t", "field_entries")
    assert sorted(values(either)) == ["4", "t"]


def test_to_many_embed_lists_the_fields_of_a_thing(grid, task):
    response = (
        grid.table("things")
        .select("name, fields(name, data_type)")
        .eq("id", task.thing_id)
        .order("position", foreign_table="fields")
        .execute()
    )
    assert response.data == [
        {
            "name": task.name,
            "fields": [
                {"name": "Title", "data_type": "text"},
                {"name": "Status", "data_type": "choice"},
                {"name": "Due", "data_type": "date"},
                {"name": "Points", "data_type": "integer"},
            ],
        }
    ]


def test_spread_embed_lifts_the_parents_columns(grid, task):
    entry = add_entry(grid, task)
    response = (
        grid.table("entries").select("id, ...things(thing_name:name)").eq("id", entry)
    ).execute()
    assert response.data == [{"id": entry, "thing_name": task.name}]


# --------------------------------------------------------------------------
# The `values` virtual column


def test_values_column_holds_normalised_values_by_field_name(grid, task):
    entry = add_entry(grid, task, Status="Done", Due="2026-12-01", Points="007")
    response = grid.table("entries").select("id, values").eq("id", entry).execute()
    assert response.data == [
        {
            "id": entry,
            "values": {
                "Title": "t",
                "Status": "Done",
                "Due": "2026-12-01",
                "Points": "7",
            },
        }
    ]
    path = grid.table("entries").select("id, values->>Status").eq("id", entry).execute()
    assert path.data == [{"id": entry, "Status": "Done"}]


def test_values_eq_filter_and_order_by_date(grid, task):
    late = add_entry(grid, task, Status="Done", Due="2027-01-15")
    early = add_entry(grid, task, Status="Done", Due="2026-06-30")
    add_entry(grid, task, Status="Todo", Due="2026-01-01")
    response = (
        grid.table("entries")
        .select("id")
        .eq("thing_id", task.thing_id)
        .eq("values->>Status", "Done")
        .order("values->>Due")
        .execute()
    )
    assert response.data == [{"id": early}, {"id": late}]
    descending = (
        grid.table("entries")
        .select("id")
        .eq("thing_id", task.thing_id)
        .eq("values->>Status", "Done")
        .order("values->>Due", desc=True)
        .execute()
    )
    assert descending.data == [{"id": late}, {"id": early}]


def test_values_compare_by_field_type(grid, task):
    nine = add_entry(grid, task, Points="9", Due="2026-12-01")
    ten = add_entry(grid, task, Points="10", Due="2027-01-15")
    blank = add_entry(grid, task)

    def ids(query) -> list[int]:
        rows = query.eq("thing_id", task.thing_id).order("id").execute().data
        return [row["id"] for row in rows]

    def entries():
        return grid.table("entries").select("id")

    assert ids(entries().gt("values->>Points", 9)) == [ten]  # 10 > 9, not "10" < "9"
    assert ids(entries().lt("values->>Due", "2027-01-01")) == [nine]
    assert ids(entries().in_("values->>Points", [9, 10])) == [nine, ten]
    assert ids(entries().is_("values->>Points", None)) == [blank]
    assert ids(entries().not_.is_("values->>Points", None)) == [nine, ten]
    ordered = (
        entries()
        .eq("thing_id", task.thing_id)
        .order("values->>Points", desc=True, nullsfirst=False)
        .execute()
    )
    assert [row["id"] for row in ordered.data] == [ten, nine, blank]


def test_values_filter_with_a_value_of_the_wrong_type_is_400(grid, task):
    add_entry(grid, task, Points="9")
    error = api_error(
        lambda: (
            grid.table("entries")
            .select("id")
            .eq("thing_id", task.thing_id)
            .gt("values->>Points", "lots")
            .execute()
        )
    )
    assert grid.last.status_code == 400
    assert error.code == "22P02"
    assert "Points" in error.message


# --------------------------------------------------------------------------
# Entries with nested values


def test_nested_insert_missing_a_required_value_is_refused_and_writes_nothing(
    grid, task
):
    error = api_error(
        lambda: (
            grid.table("entries")
            .insert(
                {
                    "thing_id": task.thing_id,
                    "field_entries": [
                        {"field_id": task.fields["Status"], "entered_value": "Todo"}
                    ],
                }
            )
            .execute()
        )
    )
    assert grid.last.status_code == 400
    assert "Title" in error.message
    entries = (
        grid.table("entries")
        .select("id", count="exact", head=True)
        .eq("thing_id", task.thing_id)
        .or_("active.is.true,active.is.false")
        .execute()
    )
    assert entries.count == 0
    values = (
        grid.table("field_entries")
        .select("id", count="exact", head=True)
        .eq("field_id", task.fields["Status"])
        .or_("active.is.true,active.is.false")
        .execute()
    )
    assert values.count == 0


def test_nested_insert_with_the_required_values_creates_an_initialized_entry(
    grid, task
):
    response = (
        grid.table("entries")
        .insert(
            {
                "thing_id": task.thing_id,
                "field_entries": [
                    {"field_id": task.fields["Title"], "entered_value": "Write tests"},
                    {"field_id": task.fields["Status"], "value": "Doing"},
                ],
            }
        )
        .execute()
    )
    assert grid.last.status_code == 201
    [entry] = response.data
    assert entry["initialized"] is True and entry["complete"] is True
    stored = grid.table("entries").select("values").eq("id", entry["id"]).execute()
    assert stored.data == [{"values": {"Title": "Write tests", "Status": "Doing"}}]


def test_entry_without_its_required_values_reads_uninitialized(grid, task):
    entry = grid.table("entries").insert({"thing_id": task.thing_id}).execute()
    [row] = entry.data
    assert row["initialized"] is False and row["complete"] is False


def test_bulk_insert_of_entries_with_values(grid, task):
    response = (
        grid.table("entries")
        .insert(
            [
                {
                    "thing_id": task.thing_id,
                    "values": {"Title": f"t{i}", "Points": str(i)},
                }
                for i in range(5)
            ]
        )
        .execute()
    )
    assert len(response.data) == 5
    points = (
        grid.table("entries")
        .select("values->>Points")
        .eq("thing_id", task.thing_id)
        .order("values->>Points")
        .execute()
    )
    assert [row["Points"] for row in points.data] == ["0", "1", "2", "3", "4"]


# --------------------------------------------------------------------------
# Errors


ERRORS = {
    "unknown filter column": (
        lambda g: g.table("things").select("id").eq("nope", 1),
        400,
        "42703",
    ),
    "unknown select column": (lambda g: g.table("things").select("nope"), 400, "42703"),
    "unknown order column": (
        lambda g: g.table("things").select("id").order("nope"),
        400,
        "42703",
    ),
    "unknown table": (lambda g: g.table("nope").select("*"), 404, "PGRST205"),
    "bad value": (
        lambda g: g.table("things").select("id").eq("id", "abc"),
        400,
        "22P02",
    ),
    "unknown body column": (
        lambda g: g.table("things").insert({"name": unique("x"), "nope": 1}),
        400,
        "PGRST204",
    ),
    "server-set column": (
        lambda g: g.table("things").insert({"name": unique("x"), "id": 5}),
        400,
        "428C9",
    ),
    "missing required column": (
        lambda g: g.table("things").insert({"description": "no name"}),
        400,
        "23502",
    ),
    "unknown embed": (
        lambda g: g.table("things").select("*, nonsense(*)"),
        400,
        "PGRST200",
    ),
    "unknown foreign key": (
        lambda g: g.table("entries").insert({"thing_id": 2_000_000_000}),
        409,
        "23503",
    ),
    "unparsable filter": (
        lambda g: g.table("things").select("id").filter("name", "zz", "x"),
        400,
        "PGRST100",
    ),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_errors_surface_as_api_error_with_postgrest_fields(grid, case):
    build, status, code = ERRORS[case]
    error = api_error(build(grid).execute)
    assert grid.last.status_code == status
    assert error.code == code
    assert isinstance(error.message, str) and error.message
    assert set(error.json()) == ERROR_KEYS
    assert set(grid.last.json()) == ERROR_KEYS


def test_unknown_column_error_names_the_column(grid):
    error = api_error(grid.table("things").select("id").eq("nope", 1).execute)
    assert "nope" in error.message
    assert error.details is None or isinstance(error.details, str)
    assert error.hint is None or isinstance(error.hint, str)


def test_bad_value_error_names_the_value(grid):
    error = api_error(grid.table("things").select("id").eq("id", "abc").execute)
    assert '"abc"' in error.message


def test_unknown_table_error_names_the_schema_and_table(grid):
    error = api_error(grid.table("nope").select("*").execute)
    assert error.message == "Could not find the table 'demo.nope' in the schema cache"


def test_viewer_reads_but_cannot_write(grid, viewer):
    name = unique("viewer-target")
    grid.table("things").insert({"name": name}).execute()
    assert things_named(viewer, name) == [{"name": name}]
    writes = {
        "insert": lambda: viewer.table("things").insert({"name": unique("v")}),
        "update": lambda: (
            viewer.table("things").update({"description": "v"}).eq("name", name)
        ),
        "delete": lambda: viewer.table("things").delete().eq("name", name),
        "upsert": lambda: viewer.table("things").upsert({"name": unique("v")}),
    }
    for write, build in writes.items():
        error = api_error(build().execute)
        assert (write, error.code, viewer.last.status_code) == (write, "42501", 403)
    assert things_named(grid, name, columns="description,active") == [
        {"description": "", "active": True}
    ]


# --------------------------------------------------------------------------
# Tenant isolation


def test_another_tenants_schema_is_refused_with_406_pgrst106(grid, other):
    error = api_error(
        other.grid.client.schema("demo").table("things").select("id").execute
    )
    assert other.grid.last.status_code == 406
    assert error.code == "PGRST106"
    assert error.message == "Invalid schema: demo"
    assert error.hint == f"Only the following schemas are exposed: {other.schema}"

    error = api_error(
        grid.client.schema(other.schema).table("things").select("id").execute
    )
    assert grid.last.status_code == 406
    assert error.code == "PGRST106"
    assert error.message == f"Invalid schema: {other.schema}"
    assert error.hint == "Only the following schemas are exposed: demo"


def test_missing_schema_is_answered_like_another_tenants(grid):
    error = api_error(
        grid.client.schema("no_such_tenant").table("things").select("id").execute
    )
    assert grid.last.status_code == 406
    assert error.code == "PGRST106"
    assert error.message == "Invalid schema: no_such_tenant"


def test_writes_into_another_tenants_schema_are_refused_and_write_nothing(grid, other):
    name = unique("demo-owned")
    grid.table("things").insert({"name": name}).execute()
    intruder = unique("intruder")

    def demo_things():
        return other.grid.client.schema("demo").table("things")

    writes = [
        demo_things().insert({"name": intruder}),
        demo_things().update({"description": "hijacked"}).eq("name", name),
        demo_things().delete().eq("name", name),
    ]
    for write in writes:
        assert api_error(write.execute).code == "PGRST106"
        assert other.grid.last.status_code == 406
    assert things_named(grid, intruder) == []
    assert things_named(grid, name, columns="description,active") == [
        {"description": "", "active": True}
    ]


def test_rows_written_in_one_tenant_are_invisible_in_the_other(grid, other):
    mine, theirs = unique("demo-row"), unique("other-row")
    grid.table("things").insert({"name": mine}).execute()
    other.grid.table("things").insert({"name": theirs}).execute()
    assert other.grid.last.request.headers["content-profile"] == other.schema
    assert things_named(grid, mine, theirs) == [{"name": mine}]
    assert things_named(other.grid, mine, theirs) == [{"name": theirs}]
    counted = (
        other.grid.table("things")
        .select("id", count="exact", head=True)
        .eq("name", mine)
        .or_("active.is.true,active.is.false")
        .execute()
    )
    assert counted.count == 0


def test_another_tenants_token_with_this_tenants_key_is_refused(demo, other, fresh):
    borrowed = fresh(demo["url"], demo["api_key"])
    borrowed.client.postgrest.auth(other.grid.access_token)
    error = api_error(borrowed.table("things").select("id").execute)
    assert borrowed.last.status_code == 406
    assert error.code == "PGRST106"


def test_another_tenants_key_with_this_tenants_token_is_refused(
    demo, grid, other, fresh
):
    borrowed = fresh(demo["url"], other.api_key)
    borrowed.client.postgrest.auth(grid.access_token)
    error = api_error(borrowed.table("things").select("id").execute)
    assert borrowed.last.status_code == 401
    assert error.code == "PGRST000"
