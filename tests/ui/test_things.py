"""The things list: counts, create, rename, deactivate/restore, roles, isolation."""

import pytest

from gathergrid.models import Entry, Thing
from tests.factories import field_make, in_tenant, thing_make

THINGS = "/t/tenant_a/things/"


def _html(response) -> str:
    return response.content.decode()


def test_list_shows_active_things_with_their_active_field_and_entry_counts(
    tenant_a, client_a
):
    customers = thing_make(tenant_a, "Customers", description="People who pay")
    field_make(tenant_a, customers, "Name")
    field_make(tenant_a, customers, "Email")
    old = field_make(tenant_a, customers, "Fax")
    with in_tenant(tenant_a):
        Entry.objects.create(thing=customers)
        Entry.objects.create(thing=customers)
        Entry.objects.create(thing=customers, active=False)
        old.active = False
        old.save()
    thing_make(tenant_a, "Archived", active=False)

    page = _html(client_a.get(THINGS))

    assert "Customers" in page and "People who pay" in page
    assert 'aria-label="2 fields of Customers">2<' in page
    assert 'aria-label="2 entries of Customers">2<' in page
    assert "Archived" not in page
    assert f'href="/t/tenant_a/things/{customers.pk}/"' in page  # the grid
    assert f'href="/t/tenant_a/things/{customers.pk}/fields/"' in page


def test_deactivated_things_are_shown_by_the_status_filter(tenant_a, client_a):
    thing_make(tenant_a, "Live")
    thing_make(tenant_a, "Archived", active=False)

    page = _html(client_a.get(THINGS + "?status=deactivated"))

    assert "Archived" in page and "Live" not in page
    assert 'aria-label="Restore Archived"' in page
    everything = _html(client_a.get(THINGS + "?status=all"))
    assert "Archived" in everything and "Live" in everything


def test_name_search_narrows_the_list(tenant_a, client_a):
    thing_make(tenant_a, "Customers")
    thing_make(tenant_a, "Invoices")

    page = _html(client_a.get(THINGS + "?q=cust"))

    assert "Customers" in page and "Invoices" not in page


def test_list_is_paginated_by_ui_page_size(tenant_a, client_a, settings):
    settings.UI_PAGE_SIZE = 2
    for name in ["A thing", "B thing", "C thing"]:
        thing_make(tenant_a, name)

    first = _html(client_a.get(THINGS))
    second = _html(client_a.get(THINGS + "?page=2"))

    assert "A thing" in first and "C thing" not in first
    assert "Page 1 of 2" in first and "?page=2" in first
    assert "C thing" in second and "A thing" not in second


@pytest.mark.parametrize("rows", [1, 30])
def test_list_costs_a_fixed_number_of_queries(
    tenant_a, client_a, django_assert_max_num_queries, rows
):
    for number in range(rows):
        thing = thing_make(tenant_a, f"Thing {number}")
        field_make(tenant_a, thing, "Name")
        with in_tenant(tenant_a):
            Entry.objects.create(thing=thing)

    with django_assert_max_num_queries(8):  # 6 are the shell's
        response = client_a.get(THINGS)

    assert response.status_code == 200
    assert _html(response).count('<tr id="thing-') == rows


def test_creating_a_thing_writes_it_through_the_writer_as_the_user(
    tenant_a, client_a, admin_a
):
    response = client_a.post(
        THINGS, {"new-name": "  Customers ", "new-description": "People who pay"}
    )

    assert response.status_code == 302
    assert response["Location"] == THINGS
    with in_tenant(tenant_a):
        thing = Thing.objects.get(name="Customers")  # stripped by the writer
    assert thing.description == "People who pay"
    assert thing.created_by == admin_a.pk
    assert "Created “Customers”." in _html(client_a.get(THINGS))


def test_htmx_create_answers_with_the_list_fragment(tenant_a, client_a):
    response = client_a.post(
        THINGS, {"new-name": "Customers"}, headers={"HX-Request": "true"}
    )

    page = _html(response)
    assert response.status_code == 200
    assert "<html" not in page
    assert "Customers" in page and "Created “Customers”." in page


def test_a_second_active_thing_with_the_same_name_is_refused_next_to_the_name(
    tenant_a, client_a
):
    thing_make(tenant_a, "Customers")

    response = client_a.post(
        THINGS, {"new-name": "Customers"}, headers={"HX-Request": "true"}
    )

    page = _html(response)
    assert response.status_code == 400
    assert "An active thing is already named “Customers”." in page
    name_input = page.index('id="id_new-name"')
    assert page.index("already named", name_input) - name_input < 300
    with in_tenant(tenant_a):
        assert Thing.objects.filter(name="Customers").count() == 1


def test_a_blank_name_is_refused_in_words(tenant_a, client_a):
    response = client_a.post(THINGS, {"new-name": "   "})

    assert response.status_code == 400
    assert "This field is required." in _html(response)
    with in_tenant(tenant_a):
        assert not Thing.objects.exists()


