"""The grid's JSON endpoints (ui/views/grid.py): rows with the exact count in
a constant number of queries, typed filters, cell PATCHes conditional on what
the cell showed, errors in JSON, roles, 401 without a session, tenants kept
apart."""

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import entry_values, grid_make, person
from tests.ui.test_entries import PEOPLE, teams_led_by


@pytest.fixture
def people(tenant_a):
    return grid_make(tenant_a, entries=PEOPLE)


def base(made, tenant: str = "tenant_a") -> str:
    return f"/t/{tenant}/things/{made.thing.id}/grid/"


def rows(client, made, query: str = "") -> dict:
    response = client.get(base(made) + "rows" + (f"?{query}" if query else ""))
    assert response.status_code == 200, response.content
    return response.json()


def names(body: dict, made) -> list[str]:
    name = str(made.fields["Name"].id)
    return [row["values"][name] for row in body["rows"]]


def patch(client, made, entry_id: int, body: dict):
    return client.patch(
        base(made) + f"rows/{entry_id}",
        json.dumps(body),
        content_type="application/json",
    )


def test_meta_lists_the_columns_their_filter_conditions_and_roles(client_a, people):
    meta = client_a.get(base(people) + "meta").json()
    assert [f["name"] for f in meta["fields"]] == [
        "Name",
        "Age",
        "Born",
        "Status",
        "Vip",
    ]
    age = next(f for f in meta["fields"] if f["name"] == "Age")
    assert age["numeric"] is True
    integer_ops = [o["op"] for o in meta["operators"]["integer"]]
    assert "contains" not in integer_ops and "between" in integer_ops
    assert [o["label"] for o in meta["operators"]["date"]][:2] == ["on", "not on"]
    assert meta["can_write"] is True


def test_rows_are_a_window_with_the_exact_count(client_a, people):
    body = rows(client_a, people, "offset=1&limit=1")
    assert body["count"] == 3
    assert names(body, people) == ["Bob"]
    age = people.fields["Age"].id
    assert names(rows(client_a, people, f"sort=-{age}"), people) == [
        "Ann",
        "Cid",
        "Bob",
    ]
    assert names(rows(client_a, people, f"sort=-f{age}"), people) == [
        "Ann",
        "Cid",
        "Bob",
    ]


def test_filters_are_typed_with_between_and_empty(client_a, people):
    age, born = people.fields["Age"].id, people.fields["Born"].id
    body = rows(client_a, people, f"f={age}.between.9..10")
    assert sorted(names(body, people)) == ["Bob", "Cid"] and body["count"] == 2
    body = rows(client_a, people, f"f={born}.between.1989-01-01..1995-12-31")
    assert names(body, people) == ["Ann"]
    assert names(rows(client_a, people, f"f={born}.empty."), people) == ["Bob"]
    assert names(rows(client_a, people, "q=ci"), people) == ["Cid"]
    refused = client_a.get(base(people) + f"rows?f={age}.contains.1")
    assert refused.status_code == 400
    assert refused.json()["code"] == "invalid"
    assert "does not apply" in refused.json()["message"]
    backwards = client_a.get(base(people) + f"rows?f={age}.between.10..9")
    assert backwards.status_code == 400
    assert client_a.get(base(people) + "rows?offset=x").status_code == 400


def test_rows_query_count_does_not_grow_with_rows_or_references(
    client_a, people, tenant_a
):
    teams = teams_led_by(tenant_a, people, people.entry_ids[0])
    with CaptureQueriesContext(connection) as few:
        rows(client_a, teams)
    more = [
        {"values": {"Title": f"T{i}", "Lead": str(people.entry_ids[i % 3])}}
        for i in range(40)
    ]
    bigger = grid_make(
        tenant_a,
        name="Squads",
        fields=[
            {"name": "Title", "data_type": "text"},
            {
                "name": "Lead",
                "data_type": "reference",
                "options": {"thing_id": people.thing.id},
            },
        ],
        entries=more,
    )
    with CaptureQueriesContext(connection) as many:
        body = rows(client_a, bigger)
    assert body["count"] == 40
    assert len(many) == len(few)
    lead = str(bigger.fields["Lead"].id)
    assert body["rows"][0]["labels"][lead] == "Ann"


