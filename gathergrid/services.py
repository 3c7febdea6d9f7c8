"""Writes of the entity-entry model: validation, normalisation, history.

The REST engine hands each resource's writer rows restricted to known,
writable columns; the writers validate them (naming the row, field and
reason), write each request's rows in one statement per table, and record
every change to an entry or its values in ``entry_history``. Callers wrap a
request in one transaction, so a rejected request changes nothing.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, models
from django.db.models import Max
from django.utils import timezone

from core.errors import (
    FOREIGN_KEY,
    INVALID,
    REQUIRED,
    ApplicationError,
    Conflict,
    ValidationFailed,
)
from core.writes import InsertResult, Upsert, WriteContext
from gathergrid.models import (
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldDataType,
    FieldEntry,
    HistoryAction,
    Thing,
)
from gathergrid.values import InvalidValue, as_text, is_empty, normalise


def invalid(
    column: str, reason: str, *, row: int | None = None, code: str = INVALID
) -> ValidationFailed:
    """A validation failure naming the row (in a bulk write), field and reason."""
    return ValidationFailed(column, reason, row=row, code=code)


def _row_label(index: int, total: int) -> int | None:
    return index if total > 1 else None


class ModelWriter:
    """Generic bulk insert/update/soft-delete for one model, with field coercion."""

    model: type[models.Model]
    soft_delete = True

    def __init__(self) -> None:
        self.fields = {
            f.attname: f for f in self.model._meta.concrete_fields if not f.primary_key
        }
        self.table = self.model._meta.db_table

    # -- coercion -------------------------------------------------------------------

    def coerce(self, column: str, value: Any, *, row: int | None) -> Any:
        field = self.fields[column]
        if value is None:
            if not field.null:
                raise invalid(column, "may not be null", row=row, code=REQUIRED)
            return None
        if isinstance(field, models.BooleanField) and not isinstance(value, bool):
            if isinstance(value, str) and value.lower() in {"true", "false"}:
                value = value.lower() == "true"
            else:
                raise invalid(column, f"{value!r} is not true or false", row=row)
        if isinstance(field, models.CharField | models.TextField) and not isinstance(
            value, str
        ):
            raise invalid(column, "must be a string", row=row)
        if isinstance(field, models.IntegerField | models.ForeignKey) and isinstance(
            value, bool
        ):
            raise invalid(column, f"{value!r} is not an id", row=row)
        try:
            value = field.to_python(value)
            if isinstance(field, models.ForeignKey):
                value = field.target_field.to_python(value)
            field.run_validators(value)
        except ValidationError as error:
            raise invalid(column, " ".join(error.messages), row=row) from None
        return value

    def clean(
        self,
        row: dict[str, Any],
        *,
        index: int | None,
        ctx: WriteContext,
        creating: bool,
    ) -> dict[str, Any]:
        """Coerce and check one row's given columns (domain rules in subclasses)."""
        return {
            column: self.coerce(column, value, row=index)
            for column, value in row.items()
            if column in self.fields
        }

    def defaults(self, ctx: WriteContext) -> dict[str, Any]:
        now = timezone.now()
        values = {
            column: field.get_default()
            for column, field in self.fields.items()
            if field.has_default() or field.null
        }
        for column in ("created_at", "updated_at"):
            if column in self.fields:
                values[column] = now
        if "created_by" in self.fields:
            values["created_by"] = ctx.user_id
        return values

    # -- statements -----------------------------------------------------------------

    def _prep(self, column: str, value: Any) -> Any:
        return self.fields[column].get_db_prep_save(value, connection)

    def insert_rows(
        self,
        rows: list[dict[str, Any]],
        *,
        ctx: WriteContext,
        upsert: Upsert | None = None,
        given: Iterable[str] = (),
    ) -> InsertResult:
        """One INSERT for all rows; ``given`` columns are updated on conflict."""
        if not rows:
            return InsertResult(ids=[], inserted=0)
        base = self.defaults(ctx)
        full = [{**base, **row} for row in rows]
        columns = list(self.fields)
        missing = [
            column for column in columns if any(column not in row for row in full)
        ]
        if missing:
            raise invalid(missing[0], "is required", code=REQUIRED)
        if upsert is None:
            return self._copy_rows(full, columns)
        placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
        params: list[Any] = []
        for row in full:
            params.extend(self._prep(column, row[column]) for column in columns)
        quoted = ", ".join(f'"{c}"' for c in columns)
        sql = f'INSERT INTO "{self.table}" ({quoted}) VALUES ' + ", ".join(
            [placeholders] * len(full)
        )
        if upsert is not None:
            target = ", ".join(f'"{c}"' for c in upsert.on_conflict)
            updates = [
                c for c in given if c in self.fields and c not in upsert.on_conflict
            ]
            if upsert.ignore_duplicates or not updates:
                sql += f" ON CONFLICT ({target}) DO NOTHING"
            else:
                if "updated_at" in self.fields:
                    updates.append("updated_at")
                assignments = ", ".join(f'"{c}" = EXCLUDED."{c}"' for c in updates)
                sql += f" ON CONFLICT ({target}) DO UPDATE SET {assignments}"
        # xmax is 0 for a row this statement inserted (not for one it updated).
        sql += ' RETURNING "id", (xmax = 0)'
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            returned = cursor.fetchall()
        return InsertResult(
            ids=[row[0] for row in returned],
            inserted=sum(1 for row in returned if row[1]),
        )

    def _copy_rows(
        self, rows: list[dict[str, Any]], columns: list[str]
    ) -> InsertResult:
        """Plain inserts: ids drawn from the identity sequence, rows sent by COPY.

        A multi-row INSERT of 10,000 values builds a megabytes-long statement
        that both psycopg and PostgreSQL spend seconds on; COPY streams them.
        """
        json_columns = {
            c for c in columns if isinstance(self.fields[c], models.JSONField)
        }
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                "FROM generate_series(1, %s)",
                [f'"{self.table}"', len(rows)],
            )
            ids = [row[0] for row in cursor.fetchall()]
            quoted = ", ".join(f'"{c}"' for c in ["id", *columns])
            copy_sql = f'COPY "{self.table}" ({quoted}) FROM STDIN'
            # The raw cursor's errors become Django's (mapped like any other).
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for row_id, row in zip(ids, rows, strict=True):
                    copy.write_row(
                        [
                            row_id,
                            *(
                                self._prep(c, row[c]) if c in json_columns else row[c]
                                for c in columns
                            ),
                        ]
                    )
        return InsertResult(ids=ids, inserted=len(ids))

    def update_rows(self, ids: Sequence[int], values: dict[str, Any]) -> list[int]:
        if not ids:
            return []
        values = dict(values)
        if "updated_at" in self.fields:
            values["updated_at"] = timezone.now()
        assignments = ", ".join(f'"{c}" = %s' for c in values)
        params = [self._prep(c, v) for c, v in values.items()]
        with connection.cursor() as cursor:
            cursor.execute(
                f'UPDATE "{self.table}" SET {assignments} WHERE "id" = ANY(%s) '
                'RETURNING "id"',
                [*params, list(ids)],
            )
            changed = {row[0] for row in cursor.fetchall()}
        return [i for i in ids if i in changed]

    # -- the Writer protocol ------------------------------------------------------

    def insert(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        ctx: WriteContext,
        upsert: Upsert | None,
    ) -> InsertResult:
        cleaned = [
            self.clean(row, index=_row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        given = {column for row in cleaned for column in row}
        return self.insert_rows(cleaned, ctx=ctx, upsert=upsert, given=given)

    def update(
        self, ids: Sequence[int], values: dict[str, Any], *, ctx: WriteContext
    ) -> list[int]:
        cleaned = self.clean(values, index=None, ctx=ctx, creating=False)
        self.check_update(ids, cleaned)
        return self.update_rows(ids, cleaned)

    def check_update(self, ids: Sequence[int], values: dict[str, Any]) -> None:
        """Domain rules for an update of rows ``ids`` (subclasses)."""

    def delete(self, ids: Sequence[int], *, ctx: WriteContext) -> list[int]:
        self.check_delete(ids)
        return self.update_rows(ids, {"active": False})

    def check_delete(self, ids: Sequence[int]) -> None:
        """Domain rules for a delete of rows ``ids`` (subclasses)."""


class NamedWriter(ModelWriter):
    """A model whose rows need a non-blank ``name`` (stored stripped)."""

    def clean(self, row, *, index, ctx, creating):
        cleaned = super().clean(row, index=index, ctx=ctx, creating=creating)
        if "name" in cleaned:
            cleaned["name"] = cleaned["name"].strip()
            if not cleaned["name"]:
                raise invalid("name", "may not be blank", row=index)
        elif creating:
            raise invalid("name", "is required", row=index, code=REQUIRED)
        return cleaned


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


class FieldWriter(ModelWriter):
    model = Field

    def clean(self, row, *, index, ctx, creating):
        cleaned = super().clean(row, index=index, ctx=ctx, creating=creating)
        if creating:
            for column in ("thing_id", "name"):
                if column not in cleaned:
                    raise invalid(column, "is required", row=index, code=REQUIRED)
        if "name" in cleaned:
            cleaned["name"] = cleaned["name"].strip()
            if not cleaned["name"]:
                raise invalid("name", "may not be blank", row=index)
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
            self.clean(row, index=_row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        if upsert is None:
            _positions_append(cleaned)
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


def _positions_append(rows: list[dict[str, Any]]) -> None:
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


# --- Entries and values ---------------------------------------------------------


def _history(
    entry_id: int,
    action: str,
    *,
    ctx: WriteContext,
    field_id: int | None = None,
    before: Any = None,
    after: Any = None,
    at=None,
) -> dict[str, Any]:
    return dict(
        entry_id=entry_id,
        field_id=field_id,
        action=action,
        before=before,
        after=after,
        changed_by=ctx.user_id,
        changed_at=at or timezone.now(),
    )


class HistoryWriter(ModelWriter):
    model = EntryHistory


_history_writer = HistoryWriter()


def history_write(rows: Iterable[dict[str, Any]]) -> None:
    """Record changes in entry_history (one COPY for the whole request)."""
    rows = list(rows)
    if rows:
        _history_writer.insert_rows(rows, ctx=WriteContext(user_id=None))


def _jsonable(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


ENTRY_HISTORY_COLUMNS = (
    "classification_item_id",
    "validity_start_date",
    "validity_end_date",
    "active",
)


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
            self.clean(row, index=_row_label(i, len(rows)), ctx=ctx, creating=True)
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
                k: _jsonable(getattr(entry_value, k))
                for k in cleaned
                if k in ("entered_value", "active")
            }
            after = {k: _jsonable(update[k]) for k in before}
            if before != after:
                history.append(
                    _history(
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
            _history(
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


def _value_check(
    row: dict[str, Any],
    index: int,
    total: int,
    *,
    entries: dict[int, int],
    fields: dict[int, Field],
):
    """One value checked against its entry and field (not its reference
    target: see ``_first_bad_reference``); its normal form."""
    label = _row_label(index, total)
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


def _first_bad_reference(
    references: list[tuple[int, Field, Any]],
) -> tuple[int, Field, Any] | None:
    """The first value naming no entry of its field's target thing: one query
    per target thing, whatever the number of values."""
    wanted: dict[Any, set[int]] = {}
    for _, field, normal in references:
        if normal.text is not None:
            target = (field.options or {}).get("thing_id")
            wanted.setdefault(target, set()).add(int(normal.number))
    found = {
        target: set(
            Entry.objects.filter(thing_id=target, pk__in=ids).values_list(
                "pk", flat=True
            )
        )
        for target, ids in wanted.items()
    }
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
            normal = _value_check(row, index, total, entries=entries, fields=fields)
        except ApplicationError as error:
            failure = (index, error)
            break
        field = fields[row["field_id"]]
        if field.data_type == FieldDataType.REFERENCE:
            references.append((index, field, normal))
        prepared.append({**row, "entered_value": normal.text, **normal.shadow_values()})
    bad = _first_bad_reference(references)
    if bad is not None and (failure is None or bad[0] < failure[0]):
        index, field, normal = bad
        raise invalid(
            "entered_value",
            f"'{field.name}': entry {normal.text} is not an entry "
            f"of thing {(field.options or {}).get('thing_id')}",
            row=_row_label(index, total),
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
            _history(
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
            self.clean(row, index=_row_label(i, len(rows)), ctx=ctx, creating=True)
            for i, row in enumerate(rows)
        ]
        self._check_references(cleaned)
        thing_ids = {row["thing_id"] for row in cleaned}
        fields_by_thing: dict[int, dict[str, Field]] = defaultdict(dict)
        for field in Field.objects.filter(thing_id__in=thing_ids, active=True):
            fields_by_thing[field.thing_id][field.name] = field
        nested = [
            self.nested_values(
                row, fields_by_thing[c["thing_id"]], index=_row_label(i, len(rows))
            )
            for i, (row, c) in enumerate(zip(rows, cleaned, strict=True))
        ]
        given = {column for row in cleaned for column in row}
        result = self.insert_rows(cleaned, ctx=ctx, upsert=upsert, given=given)
        ids = result.ids
        now = timezone.now()
        history_write(
            _history(
                entry_id,
                HistoryAction.CREATE,
                ctx=ctx,
                after={k: _jsonable(v) for k, v in row.items()},
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
            label = _row_label(index, len(rows))
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
                        row=_row_label(index, len(rows)),
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
                k: _jsonable(getattr(entry, k))
                for k in cleaned
                if k in ENTRY_HISTORY_COLUMNS
            }
            after = {k: _jsonable(cleaned[k]) for k in before}
            if before != after:
                action = HistoryAction.UPDATE
                if before.get("active") is False and after.get("active") is True:
                    action = HistoryAction.RESTORE
                elif before.get("active") is True and after.get("active") is False:
                    action = HistoryAction.DEACTIVATE
                history.append(
                    _history(
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
            _history(
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
