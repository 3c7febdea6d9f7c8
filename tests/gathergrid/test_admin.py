"""The domain's admins (gathergrid/admin.py): entries found by their values,
edits validated and recorded by the domain's writers, soft delete with history,
a fixed query count. The admin site itself: tests/tenants/test_admin_site.py."""

from gathergrid.models import Entry, EntryHistory, Field, FieldEntry, Thing
from tenants.admin_site import TENANT_FORM_FIELD
from tests.admin_pages import (
    change_url,
    changelist_queries,
    changelist_url,
    form_data,
    pick,
)
from tests.factories import in_tenant

# -- search and filters ----------------------------------------------------------------


def test_entries_are_found_by_a_value_and_filtered_by_active(root, tenant_a):
    with in_tenant(tenant_a):
        thing = Thing.objects.create(name="Company")
        name = Field.objects.create(thing=thing, name="Name")
        acme = Entry.objects.create(thing=thing)
        globex = Entry.objects.create(thing=thing, active=False)
        FieldEntry.objects.create(entry=acme, field=name, entered_value="Acme Corp")
        FieldEntry.objects.create(entry=globex, field=name, entered_value="Globex")
    pick(root, "tenant_a")
    found = root.get(changelist_url(Entry), {"q": "acme"}).context["cl"].result_list
    assert [e.pk for e in found] == [acme.pk]
    by_id = root.get(changelist_url(Entry), {"q": str(globex.pk)})
    assert [e.pk for e in by_id.context["cl"].result_list] == [globex.pk]
    inactive = root.get(changelist_url(Entry), {"active__exact": "0"})
    assert [e.pk for e in inactive.context["cl"].result_list] == [globex.pk]


# -- writes go through the services --------------------------------------------------


def test_entry_edit_is_validated_and_recorded_by_the_entry_writer(root, tenant_a):
    with in_tenant(tenant_a):
        thing = Thing.objects.create(name="Company")
        entry = Entry.objects.create(thing=thing)
    pick(root, "tenant_a")
    data = form_data(root, change_url(entry), "entry_form")

    bad = root.post(
        change_url(entry),
        {
            **data,
            "validity_start_date": "2026-05-01",
            "validity_end_date": "2026-04-01",
        },
    )
    assert bad.status_code == 200
    assert "must not be before validity_start_date" in bad.content.decode()

    good = root.post(change_url(entry), {**data, "validity_end_date": "2026-04-01"})
    assert good.status_code == 302, good.content
    with in_tenant(tenant_a):
        entry.refresh_from_db()
        assert str(entry.validity_end_date) == "2026-04-01"
        [change] = EntryHistory.objects.filter(entry=entry)
        assert change.after == {"validity_end_date": "2026-04-01"}
        assert str(change.changed_by) == root.session["_auth_user_id"]


def test_value_edit_is_normalised_checked_and_recorded(root, tenant_a):
    with in_tenant(tenant_a):
        thing = Thing.objects.create(name="Company")
        size = Field.objects.create(thing=thing, name="Size", data_type="integer")
        entry = Entry.objects.create(thing=thing)
        value = FieldEntry.objects.create(
            entry=entry, field=size, entered_value="5", value_number=5
        )
    pick(root, "tenant_a")
    data = form_data(root, change_url(value), "fieldentry_form")

    bad = root.post(change_url(value), {**data, "entered_value": "many"})
    assert bad.status_code == 200
    assert "errorlist" in bad.content.decode()

    good = root.post(change_url(value), {**data, "entered_value": " 42 "})
    assert good.status_code == 302, good.content
    with in_tenant(tenant_a):
        value.refresh_from_db()
        assert (value.entered_value, value.value_number) == ("42", 42)
        [change] = EntryHistory.objects.filter(entry=entry, field=size)
        assert (change.before, change.after) == (
            {"entered_value": "5"},
            {"entered_value": "42"},
        )


def test_entries_are_deactivated_and_restored_with_history_never_deleted(
    root, tenant_a
):
    with in_tenant(tenant_a):
        thing = Thing.objects.create(name="Company")
        entry = Entry.objects.create(thing=thing)
    pick(root, "tenant_a")
    url = changelist_url(Entry)
    for action in ("deactivate_selected", "restore_selected"):
        response = root.post(
            url,
            {
                "action": action,
                "_selected_action": [entry.pk],
                TENANT_FORM_FIELD: "tenant_a",
            },
        )
        assert response.status_code == 302
    with in_tenant(tenant_a):
        actions = list(EntryHistory.objects.filter(entry=entry).values_list("action"))
        assert actions == [("deactivate",), ("restore",)]
        assert Entry.objects.get(pk=entry.pk).active
    delete = change_url(entry).replace("/change/", "/delete/")
    assert root.get(delete).status_code == 403


# -- fixed query counts ------------------------------------------------------------


def test_entry_list_costs_the_same_queries_for_one_row_as_for_thirty(root, tenant_a):
    with in_tenant(tenant_a):
        thing = Thing.objects.create(name="Company")
        Entry.objects.create(thing=thing)
    pick(root, "tenant_a")
    url = changelist_url(Entry)
    one = changelist_queries(root, url)
    with in_tenant(tenant_a):
        other = Thing.objects.create(name="Other")
        Entry.objects.bulk_create(
            Entry(thing=thing if i % 2 else other) for i in range(29)
        )
    assert changelist_queries(root, url) == one
    assert one <= 12


# -- database refusals in words --------------------------------------------------------


def test_a_taken_name_is_a_form_error_in_words_not_the_databases_text(root, tenant_a):
    from django.urls import reverse

    from tests.factories import field_make, thing_make

    thing = thing_make(tenant_a, "Customers")
    field_make(tenant_a, thing, "Name")
    pick(root, "tenant_a")
    add_thing = reverse("admin:gathergrid_thing_add")
    data = form_data(root, add_thing, "thing_form")
    for name in ("Customers", "customers"):
        page = root.post(add_thing, {**data, "name": name}).content.decode()
        assert f"An active thing is already named “{name}”." in page
        assert "duplicate key" not in page and "COPY" not in page
    add_field = reverse("admin:gathergrid_field_add")
    data = form_data(root, add_field, "field_form")
    page = root.post(
        add_field,
        {**data, "name": "Name", "thing": str(thing.pk), "data_type": "text"},
    ).content.decode()
    assert "This thing already has an active field named “Name”." in page
    assert "duplicate key" not in page and "COPY" not in page
    with in_tenant(tenant_a):
        assert Thing.objects.filter(name__iexact="customers").count() == 1


def test_other_database_refusals_are_words_from_their_sqlstate(tenant_a):
    from django.db import IntegrityError, connection, transaction

    from gathergrid.admin import database_refusal

    with in_tenant(tenant_a):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                cursor.execute(
                    "INSERT INTO field_entries (entry_id, field_id, entered_value,"
                    " active, created_at, updated_at)"
                    " VALUES (-1, -1, 'x', true, now(), now())"
                )
        except IntegrityError as error:
            refused = error
    field, words = database_refusal(FieldEntry, refused)
    assert field is None
    assert words == "It names a row that does not exist, or one that is still in use."