def test_patch_saves_a_cell_and_answers_the_row(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    age = str(people.fields["Age"].id)
    response = patch(
        client_a, people, ann, {"values": {age: "31"}, "seen": {age: "30"}}
    )
    assert response.status_code == 200, response.content
    assert response.json()["values"][age] == "31"
    assert "batch" in response.json()
    assert entry_values(tenant_a, ann)["Age"] == "31"


def test_patch_after_someone_elses_change_is_a_409_with_the_row_now(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    age = str(people.fields["Age"].id)
    patch(client_a, people, ann, {"values": {age: "40"}, "seen": {age: "30"}})
    stale = patch(client_a, people, ann, {"values": {age: "35"}, "seen": {age: "30"}})
    assert stale.status_code == 409
    body = stale.json()
    assert body["code"] == "conflict"
    assert body["details"]["current"]["values"][age] == "40"
    assert body["details"]["field"] == age
    assert entry_values(tenant_a, ann)["Age"] == "40"
    # "Keep mine": the value seen is now theirs, and mine replaces it.
    again = patch(client_a, people, ann, {"values": {age: "35"}, "seen": {age: "40"}})
    assert again.status_code == 200


def test_patch_refuses_bad_values_per_field_and_writes_nothing(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    age, name = str(people.fields["Age"].id), str(people.fields["Name"].id)
    response = patch(client_a, people, ann, {"values": {age: "12,5x", name: "Zed"}})
    assert response.status_code == 400
    assert response.json()["details"]["fields"][age].endswith("is not a whole number")
    assert entry_values(tenant_a, ann)["Name"] == "Ann"
    for bad in (b"[1]", b"not json", b'{"values": {}}', b'{"values": {"1": [1]}}'):
        answer = client_a.generic(
            "PATCH",
            base(people) + f"rows/{ann}",
            bad,
            content_type="application/json",
        )
        assert answer.status_code == 400, bad
        assert "code" in answer.json()
    assert patch(client_a, people, 999999, {"values": {age: "1"}}).status_code == 404


def test_a_yes_no_cell_is_cleared_with_null(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    vip = str(people.fields["Vip"].id)
    response = patch(client_a, people, ann, {"values": {vip: None}})
    assert response.status_code == 200
    assert response.json()["values"][vip] is None
    assert entry_values(tenant_a, ann).get("Vip") is None


def test_viewers_read_rows_but_cannot_patch(viewer_client_a, people):
    assert viewer_client_a.get(base(people) + "meta").json()["can_write"] is False
    assert rows(viewer_client_a, people)["count"] == 3
    age = str(people.fields["Age"].id)
    refused = patch(
        viewer_client_a, people, people.entry_ids[0], {"values": {age: "1"}}
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


def test_another_tenants_grid_is_not_found(client_a, client_b, people, tenant_b):
    theirs = grid_make(tenant_b, entries=[person("Eve")])
    # Tenant A's session on tenant B's thing, by B's URL and by A's URL.
    assert client_a.get(base(theirs, "tenant_b") + "rows").status_code == 404
    mine_url = base(theirs) + "rows"
    assert client_a.get(mine_url).status_code in (404,)
    age = str(theirs.fields["Age"].id)
    assert (
        client_a.patch(
            base(theirs, "tenant_b") + f"rows/{theirs.entry_ids[0]}",
            json.dumps({"values": {age: "1"}}),
            content_type="application/json",
        ).status_code
        == 404
    )
    assert client_b.get(base(theirs, "tenant_b") + "rows").status_code == 200


def test_a_fetch_without_a_session_is_401_json(people):
    response = Client().get(
        base(people) + "rows", headers={"Accept": "application/json"}
    )
    assert response.status_code == 401
    assert response.json() == {
        "code": "signed_out",
        "message": "Your session has ended; sign in again.",
    }
    fetched = Client().patch(
        base(people) + f"rows/{people.entry_ids[0]}",
        "{}",
        content_type="application/json",
        headers={"X-Requested-With": "fetch"},
    )
    assert fetched.status_code == 401


def test_the_grid_page_loads_the_vendored_grid_not_a_cdn(client_a, people):
    html = client_a.get(f"/t/tenant_a/things/{people.thing.id}/").content.decode()
    assert "/static/ui/vendor/tabulator/tabulator.min.js" in html
    assert "cdn" not in html.lower()
    assert 'href="?plain=1"' in html
