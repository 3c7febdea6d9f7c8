"""Entries (records) with their values, soft-deleted with ``active=false``."""

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.errors import (
    FOREIGN_KEY,
    REQUIRED,
    STALE,
    Conflict,
    ValidationFailed,
)
from core.writes import Upsert, WriteContext
from gathergrid.models import (
    ClassificationItem,
    Entry,
    Field,
    FieldEntry,
    HistoryAction,
    Thing,
)
from gathergrid.services.base import ModelWriter, invalid, row_label
from gathergrid.services.field_entries import (
    FIELD_ENTRY_WRITER,
    FieldEntryWriter,
    values_write,
)
from gathergrid.services.history import history_row, history_write, jsonable
from gathergrid.values import is_empty

ENTRY_HISTORY_COLUMNS = (
    "classification_item_id",
    "validity_start_date",
    "validity_end_date",
    "active",
)


def required_values_missing(
    fields: Iterable[Field], filled: set[int], *, row: int | None = None
) -> ValidationFailed | None:
    """The failure of a new entry lacking values of required-for-initialization
    ``fields`` (``filled``: the ids of the fields it has values for), or None."""
    missing = sorted(
        f.name for f in fields if f.required_for_initialization and f.id not in filled
    )
    if not missing:
        return None
    return invalid(
        "field_entries",
        "missing required-for-initialization value(s): " + ", ".join(missing),
        row=row,
    )


