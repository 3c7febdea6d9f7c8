"""Soft delete to the trash, restore from it, and an entry's history in words."""

import re

from django.db import connection
from django.test.utils import CaptureQueriesContext

from gathergrid.models import Entry, EntryHistory
from tenants.models import Role
from tests.clients import ui_client
from tests.factories import grid_make, in_tenant, item_make, member_make, person
from tests.ui.test_entries import row_ids


def urls(made, entry_id: int) -> dict[str, str]:
    thing = f"/t/tenant_a/things/{made.thing.id}"
    return {
        "grid": f"{thing}/",
        "trash": f"{thing}/trash/",
        "delete": f"{thing}/entries/{entry_id}/delete/",
        "restore": f"{thing}/entries/{entry_id}/restore/",
        "history": f"{thing}/entries/{entry_id}/history/",
        "cell": f"{thing}/entries/{entry_id}/cell/",
    }


def test_delete_moves_an_entry_to_the_trash_and_restore_brings_it_back(
    client_a, tenant_a
):
    made = grid_make(tenant_a, entries=[person("Ann"), person("Bob")])
    ann, bob = made.entry_ids
    u = urls(made, ann)
    response = client_a.post(u["delete"], {"next": u["grid"] + "?sort=-id"})
    assert response.status_code == 302
    assert response["Location"] == u["grid"] + "?sort=-id"
    with in_tenant(tenant_a):
        assert Entry.objects.get(pk=ann).active is False
    assert row_ids(client_a.get(u["grid"] + "?plain=1").content.decode()) == [bob]
    trash = client_a.get(u["trash"]).content.decode()
    assert row_ids(trash) == [ann]
    # Read-only in the trash: values as text, a Restore button, no cell inputs.
    assert '<div class="cell">Ann</div>' in trash
    assert "hx-post" not in trash and "Restore</button>" in trash
    # A deleted entry's cells cannot be edited.
    name = made.fields["Name"].id
    assert client_a.post(f"{u['cell']}f{name}/", {"value": "x"}).status_code == 404
    assert client_a.post(u["restore"]).status_code == 302
    assert row_ids(client_a.get(u["grid"] + "?plain=1").content.decode()) == [ann, bob]
    assert row_ids(client_a.get(u["trash"]).content.decode()) == []
    with in_tenant(tenant_a):
        actions = list(
            EntryHistory.objects.filter(entry_id=ann, field=None)
            .order_by("id")
            .values_list("action", flat=True)
        )
    assert actions == ["create", "deactivate", "restore"]


def test_viewers_see_the_trash_but_cannot_restore(viewer_client_a, tenant_a):
    made = grid_make(tenant_a, entries=[person("Ann")])
    ann = made.entry_ids[0]
    client_a = ui_client(member_make(tenant_a.tenant, Role.ADMIN))
    u = urls(made, ann)
    client_a.post(u["delete"])
    trash = viewer_client_a.get(u["trash"]).content.decode()
    assert row_ids(trash) == [ann] and "Restore" not in trash.split("<table")[1]
    assert viewer_client_a.post(u["restore"]).status_code == 403
    with in_tenant(tenant_a):
        assert Entry.objects.get(pk=ann).active is False


def test_history_says_who_changed_what_and_when_newest_first(
    client_a, admin_a, tenant_a
):
    made = grid_make(tenant_a, entries=[person("Ann", age=30)], user_id=None)
    ann = made.entry_ids[0]
    gold = item_make(tenant_a, "Gold")
    u = urls(made, ann)
    age = made.fields["Age"].id
    client_a.post(f"{u['cell']}f{age}/", {"value": "31"})
    client_a.post(f"{u['cell']}classification/", {"value": str(gold.id)})
    client_a.post(u["delete"])
    client_a.post(u["restore"])
    response = client_a.get(u["history"])
    assert response.status_code == 200
    html = response.content.decode()
    lines = re.findall(r"<tr>\s*<td><time.*?</tr>", html, re.S)
    text = [
        re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", line)).strip() for line in lines
    ]
    assert "Restored from the trash" in text[0]
    assert "Moved to the trash" in text[1]
    assert "Classification : empty → Gold" in text[2]
    assert admin_a.email in text[2]
    assert "Changed Age : 30 → 31" in text[3]
    assert text[-1].split(" ")[-1] != ""  # the first lines: the creation
    assert any("Set Name : empty → Ann" in line for line in text)
    assert any("the system" in line for line in text)  # written without a user


def test_history_page_queries_do_not_grow_with_changes(client_a, tenant_a):
    def queries(changes: int) -> int:
        made = grid_make(tenant_a, name=f"H{changes}", entries=[person("Ann")])
        ann = made.entry_ids[0]
        u = urls(made, ann)
        name = made.fields["Name"].id
        for i in range(changes):
            client_a.post(f"{u['cell']}f{name}/", {"value": f"Ann {i}"})
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(u["history"]).status_code == 200
        return len(captured)

    assert queries(1) == queries(20)