def test_rename_and_new_description_are_saved(tenant_a, client_a):
    thing = thing_make(tenant_a, "Custmers")
    edit = f"{THINGS}{thing.pk}/edit/"

    form = _html(client_a.get(edit, headers={"HX-Request": "true"}))
    assert 'value="Custmers"' in form and "autofocus" in form

    response = client_a.post(
        edit, {"edit-name": "Customers", "edit-description": "People who pay"}
    )

    assert response.status_code == 302
    with in_tenant(tenant_a):
        thing.refresh_from_db()
    assert (thing.name, thing.description) == ("Customers", "People who pay")
    assert thing.updated_at > thing.created_at


def test_rename_to_a_taken_name_is_refused_in_the_row(tenant_a, client_a):
    thing_make(tenant_a, "Customers")
    other = thing_make(tenant_a, "Clients")

    response = client_a.post(
        f"{THINGS}{other.pk}/edit/", {"edit-name": "Customers", "edit-description": ""}
    )

    assert response.status_code == 400
    page = _html(response)
    assert 'id="id_edit-name"' in page
    assert "An active thing is already named “Customers”." in page


def test_deactivate_hides_the_thing_and_restore_brings_it_back(tenant_a, client_a):
    thing = thing_make(tenant_a, "Customers")
    field_make(tenant_a, thing, "Name")

    response = client_a.post(f"{THINGS}{thing.pk}/deactivate/")

    assert response.status_code == 302
    with in_tenant(tenant_a):
        thing.refresh_from_db()
        assert thing.fields.filter(active=True).count() == 1  # kept as they were
    assert thing.active is False
    assert 'id="thing-' not in _html(client_a.get(THINGS))

    client_a.post(f"{THINGS}{thing.pk}/restore/")

    with in_tenant(tenant_a):
        thing.refresh_from_db()
    assert thing.active is True
    assert f'id="thing-{thing.pk}"' in _html(client_a.get(THINGS))


def test_restore_is_refused_while_an_active_thing_has_its_name(tenant_a, client_a):
    old = thing_make(tenant_a, "Customers", active=False)
    thing_make(tenant_a, "Customers")

    response = client_a.post(
        f"{THINGS}{old.pk}/restore/?status=deactivated",
        headers={"HX-Request": "true"},
    )

    assert response.status_code == 400
    assert "An active thing is already named “Customers”." in _html(response)
    with in_tenant(tenant_a):
        old.refresh_from_db()
    assert old.active is False


def test_actions_keep_the_lists_filters_and_page(tenant_a, client_a):
    thing = thing_make(tenant_a, "Archived", active=False)

    response = client_a.post(f"{THINGS}{thing.pk}/restore/?status=deactivated&q=arc")

    assert response["Location"] == THINGS + "?status=deactivated&q=arc"


def test_viewer_sees_things_without_edit_controls(tenant_a, viewer_client_a):
    thing_make(tenant_a, "Customers")

    page = _html(viewer_client_a.get(THINGS))

    assert "Customers" in page
    for control in ("Create thing", "/edit/", "/deactivate/", 'method="post" class'):
        assert control not in page


def test_viewer_gets_403_on_every_write(tenant_a, viewer_client_a):
    thing = thing_make(tenant_a, "Customers")
    old = thing_make(tenant_a, "Old", active=False)

    assert viewer_client_a.post(THINGS, {"new-name": "X"}).status_code == 403
    assert viewer_client_a.get(f"{THINGS}{thing.pk}/edit/").status_code == 403
    assert (
        viewer_client_a.post(f"{THINGS}{thing.pk}/edit/", {"edit-name": "Y"})
    ).status_code == 403
    assert viewer_client_a.post(f"{THINGS}{thing.pk}/deactivate/").status_code == 403
    assert viewer_client_a.post(f"{THINGS}{old.pk}/restore/").status_code == 403
    with in_tenant(tenant_a):
        assert sorted(Thing.objects.values_list("name", "active")) == [
            ("Customers", True),
            ("Old", False),
        ]


def test_editor_may_create_things(tenant_a, editor_a):
    from tests.clients import ui_client

    response = ui_client(editor_a).post(THINGS, {"new-name": "Customers"})

    assert response.status_code == 302


def test_a_member_of_b_gets_404_on_a_thing_urls(tenant_a, client_b):
    thing = thing_make(tenant_a, "Customers")

    for path in (THINGS, f"{THINGS}{thing.pk}/edit/"):
        assert client_b.get(path).status_code == 404
    for path in (f"{THINGS}{thing.pk}/deactivate/", THINGS):
        assert client_b.post(path, {"new-name": "X"}).status_code == 404


def test_a_thing_of_tenant_b_is_not_found_under_tenant_a(tenant_a, tenant_b, client_a):
    theirs = thing_make(tenant_b, "Theirs")
    with in_tenant(tenant_a):
        assert not Thing.objects.filter(pk=theirs.pk).exists()

    assert client_a.get(f"{THINGS}{theirs.pk}/edit/").status_code == 404
    assert client_a.post(f"{THINGS}{theirs.pk}/deactivate/").status_code == 404
    with in_tenant(tenant_b):
        theirs.refresh_from_db()
    assert theirs.active is True
