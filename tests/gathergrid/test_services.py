"""The entity-entry services, called directly (not through a face): their
rules, their structured errors and their transactions."""

import pytest

from core.errors import FOREIGN_KEY, REQUIRED, UNIQUE, Conflict, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import Entry, EntryHistory, Field, FieldEntry, Thing
from gathergrid.services import entries, fields, things
from gathergrid.services.field_entries import FIELD_ENTRY_WRITER
from tests.factories import in_tenant

BY = WriteContext(user_id=None)


@pytest.fixture
def people(tenant_a):
    with in_tenant(tenant_a):
        thing_id = things.thing_create(values={"name": "People"}, by=BY)
        yield Thing.objects.get(pk=thing_id)


def _field(thing: Thing, name: str, **values) -> Field:
    return Field.objects.get(
        pk=fields.field_create(thing=thing, values={"name": name, **values}, by=BY)
    )


def test_a_blank_thing_name_names_the_field_and_the_reason(tenant_a):
    with in_tenant(tenant_a), pytest.raises(ValidationFailed) as raised:
        things.thing_create(values={"name": "   "}, by=BY)
    assert (raised.value.field, raised.value.row) == ("name", None)
    assert raised.value.reason == "may not be blank"
    assert raised.value.message == "name: may not be blank"


def test_a_thing_without_a_name_is_a_required_failure(tenant_a):
    with in_tenant(tenant_a), pytest.raises(ValidationFailed) as raised:
        things.thing_create(values={"description": "x"}, by=BY)
    assert raised.value.code == REQUIRED
    assert raised.value.field == "name"


def test_a_duplicate_active_name_is_a_conflict_in_words(people):
    with pytest.raises(Conflict) as raised:
        things.thing_create(values={"name": "People"}, by=BY)
    error = raised.value
    assert (error.code, error.field, error.status) == (UNIQUE, "name", 409)
    assert error.reason == "An active thing is already named “People”."
    # PostgreSQL's own words stay the message (the REST face answers them).
    assert "things_name_unique_active" in error.message
    # The failed write was its own transaction: the connection still works.
    assert Thing.objects.filter(name="People").count() == 1


def test_a_duplicate_field_name_is_a_conflict_on_the_name(people):
    _field(people, "Email")
    with pytest.raises(Conflict) as raised:
        _field(people, "Email")
    assert raised.value.field == "name"
    assert raised.value.reason == (
        "This thing already has an active field named “Email”."
    )


def test_fields_are_appended_and_move_by_swapping_neighbours(people):
    a, b, c = (_field(people, name) for name in "ABC")
    assert [f.position for f in (a, b, c)] == [0, 1, 2]
    assert fields.field_move(field=c, direction="up", by=BY) is True
    order = list(
        Field.objects.filter(thing=people)
        .order_by("position")
        .values_list("name", flat=True)
    )
    assert order == ["A", "C", "B"]
    assert fields.field_move(field=a, direction="up", by=BY) is False


def test_an_entry_lacking_a_required_value_is_refused_and_nothing_is_written(
    people,
):
    _field(people, "Name", required_for_initialization=True)
    with pytest.raises(ValidationFailed) as raised:
        entries.entry_create(thing_id=people.pk, columns={}, values={}, by=BY)
    assert raised.value.field == "field_entries"
    assert raised.value.reason == ("missing required-for-initialization value(s): Name")
    assert not Entry.objects.filter(thing=people).exists()


def test_an_entry_with_a_bad_value_writes_neither_entry_nor_values(people):
    _field(people, "Name", required_for_initialization=True)
    _field(people, "Age", data_type="integer")
    with pytest.raises(ValidationFailed) as raised:
        entries.entry_create(
            thing_id=people.pk,
            columns={},
            values={"Name": "Ada", "Age": "old"},
            by=BY,
        )
    assert raised.value.field == "entered_value"
    assert "'Age'" in raised.value.reason
    assert not Entry.objects.filter(thing=people).exists()
    assert not FieldEntry.objects.exists()


def test_entry_update_and_trash_record_history(people):
    _field(people, "Name")
    entry_id = entries.entry_create(
        thing_id=people.pk, columns={}, values={"Name": "Ada"}, by=BY
    )
    entry = Entry.objects.get(pk=entry_id)
    entries.entry_update(entry=entry, changes={"values": {"Name": "Grace"}}, by=BY)
    entries.entry_set_active(entry=entry, active=False, by=BY)
    entry.refresh_from_db()
    assert entry.active is False
    assert FieldEntry.objects.get(entry=entry).entered_value == "Grace"
    history = list(
        EntryHistory.objects.filter(entry_id=entry_id)
        .order_by("id")
        .values_list("action", "field_id", "after")
    )
    name = Field.objects.get(thing=people, name="Name").pk
    assert history == [
        ("create", None, history[0][2]),
        ("create", name, {"entered_value": "Ada"}),
        ("update", name, {"entered_value": "Grace"}),
        ("deactivate", None, history[3][2]),
    ]


