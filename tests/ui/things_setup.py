"""Things and fields for the things/fields page tests, made through the API's
writers in a session tenant's schema."""

from typing import Any

from gathergrid.models import Entry, Field, FieldEntry, Thing
from gathergrid.services import FieldWriter, ThingWriter
from pgrest.registry import WriteContext
from tests.factories import in_tenant

CTX = WriteContext(user_id=None)


def thing_make(created, name: str, **columns: Any) -> Thing:
    with in_tenant(created):
        [thing_id] = (
            ThingWriter().insert([{"name": name, **columns}], ctx=CTX, upsert=None).ids
        )
        return Thing.objects.get(pk=thing_id)


def field_make(created, thing: Thing, name: str, **columns: Any) -> Field:
    with in_tenant(created):
        row = {"thing_id": thing.pk, "name": name, **columns}
        [field_id] = FieldWriter().insert([row], ctx=CTX, upsert=None).ids
        return Field.objects.get(pk=field_id)


def value_make(created, field: Field, text: str) -> FieldEntry:
    """An entry of the field's thing holding ``text`` for the field."""
    with in_tenant(created):
        entry = Entry.objects.create(thing_id=field.thing_id)
        return FieldEntry.objects.create(entry=entry, field=field, entered_value=text)
