"""Plain functions that make test data: members of a tenant, and (in a session
tenant's schema) things, fields, entries and classification items.

``created`` is a ``tenants.services.CreatedTenant`` (the ``tenant_a`` /
``tenant_b`` fixtures); the rows are rolled back with the test. Things, fields,
entries and items are written by the domain's writers, the ones its resources
register for /rest/v1 (gathergrid.resources), so validation, positions and
history are the real ones; ``value_make`` alone writes bare rows with the ORM."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection

from core.writes import WriteContext
from gathergrid.models import ClassificationItem, Entry, Field, FieldEntry, Thing
from gathergrid.resources import CLASSIFICATION_ITEMS, ENTRIES, FIELDS, THINGS
from tenants.models import Role, Tenant, User
from tenants.services import CreatedTenant, membership_set, user_ensure

PASSWORD = "correct horse battery staple"


@contextmanager
def in_tenant(created: CreatedTenant) -> Iterator[None]:
    """Run ORM code in ``created``'s schema, then put the connection back on
    ``public``."""
    connection.set_tenant(created.tenant)
    try:
        yield
    finally:
        connection.set_schema_to_public()


def member_make(
    tenant: Tenant, role: str = Role.ADMIN, email: str | None = None
) -> User:
    """A user (password ``PASSWORD``) in ``role`` of ``tenant``; the same email
    again is the same user, with that role."""
    email = email or f"{role}-{tenant.schema_name}@example.com"
    user, _ = user_ensure(email=email, password=PASSWORD)
    membership_set(user=user, tenant=tenant, role=role)
    return user


# --- Things, fields, entries (in the tenant's schema) ------------------------------

_things = THINGS.writer
_fields = FIELDS.writer
_entries = ENTRIES.writer
_items = CLASSIFICATION_ITEMS.writer


def _insert(writer, rows: Sequence[dict], user_id: str | None = None) -> list[int]:
    ctx = WriteContext(user_id=user_id)
    return list(writer.insert(list(rows), ctx=ctx, upsert=None).ids)


def thing_make(created, name: str, **columns: Any) -> Thing:
    """A thing without fields (``columns``: description, active, ...)."""
    with in_tenant(created):
        [thing_id] = _insert(_things, [{"name": name, **columns}])
        return Thing.objects.get(pk=thing_id)


def field_make(created, thing: Thing, name: str, **columns: Any) -> Field:
    """A field of ``thing`` (``columns``: data_type, position, options, ...);
    without a position it goes after the thing's others."""
    with in_tenant(created):
        [field_id] = _insert(_fields, [{"thing_id": thing.pk, "name": name, **columns}])
        return Field.objects.get(pk=field_id)


def value_make(created, field: Field, text: str) -> FieldEntry:
    """An entry of the field's thing holding ``text`` for the field: bare ORM
    rows (no normalising, no history)."""
    with in_tenant(created):
        entry = Entry.objects.create(thing_id=field.thing_id)
        return FieldEntry.objects.create(entry=entry, field=field, entered_value=text)


def item_make(created, name: str, **columns: Any) -> ClassificationItem:
    """A classification item (``columns``: parent_id, ...)."""
    with in_tenant(created):
        [item_id] = _insert(_items, [{"name": name, **columns}])
        return ClassificationItem.objects.get(pk=item_id)


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


@dataclass
class Made:
    thing: Thing
    fields: dict[str, Field]
    entry_ids: list[int]


def grid_make(
    created,
    *,
    name: str = "People",
    fields: list[dict] | None = None,
    entries: Sequence[dict] = (),
    user_id: str | None = None,
) -> Made:
    """A thing with ``fields`` (default: Name, Age, Born, Status, Vip; at
    positions 0, 1, ... unless a spec says) and ``entries`` (each
    ``{"values": {...}, ...entry columns}``, see ``person``): an entries grid."""
    with in_tenant(created):
        [thing_id] = _insert(_things, [{"name": name}], user_id)
        rows = [
            {"thing_id": thing_id, "position": index, **spec}
            for index, spec in enumerate(fields or DEFAULT_FIELDS)
        ]
        _insert(_fields, rows, user_id)
        rows = [{"thing_id": thing_id, **entry} for entry in entries]
        ids = _insert(_entries, rows, user_id) if rows else []
        thing = Thing.objects.get(pk=thing_id)
        made_fields = {f.name: f for f in Field.objects.filter(thing_id=thing_id)}
    return Made(thing=thing, fields=made_fields, entry_ids=ids)


def person(name: str, *, age=None, born=None, status="Open", vip=None) -> dict:
    """An entry of the default fields, for ``grid_make(entries=...)``."""
    values = {"Name": name, "Status": status}
    if age is not None:
        values["Age"] = age
    if born is not None:
        values["Born"] = born
    if vip is not None:
        values["Vip"] = vip
    return {"values": values}


def entry_values(created, entry_id: int) -> dict[str, str | None]:
    """{field name: entered_value} of an entry's active values."""
    with in_tenant(created):
        entry = Entry.objects.get(pk=entry_id)
        return {
            fe.field.name: fe.entered_value
            for fe in entry.field_entries.filter(active=True).select_related("field")
        }