def test_history_of_an_entry_of_another_thing_is_not_found(client_a, tenant_a):
    one = grid_make(tenant_a, name="One", entries=[person("Ann")])
    two = grid_make(tenant_a, name="Two", entries=[person("Bob")])
    path = f"/t/tenant_a/things/{one.thing.id}/entries/{two.entry_ids[0]}/history/"
    assert client_a.get(path).status_code == 404
    restore = f"/t/tenant_a/things/{one.thing.id}/entries/{two.entry_ids[0]}/restore/"
    assert client_a.post(restore).status_code == 404


def test_trash_page_queries_do_not_grow_with_deleted_entries(client_a, tenant_a):
    def queries(deleted: int) -> int:
        made = grid_make(
            tenant_a,
            name=f"T{deleted}",
            entries=[person(f"P{i}", age=i) for i in range(deleted)],
        )
        for entry_id in made.entry_ids:
            client_a.post(urls(made, entry_id)["delete"])
        with CaptureQueriesContext(connection) as captured:
            response = client_a.get(urls(made, 0)["trash"])
        assert len(row_ids(response.content.decode())) == deleted
        return len(captured)

    one = queries(1)
    assert one == queries(30)
    assert one <= 14, one  # 12, and who deleted them when: history, users


def test_trash_shows_restore_first_then_when_and_by_whom_each_was_deleted(
    client_a, admin_a, editor_a, tenant_a
):
    made = grid_make(tenant_a, entries=[person("Ann"), person("Bob")])
    ann, bob = made.entry_ids
    client_a.post(urls(made, ann)["delete"])
    ui_client(editor_a).post(urls(made, bob)["delete"])
    with in_tenant(tenant_a):
        deleted_at = {
            h.entry_id: h.changed_at
            for h in EntryHistory.objects.filter(action="deactivate", field=None)
        }
    trash = client_a.get(urls(made, 0)["trash"]).content.decode()
    head = re.search(r"<thead>(.*?)</thead>", trash, re.S).group(1)
    labels = [
        re.sub(r"<[^>]+>|[▲▼]", "", th).strip()
        for th in re.findall(r"<th[^>]*>(.*?)</th>", head, re.S)
    ]
    assert labels[:5] == ["Restore", "#", "Deleted", "By", "Name"]
    for entry_id, who in [(ann, admin_a.email), (bob, editor_a.email)]:
        row = re.search(rf'<tr id="entry-{entry_id}">(.*?)</tr>', trash, re.S).group(1)
        cells = re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        assert f'aria-label="Restore entry {entry_id}"' in cells[0]
        assert f">{entry_id}<" in cells[1]
        assert f"{deleted_at[entry_id]:%Y-%m-%d %H:%M}" in cells[2]
        assert who in cells[3]


def test_ticked_entries_or_all_matching_are_restored_at_once(
    client_a, viewer_client_a, tenant_a, tenant_b
):
    made = grid_make(
        tenant_a, entries=[person("Ann", age=1), person("Bob", age=2), person("Cid")]
    )
    ann, bob, cid = made.entry_ids
    with in_tenant(tenant_a):
        Entry.objects.filter(pk__in=made.entry_ids).update(active=False)
    trash = f"/t/tenant_a/things/{made.thing.id}/trash/"
    page = client_a.get(trash).content.decode()
    assert f'name="ids" value="{ann}" form="trash-bulk"' in page
    assert "Restore all 3" in page
    assert 'name="ids"' not in viewer_client_a.get(trash).content.decode()
    assert viewer_client_a.post(trash + "restore/", {"ids": [ann]}).status_code == 403
    answer = client_a.post(trash + "restore/", {"ids": [ann, "x"]}, follow=True)
    assert "1 entry restored." in answer.content.decode()
    age = made.fields["Age"].id
    client_a.post(trash + f"restore/?f={age}:gt:1", {"all": "1"})
    with in_tenant(tenant_a):
        active = set(
            Entry.objects.filter(thing=made.thing, active=True).values_list(
                "id", flat=True
            )
        )
    assert active == {ann, bob} and cid not in active
    # Another tenant's session restores nothing here.
    theirs = grid_make(tenant_b, entries=[person("Eve")])
    with in_tenant(tenant_b):
        Entry.objects.filter(pk__in=theirs.entry_ids).update(active=False)
    url = f"/t/tenant_b/things/{theirs.thing.id}/trash/restore/"
    assert client_a.post(url, {"all": "1"}).status_code == 404
