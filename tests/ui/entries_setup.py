"""Things, fields and entries for the entries-grid tests, written through the
same writers as the API (so history and validation are the real ones)."""

from dataclasses import dataclass

from gathergrid.models import ClassificationItem, Entry, Field, Thing
from gathergrid.resources import CLASSIFICATION_ITEMS, ENTRIES, FIELDS, THINGS
from pgrest.registry import WriteContext
from tests.factories import in_tenant


@dataclass
class Made:
    thing: Thing
    fields: dict[str, Field]
    entry_ids: list[int]


DEFAULT_FIELDS = [
    {"name": "Name", "data_type": "text", "required_for_initialization": True},
    {"name": "Age", "data_type": "integer"},
    {"name": "Born", "data_type": "date"},
    {
        "name": "Status",
        "data_type": "choice",
        "options": {"choices": ["Open", "Closed"]},
        "mandatory": True,
    },
    {"name": "Vip", "data_type": "boolean"},
]


def make_thing(
    created,
    *,
    name: str = "People",
    fields: list[dict] | None = None,
    entries: list[dict] = (),
    user_id: str | None = None,
) -> Made:
    """A thing with ``fields`` (default: Name, Age, Born, Status, Vip) and
    ``entries`` (each ``{"values": {...}, ...entry columns}``)."""
    ctx = WriteContext(user_id=user_id)
    with in_tenant(created):
        thing_id = THINGS.writer.insert([{"name": name}], ctx=ctx, upsert=None).ids[0]
        rows = [
            {"thing_id": thing_id, "position": index, **spec}
            for index, spec in enumerate(fields or DEFAULT_FIELDS)
        ]
        FIELDS.writer.insert(rows, ctx=ctx, upsert=None)
        ids = (
            ENTRIES.writer.insert(
                [{"thing_id": thing_id, **entry} for entry in entries],
                ctx=ctx,
                upsert=None,
            ).ids
            if entries
            else []
        )
        thing = Thing.objects.get(pk=thing_id)
        made_fields = {f.name: f for f in Field.objects.filter(thing_id=thing_id)}
    return Made(thing=thing, fields=made_fields, entry_ids=list(ids))


def make_item(created, name: str) -> ClassificationItem:
    with in_tenant(created):
        item_id = CLASSIFICATION_ITEMS.writer.insert(
            [{"name": name}], ctx=WriteContext(user_id=None), upsert=None
        ).ids[0]
        return ClassificationItem.objects.get(pk=item_id)


def entry_values(created, entry_id: int) -> dict[str, str | None]:
    """{field name: entered_value} of an entry's active values."""
    with in_tenant(created):
        entry = Entry.objects.get(pk=entry_id)
        return {
            fe.field.name: fe.entered_value
            for fe in entry.field_entries.filter(active=True).select_related("field")
        }


def person(name: str, *, age=None, born=None, status="Open", vip=None) -> dict:
    values = {"Name": name, "Status": status}
    if age is not None:
        values["Age"] = age
    if born is not None:
        values["Born"] = born
    if vip is not None:
        values["Vip"] = vip
    return {"values": values}
