"""Values of entries (field entries): checked against their field, normalised,
written with their history."""

from typing import Any

from django.utils import timezone

from core.errors import (
    FOREIGN_KEY,
    REQUIRED,
    ApplicationError,
    Conflict,
)
from core.writes import InsertResult, Upsert, WriteContext
from gathergrid.models import (
    Entry,
    Field,
    FieldDataType,
    FieldEntry,
    HistoryAction,
)
from gathergrid.services.base import ModelWriter, invalid, row_label
from gathergrid.services.history import history_row, history_write, jsonable
from gathergrid.values import InvalidValue, as_text, normalise


class FieldEntryWriter(ModelWriter):
    model = FieldEntry

    def clean(self, row, *, index, ctx, creating):
        row = dict(row)
        if "value" in row:
            alias = row.pop("value")
            if "entered_value" in row and row["entered_value"] != alias:
                raise invalid(
                    "value", "give entered_value or value, not both", row=index
                )
            row["entered_value"] = alias
        if "entered_value" in row and row["entered_value"] is not None:
            value = row["entered_value"]
            if isinstance(value, dict | list | bool | int | float):
                row["entered_value"] = as_text(value)
        cleaned = super().clean(row, index=index, ctx=ctx, creating=creating)
        if creating:
            for column in ("entry_id", "field_id"):
                if column not in cleaned:
                    raise invalid(column, "is required", row=index, code=REQUIRED)
        return cleaned

    def insert(self, rows, *, ctx, upsert):
        cleaned = [
            self.clean(row, index=row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        return values_write(cleaned, ctx=ctx, upsert=upsert, writer=self)

    def update(self, ids, values, *, ctx):
        cleaned = self.clean(values, index=None, ctx=ctx, creating=False)
        rows = list(
            FieldEntry.objects.filter(pk__in=ids).select_related("field").order_by("id")
        )
        history = []
        now = timezone.now()
        changed: list[int] = []
        for entry_value in rows:
            update = dict(cleaned)
            if "entered_value" in update:
                field = entry_value.field
                try:
                    normal = normalise(
                        field.data_type, field.options, update["entered_value"]
                    )
                except InvalidValue as error:
                    raise invalid("entered_value", str(error), row=None) from None
                if normal.text is None and field.mandatory:
                    raise invalid(
                        "entered_value",
                        f"'{field.name}' is mandatory; its value cannot be cleared",
                    )
                update["entered_value"] = normal.text
                update.update(normal.shadow_values())
            if update.get("active") is False and entry_value.field.mandatory:
                raise invalid(
                    "active",
                    f"'{entry_value.field.name}' is mandatory; "
                    "its value cannot be removed",
                )
            self.update_rows([entry_value.id], update)
            changed.append(entry_value.id)
            before = {
                k: jsonable(getattr(entry_value, k))
                for k in cleaned
                if k in ("entered_value", "active")
            }
            after = {k: jsonable(update[k]) for k in before}
            if before != after:
                history.append(
                    history_row(
                        entry_value.entry_id,
                        HistoryAction.UPDATE,
                        ctx=ctx,
                        field_id=entry_value.field_id,
                        before=before,
                        after=after,
                        at=now,
                    )
                )
        history_write(history)
        return changed

    def delete(self, ids, *, ctx):
        rows = list(
            FieldEntry.objects.filter(pk__in=ids).select_related("field").order_by("id")
        )
        for row in rows:
            if row.field.mandatory:
                raise invalid(
                    "active",
                    f"'{row.field.name}' is mandatory; its value cannot be removed",
                )
        changed = self.update_rows([row.id for row in rows], {"active": False})
        now = timezone.now()
        history_write(
            history_row(
                row.entry_id,
                HistoryAction.DEACTIVATE,
                ctx=ctx,
                field_id=row.field_id,
                before={"entered_value": row.entered_value, "active": True},
                after={"entered_value": row.entered_value, "active": False},
                at=now,
            )
            for row in rows
            if row.active
        )
        return changed


def value_check(
    row: dict[str, Any],
    index: int,
    total: int,
    *,
    entries: dict[int, int],
    fields: dict[int, Field],
):
    """One value checked against its entry and field (not its reference
    target: see ``_first_bad_reference``); its normal form."""
    label = row_label(index, total)
    if row["entry_id"] not in entries:
        raise Conflict(
            'insert or update on table "field_entries" violates foreign key '
            'constraint "field_entries_entry_id_fkey"',
            code=FOREIGN_KEY,
            details=f"Key (entry_id)=({row['entry_id']}) is not present in table "
            '"entries".',
        )
    field = fields.get(row["field_id"])
    if field is None:
        raise Conflict(
            'insert or update on table "field_entries" violates foreign key '
            'constraint "field_entries_field_id_fkey"',
            code=FOREIGN_KEY,
            details=f"Key (field_id)=({row['field_id']}) is not present in table "
            '"fields".',
        )
    if field.thing_id != entries[row["entry_id"]]:
        raise invalid(
            "field_id",
            f"field {field.id} ('{field.name}') belongs to thing {field.thing_id}, "
            f"not to the entry's thing {entries[row['entry_id']]}",
            row=label,
        )
    if not field.active:
        raise invalid("field_id", f"field '{field.name}' is inactive", row=label)
    try:
        normal = normalise(field.data_type, field.options, row.get("entered_value"))
    except InvalidValue as error:
        raise invalid("entered_value", f"'{field.name}': {error}", row=label) from None
    if normal.text is None and field.mandatory:
        raise invalid(
            "entered_value",
            f"'{field.name}' is mandatory and needs a value",
            row=label,
        )
    return normal


def referable_entries(wanted: dict[Any, set[int]]) -> dict[Any, set[int]]:
    """Of the entry ids wanted per target thing, those a reference may name:
    entries of that thing not in the trash. One query per target thing."""
    return {
        target: set(
            Entry.objects.filter(thing_id=target, pk__in=ids, active=True).values_list(
                "pk", flat=True
            )
        )
        for target, ids in wanted.items()
    }


def first_bad_reference(
    references: list[tuple[int, Field, Any]],
) -> tuple[int, Field, Any] | None:
    """The first value naming no entry of its field's target thing: one query
    per target thing, whatever the number of values."""
    wanted: dict[Any, set[int]] = {}
    for _, field, normal in references:
        if normal.text is not None:
            target = (field.options or {}).get("thing_id")
            wanted.setdefault(target, set()).add(int(normal.number))
    found = referable_entries(wanted)
    for reference in references:
        _, field, normal = reference
        target = (field.options or {}).get("thing_id")
        if normal.text is not None and int(normal.number) not in found[target]:
            return reference
    return None


def values_write(
    rows: list[dict[str, Any]],
    *,
    ctx: WriteContext,
    upsert: Upsert | None,
    writer: FieldEntryWriter,
) -> InsertResult:
    """Insert (or upsert) field values: checked against their field, one statement."""
    entry_ids = {row["entry_id"] for row in rows}
    field_ids = {row["field_id"] for row in rows}
    entries = dict(Entry.objects.filter(pk__in=entry_ids).values_list("id", "thing_id"))
    fields = {f.id: f for f in Field.objects.filter(pk__in=field_ids)}
    total = len(rows)
    prepared = []
    # References are checked after the loop, one query per referenced thing;
    # the first bad row (in the order sent) is the one reported.
    references: list[tuple[int, Field, Any]] = []
    failure: tuple[int, ApplicationError] | None = None
    for index, row in enumerate(rows):
        try:
            normal = value_check(row, index, total, entries=entries, fields=fields)
        except ApplicationError as error:
            failure = (index, error)
            break
        field = fields[row["field_id"]]
        if field.data_type == FieldDataType.REFERENCE:
            references.append((index, field, normal))
        prepared.append({**row, "entered_value": normal.text, **normal.shadow_values()})
    bad = first_bad_reference(references)
    if bad is not None and (failure is None or bad[0] < failure[0]):
        index, field, normal = bad
        raise invalid(
            "entered_value",
            f"'{field.name}': entry {normal.text} is not an active entry "
            f"of thing {(field.options or {}).get('thing_id')}",
            row=row_label(index, total),
        )
    if failure is not None:
        raise failure[1]
    existing: dict[tuple[int, int], tuple[str | None, bool]] = {}
    if upsert is not None:
        for entry_id, field_id, value, active in FieldEntry.objects.filter(
            entry_id__in=entry_ids, field_id__in=field_ids
        ).values_list("entry_id", "field_id", "entered_value", "active"):
            existing[(entry_id, field_id)] = (value, active)
    given = {c for row in prepared for c in row} | set(
        ("value_number", "value_date", "value_datetime", "value_boolean", "value_json")
    )
    result = writer.insert_rows(prepared, ctx=ctx, upsert=upsert, given=given)
    now = timezone.now()
    history = []
    for row in prepared:
        key = (row["entry_id"], row["field_id"])
        if key in existing:
            if upsert is not None and upsert.ignore_duplicates:
                continue
            before_value, _ = existing[key]
            if before_value == row["entered_value"]:
                continue
            action, before = HistoryAction.UPDATE, {"entered_value": before_value}
        else:
            action, before = HistoryAction.CREATE, None
        history.append(
            history_row(
                row["entry_id"],
                action,
                ctx=ctx,
                field_id=row["field_id"],
                before=before,
                after={"entered_value": row["entered_value"]},
                at=now,
            )
        )
    history_write(history)
    return result


FIELD_ENTRY_WRITER = FieldEntryWriter()
