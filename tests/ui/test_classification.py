"""Classification items in the browser UI: editors and admins add and rename
them (one level under another too); viewers see them but cannot change them;
another tenant's members cannot reach them."""

import html

import pytest

from gathergrid.models import ClassificationItem
from tests.clients import ui_client
from tests.factories import in_tenant, item_make

PAGE = "/t/tenant_a/classification/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def edit_url(item_id: int) -> str:
    return f"{PAGE}{item_id}/edit/"


def items(created) -> dict[str, int | None]:
    with in_tenant(created):
        return dict(
            ClassificationItem.objects.filter(active=True).values_list(
                "name", "parent_id"
            )
        )


@pytest.mark.parametrize("role", ["admin_a", "editor_a"])
def test_editors_and_admins_add_and_rename_items(request, tenant_a, role):
    client = ui_client(request.getfixturevalue(role))
    gold = item_make(tenant_a, "Gold")
    added = client.post(PAGE, {"new-name": "  Silver ", "new-parent": str(gold.pk)})
    assert added.status_code == 302 and added["Location"] == PAGE
    assert items(tenant_a)["Silver"] == gold.pk
    page = text(client.get(PAGE))
    assert "Added the item “Silver”." in page
    assert 'aria-label="Rename Gold"' in page
    form = client.get(edit_url(gold.pk))
    assert form.status_code == 200 and 'value="Gold"' in text(form)
    renamed = client.post(
        edit_url(gold.pk), {"edit-name": "Platinum", "edit-parent": ""}
    )
    assert renamed.status_code == 302
    assert items(tenant_a) == {"Platinum": None, "Silver": gold.pk}


def test_the_entries_classification_choices_offer_a_new_item(client_a, tenant_a):
    from tests.factories import grid_make, person

    made = grid_make(tenant_a, entries=[person("Ann")])
    client_a.post(PAGE, {"new-name": "Bronze"})
    grid = text(client_a.get(f"/t/tenant_a/things/{made.thing.id}/?plain=1"))
    assert ">Bronze</option>" in grid
    fields = text(client_a.get(f"/t/tenant_a/things/{made.thing.id}/fields/"))
    assert f'href="{PAGE}" id="classification-link"' in fields


def test_bad_input_is_told_next_to_the_input_and_nothing_is_written(client_a, tenant_a):
    gold = item_make(tenant_a, "Gold")
    silver = item_make(tenant_a, "Silver", parent_id=gold.pk)
    blank = client_a.post(PAGE, {"new-name": "   "})
    assert blank.status_code == 400 and 'id="new-item-name-error"' in text(blank)
    invisible = client_a.post(PAGE, {"new-name": "\u200b"})
    assert invisible.status_code == 400
    unknown = client_a.post(PAGE, {"new-name": "X", "new-parent": "999999"})
    assert unknown.status_code == 400
    # Gold under its own child: refused by the same rule as the API's.
    loop = client_a.post(
        edit_url(gold.pk), {"edit-name": "Gold", "edit-parent": str(silver.pk)}
    )
    assert loop.status_code == 400
    assert "cannot be its own ancestor" in text(loop)
    assert 'id="edit-item-parent-error"' in text(loop)
    assert items(tenant_a) == {"Gold": None, "Silver": gold.pk}


def test_viewers_see_the_items_but_cannot_add_or_rename(viewer_client_a, tenant_a):
    gold = item_make(tenant_a, "Gold")
    page = viewer_client_a.get(PAGE)
    assert page.status_code == 200
    assert "Gold" in text(page)
    assert "New item" not in text(page) and "Rename" not in text(page)
    assert viewer_client_a.post(PAGE, {"new-name": "Silver"}).status_code == 403
    assert viewer_client_a.get(edit_url(gold.pk)).status_code == 403
    assert (
        viewer_client_a.post(edit_url(gold.pk), {"edit-name": "Lead"}).status_code
        == 403
    )
    assert items(tenant_a) == {"Gold": None}


def test_another_tenants_members_cannot_reach_the_items(client_b, tenant_a, tenant_b):
    gold = item_make(tenant_a, "Gold")
    assert client_b.get(PAGE).status_code == 404
    assert client_b.post(PAGE, {"new-name": "Silver"}).status_code == 404
    assert client_b.post(edit_url(gold.pk), {"edit-name": "Lead"}).status_code == 404
    # Their own list is their own tenant's.
    own = client_b.get("/t/tenant_b/classification/")
    assert own.status_code == 200 and "Gold" not in text(own)
    # An item id of tenant_a is not found under tenant_b's URL.
    edit_b = client_b.post(
        f"/t/tenant_b/classification/{gold.pk}/edit/", {"edit-name": "Lead"}
    )
    assert edit_b.status_code == 404
    assert items(tenant_a) == {"Gold": None}
    assert items(tenant_b) == {}


def test_the_list_costs_the_same_queries_for_one_item_or_many(client_a, tenant_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client_a.get(PAGE).status_code == 200
        return len(captured)

    top = item_make(tenant_a, "Top")
    one = queries()
    for i in range(20):
        item_make(tenant_a, f"Item {i}", parent_id=top.pk)
    assert queries() == one
