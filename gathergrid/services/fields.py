"""Fields of a thing: types, options, positions."""

from typing import Any

from django.db import transaction
from django.db.models import Max

from core.errors import (
    REQUIRED,
)
from core.writes import WriteContext
from gathergrid.models import (
    Field,
    FieldDataType,
    FieldEntry,
    Thing,
)
from gathergrid.selectors import field_positions
from gathergrid.services.base import (
    ModelWriter,
    active_set,
    invalid,
    name_clean,
    row_label,
    written_once,
)


class FieldWriter(ModelWriter):
    model = Field

    def clean(self, row, *, index, ctx, creating):
        cleaned = super().clean(row, index=index, ctx=ctx, creating=creating)
        if creating:
            for column in ("thing_id", "name"):
                if column not in cleaned:
                    raise invalid(column, "is required", row=index, code=REQUIRED)
        if "name" in cleaned:
            cleaned["name"] = name_clean(cleaned["name"], row=index)
        if "data_type" in cleaned and cleaned["data_type"] not in FieldDataType.values:
            raise invalid(
                "data_type",
                f"must be one of {', '.join(FieldDataType.values)}",
                row=index,
            )
        if creating or "options" in cleaned or "data_type" in cleaned:
            data_type = cleaned.get(
                "data_type", FieldDataType.TEXT if creating else None
            )
            if data_type is not None:
                cleaned["options"] = self.clean_options(
                    data_type, cleaned.get("options", {}), index=index
                )
        return cleaned

    def clean_options(self, data_type: str, options: Any, *, index) -> dict:
        if options is None:
            options = {}
        if isinstance(options, list):
            options = {"choices": options}
        if not isinstance(options, dict):
            raise invalid("options", "must be a JSON object", row=index)
        if data_type in {FieldDataType.CHOICE, FieldDataType.MULTI_CHOICE}:
            choices = options.get("choices")
            if (
                not isinstance(choices, list)
                or not choices
                or not all(isinstance(c, str) and c.strip() for c in choices)
            ):
                raise invalid(
                    "options",
                    'a choice field needs {"choices": ["...", ...]} '
                    "(non-empty strings)",
                    row=index,
                )
            if len(set(choices)) != len(choices):
                raise invalid("options", "choices must be distinct", row=index)
        if data_type == FieldDataType.REFERENCE:
            target = options.get("thing_id")
            if not isinstance(target, int) or isinstance(target, bool):
                raise invalid(
                    "options",
                    'a reference field needs {"thing_id": <id of the '
                    "referenced thing>}",
                    row=index,
                )
            if not Thing.objects.filter(pk=target).exists():
                raise invalid("options", f"thing {target} does not exist", row=index)
        return options

    def insert(self, rows, *, ctx, upsert):
        cleaned = [
            self.clean(row, index=row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        if upsert is None:
            positions_append(cleaned)
        given = {column for row in cleaned for column in row}
        return self.insert_rows(cleaned, ctx=ctx, upsert=upsert, given=given)

    def check_update(self, ids, values):
        if (
            "data_type" in values
            and FieldEntry.objects.filter(field_id__in=ids, entered_value__isnull=False)
            .exclude(field__data_type=values["data_type"])
            .exists()
        ):
            raise invalid(
                "data_type",
                "cannot change the type of a field that has values; "
                "add a new field instead",
            )
        if "options" in values and "data_type" not in values:
            for field in Field.objects.filter(pk__in=ids):
                values["options"] = self.clean_options(
                    field.data_type, values["options"], index=None
                )


def positions_append(rows: list[dict[str, Any]]) -> None:
    """New fields sent without a ``position`` go after their thing's others,
    in the order sent (as the browser UI adds them)."""
    thing_ids = {row["thing_id"] for row in rows if "position" not in row}
    if not thing_ids:
        return
    last = dict(
        Field.objects.filter(thing_id__in=thing_ids)
        .values("thing_id")
        .annotate(last=Max("position"))
        .values_list("thing_id", "last")
    )
    for row in rows:
        thing_id = row["thing_id"]
        if "position" in row:
            last[thing_id] = max(last.get(thing_id, -1), row["position"])
        else:
            row["position"] = last[thing_id] = last.get(thing_id, -1) + 1


FIELD_WRITER = FieldWriter()


def field_create(*, thing: Thing, values: dict[str, Any], by: WriteContext) -> int:
    """A new field of ``thing``, after its others unless ``values`` gives a
    ``position``; its id."""
    row = {**values, "thing_id": thing.pk}
    return written_once(
        lambda: FIELD_WRITER.insert([row], ctx=by, upsert=None).ids[0],
        name=str(values.get("name", "")),
    )


def field_update(*, field: Field, changes: dict[str, Any], by: WriteContext) -> None:
    """Change ``field``'s name, type, options or flags."""
    written_once(
        lambda: FIELD_WRITER.update([field.pk], changes, ctx=by),
        name=str(changes.get("name", field.name)),
    )


def field_set_active(*, field: Field, active: bool, by: WriteContext) -> None:
    """Deactivate (soft: its values stay) or restore ``field``."""
    active_set(FIELD_WRITER, field.pk, active=active, by=by, name=field.name)


def field_move(*, field: Field, direction: str, by: WriteContext) -> bool:
    """Swap an active field with its neighbour ``up`` or ``down``; False at an end.

    Positions are renumbered 0..n-1 in display order (fields made through the
    API may share a position), writing only the rows whose position changes.
    """
    with transaction.atomic():
        # One move of a thing's fields at a time: two at once would each
        # renumber from the order they read.
        list(Thing.objects.select_for_update().filter(pk=field.thing_id).values("pk"))
        current = dict(field_positions(thing_id=field.thing_id))
        order = list(current)
        if field.pk not in current:
            return False
        index = order.index(field.pk)
        other = index - 1 if direction == "up" else index + 1
        if other < 0 or other >= len(order):
            return False
        order[index], order[other] = order[other], order[index]
        for position, field_id in enumerate(order):
            if current[field_id] != position:
                FIELD_WRITER.update([field_id], {"position": position}, ctx=by)
    return True