def test_a_value_for_a_missing_entry_is_a_foreign_key_conflict(people):
    field = _field(people, "Name")
    with pytest.raises(Conflict) as raised:
        FIELD_ENTRY_WRITER.insert(
            [{"entry_id": 987654, "field_id": field.pk, "entered_value": "x"}],
            ctx=BY,
            upsert=None,
        )
    assert raised.value.code == FOREIGN_KEY
    assert (
        raised.value.details
        == 'Key (entry_id)=(987654) is not present in table "entries".'
    )


def test_rows_of_a_bulk_write_are_named_by_their_index(people):
    with pytest.raises(ValidationFailed) as raised:
        things.THING_WRITER.insert([{"name": "Ok"}, {"name": ""}], ctx=BY, upsert=None)
    assert raised.value.row == 1
    assert raised.value.message == "row 1: name: may not be blank"


def test_names_are_unique_ignoring_case(people):
    with pytest.raises(Conflict) as raised:
        things.thing_create(values={"name": "PEOPLE"}, by=BY)
    assert raised.value.field == "name"
    _field(people, "Email")
    with pytest.raises(Conflict):
        _field(people, "email")


@pytest.mark.parametrize("name", ["Cus\u200btomers", "\u200b", "A\nB", "\ufeffX"])
def test_names_with_invisible_characters_are_refused(tenant_a, name):
    with in_tenant(tenant_a):
        with pytest.raises(ValidationFailed) as raised:
            things.thing_create(values={"name": name}, by=BY)
        assert raised.value.field == "name"
        assert not Thing.objects.filter(name=name).exists()


def test_a_field_name_with_a_zero_width_space_is_refused(people):
    with pytest.raises(ValidationFailed) as raised:
        _field(people, "E\u200bmail")
    assert raised.value.reason == "may not contain invisible or control characters"


def test_a_reference_to_a_trashed_entry_is_refused(people, tenant_a):
    teams_id = things.thing_create(values={"name": "Teams"}, by=BY)
    teams = Thing.objects.get(pk=teams_id)
    _field(teams, "Title")
    team = Entry.objects.get(
        pk=entries.entry_create(
            thing_id=teams_id, columns={}, values={"Title": "Red"}, by=BY
        )
    )
    _field(people, "Team", data_type="reference", options={"thing_id": teams_id})
    ok = entries.entry_create(
        thing_id=people.pk, columns={}, values={"Team": str(team.id)}, by=BY
    )
    assert ok
    entries.entry_set_active(entry=team, active=False, by=BY)
    with pytest.raises(ValidationFailed) as raised:
        entries.entry_create(
            thing_id=people.pk, columns={}, values={"Team": str(team.id)}, by=BY
        )
    assert "is not an active entry" in raised.value.reason


def test_the_migration_renames_names_that_differed_only_in_case(tenant_a):
    from importlib import import_module

    from django.db import connection

    migration = import_module("gathergrid.migrations.0006_names_unique_ignoring_case")
    with in_tenant(tenant_a):
        with connection.cursor() as cursor:  # as before 0006 (rolled back)
            cursor.execute("DROP INDEX things_name_unique_active")
            cursor.execute("DROP INDEX fields_thing_name_unique_active")
        first, second, gone = Thing.objects.bulk_create(
            [Thing(name="customers"), Thing(name="Customers"), Thing(name="CUSTOMERS")]
        )
        Thing.objects.filter(pk=gone.pk).update(active=False)
        Field.objects.bulk_create(
            [Field(thing=first, name="Email"), Field(thing=first, name="email")]
        )
        with connection.cursor() as cursor:
            cursor.execute(migration.RENAME_THINGS)
            cursor.execute(migration.RENAME_FIELDS)
        names = dict(Thing.objects.values_list("id", "name"))
        assert names[first.pk] == "customers"
        assert names[second.pk] == f"Customers ({second.pk})"
        assert names[gone.pk] == "CUSTOMERS"  # inactive: left as it was
        assert sorted(
            Field.objects.filter(thing=first).values_list("name", flat=True)
        ) == [
            "Email",
            f"email ({Field.objects.get(thing=first, name__startswith='email').pk})",
        ]


def test_an_update_conditional_on_what_was_seen_refuses_a_stale_value(people):
    _field(people, "Name")
    entry = Entry.objects.get(
        pk=entries.entry_create(
            thing_id=people.pk, columns={}, values={"Name": "Ada"}, by=BY
        )
    )
    entries.entry_update(
        entry=entry, changes={"values": {"Name": "Grace"}}, by=BY, seen={"Name": "Ada"}
    )
    with pytest.raises(Conflict) as raised:
        entries.entry_update(
            entry=entry,
            changes={"values": {"Name": "Mine"}},
            by=BY,
            seen={"Name": "Ada"},  # what this caller saw before Grace
        )
    assert (raised.value.code, raised.value.field) == ("stale", "Name")
    assert "“Grace”" in raised.value.reason
    assert FieldEntry.objects.get(entry=entry).entered_value == "Grace"
    entries.entry_update(
        entry=entry,
        changes={"validity_start_date": "2025-01-01"},
        by=BY,
        seen={"validity_start_date": ""},
    )
    with pytest.raises(Conflict):
        entries.entry_update(
            entry=entry,
            changes={"validity_start_date": "2026-01-01"},
            by=BY,
            seen={"validity_start_date": ""},
        )
