"""/rest/v1 against the behaviour PostgREST v12.2.9's own test suite
(test/spec/Feature/Query/*.hs) pins down; each test names the spec case."""

from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gathergrid.models import Thing

pytestmark = pytest.mark.django_db


@pytest.fixture
def tasks(api, catalog):
    """Three entries of Task: alpha (3 points), beta (5), gamma (no points)."""
    for title, points in [("alpha", 3), ("beta", 5), ("gamma", None)]:
        values = {"Title": title} | ({"Points": points} if points else {})
        response = api.post("entries", {"thing_id": catalog.thing.id, "values": values})
        assert response.status_code == 201, response.content
    return catalog


# QuerySpec, "aliased embeds" / "ordering embeded entities with alias"
def test_an_aliased_embed_is_filtered_by_its_table_name(api, tasks):
    response = api.get(
        "entries?select=id,vals:field_entries!inner(entered_value)"
        "&field_entries.entered_value=eq.beta"
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    assert len(rows) == 1
    assert rows[0]["vals"] == [{"entered_value": "beta"}]


def test_an_aliased_embed_is_ordered_by_its_table_name(api, tasks):
    response = api.get(
        f"things?id=eq.{tasks.thing.id}&select=id,the_fields:fields(name)"
        "&fields.order=name.desc"
    )
    assert response.status_code == 200, response.content
    names = [f["name"] for f in response.json()[0]["the_fields"]]
    assert names == sorted(names, reverse=True)


def test_an_aliased_embed_named_by_its_alias_still_works(api, tasks):
    response = api.get(
        f"things?id=eq.{tasks.thing.id}&select=id,the_fields:fields(name)"
        "&the_fields.name=eq.Title"
    )
    assert response.json()[0]["the_fields"] == [{"name": "Title"}]


# QuerySpec, "empty root select": "gives all columns"
def test_an_empty_select_gives_every_column(api, tasks):
    every = api.get(f"things?id=eq.{tasks.thing.id}").json()
    assert api.get(f"things?id=eq.{tasks.thing.id}&select=").json() == every
    assert set(every[0]) >= {"id", "name", "description", "active"}


# QuerySpec: "/projects?select=id,name,clients!inner()&clients.id=eq.2"
def test_an_empty_inner_embed_filters_but_is_left_out(api, tasks):
    response = api.get(
        f"entries?thing_id=eq.{tasks.thing.id}&select=id,field_entries!inner()"
        "&field_entries.entered_value=eq.alpha"
    )
    assert response.status_code == 200, response.content
    rows = response.json()
    assert len(rows) == 1
    assert list(rows[0]) == ["id"]


# RangeSpec, "succeeds if offset is negative as a no-op"
def test_a_negative_offset_is_no_offset(api, tasks):
    response = api.get(f"entries?thing_id=eq.{tasks.thing.id}&select=id&offset=-4")
    assert response.status_code == 200
    assert len(response.json()) == 3
    assert response["Content-Range"] == "0-2/*"


# SingularSpec, "also test without the +json suffix"
def test_vnd_pgrst_object_without_json_suffix_is_singular(api, tasks):
    response = api.get(
        f"things?id=eq.{tasks.thing.id}&select=name",
        Accept="application/vnd.pgrst.object",
    )
    assert response.status_code == 200
    assert response.json() == {"name": "Task"}
    assert response["Content-Type"] == (
        "application/vnd.pgrst.object+json; charset=utf-8"
    )


# NullsStripSpec: the content type is echoed with nulls=stripped
@pytest.mark.parametrize(
    ("accept", "content_type"),
    [
        (
            "application/vnd.pgrst.array+json;nulls=stripped",
            "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8",
        ),
        (
            "application/vnd.pgrst.array;nulls=stripped",
            "application/vnd.pgrst.array+json;nulls=stripped; charset=utf-8",
        ),
    ],
)
def test_nulls_stripped_is_echoed_in_the_content_type(api, tasks, accept, content_type):
    response = api.get(f"things?id=eq.{tasks.thing.id}", Accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert "created_by" not in response.json()[0]  # null, so stripped


def test_a_singular_stripped_response_names_its_type(api, tasks):
    response = api.get(
        f"things?id=eq.{tasks.thing.id}",
        Accept="application/vnd.pgrst.object+json;nulls=stripped",
    )
    assert response["Content-Type"] == (
        "application/vnd.pgrst.object+json;nulls=stripped; charset=utf-8"
    )


def _title_value(api, tasks) -> dict:
    entry = api.get(
        f"entries?thing_id=eq.{tasks.thing.id}&select=id&order=id&limit=1"
    ).json()[0]
    return {"entry_id": entry["id"], "field_id": tasks.title.id}


# UpsertSpec, "succeeds if not a single resource is created"
def test_ignore_duplicates_creating_nothing_is_201_and_empty(api, tasks):
    body = {**_title_value(api, tasks), "entered_value": "other"}
    response = api.post(
        "field_entries?on_conflict=entry_id,field_id",
        body,
        prefer="return=representation,resolution=ignore-duplicates",
    )
    assert response.status_code == 201, response.content
    assert response.json() == []


# UpsertSpec, "UPDATEs rows on pk conflict": merging only is 200
def test_merge_duplicates_updating_only_is_200(api, tasks):
    body = {**_title_value(api, tasks), "entered_value": "renamed"}
    response = api.post(
        "field_entries?on_conflict=entry_id,field_id",
        body,
        prefer="return=representation,resolution=merge-duplicates",
    )
    assert response.status_code == 200, response.content
    assert response.json()[0]["entered_value"] == "renamed"


# InsertSpec: a value PostgreSQL cannot read as the column's type is 22P02
def test_a_wrong_typed_body_value_is_22p02(api, tasks, tenant_a):
    response = api.post(
        "fields", {"thing_id": tasks.thing.id, "name": "X", "position": "abc"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "22P02"
    assert "position" in response.json()["message"]


def test_a_value_breaking_a_rule_stays_23514(api, tasks):
    response = api.post("things", {"name": "   "})
    assert response.status_code == 400
    assert response.json()["code"] == "23514"


# ErrorSpec: errors are application/json; charset=utf-8
def test_errors_declare_utf8_json(api):
    response = api.get("things?select=nope")
    assert response.status_code == 400
    assert response["Content-Type"] == "application/json; charset=utf-8"


@pytest.mark.parametrize(
    "query",
    [
        "things?name=eq.a%00b",
        "things?name=like.a%00*",
        "things?name=in.(a,b%00)",
        "things?or=(name.eq.a%00,id.eq.1)",
        "things?name=not.eq.%00",
        "things?description=fts.a%00",
        "entries?values->>Title=eq.a%00",
        "things?select=na%00me",
        "things?order=name%00",
    ],
)
def test_a_nul_byte_in_the_query_string_is_400_before_any_statement(api, tasks, query):
    with CaptureQueriesContext(connection) as queries:
        response = api.get(query)
    assert response.status_code == 400
    assert response.json()["code"] == "22021"
    # Only the access check ran: no statement on the tables asked for.
    assert not [q for q in queries if "FROM things" in q["sql"]]
    assert not [q for q in queries if "FROM entries" in q["sql"]]


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_nul_byte_in_a_write_filter_changes_nothing(api, tasks, method, tenant_a):
    if method == "patch":
        response = api.patch("things?name=eq.Task%00", {"description": "x"})
    else:
        response = api.delete("things?name=eq.Task%00")
    assert response.status_code == 400
    assert response.json()["code"] == "22021"
    with tenant_a.tenant:
        thing = Thing.objects.get(pk=tasks.thing.id)
    assert (thing.active, thing.description) == (True, "")


# PreferencesSpec, "should change timezone without handling=strict"
def test_prefer_timezone_renders_timestamps_in_that_zone(api, tasks):
    path = f"things?id=eq.{tasks.thing.id}&select=created_at"
    utc = api.get(path).json()[0]["created_at"]
    response = api.get(path, prefer="timezone=America/Los_Angeles")
    assert response.status_code == 200
    assert response["Preference-Applied"] == "timezone=America/Los_Angeles"
    local = response.json()[0]["created_at"]
    assert local[-6:] in {"-08:00", "-07:00"}
    assert datetime.fromisoformat(local) == datetime.fromisoformat(utc)


# PreferencesSpec, "should throw error with handling=strict"
def test_an_unknown_timezone_is_refused_under_strict_handling(api, tasks):
    response = api.get("things", prefer="handling=strict, timezone=Invalid/Timezone")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST122"
    assert response.json()["details"] == (
        "Invalid preferences: timezone=Invalid/Timezone"
    )


def test_an_unknown_timezone_is_ignored_otherwise(api, tasks):
    response = api.get("things", prefer="timezone=Invalid/Timezone")
    assert response.status_code == 200
    assert "Preference-Applied" not in response


# QuerySpec, "Canonical location": "Sets Content-Location with alphabetized params"
def test_a_read_names_its_canonical_location(api, tasks):
    response = api.get(f"things?select=id,name&id=eq.{tasks.thing.id}")
    assert response["Content-Location"] == (
        f"/things?id=eq.{tasks.thing.id}&select=id%2Cname"
    )
    assert api.get("things")["Content-Location"] == "/things"


def test_the_canonical_location_never_echoes_the_api_key(api, tasks):
    response = api.get(f"things?apikey={api.session.api_key}&id=eq.1")
    assert response["Content-Location"] == "/things?id=eq.1"


# InsertSpec, "accepts disparate json types" (a form body)
def test_a_form_urlencoded_body_is_one_object(api, tasks, tenant_a):
    response = api.post(
        "things",
        "name=From+a+form&description=caf%C3%A9",
        prefer="return=representation",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 201, response.content
    row = response.json()[0]
    assert (row["name"], row["description"]) == ("From a form", "café")


def test_a_form_body_with_nul_is_refused(api, tasks):
    response = api.post(
        "things", "name=a%00b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "22P05"


# UpsertSpec, "with PUT": "Updating row", "succeeds on table with single pk col"
def test_put_replaces_the_row_its_primary_key_names(api, tasks):
    thing = tasks.thing.id
    response = api.put(
        f"things?id=eq.{thing}",
        [{"id": thing, "name": "Job", "description": "put"}],
        prefer="return=representation",
    )
    assert response.status_code == 200, response.content
    row = response.json()[0]
    assert (row["id"], row["name"], row["description"]) == (thing, "Job", "put")
    assert api.put(f"things?id=eq.{thing}", {"name": "Job"}).status_code == 204


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        # UpsertSpec, "fails if limit is specified" / "fails if offset is specified"
        ("things?id=eq.{id}&limit=1", 400, "PGRST114"),
        ("things?id=eq.{id}&offset=1", 400, "PGRST114"),
        # "rejects every other filter than pk cols eq's"
        ("things?name=eq.Task", 405, "PGRST105"),
        ("things?id=not.eq.{id}", 405, "PGRST105"),
        ("things?id=in.({id})", 405, "PGRST105"),
        ("things?and=(id.eq.{id})", 405, "PGRST105"),
        ("things", 405, "PGRST105"),
    ],
)
def test_put_restrictions(api, tasks, query, status, code):
    response = api.put(query.format(id=tasks.thing.id), {"name": "Job"})
    assert response.status_code == status
    assert response.json()["code"] == code


# UpsertSpec, "fails if the uri primary key doesn't match the payload primary key"
def test_put_with_another_primary_key_in_the_body_is_pgrst115(api, tasks):
    thing = tasks.thing.id
    response = api.put(f"things?id=eq.{thing}", {"id": thing + 1, "name": "Job"})
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST115"


def test_put_cannot_create_a_row_with_a_chosen_id(api, tasks, tenant_a):
    response = api.put("things?id=eq.987654", {"name": "New"})
    assert response.status_code == 404
    assert "POST" in response.json()["hint"]
    with tenant_a.tenant:
        assert not Thing.objects.filter(name="New").exists()


def test_put_by_a_viewer_is_refused(viewer_api, tasks, tenant_a):
    response = viewer_api.put(f"things?id=eq.{tasks.thing.id}", {"name": "Job"})
    assert response.status_code == 403
    with tenant_a.tenant:
        assert Thing.objects.get(pk=tasks.thing.id).name == "Task"


def test_a_method_not_served_lists_what_is(api):
    response = api.session.client.generic(
        "TRACE", "/rest/v1/things", headers=api._headers("TRACE", None, {})
    )
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"


def test_an_empty_profile_header_is_an_unknown_profile(api, tasks):
    # What the WSGI server hands over for a value it cannot decode (non-ASCII).
    response = api.get("things", **{"Accept-Profile": ""})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST106"


def test_a_non_ascii_profile_is_an_unknown_profile(api, tasks):
    response = api.get("things", **{"Accept-Profile": "xyzé"})
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST106"


def test_options_lists_the_methods_a_table_serves(api):
    # PostgREST answers OPTIONS 200 with `Allow`; it was a 405 naming OPTIONS.
    writable = api.session.client.options("/rest/v1/things")
    assert writable.status_code == 200
    assert writable["Allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
    read_only = api.session.client.options("/rest/v1/entry_history")
    assert read_only.status_code == 200
    assert read_only["Allow"] == "GET, HEAD, OPTIONS"
    assert api.session.client.options("/rest/v1/")["Allow"] == "GET, HEAD, OPTIONS"


def test_options_on_an_unknown_table_is_404(api):
    # OPTIONS is answered without authentication (no tenant): it was a 500.
    response = api.session.client.options("/rest/v1/nosuch")
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST205"


def test_every_405_says_what_is_allowed(api, tasks):
    read_only = api.post("entry_history", {"entry_id": 1})
    assert read_only.status_code == 405
    assert read_only["Allow"] == "GET, HEAD, OPTIONS"
    put = api.put("things?name=eq.Task", {"name": "Job"})
    assert put.status_code == 405
    assert put.json()["code"] == "PGRST105"
    assert put["Allow"] == "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS"
