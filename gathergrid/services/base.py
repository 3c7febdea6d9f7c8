"""The bulk writer every model's writes go through: coercion by the model's
fields, one statement per request (COPY for plain inserts), structured errors."""

import unicodedata
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone

from core.errors import (
    INVALID,
    INVALID_TEXT,
    REQUIRED,
    UNIQUE,
    Conflict,
    ValidationFailed,
)
from core.writes import InsertResult, Upsert, WriteContext

T = TypeVar("T")


def invalid(
    column: str, reason: str, *, row: int | None = None, code: str = INVALID
) -> ValidationFailed:
    """A validation failure naming the row (in a bulk write), field and reason."""
    return ValidationFailed(column, reason, row=row, code=code)


# Format (zero-width space, joiners, BOM), control, line and paragraph separators.
INVISIBLE = frozenset({"Cf", "Cc", "Zl", "Zp"})


def name_clean(name: str, *, row: int | None) -> str:
    """A thing's, field's or item's name: stripped, not blank, and without
    invisible characters (a zero-width space would make two names look alike)."""
    name = name.strip()
    if not name:
        raise invalid("name", "may not be blank", row=row)
    if any(unicodedata.category(c) in INVISIBLE for c in name):
        raise invalid(
            "name", "may not contain invisible or control characters", row=row
        )
    return name


def row_label(index: int, total: int) -> int | None:
    """How a bulk write names its row ``index``: None when it writes one row."""
    return index if total > 1 else None


# The unique constraints of gathergrid/models.py, told in words: (field, words).
UNIQUE_NAMES = {
    "things_name_unique_active": ("name", "An active thing is already named “{name}”."),
    "fields_thing_name_unique_active": (
        "name",
        "This thing already has an active field named “{name}”.",
    ),
    "grid_views_thing_name_unique": (
        "name",
        "This thing already has a view named “{name}”.",
    ),
}


def written_once(write: Callable[[], T], *, name: str = "") -> T:
    """``write()`` in its own transaction (a savepoint inside another); a
    violated unique name becomes a :class:`~core.errors.Conflict` naming the
    field, ``name`` in its words. PostgreSQL's own message and detail are kept
    (the REST face answers them as PostgreSQL's 23505)."""
    try:
        with transaction.atomic():
            return write()
    except IntegrityError as error:
        diag = getattr(error.__cause__, "diag", None)
        known = UNIQUE_NAMES.get(getattr(diag, "constraint_name", None) or "")
        if known is None:
            raise
        field, words = known
        raise Conflict(
            (getattr(diag, "message_primary", None) or str(error)).strip(),
            code=UNIQUE,
            field=field,
            reason=words.format(name=name),
            details=getattr(diag, "message_detail", None),
        ) from None


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
                raise invalid(
                    column,
                    f"{value!r} is not true or false",
                    row=row,
                    code=INVALID_TEXT,
                )
        if isinstance(field, models.CharField | models.TextField) and not isinstance(
            value, str
        ):
            raise invalid(column, "must be a string", row=row)
        if isinstance(field, models.IntegerField | models.ForeignKey) and isinstance(
            value, bool
        ):
            raise invalid(column, f"{value!r} is not an id", row=row)
        if isinstance(field, models.IntegerField | models.ForeignKey) and isinstance(
            value, float
        ):
            # PostgreSQL reads no JSON fraction (not even 5.0) into an integer.
            raise invalid(
                column, f"{value!r} is not an integer", row=row, code=INVALID_TEXT
            )
        if not isinstance(field, models.JSONField) and isinstance(value, dict | list):
            # Not of the column's type (a date, a number): PostgreSQL's 22P02.
            raise invalid(column, "must be a single value", row=row, code=INVALID_TEXT)
        try:
            # Not of the column's type at all: PostgreSQL's 22P02; breaking a
            # rule of the column (length, range): a check failure.
            value = field.to_python(value)
            if isinstance(field, models.ForeignKey):
                value = field.target_field.to_python(value)
        except ValidationError as error:
            message = " ".join(error.messages)
            raise invalid(column, message, row=row, code=INVALID_TEXT) from None
        except TypeError:
            # Not even of a type the column's parser reads (a boolean for a date).
            raise invalid(
                column,
                f"{value!r} is not of the column's type",
                row=row,
                code=INVALID_TEXT,
            ) from None
        if isinstance(field, models.ForeignKey) and isinstance(value, int):
            low, high = connection.ops.integer_field_range(
                field.target_field.get_internal_type()
            )
            if not low <= value <= high:
                raise invalid(column, f"{value} is out of range", row=row)
        try:
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
            self.clean(row, index=row_label(i, len(rows)), ctx=ctx, creating=True)
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
            cleaned["name"] = name_clean(cleaned["name"], row=index)
        elif creating:
            raise invalid("name", "is required", row=index, code=REQUIRED)
        return cleaned


def active_set(
    writer: "ModelWriter", pk: int, *, active: bool, by: WriteContext, name: str
) -> None:
    """Soft-delete (``active=False``) or restore one row of ``writer``'s model."""
    if active:
        written_once(lambda: writer.update([pk], {"active": True}, ctx=by), name=name)
    else:
        written_once(lambda: writer.delete([pk], ctx=by), name=name)
