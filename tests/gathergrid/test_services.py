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