class EntryWriter(ModelWriter):
    model = Entry

    def __init__(self, values_writer: FieldEntryWriter) -> None:
        super().__init__()
        self.values_writer = values_writer

    def clean(self, row, *, index, ctx, creating):
        row = dict(row)
        row.pop("field_entries", None)
        row.pop("values", None)
        cleaned = super().clean(row, index=index, ctx=ctx, creating=creating)
        if creating and "thing_id" not in cleaned:
            raise invalid("thing_id", "is required", row=index, code=REQUIRED)
        start = cleaned.get("validity_start_date")
        end = cleaned.get("validity_end_date")
        if start and end and end < start:
            raise invalid(
                "validity_end_date", "must not be before validity_start_date", row=index
            )
        return cleaned

    def nested_values(
        self, row: dict[str, Any], thing_fields: dict[str, Field], *, index
    ) -> list[dict[str, Any]] | None:
        """The values given with an entry (`field_entries` list or `values` object)."""
        if "field_entries" not in row and "values" not in row:
            return None
        values: list[dict[str, Any]] = []
        nested = row.get("field_entries")
        if nested is not None:
            if not isinstance(nested, list) or not all(
                isinstance(v, dict) for v in nested
            ):
                raise invalid("field_entries", "must be a list of objects", row=index)
            for item in nested:
                unknown = set(item) - {"field_id", "entered_value", "value"}
                if unknown:
                    raise invalid(
                        "field_entries",
                        f"unknown key(s) {', '.join(sorted(unknown))}",
                        row=index,
                    )
                values.append(dict(item))
        by_name = row.get("values")
        if by_name is not None:
            if not isinstance(by_name, dict):
                raise invalid(
                    "values", "must be an object of field name -> value", row=index
                )
            for name, value in by_name.items():
                field = thing_fields.get(name)
                if field is None:
                    raise invalid(
                        "values", f"no active field named '{name}'", row=index
                    )
                values.append({"field_id": field.id, "entered_value": value})
        return values

    def insert(self, rows, *, ctx, upsert):
        if upsert is not None and any(
            "field_entries" in row or "values" in row for row in rows
        ):
            raise invalid("field_entries", "nested values cannot be upserted")
        cleaned = [
            self.clean(row, index=row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        self._check_references(cleaned)
        thing_ids = {row["thing_id"] for row in cleaned}
        fields_by_thing: dict[int, dict[str, Field]] = defaultdict(dict)
        for field in Field.objects.filter(thing_id__in=thing_ids, active=True):
            fields_by_thing[field.thing_id][field.name] = field
        nested = [
            self.nested_values(
                row, fields_by_thing[c["thing_id"]], index=row_label(i, len(rows))
            )
            for i, (row, c) in enumerate(zip(rows, cleaned, strict=True))
        ]
        given = {column for row in cleaned for column in row}
        result = self.insert_rows(cleaned, ctx=ctx, upsert=upsert, given=given)
        ids = result.ids
        now = timezone.now()
        history_write(
            history_row(
                entry_id,
                HistoryAction.CREATE,
                ctx=ctx,
                after={k: jsonable(v) for k, v in row.items()},
                at=now,
            )
            for entry_id, row in zip(ids, cleaned, strict=False)
        )
        value_rows = []
        for index, (entry_id, row, values) in enumerate(
            zip(ids, cleaned, nested, strict=False)
        ):
            if values is None:
                continue
            label = row_label(index, len(rows))
            given_fields: set[int] = set()
            filled: set[int] = set()
            for value in values:
                item = self.values_writer.clean(
                    {"entry_id": entry_id, **value}, index=label, ctx=ctx, creating=True
                )
                if item["field_id"] in given_fields:
                    raise invalid(
                        "field_entries",
                        f"field {item['field_id']} given twice",
                        row=label,
                    )
                given_fields.add(item["field_id"])
                if not is_empty(item.get("entered_value")):
                    value_rows.append(item)
                    filled.add(item["field_id"])
            missing = required_values_missing(
                fields_by_thing[row["thing_id"]].values(), filled, row=label
            )
            if missing is not None:
                raise missing
        if value_rows:
            values_write(value_rows, ctx=ctx, upsert=None, writer=self.values_writer)
        return result

    def _check_references(self, rows: list[dict[str, Any]]) -> None:
        thing_ids = {row["thing_id"] for row in rows if "thing_id" in row}
        active_things = set(
            Thing.objects.filter(pk__in=thing_ids, active=True).values_list(
                "id", flat=True
            )
        )
        for index, row in enumerate(rows):
            if "thing_id" in row and row["thing_id"] not in active_things:
                if Thing.objects.filter(pk=row["thing_id"]).exists():
                    raise invalid(
                        "thing_id",
                        f"thing {row['thing_id']} is inactive",
                        row=row_label(index, len(rows)),
                    )
                raise Conflict(
                    'insert or update on table "entries" violates foreign key '
                    'constraint "entries_thing_id_fkey"',
                    code=FOREIGN_KEY,
                    details=f"Key (thing_id)=({row['thing_id']}) is not present in "
                    'table "things".',
                )
        items = {
            row["classification_item_id"]
            for row in rows
            if row.get("classification_item_id")
        }
        if items:
            active_items = set(
                ClassificationItem.objects.filter(
                    pk__in=items, active=True
                ).values_list("id", flat=True)
            )
            for missing in items - active_items:
                raise invalid(
                    "classification_item_id",
                    f"classification item {missing} does not exist or is inactive",
                )

    def update(self, ids, values, *, ctx):
        by_name = values.get("values")
        if "field_entries" in values:
            raise invalid(
                "field_entries", "change values with PATCH /field_entries or 'values'"
            )
        cleaned = self.clean(values, index=None, ctx=ctx, creating=False)
        self._check_references(cleaned and [cleaned])
        rows = {e.id: e for e in Entry.objects.filter(pk__in=ids)}
        now = timezone.now()
        history = []
        for entry_id in ids:
            entry = rows[entry_id]
            start = cleaned.get("validity_start_date", entry.validity_start_date)
            end = cleaned.get("validity_end_date", entry.validity_end_date)
            if start and end and end < start:
                raise invalid(
                    "validity_end_date", "must not be before validity_start_date"
                )
            before = {
                k: jsonable(getattr(entry, k))
                for k in cleaned
                if k in ENTRY_HISTORY_COLUMNS
            }
            after = {k: jsonable(cleaned[k]) for k in before}
            if before != after:
                action = HistoryAction.UPDATE
                if before.get("active") is False and after.get("active") is True:
                    action = HistoryAction.RESTORE
                elif before.get("active") is True and after.get("active") is False:
                    action = HistoryAction.DEACTIVATE
                history.append(
                    history_row(
                        entry_id, action, ctx=ctx, before=before, after=after, at=now
                    )
                )
        changed = self.update_rows(ids, cleaned) if cleaned else list(ids)
        history_write(history)
        if by_name is not None:
            self._update_values(ids, rows, by_name, ctx=ctx)
            if not cleaned:
                self.update_rows(ids, {})
        return changed

    def _update_values(self, ids, entries, by_name, *, ctx) -> None:
        if not isinstance(by_name, dict):
            raise invalid("values", "must be an object of field name -> value")
        thing_ids = {entries[i].thing_id for i in ids}
        fields: dict[tuple[int, str], Field] = {
            (f.thing_id, f.name): f
            for f in Field.objects.filter(thing_id__in=thing_ids, active=True)
        }
        rows = []
        for entry_id in ids:
            for name, value in by_name.items():
                field = fields.get((entries[entry_id].thing_id, name))
                if field is None:
                    raise invalid("values", f"no active field named '{name}'")
                rows.append(
                    self.values_writer.clean(
                        {
                            "entry_id": entry_id,
                            "field_id": field.id,
                            "entered_value": value,
                        },
                        index=None,
                        ctx=ctx,
                        creating=True,
                    )
                )
        values_write(
            rows,
            ctx=ctx,
            upsert=Upsert(
                on_conflict=("entry_id", "field_id"), ignore_duplicates=False
            ),
            writer=self.values_writer,
        )

    def delete(self, ids, *, ctx):
        active_ids = list(
            Entry.objects.filter(pk__in=ids, active=True).values_list("id", flat=True)
        )
        changed = self.update_rows(ids, {"active": False})
        now = timezone.now()
        history_write(
            history_row(
                entry_id,
                HistoryAction.DEACTIVATE,
                ctx=ctx,
                before={"active": True},
                after={"active": False},
                at=now,
            )
            for entry_id in active_ids
        )
        return changed


ENTRY_WRITER = EntryWriter(FIELD_ENTRY_WRITER)


def entry_create(
    *,
    thing_id: int,
    columns: dict[str, Any],
    values: dict[str, Any],
    by: WriteContext,
) -> int:
    """A new entry of ``thing_id`` with its ``columns`` (classification,
    validity dates) and ``values`` (field name -> value); its id."""
    row = {"thing_id": thing_id, **columns, "values": values}
    with transaction.atomic():
        return ENTRY_WRITER.insert([row], ctx=by, upsert=None).ids[0]


def entry_update(
    *,
    entry: Entry,
    changes: dict[str, Any],
    by: WriteContext,
    seen: dict[str, str] | None = None,
) -> None:
    """Change ``entry``'s columns and, under ``values``, its values by field name
    (history recorded).

    ``seen`` (an entry column or a field name -> the value as text the caller
    last saw, "" for none) makes the change conditional: if one of them has
    changed since, nothing is written and :class:`~core.errors.Conflict`
    (``stale``) says what it is now, so an edit never silently overwrites
    someone else's."""
    with transaction.atomic():
        if seen:
            entry_seen_check(entry=entry, seen=seen)
        ENTRY_WRITER.update([entry.id], changes, ctx=by)


def entry_seen_check(*, entry: Entry, seen: dict[str, str]) -> None:
    """Raise ``Conflict(stale)`` if a value of ``seen`` is no longer the
    entry's (the entry's row is locked until the caller's transaction ends)."""
    current = Entry.objects.select_for_update().get(pk=entry.pk)
    names = [key for key in seen if key not in ENTRY_WRITER.fields]
    values = dict(
        FieldEntry.objects.filter(
            entry_id=entry.pk, active=True, field__name__in=names, field__active=True
        ).values_list("field__name", "entered_value")
    )
    for key, was in seen.items():
        now = getattr(current, key) if key in ENTRY_WRITER.fields else values.get(key)
        text = "" if now is None else jsonable(now)
        if str(text) != was:
            raise Conflict(
                f"{key} was changed meanwhile",
                code=STALE,
                field=key,
                reason=f"Changed meanwhile by someone else: it is now "
                f"“{text or 'empty'}”. Save again to replace it with yours.",
                details=str(text),
            )


def entry_set_active(*, entry: Entry, active: bool, by: WriteContext) -> None:
    """Move an entry to the trash or restore it (history records which)."""
    with transaction.atomic():
        if active:
            ENTRY_WRITER.update([entry.id], {"active": True}, ctx=by)
        else:
            ENTRY_WRITER.delete([entry.id], ctx=by)
