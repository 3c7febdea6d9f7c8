"""The entity-entry tables as REST resources (``/rest/v1/<name>``).

Derived columns are SQL expressions; ``entries.values`` is a virtual JSON
column (field name -> value) whose ``values->>Name`` filters and ordering
compile to typed, indexed lookups in ``field_entries``.
"""

from gathergrid import entry_sql
from gathergrid.models import (
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldEntry,
    Thing,
)
from gathergrid.services.entries import ENTRY_WRITER
from gathergrid.services.field_entries import FIELD_ENTRY_WRITER
from gathergrid.services.fields import FIELD_WRITER
from gathergrid.services.things import CLASSIFICATION_ITEM_WRITER, THING_WRITER
from gathergrid.values import InvalidValue
from pgrest.ast import Condition, Path
from pgrest.errors import PostgrestError
from pgrest.planner import SqlBuilder
from pgrest.registry import (
    ColumnSpec,
    Resource,
    column_from_model,
    register,
    to_many,
    to_one,
)


def _column(model, name: str, **overrides) -> ColumnSpec:
    """A column as the model declares it (type, null, length, choices, blank,
    default), with what the API adds (``overrides``)."""
    return column_from_model(model, name, **overrides)


def _id(model) -> ColumnSpec:
    return _column(model, "id", description="Assigned by the database.")


def _audit(model, *, created_by: bool = True) -> list[ColumnSpec]:
    columns = [
        _column(model, "active", description="False once deleted (soft delete)."),
    ]
    if created_by:
        columns.append(
            _column(model, "created_by", readonly=True, description="From the token.")
        )
    columns += [
        _column(model, "created_at", readonly=True),
        _column(model, "updated_at", readonly=True),
    ]
    return columns


def _columns(*specs: ColumnSpec) -> dict[str, ColumnSpec]:
    return {spec.name: spec for spec in specs}


# --- `values->>Name` on entries ------------------------------------------------------


def _fields_named(b: SqlBuilder, name: str) -> dict[str, list[int]]:
    """Active field ids with this name, grouped by the shadow column of their type."""
    key = ("fields_named", name)
    if key in b.memo:
        return b.memo[key]
    groups: dict[str, list[int]] = {}
    for field_id, data_type in Field.objects.filter(name=name, active=True).values_list(
        "id", "data_type"
    ):
        groups.setdefault(entry_sql.shadow_column(data_type), []).append(field_id)
    b.memo[key] = groups
    return groups


def _key(path: Path) -> str:
    if len(path.json_path) != 1:
        raise PostgrestError(
            "values takes one key: values->>Name",
            code="PGRST100",
            status=400,
            details=path.column
            + "".join(("->>" if s.as_text else "->") + s.key for s in path.json_path),
        )
    return path.json_path[0].key


def entries_values_filter(b: SqlBuilder, alias: str, cond: Condition) -> str:
    key = _key(cond.path)
    groups = _fields_named(b, key)
    has_value = (
        f"EXISTS (SELECT 1 FROM field_entries fe WHERE fe.entry_id = {alias}.id "
        "AND fe.active AND fe.entered_value IS NOT NULL "
        "AND fe.field_id = ANY({ids}))"
    )
    all_ids = [i for ids in groups.values() for i in ids]
    if cond.operator == "is" and cond.value in {"null", "not_null"}:
        exists = has_value.format(ids=b.param(all_ids))
        return f"NOT {exists}" if cond.value == "null" else exists
    if not groups:
        return "FALSE"
    parts = []
    for column, ids in groups.items():
        parts.append(
            f"(fe.field_id = ANY({b.param(ids)}) AND "
            + _value_condition(b, column, cond, key)
            + ")"
        )
    return (
        f"EXISTS (SELECT 1 FROM field_entries fe WHERE fe.entry_id = {alias}.id "
        f"AND fe.active AND ({' OR '.join(parts)}))"
    )


def _value_condition(b: SqlBuilder, column: str, cond: Condition, key: str) -> str:
    op = cond.operator
    if op in entry_sql.TEXT_OPERATORS:
        column = "entered_value"
    value = cond.value
    if op in entry_sql.COMPARISONS or op in {"in", "isdistinct"}:
        try:
            if isinstance(value, tuple | list):
                value = tuple(entry_sql.typed_value(column, v) for v in value)
            else:
                value = entry_sql.typed_value(column, value)
        except InvalidValue as error:
            raise PostgrestError(
                f"invalid input for field '{key}': {error}", code="22P02", status=400
            ) from None
    sql = entry_sql.value_condition(
        b,
        column=column,
        op=op,
        value=value,
        quantifier=cond.quantifier,
        language=cond.language,
    )
    if sql is None:
        raise PostgrestError(
            f"operator {op} does not apply to the values of field '{key}'",
            code="42883",
            status=400,
        )
    return sql


def entries_values_order(b: SqlBuilder, alias: str, path: Path) -> str:
    key = _key(path)
    groups = _fields_named(b, key)
    if not groups:
        return "NULL"
    # The type most fields of that name have decides how values compare.
    column, ids = max(groups.items(), key=lambda item: len(item[1]))
    return (
        f"(SELECT fe.{column} FROM field_entries fe WHERE fe.entry_id = {alias}.id "
        f"AND fe.active AND fe.field_id = ANY({b.param(ids)}) LIMIT 1)"
    )


# --- Registration ---------------------------------------------------------------

