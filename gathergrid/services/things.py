"""Things (entity types) and classification items."""

from typing import Any

from core.writes import WriteContext
from gathergrid.models import (
    ClassificationItem,
    Thing,
)
from gathergrid.services.base import NamedWriter, active_set, invalid, written_once


class ThingWriter(NamedWriter):
    model = Thing


class ClassificationItemWriter(NamedWriter):
    model = ClassificationItem

    def check_update(self, ids, values):
        parent = values.get("parent_id")
        if parent is None:
            return
        ancestors = set()
        current = parent
        while current is not None and current not in ancestors:
            if current in ids:
                raise invalid("parent_id", "an item cannot be its own ancestor")
            ancestors.add(current)
            current = (
                ClassificationItem.objects.filter(pk=current)
                .values_list("parent_id", flat=True)
                .first()
            )


THING_WRITER = ThingWriter()
CLASSIFICATION_ITEM_WRITER = ClassificationItemWriter()


def thing_create(*, values: dict[str, Any], by: WriteContext) -> int:
    """A new thing (``name``, ``description``); its id."""
    return written_once(
        lambda: THING_WRITER.insert([values], ctx=by, upsert=None).ids[0],
        name=str(values.get("name", "")),
    )


def thing_update(*, thing: Thing, changes: dict[str, Any], by: WriteContext) -> None:
    """Rename or describe ``thing``."""
    written_once(
        lambda: THING_WRITER.update([thing.pk], changes, ctx=by),
        name=str(changes.get("name", thing.name)),
    )


def thing_set_active(*, thing: Thing, active: bool, by: WriteContext) -> None:
    """Deactivate (soft: its entries stay) or restore ``thing``."""
    active_set(THING_WRITER, thing.pk, active=active, by=by, name=thing.name)


def classification_item_create(*, values: dict[str, Any], by: WriteContext) -> int:
    """A new classification item (``name``, optional ``parent_id``); its id."""
    return written_once(
        lambda: CLASSIFICATION_ITEM_WRITER.insert([values], ctx=by, upsert=None).ids[0],
        name=str(values.get("name", "")),
    )


def classification_item_update(
    *, item: ClassificationItem, changes: dict[str, Any], by: WriteContext
) -> None:
    """Rename ``item`` or move it under another parent."""
    written_once(
        lambda: CLASSIFICATION_ITEM_WRITER.update([item.pk], changes, ctx=by),
        name=str(changes.get("name", item.name)),
    )
