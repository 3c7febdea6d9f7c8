"""The grid's actions (ui/views/grid_actions.py): bulk changes, pasted ranges,
undo, saved views and the reference picker: set-based (queries do not grow
with rows), all or nothing with per-cell errors, viewers read only, tenants
kept apart."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gathergrid.models import Entry, EntryHistory, GridView
from tests.factories import entry_values, grid_make, in_tenant, person
from tests.ui.test_entries import PEOPLE, teams_led_by


@pytest.fixture
def people(tenant_a):
    return grid_make(tenant_a, entries=PEOPLE)


def base(made, tenant: str = "tenant_a") -> str:
    return f"/t/{tenant}/things/{made.thing.id}/grid/"


def post(client, made, name: str, body: dict, tenant: str = "tenant_a"):
    return client.post(
        base(made, tenant) + name, json.dumps(body), content_type="application/json"
    )


def fid(made, name: str) -> int:
    return made.fields[name].id


def many_people(tenant, n: int, name: str = "Crowd"):
    return grid_make(
        tenant, name=name, entries=[person(f"P{i}", age=i) for i in range(n)]
    )


def active_ids(tenant, made) -> set[int]:
    with in_tenant(tenant):
        return set(
            Entry.objects.filter(thing_id=made.thing.id, active=True).values_list(
                "id", flat=True
            )
        )


# --- Bulk ---------------------------------------------------------------------


def test_bulk_update_sets_a_value_on_every_selected_entry(client_a, people, tenant_a):
    ann, bob, cid = people.entry_ids
    answer = post(
        client_a,
        people,
        "bulk",
        {"action": "update", "ids": [ann, bob], "values": {fid(people, "Age"): "42"}},
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["changed"] == 2 and body["batch"]
    assert entry_values(tenant_a, ann)["Age"] == "42"
    assert entry_values(tenant_a, bob)["Age"] == "42"
    assert entry_values(tenant_a, cid)["Age"] == "10"
    with in_tenant(tenant_a):
        assert EntryHistory.objects.filter(batch=body["batch"]).count() == 2


def test_bulk_update_refuses_a_bad_value_or_clearing_a_mandatory_field(
    client_a, people, tenant_a
):
    ids = people.entry_ids
    bad = post(
        client_a,
        people,
        "bulk",
        {"action": "update", "ids": ids, "values": {fid(people, "Age"): "many"}},
    )
    assert bad.status_code == 400
    assert bad.json()["details"]["cells"][0]["message"].startswith("Age:")
    cleared = post(
        client_a,
        people,
        "bulk",
        {"action": "update", "ids": ids, "values": {fid(people, "Status"): ""}},
    )
    assert cleared.status_code == 400
    assert "mandatory" in cleared.json()["message"] + str(cleared.json()["details"])
    assert entry_values(tenant_a, ids[0])["Status"] == "Open"
    unknown = post(client_a, people, "bulk", {"action": "explode", "ids": ids})
    assert unknown.status_code == 400
    not_ids = post(client_a, people, "bulk", {"action": "trash", "ids": ["1"]})
    assert not_ids.status_code == 400


def test_bulk_trash_and_restore_of_all_matching_a_filter(client_a, people, tenant_a):
    age = fid(people, "Age")
    trashed = post(
        client_a,
        people,
        "bulk",
        {"action": "trash", "all_matching": True, "query": f"f={age}.lt.20"},
    )
    assert trashed.status_code == 200, trashed.content
    assert trashed.json()["changed"] == 2
    assert active_ids(tenant_a, people) == {people.entry_ids[0]}
    restored = post(
        client_a,
        people,
        "bulk",
        {"action": "restore", "ids": people.entry_ids},
    )
    assert restored.json()["changed"] == 2
    assert active_ids(tenant_a, people) == set(people.entry_ids)


def test_bulk_trash_of_referenced_entries_says_how_many_references_remain(
    client_a, people, tenant_a
):
    ann = people.entry_ids[0]
    teams_led_by(tenant_a, people, ann)
    body = post(client_a, people, "bulk", {"action": "trash", "ids": [ann]}).json()
    assert body["changed"] == 1 and body["referenced"] == 2


def test_bulk_of_1000_entries_takes_as_many_queries_as_of_10(client_a, tenant_a):
    small = many_people(tenant_a, 10, "Small")
    big = many_people(tenant_a, 1000, "Big")

    def run(made, action, **extra):
        with CaptureQueriesContext(connection) as queries:
            answer = post(
                client_a,
                made,
                "bulk",
                {"action": action, "ids": made.entry_ids, **extra},
            )
        assert answer.status_code == 200, answer.content
        assert answer.json()["changed"] == len(made.entry_ids)
        return len(queries)

    for action, extra in (
        ("update", {"values": {fid(small, "Age"): "1007"}}),
        ("trash", {}),
        ("restore", {}),
    ):
        big_extra = (
            {"values": {fid(big, "Age"): "1007"}} if action == "update" else extra
        )
        assert run(big, action, **big_extra) == run(small, action, **extra), action
    assert entry_values(tenant_a, big.entry_ids[-1])["Age"] == "1007"


# --- Paste --------------------------------------------------------------------


def test_paste_writes_a_range_read_as_a_spreadsheet_writes_it(
    client_a, people, tenant_a
):
    ann, bob, _ = people.entry_ids
    answer = post(
        client_a,
        people,
        "paste",
        {
            "field_ids": [fid(people, "Age"), fid(people, "Born"), fid(people, "Vip")],
            "rows": [
                {"id": ann, "cells": ["1,234", "25/03/1990", "TRUE"]},
                {"id": bob, "cells": ["12", "04/03/2015", "no"]},
                {"id": None, "cells": ["5", "2020-01-01", ""]},
            ],
            "date_order": "mdy",
        },
    )
    # A new row needs its Name (required when an entry is created).
    assert answer.status_code == 400
    cells = answer.json()["details"]["cells"]
    assert cells == [
        {"row": 2, "col": 0, "message": "Name is required when an entry is created"}
    ]
    assert entry_values(tenant_a, ann)["Age"] == "30"
    answer = post(
        client_a,
        people,
        "paste",
        {
            "field_ids": [fid(people, "Name"), fid(people, "Age"), fid(people, "Born")],
            "rows": [
                {"id": ann, "cells": ["Ann", "1,234", "25/03/1990"]},
                {"id": bob, "cells": ["Bob", "12", "04/03/2015"]},
                {"id": None, "cells": ["Dee", "5", ""]},
                {"id": None, "cells": ["", "", ""]},
            ],
        },
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert body["changed"] == 4 and len(body["created"]) == 1
    assert entry_values(tenant_a, ann)["Age"] == "1234"
    # The column's 25/03 says day first, so 04/03 is the 4th of March.
    assert entry_values(tenant_a, bob)["Born"] == "2015-03-04"
    assert entry_values(tenant_a, body["created"][0]) == {
        "Name": "Dee",
        "Age": "5",
    }


def test_paste_is_all_or_nothing_with_an_error_per_cell(client_a, people, tenant_a):
    ann, bob, cid = people.entry_ids
    answer = post(
        client_a,
        people,
        "paste",
        {
            "field_ids": [fid(people, "Age"), fid(people, "Status")],
            "rows": [
                {"id": ann, "cells": ["31", "closed"]},
                {"id": bob, "cells": ["x", "Open"]},
                {"id": cid, "cells": ["11", ""]},
            ],
        },
    )
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == "invalid"
    assert [(c["row"], c["col"]) for c in body["details"]["cells"]] == [(1, 0), (2, 1)]
    assert "mandatory" in body["details"]["cells"][1]["message"]
    assert entry_values(tenant_a, ann)["Age"] == "30"
    assert entry_values(tenant_a, ann)["Status"] == "Open"


def test_paste_accepts_references_by_name_or_id_and_says_which_are_unknown(
    client_a, people, tenant_a
):
    ann, bob, _ = people.entry_ids
    teams = teams_led_by(tenant_a, people, ann)
    red, blue = teams.entry_ids
    lead = fid(teams, "Lead")
    ok = post(
        client_a,
        teams,
        "paste",
        {"field_ids": [lead], "rows": [{"id": red, "cells": ["bob"]}]},
    )
    assert ok.status_code == 200, ok.content
    assert entry_values(tenant_a, red)["Lead"] == str(bob)
    refused = post(
        client_a,
        teams,
        "paste",
        {
            "field_ids": [lead],
            "rows": [{"id": red, "cells": ["Zed"]}, {"id": blue, "cells": ["#99999"]}],
        },
    )
    assert refused.status_code == 400
    messages = [c["message"] for c in refused.json()["details"]["cells"]]
    assert messages[0] == "Lead: no entry is named “Zed”"
    assert "#99999" in messages[1]


def test_paste_of_500_cells_takes_as_many_queries_as_of_10(client_a, tenant_a):
    small = many_people(tenant_a, 2, "Small")
    big = many_people(tenant_a, 100, "Big")

    def run(made):
        ids = [fid(made, n) for n in ("Name", "Age", "Born", "Vip", "Status")]
        rows = [
            {"id": e, "cells": [f"N{e}", str(e % 90), "2020-02-03", "yes", "Closed"]}
            for e in made.entry_ids
        ]
        with CaptureQueriesContext(connection) as queries:
            answer = post(client_a, made, "paste", {"field_ids": ids, "rows": rows})
        assert answer.status_code == 200, answer.content
        assert answer.json()["changed"] == len(rows) * 5
        return len(queries)

    assert run(big) == run(small)


# --- Undo and revert --------------------------------------------------------------


def test_undo_takes_a_paste_back_and_the_undo_can_be_undone(client_a, people, tenant_a):
    ann = people.entry_ids[0]
    pasted = post(
        client_a,
        people,
        "paste",
        {
            "field_ids": [fid(people, "Name"), fid(people, "Age")],
            "rows": [
                {"id": ann, "cells": ["Anna", "31"]},
                {"id": None, "cells": ["Eve", "1"]},
            ],
        },
    ).json()
    [eve] = pasted["created"]
    undone = post(client_a, people, "undo", {"batch": pasted["batch"]})
    assert undone.status_code == 200, undone.content
    assert entry_values(tenant_a, ann) == {
        "Name": "Ann",
        "Age": "30",
        "Born": "1990-01-02",
        "Status": "Open",
        "Vip": "true",
    }
    assert eve not in active_ids(tenant_a, people)
    redone = post(client_a, people, "undo", {"batch": undone.json()["batch"]})
    assert redone.status_code == 200
    assert entry_values(tenant_a, ann)["Name"] == "Anna"
    assert eve in active_ids(tenant_a, people)


def test_undo_after_someone_else_changed_the_value_is_a_409(
    client_a, people, tenant_a, editor_a
):
    from tests.clients import ui_client

    ann = people.entry_ids[0]
    age = str(fid(people, "Age"))
    mine = client_a.patch(
        base(people) + f"rows/{ann}",
        json.dumps({"values": {age: "31"}, "seen": {age: "30"}}),
        content_type="application/json",
    ).json()
    ui_client(editor_a).patch(
        base(people) + f"rows/{ann}",
        json.dumps({"values": {age: "50"}}),
        content_type="application/json",
    )
    refused = post(client_a, people, "undo", {"batch": mine["batch"]})
    assert refused.status_code == 409
    assert refused.json()["details"]["cells"][0]["now"] == "50"
    assert entry_values(tenant_a, ann)["Age"] == "50"
    # Someone else's batch is not yours to undo.
    assert (
        post(ui_client(editor_a), people, "undo", {"batch": mine["batch"]}).status_code
        == 404
    )
    assert post(client_a, people, "undo", {"batch": "nope"}).status_code == 400


def test_bulk_trash_is_undone_by_restoring(client_a, people, tenant_a):
    body = post(
        client_a, people, "bulk", {"action": "trash", "ids": people.entry_ids}
    ).json()
    assert active_ids(tenant_a, people) == set()
    assert (
        post(client_a, people, "undo", {"batch": body["batch"]}).json()["reverted"] == 3
    )
    assert active_ids(tenant_a, people) == set(people.entry_ids)


def test_revert_one_change_or_back_to_a_point_from_the_history_page(
    client_a, people, tenant_a, viewer_client_a
):
    ann = people.entry_ids[0]
    age, name = str(fid(people, "Age")), str(fid(people, "Name"))
    for values in ({age: "31"}, {name: "Anna"}, {age: "32"}):
        client_a.patch(
            base(people) + f"rows/{ann}",
            json.dumps({"values": values}),
            content_type="application/json",
        )
    with in_tenant(tenant_a):
        changes = list(
            EntryHistory.objects.filter(entry_id=ann, field__isnull=False)
            .order_by("id")
            .values_list("id", flat=True)
        )
    url = f"/t/tenant_a/things/{people.thing.id}/entries/{ann}/history/"
    page = client_a.get(url).content.decode()
    assert f"history/{changes[-2]}/revert/" in page and ">Revert<" in page
    assert "Revert" not in viewer_client_a.get(url).content.decode()
    assert viewer_client_a.post(f"{url}{changes[-2]}/revert/").status_code == 403
    # The name change is taken back; the later age stays.
    answer = client_a.post(f"{url}{changes[-2]}/revert/", follow=True)
    assert "The change was reverted." in answer.content.decode()
    assert entry_values(tenant_a, ann)["Name"] == "Ann"
    assert entry_values(tenant_a, ann)["Age"] == "32"
    # Back to just after the first age change: 31, and the name as then.
    client_a.post(f"{url}{changes[-3]}/revert/", {"to": "1"})
    values = entry_values(tenant_a, ann)
    assert (values["Age"], values["Name"]) == ("31", "Ann")
    assert client_a.post(f"{url}999999/revert/").status_code == 404


# --- Views ---------------------------------------------------------------------


def test_a_saved_view_is_shared_with_every_member(
    client_a, people, viewer_client_a, tenant_a
):
    age = fid(people, "Age")
    config = {
        "columns": [
            {"field_id": age, "width": 80, "hidden": False},
            {"field_id": 999999, "width": 80},
        ],
        "frozen": 1,
        "sort": f"-{age}",
        "filters": [{"field": age, "op": "gt", "value": "5"}],
        "q": "",
    }
    created = post(client_a, people, "views", {"name": "Adults", "config": config})
    assert created.status_code == 201, created.content
    view = created.json()
    assert view["config"]["columns"] == [
        {"field_id": age, "width": 80, "hidden": False}
    ]
    meta = viewer_client_a.get(base(people) + "meta").json()
    assert [v["name"] for v in meta["views"]] == ["Adults"]
    assert viewer_client_a.get(base(people) + "views").json()[0]["id"] == view["id"]
    assert post(viewer_client_a, people, "views", {"name": "Mine"}).status_code == 403
    duplicate = post(client_a, people, "views", {"name": "adults", "config": {}})
    assert duplicate.status_code == 409
    assert "already has a view named" in duplicate.json()["message"] or duplicate.json()
    bad = post(
        client_a,
        people,
        "views",
        {"name": "Bad", "config": {"filters": [{"field": age, "op": "contains"}]}},
    )
    assert bad.status_code == 400
    renamed = client_a.patch(
        base(people) + f"views/{view['id']}",
        json.dumps({"name": "Grown-ups"}),
        content_type="application/json",
    )
    assert renamed.json()["name"] == "Grown-ups"
    assert client_a.delete(base(people) + f"views/{view['id']}").status_code == 204
    with in_tenant(tenant_a):
        assert not GridView.objects.exists()


# --- Reference options ---------------------------------------------------------


def test_reference_options_search_active_entries_by_name(client_a, people, tenant_a):
    ann, bob, cid = people.entry_ids
    teams = teams_led_by(tenant_a, people, ann)
    url = base(teams) + f"fields/{fid(teams, 'Lead')}/options"
    assert client_a.get(url + "?q=").json()[0] == {"id": ann, "label": "Ann"}
    assert client_a.get(url + "?q=b").json() == [{"id": bob, "label": "Bob"}]
    assert client_a.get(url + f"?q={cid}").json() == [{"id": cid, "label": "Cid"}]
    post(client_a, people, "bulk", {"action": "trash", "ids": [bob]})
    assert client_a.get(url + "?q=b").json() == []
    not_reference = base(teams) + f"fields/{fid(teams, 'Title')}/options"
    assert client_a.get(not_reference).status_code == 404


# --- Tenants apart -------------------------------------------------------------


def test_another_tenants_session_or_ids_change_nothing(
    client_a, client_b, people, tenant_a, tenant_b
):
    theirs = grid_make(tenant_b, entries=[person("Eve", age=1)])
    age = fid(theirs, "Age")
    for name, body in (
        ("bulk", {"action": "trash", "ids": theirs.entry_ids}),
        (
            "paste",
            {"field_ids": [age], "rows": [{"id": theirs.entry_ids[0], "cells": ["2"]}]},
        ),
        ("undo", {"batch": "00000000-0000-0000-0000-000000000000"}),
        ("views", {"name": "X", "config": {}}),
    ):
        assert post(client_a, theirs, name, body, tenant="tenant_b").status_code == 404
    options = base(theirs, "tenant_b") + f"fields/{age}/options"
    assert client_a.get(options).status_code == 404
    # B's entry ids sent to A's own grid touch nothing in B (nor in A).
    trashed = post(
        client_a, people, "bulk", {"action": "trash", "ids": theirs.entry_ids}
    )
    assert trashed.json()["changed"] in (
        0,
        len(set(theirs.entry_ids) & set(people.entry_ids)),
    )
    assert active_ids(tenant_b, theirs) == set(theirs.entry_ids)
    # B's own session sees its grid intact.
    assert client_b.get(base(theirs, "tenant_b") + "rows").json()["count"] == 1