THINGS = register(
    Resource(
        name="things",
        table="things",
        description="Entity types.",
        columns=_columns(
            _id(Thing),
            _column(Thing, "name", description="Unique among active things."),
            _column(Thing, "description"),
            *_audit(Thing),
        ),
        relations={
            "fields": to_many("fields", "thing_id"),
            "entries": to_many("entries", "thing_id"),
        },
        soft_delete_column="active",
        writer=THING_WRITER,
        unique_keys=(("id",),),
    )
)

FIELDS = register(
    Resource(
        name="fields",
        table="fields",
        description="Field definitions of things.",
        columns=_columns(
            _id(Field),
            _column(Field, "thing_id", immutable=True),
            _column(Field, "name", description="Unique per thing."),
            _column(
                Field,
                "data_type",
                description="The type of the field's values; cannot change once "
                "the field has values.",
            ),
            _column(Field, "mandatory", description="Its value cannot be cleared."),
            _column(
                Field,
                "required_for_initialization",
                description="Needed for an entry to count as initialized.",
            ),
            _column(Field, "position"),
            _column(
                Field,
                "options",
                description='{"choices": [...]} for choices; '
                '{"thing_id": n} for references.',
            ),
            *_audit(Field),
        ),
        relations={
            "things": to_one("things", "thing_id"),
            "field_entries": to_many("field_entries", "field_id"),
        },
        soft_delete_column="active",
        default_order=("thing_id", "position", "id"),
        writer=FIELD_WRITER,
        unique_keys=(("id",),),
    )
)

CLASSIFICATION_ITEMS = register(
    Resource(
        name="classification_items",
        table="classification_items",
        description="Classification values entries can carry.",
        columns=_columns(
            _id(ClassificationItem),
            _column(ClassificationItem, "name"),
            _column(ClassificationItem, "parent_id"),
            *_audit(ClassificationItem, created_by=False),
        ),
        relations={
            "entries": to_many("entries", "classification_item_id"),
        },
        soft_delete_column="active",
        writer=CLASSIFICATION_ITEM_WRITER,
        unique_keys=(("id",),),
    )
)

ENTRIES = register(
    Resource(
        name="entries",
        table="entries",
        description="Records of a thing.",
        columns=_columns(
            _id(Entry),
            _column(Entry, "thing_id", immutable=True),
            _column(Entry, "classification_item_id"),
            ColumnSpec(
                "classification_item_name",
                "text",
                expression="SELECT ci.name FROM classification_items ci "
                "WHERE ci.id = {t}.classification_item_id",
                readonly=True,
                nullable=True,
                max_length=ClassificationItem._meta.get_field("name").max_length,
            ),
            _column(Entry, "validity_start_date"),
            _column(Entry, "validity_end_date", description="Not before the start."),
            *_audit(Entry)[:1],
            ColumnSpec(
                "initialized",
                "boolean",
                expression=entry_sql.INITIALIZED,
                readonly=True,
                description="Every required-for-initialization field has a value.",
            ),
            ColumnSpec(
                "complete",
                "boolean",
                expression=entry_sql.COMPLETE,
                readonly=True,
                description="Every mandatory field has a value.",
            ),
            *_audit(Entry)[1:],
            ColumnSpec(
                "values",
                "jsonb",
                expression=entry_sql.VALUES_BY_NAME,
                virtual_json=True,
                json_type="object",
                description="Field values by field name; filter and order with "
                "values->>Name.",
            ),
        ),
        relations={
            "things": to_one("things", "thing_id"),
            "classification_items": to_one(
                "classification_items", "classification_item_id"
            ),
            "field_entries": to_many("field_entries", "entry_id"),
            "entry_history": to_many("entry_history", "entry_id"),
        },
        soft_delete_column="active",
        writer=ENTRY_WRITER,
        json_filter=entries_values_filter,
        json_order=entries_values_order,
        nested_inputs=frozenset({"field_entries"}),
        unique_keys=(("id",),),
    )
)

FIELD_ENTRIES = register(
    Resource(
        name="field_entries",
        table="field_entries",
        description="One value per (entry, field).",
        columns=_columns(
            _id(FieldEntry),
            _column(FieldEntry, "entry_id", immutable=True),
            _column(FieldEntry, "field_id", immutable=True),
            _column(
                FieldEntry,
                "entered_value",
                any_json_input=True,
                description="Text, checked and normalised against the field's type "
                "(a JSON value is taken as its text).",
            ),
            *_audit(FieldEntry),
        ),
        relations={
            "entries": to_one("entries", "entry_id"),
            "fields": to_one("fields", "field_id"),
        },
        soft_delete_column="active",
        writer=FIELD_ENTRY_WRITER,
        nested_inputs=frozenset({"value"}),
        unique_keys=(("id",), ("entry_id", "field_id")),
    )
)

ENTRY_HISTORY = register(
    Resource(
        name="entry_history",
        table="entry_history",
        description="Every change to an entry or its values (read-only).",
        columns=_columns(
            *(
                _column(EntryHistory, name, readonly=True)
                for name in (
                    "id",
                    "entry_id",
                    "field_id",
                    "action",
                    "before",
                    "after",
                    "changed_by",
                    "changed_at",
                    "batch",
                )
            )
        ),
        relations={
            "entries": to_one("entries", "entry_id"),
            "fields": to_one("fields", "field_id"),
        },
        default_order=("changed_at", "id"),
    )
)
