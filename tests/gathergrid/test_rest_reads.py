"""GET/HEAD on /rest/v1: filters, select, embedding, order, paging, counts, formats."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gathergrid.models import Thing
from tests.clients import Api
from tests.factories import grid_make

pytestmark = pytest.mark.django_db


def make_things(api: Api, *names: str) -> list[dict]:
    response = api.post(
        "things", [{"name": n} for n in names], prefer="return=representation"
    )
    assert response.status_code == 201, response.content
    return response.json()


def make_task(api: Api, catalog, **values) -> int:
    response = api.post(
        "entries",
        {"thing_id": catalog.thing.id, "values": {"Title": "t", **values}},
        prefer="return=representation",
    )
    assert response.status_code == 201, response.content
    return response.json()[0]["id"]


def test_list_things_with_limit_and_content_range(api):
    make_things(api, "a", "b", "c")
    response = api.get("things?limit=2&order=name")
    assert response.status_code == 200
    assert [t["name"] for t in response.json()] == ["a", "b"]
    assert response["Content-Range"] == "0-1/*"
    assert response["Content-Profile"] == "tenant_a"


def test_reference_example_filters_entries_by_thing(api, catalog):
    task = make_task(api, catalog)
    response = api.get(f"entries?thing_id=eq.{catalog.thing.id}&limit=20")
    assert [e["id"] for e in response.json()] == [task]
    entry = response.json()[0]
    for key in (
        "id",
        "thing_id",
        "classification_item_id",
        "classification_item_name",
        "validity_start_date",
        "validity_end_date",
        "created_by",
        "created_at",
        "updated_at",
        "initialized",
        "complete",
        "active",
    ):
        assert key in entry


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=eq.beta", ["beta"]),
        ("name=neq.beta", ["alpha", "gamma"]),
        ("name=gt.alpha", ["beta", "gamma"]),
        ("name=gte.beta", ["beta", "gamma"]),
        ("name=lt.beta", ["alpha"]),
        ("name=lte.beta", ["alpha", "beta"]),
        ("name=like.*eta", ["beta"]),
        ("name=ilike.*ETA", ["beta"]),
        ("name=match.^g", ["gamma"]),
        ("name=imatch.^G", ["gamma"]),
        ("name=in.(alpha,gamma)", ["alpha", "gamma"]),
        ("name=not.in.(alpha,gamma)", ["beta"]),
        ("description=is.null", []),
        ("name=isdistinct.alpha", ["beta", "gamma"]),
        ("name=like(any).{a*,g*}", ["alpha", "gamma"]),
        ("name=like(all).{*a*,*m*}", ["gamma"]),
        ("name=eq(any).{alpha,beta}", ["alpha", "beta"]),
        ("or=(name.eq.alpha,name.eq.gamma)", ["alpha", "gamma"]),
        ("and=(name.gte.alpha,or(name.eq.beta,name.eq.gamma))", ["beta", "gamma"]),
        ("not.or=(name.eq.alpha,name.eq.gamma)", ["beta"]),
        ("name=fts.gamma", ["gamma"]),
        ("name=plfts(english).beta", ["beta"]),
        ("name=wfts.alpha or beta", ["alpha", "beta"]),
    ],
)
def test_filter_operators(api, query, expected):
    make_things(api, "alpha", "beta", "gamma")
    response = api.get(f"things?{query}&order=name")
    assert response.status_code == 200, response.content
    assert [t["name"] for t in response.json()] == expected


def test_boolean_filters_compare_case_insensitively(api):
    things = make_things(api, "keep", "gone")
    api.delete(f"things?id=eq.{things[1]['id']}")
    for value in ("False", "false", "FALSE"):
        response = api.get(f"things?active=eq.{value}")
        assert [t["name"] for t in response.json()] == ["gone"]


def test_inactive_rows_are_left_out_unless_filtered_on(api):
    things = make_things(api, "keep", "gone")
    assert api.delete(f"things?id=eq.{things[1]['id']}").status_code == 204
    assert [t["name"] for t in api.get("things").json()] == ["keep"]
    both = api.get("things?or=(active.is.true,active.is.false)&order=name")
    assert [t["name"] for t in both.json()] == ["gone", "keep"]


def test_select_renames_and_casts(api):
    make_things(api, "alpha")
    response = api.get("things?select=label:name,ident:id::text")
    row = response.json()[0]
    assert set(row) == {"label", "ident"}
    assert row["label"] == "alpha" and isinstance(row["ident"], str)


def test_json_path_on_json_column(api, catalog):
    response = api.get(
        f"fields?select=name,first:options->choices->>0&id=eq.{catalog.status.id}"
    )
    assert response.json() == [{"name": "Status", "first": "Todo"}]
    filtered = api.get("fields?options->choices->>1=eq.Doing&select=name")
    assert filtered.json() == [{"name": "Status"}]


def test_order_with_nulls_and_multiple_columns(api, catalog):
    make_task(api, catalog, Points="3")
    make_task(api, catalog)
    make_task(api, catalog, Points="10")
    response = api.get(
        f"entries?thing_id=eq.{catalog.thing.id}&select=id,values"
        "&order=values->>Points.desc.nullslast,id"
    )
    points = [row["values"].get("Points") for row in response.json()]
    assert points == ["10", "3", None]


def queries_for(api: Api, url: str) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as context:
        response = api.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries), response


def test_embed_children_with_their_parents(api, catalog):
    url = (
        f"entries?thing_id=eq.{catalog.thing.id}"
        "&select=id,things(name),field_entries(entered_value,fields(name))"
    )
    make_task(api, catalog, Status="Done", Points="0")
    one_row, _ = queries_for(api, url)
    for i in range(1, 5):
        make_task(api, catalog, Status="Done", Points=str(i))
    # The access check (carrying the search_path), and one statement for the
    # rows and every embed level, however many rows.
    five_rows, response = queries_for(api, url)
    assert one_row == five_rows == 2
    rows = response.json()
    assert len(rows) == 5
    assert rows[0]["things"] == {"name": "Task"}
    names = {fe["fields"]["name"] for fe in rows[0]["field_entries"]}
    assert names == {"Title", "Status", "Points"}


def test_embedded_filters_order_and_limit(api, catalog):
    make_task(api, catalog, Status="Done", Points="4")
    response = api.get(
        f"entries?thing_id=eq.{catalog.thing.id}&select=id,field_entries(entered_value)"
        "&field_entries.order=entered_value.desc&field_entries.limit=2"
        "&field_entries.entered_value=neq.t"
    )
    values = [fe["entered_value"] for fe in response.json()[0]["field_entries"]]
    assert values == ["Done", "4"]


def test_inner_embed_filters_the_parents(api, catalog):
    done = make_task(api, catalog, Status="Done")
    make_task(api, catalog, Status="Todo")
    response = api.get(
        "entries?select=id,field_entries!inner(entered_value)"
        "&field_entries.entered_value=eq.Done"
    )
    assert [row["id"] for row in response.json()] == [done]


def test_to_many_embed_without_inner_keeps_parents_with_no_children(api, catalog):
    make_things(api, "lonely")
    response = api.get("things?select=name,fields(name)&name=eq.lonely")
    assert response.json() == [{"name": "lonely", "fields": []}]


def test_unknown_embed_is_pgrst200(api):
    response = api.get("things?select=*,nonsense(*)")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST200"


def test_embedded_filter_on_unselected_embed_is_rejected(api):
    response = api.get("things?fields.name=eq.x")
    assert response.status_code == 400


def test_values_virtual_column_and_typed_value_filters(api, catalog):
    nine = make_task(api, catalog, Points="9", Due="2026-12-01", Status="Done")
    ten = make_task(api, catalog, Points="10", Due="2027-01-15", Status="Todo")
    response = api.get(f"entries?select=id,values&id=eq.{nine}")
    assert response.json() == [
        {
            "id": nine,
            "values": {
                "Title": "t",
                "Points": "9",
                "Due": "2026-12-01",
                "Status": "Done",
            },
        }
    ]
    base = f"entries?thing_id=eq.{catalog.thing.id}&select=id"
    # Numbers compare as numbers (10 > 9), not as text ("10" < "9").
    assert api.get(base + "&values->>Points=gt.9").json() == [{"id": ten}]
    assert api.get(base + "&values->>Due=lt.2027-01-01").json() == [{"id": nine}]
    assert api.get(base + "&values->>Status=eq.Done").json() == [{"id": nine}]
    assert api.get(base + "&values->>Points=in.(9,10)&order=id").json() == [
        {"id": nine},
        {"id": ten},
    ]
    ordered = api.get(base + "&order=values->>Due.desc").json()
    assert [row["id"] for row in ordered] == [ten, nine]
    assert api.get(base + "&values->>Done=is.null&order=id").json() == [
        {"id": nine},
        {"id": ten},
    ]


def test_value_filter_with_wrong_type_is_400(api, catalog):
    make_task(api, catalog, Points="9")
    response = api.get("entries?values->>Points=gt.lots")
    assert response.status_code == 400
    assert "Points" in response.json()["message"]


def test_derived_initialized_and_complete(api, catalog):
    entry = api.post(
        "entries", {"thing_id": catalog.thing.id}, prefer="return=representation"
    ).json()[0]
    assert entry["initialized"] is False and entry["complete"] is False
    api.post(
        "field_entries",
        {"entry_id": entry["id"], "field_id": catalog.title.id, "entered_value": "x"},
    )
    entry = api.get(f"entries?id=eq.{entry['id']}").json()[0]
    assert entry["initialized"] is True and entry["complete"] is True


def test_count_exact_with_limit_is_206_with_total(api):
    make_things(api, "a", "b", "c", "d", "e")
    response = api.get("things?limit=2&offset=1", prefer="count=exact")
    assert response.status_code == 206
    assert response["Content-Range"] == "1-2/5"
    assert response["Preference-Applied"] == "count=exact"


def test_count_exact_covering_everything_is_200(api):
    make_things(api, "a", "b")
    response = api.get("things", prefer="count=exact")
    assert response.status_code == 200
    assert response["Content-Range"] == "0-1/2"


@pytest.mark.parametrize("count", ["planned", "estimated"])
def test_planned_and_estimated_counts_are_numeric(api, count):
    make_things(api, "a", "b", "c")
    response = api.get("things?limit=1", prefer=f"count={count}")
    total = response["Content-Range"].split("/")[1]
    assert total.isdigit()


def test_range_header_pages(api):
    make_things(api, "a", "b", "c", "d")
    response = api.get("things?order=name", Range="1-2", prefer="count=exact")
    assert response.status_code == 206
    assert [t["name"] for t in response.json()] == ["b", "c"]
    assert response["Content-Range"] == "1-2/4"


def test_offset_past_the_end_is_416(api):
    make_things(api, "a")
    response = api.get("things?offset=5", prefer="count=exact")
    assert response.status_code == 416
    assert response.json()["code"] == "PGRST103"


def test_empty_result_content_range(api):
    response = api.get("things?name=eq.none", prefer="count=exact")
    assert response.status_code == 200
    assert response.json() == []
    assert response["Content-Range"] == "*/0"


def test_singular_object(api):
    thing = make_things(api, "solo", "other")[0]
    accept = "application/vnd.pgrst.object+json"
    one = api.get(f"things?id=eq.{thing['id']}", Accept=accept)
    assert one.status_code == 200
    assert one.json()["name"] == "solo"
    assert one["Content-Type"].startswith(accept)
    many = api.get("things", Accept=accept)
    assert many.status_code == 406
    assert many.json()["code"] == "PGRST116"
    assert many.json()["details"] == "The result contains 2 rows"


def test_csv(api):
    make_things(api, "a,b", "c")
    response = api.get("things?select=name,active&order=name", Accept="text/csv")
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().splitlines() == [
        "name,active",
        '"a,b",true',
        "c,true",
    ]


@pytest.mark.parametrize("accept", ["*/*", "application/json", ""])
def test_any_accept_means_json(api, accept):
    response = api.get("things", Accept=accept)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")


def test_unsupported_accept_is_406(api):
    response = api.get("things", Accept="application/xml")
    assert response.status_code == 406
    assert response.json()["code"] == "PGRST107"


def test_head_has_headers_and_no_body(api):
    make_things(api, "a", "b")
    response = api.head("things", Prefer="count=exact")
    assert response.status_code == 200
    assert response.content == b""
    assert response["Content-Range"] == "0-1/2"


def test_unknown_table_is_404_pgrst205(api):
    response = api.get("nope")
    assert response.status_code == 404
    assert response.json()["code"] == "PGRST205"


def test_unknown_column_is_400_42703(api):
    response = api.get("things?nope=eq.1")
    assert response.status_code == 400
    assert response.json()["code"] == "42703"
    assert set(response.json()) == {"code", "message", "details", "hint"}


def test_bad_value_type_is_400_22p02(api):
    response = api.get("things?id=eq.abc")
    assert response.status_code == 400
    assert response.json()["code"] == "22P02"


def test_parse_error_is_400_pgrst100_naming_the_part(api):
    response = api.get("things?name=zz.x")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "PGRST100"
    assert "zz" in (body["message"] + (body["details"] or ""))


def test_list_query_count_does_not_grow_with_rows(api, catalog):
    url = "entries?select=*,values,field_entries(*,fields(*)),things(*)&limit=30"
    make_task(api, catalog, Points="1")
    few, _ = queries_for(api, url)
    for i in range(30):
        make_task(api, catalog, Points=str(i))
    many, response = queries_for(api, url)
    assert few == many == 2
    assert len(response.json()) == 30


def test_value_filters_cost_one_field_lookup(api, catalog):
    make_task(api, catalog, Points="1")
    count, _ = queries_for(api, "entries?values->>Points=gt.0&order=values->>Due")
    assert count == 4  # + the field lookups for the filter and the order


def test_openapi_document(api):
    response = api.get("")
    assert response.status_code == 200
    doc = response.json()
    assert doc["openapi"] == "3.0.3"
    for name in (
        "things",
        "fields",
        "entries",
        "field_entries",
        "classification_items",
        "entry_history",
    ):
        assert f"/{name}" in doc["paths"]
    assert set(doc["paths"]["/things"]) == {
        "get", "options", "post", "patch", "put", "delete"
    }  # fmt: skip
    assert set(doc["paths"]["/entry_history"]) == {"get", "options"}
    schemas = doc["components"]["schemas"]
    # Facts from the models: length, blank, choices, nullability, required.
    name = schemas["things.insert"]["properties"]["name"]
    assert (name["maxLength"], name["minLength"]) == (200, 1)
    assert schemas["things.insert"]["required"] == ["name"]
    assert "text" in schemas["fields"]["properties"]["data_type"]["enum"]
    assert schemas["entries"]["properties"]["validity_end_date"]["nullable"]
    assert "nullable" not in schemas["entries"]["properties"]["thing_id"]
    # A minimal POST answers 201 without a body.
    assert "content" not in doc["paths"]["/things"]["post"]["responses"]["201"]
    error = doc["components"]["schemas"]["error"]
    assert set(error["required"]) == {"code", "message", "details", "hint"}


def test_openapi_document_names_only_the_callers_tenant(api, tenant_a, tenant_b):
    from tests.clients import api_for

    grid_make(tenant_a, name="SecretThingOfA", fields=[{"name": "FieldOfA"}])
    grid_make(tenant_b, name="SecretThingOfB", fields=[{"name": "FieldOfB"}])
    text = api.get("").content.decode()
    other = api_for(tenant_b, "viewer", email="b-viewer@example.com")
    text_b = other.get("").content.decode()
    for secret in ("SecretThingOf", "FieldOf"):
        assert secret not in text and secret not in text_b
    assert "tenant_a" in text and "tenant_b" not in text
    assert "tenant_b" in text_b and "tenant_a" not in text_b
    profile = json.loads(text)["components"]["parameters"]["Accept-Profile"]
    assert profile["schema"]["enum"] == ["tenant_a"]


def test_reads_are_isolated_between_tenants(api, tenant_b):
    from tests.clients import api_for

    make_things(api, "secret-of-a")
    other = api_for(tenant_b, "admin", email="b-admin@example.com")
    assert other.get("things").json() == []
    other.profile = "tenant_a"
    assert other.get("things").status_code == 406
    with tenant_b.tenant:
        assert not Thing.objects.filter(name="secret-of-a").exists()


def test_order_by_a_column_of_a_to_one_relation(api, catalog):
    response = api.get(
        "fields?select=name,things(name)&order=things(name).desc,position"
    )
    names = [(row["things"]["name"], row["name"]) for row in response.json()]
    assert names[0] == ("Task", "Title")
    assert names[-1] == ("Person", "Email")


def test_order_by_a_to_many_relation_is_400(api):
    response = api.get("things?order=fields(name)")
    assert response.status_code == 400
    assert response.json()["code"] == "PGRST118"
