"""The entity-entry tables as REST resources (``/rest/v1/<name>``).

Derived columns are SQL expressions; ``entries.values`` is a virtual JSON
column (field name -> value) whose ``values->>Name`` filters and ordering
compile to typed, indexed lookups in ``field_entries``.
"""

from typing import Any

from gathergrid.models import TEXT_INDEX_PREFIX, Field, FieldDataType
from gathergrid.services import (
    ClassificationItemWriter,
    EntryWriter,
    FieldEntryWriter,
    FieldWriter,
    ThingWriter,
)
from gathergrid.values import SHADOW_COLUMN, SHADOW_SQL_TYPE, InvalidValue, normalise
from pgrest.ast import Condition, Path
from pgrest.errors import PostgrestError
from pgrest.planner import SqlBuilder
from pgrest.registry import ColumnSpec, Resource, register, to_many, to_one


def _id() -> ColumnSpec:
    return ColumnSpec(
        "id", "bigint", readonly=True, description="Assigned by the database."
    )


def _audit(*, created_by: bool = True) -> list[ColumnSpec]:
    columns = [
        ColumnSpec(
            "active", "boolean", description="False once deleted (soft delete)."
        ),
    ]
    if created_by:
        columns.append(
            ColumnSpec(
                "created_by", "uuid", readonly=True, description="From the token."
            )
        )
    columns += [
        ColumnSpec("created_at", "timestamp with time zone", readonly=True),
        ColumnSpec("updated_at", "timestamp with time zone", readonly=True),
    ]
    return columns


def _columns(*specs: ColumnSpec) -> dict[str, ColumnSpec]:
    return {spec.name: spec for spec in specs}


HAS_VALUE = (
    "EXISTS (SELECT 1 FROM field_entries fe WHERE fe.entry_id = {{t}}.id "
    "AND fe.field_id = f.id AND fe.active AND fe.entered_value IS NOT NULL)"
)
ALL_FLAGGED_HAVE_VALUES = (
    "NOT EXISTS (SELECT 1 FROM fields f WHERE f.thing_id = {{t}}.thing_id "
    "AND f.active AND f.{flag} AND NOT " + HAS_VALUE + ")"
)
VALUES_OBJECT = (
    "SELECT COALESCE(jsonb_object_agg(f.name, fe.entered_value), '{{}}'::jsonb) "
    "FROM field_entries fe JOIN fields f ON f.id = fe.field_id "
    "WHERE fe.entry_id = {t}.id AND fe.active AND f.active "
    "AND fe.entered_value IS NOT NULL"
)

# --- `values->>Name` on entries ------------------------------------------------------

TEXT_OPERATORS = frozenset(
    {"like", "ilike", "match", "imatch", "fts", "plfts", "phfts", "wfts"}
)
COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


def _fields_named(b: SqlBuilder, name: str) -> dict[str, list[int]]:
    """Active field ids with this name, grouped by the shadow column of their type."""
    key = ("fields_named", name)
    if key in b.memo:
        return b.memo[key]
    groups: dict[str, list[int]] = {}
    for field_id, data_type in Field.objects.filter(name=name, active=True).values_list(
        "id", "data_type"
    ):
        groups.setdefault(SHADOW_COLUMN.get(data_type, "entered_value"), []).append(
            field_id
        )
    b.memo[key] = groups
    return groups


def _typed(column: str, raw: str, key: str) -> Any:
    """A filter value as the shadow column's type, or a 400 naming the field."""
    data_type = {
        "value_number": FieldDataType.DECIMAL,
        "value_date": FieldDataType.DATE,
        "value_datetime": FieldDataType.DATETIME,
        "value_boolean": FieldDataType.BOOLEAN,
    }.get(column)
    if data_type is None:
        return raw
    try:
        normal = normalise(data_type, None, raw)
    except InvalidValue as error:
        raise PostgrestError(
            f"invalid input for field '{key}': {error}",
            code="22P02",
            status=400,
        ) from None
    return {
        "value_number": normal.number,
        "value_date": normal.date,
        "value_datetime": normal.datetime,
        "value_boolean": normal.boolean,
    }[column]


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
    value = cond.value
    if op in TEXT_OPERATORS:
        column = "entered_value"
    expr = f"fe.{column}"
    sql_type = SHADOW_SQL_TYPE[column]
    if op in COMPARISONS and column == "entered_value" and not cond.quantifier:
        return _text_comparison(b, op, str(value))
    if op == "in" and column == "entered_value" and value:
        prefixes = ", ".join(b.param(v[:TEXT_INDEX_PREFIX]) for v in value)
        items = ", ".join(b.param(v) for v in value)
        return (
            f"left(fe.entered_value, {TEXT_INDEX_PREFIX}) IN ({prefixes}) "
            f"AND fe.entered_value IN ({items})"
        )
    if op in COMPARISONS:
        if cond.quantifier:
            values = value if isinstance(value, tuple) else (value,)
            items = ", ".join(b.param(_typed(column, v, key)) for v in values)
            array = f"ARRAY[{items}]::{sql_type}[]"
            return f"{expr} {COMPARISONS[op]} {cond.quantifier.upper()}({array})"
        return f"{expr} {COMPARISONS[op]} {b.param(_typed(column, value, key))}"
    if op == "in":
        if not value:
            return "FALSE"
        return (
            f"{expr} IN ({', '.join(b.param(_typed(column, v, key)) for v in value)})"
        )
    if op == "isdistinct":
        return f"{expr} IS DISTINCT FROM {b.param(_typed(column, value, key))}"
    if op == "is":
        return f"{expr} IS {str(value).upper()}"
    if op in {"like", "ilike", "match", "imatch"}:
        sql_op = {"like": "LIKE", "ilike": "ILIKE", "match": "~", "imatch": "~*"}[op]
        if cond.quantifier:
            values = value if isinstance(value, tuple) else (value,)
            items = ", ".join(b.param(v) for v in values)
            return f"{expr} {sql_op} {cond.quantifier.upper()}(ARRAY[{items}]::text[])"
        return f"{expr} {sql_op} {b.param(value)}"
    if op in {"fts", "plfts", "phfts", "wfts"}:
        function = {
            "fts": "to_tsquery",
            "plfts": "plainto_tsquery",
            "phfts": "phraseto_tsquery",
            "wfts": "websearch_to_tsquery",
        }[op]
        if cond.language:
            vector = f"to_tsvector({b.param(cond.language)}::regconfig, {expr})"
            config = b.param(cond.language) + "::regconfig"
            return f"{vector} @@ {function}({config}, {b.param(value)})"
        return f"to_tsvector({expr}) @@ {function}({b.param(value)})"
    if op in {"cs", "cd", "ov"} and column == "value_json":
        sql_op = {"cs": "@>", "cd": "<@", "ov": "&&"}[op]
        return f"{expr} {sql_op} {b.param(value)}::jsonb"
    raise PostgrestError(
        f"operator {op} does not apply to the values of field '{key}'",
        code="42883",
        status=400,
    )


# A comparison of two texts implies the same comparison (or equality) of their
# prefixes: that implied condition lets the (field_id, left(value)) index serve.
PREFIX_IMPLIED = {"eq": "=", "gt": ">=", "gte": ">=", "lt": "<=", "lte": "<="}


def _text_comparison(b: SqlBuilder, op: str, value: str) -> str:
    sql = f"fe.entered_value {COMPARISONS[op]} {b.param(value)}"
    if op in PREFIX_IMPLIED:
        prefix = b.param(value[:TEXT_INDEX_PREFIX])
        sql = (
            f"left(fe.entered_value, {TEXT_INDEX_PREFIX}) {PREFIX_IMPLIED[op]} "
            f"{prefix} AND {sql}"
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

field_entry_writer = FieldEntryWriter()

THINGS = register(
    Resource(
        name="things",
        table="things",
        description="Entity types.",
        columns=_columns(
            _id(),
            ColumnSpec(
                "name", "text", required=True, description="Unique among active things."
            ),
            ColumnSpec("description", "text"),
            *_audit(),
        ),
        relations={
            "fields": to_many("fields", "thing_id"),
            "entries": to_many("entries", "thing_id"),
        },
        soft_delete_column="active",
        writer=ThingWriter(),
    )
)

FIELDS = register(
    Resource(
        name="fields",
        table="fields",
        description="Field definitions of things.",
        columns=_columns(
            _id(),
            ColumnSpec("thing_id", "bigint", immutable=True, required=True),
            ColumnSpec("name", "text", required=True, description="Unique per thing."),
            ColumnSpec(
                "data_type",
                "text",
                description="One of " + ", ".join(FieldDataType.values),
            ),
            ColumnSpec(
                "mandatory", "boolean", description="Its value cannot be cleared."
            ),
            ColumnSpec(
                "required_for_initialization",
                "boolean",
                description="Needed for an entry to count as initialized.",
            ),
            ColumnSpec("position", "integer"),
            ColumnSpec(
                "options",
                "jsonb",
                description='{"choices": [...]} for choices; '
                '{"thing_id": n} for references.',
            ),
            *_audit(),
        ),
        relations={
            "things": to_one("things", "thing_id"),
            "field_entries": to_many("field_entries", "field_id"),
        },
        soft_delete_column="active",
        default_order=("thing_id", "position", "id"),
        writer=FieldWriter(),
    )
)

CLASSIFICATION_ITEMS = register(
    Resource(
        name="classification_items",
        table="classification_items",
        description="Classification values entries can carry.",
        columns=_columns(
            _id(),
            ColumnSpec("name", "text", required=True),
            ColumnSpec("parent_id", "bigint"),
            *_audit(created_by=False),
        ),
        relations={
            "entries": to_many("entries", "classification_item_id"),
        },
        soft_delete_column="active",
        writer=ClassificationItemWriter(),
    )
)

ENTRIES = register(
    Resource(
        name="entries",
        table="entries",
        description="Records of a thing.",
        columns=_columns(
            _id(),
            ColumnSpec("thing_id", "bigint", immutable=True, required=True),
            ColumnSpec("classification_item_id", "bigint"),
            ColumnSpec(
                "classification_item_name",
                "text",
                expression="SELECT ci.name FROM classification_items ci "
                "WHERE ci.id = {t}.classification_item_id",
                readonly=True,
            ),
            ColumnSpec("validity_start_date", "date"),
            ColumnSpec(
                "validity_end_date", "date", description="Not before the start."
            ),
            *_audit()[:1],
            ColumnSpec(
                "initialized",
                "boolean",
                expression=ALL_FLAGGED_HAVE_VALUES.format(
                    flag="required_for_initialization"
                ),
                readonly=True,
                description="Every required-for-initialization field has a value.",
            ),
            ColumnSpec(
                "complete",
                "boolean",
                expression=ALL_FLAGGED_HAVE_VALUES.format(flag="mandatory"),
                readonly=True,
                description="Every mandatory field has a value.",
            ),
            *_audit()[1:],
            ColumnSpec(
                "values",
                "jsonb",
                expression=VALUES_OBJECT,
                virtual_json=True,
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
        writer=EntryWriter(field_entry_writer),
        json_filter=entries_values_filter,
        json_order=entries_values_order,
        nested_inputs=frozenset({"field_entries"}),
    )
)

FIELD_ENTRIES = register(
    Resource(
        name="field_entries",
        table="field_entries",
        description="One value per (entry, field).",
        columns=_columns(
            _id(),
            ColumnSpec("entry_id", "bigint", immutable=True, required=True),
            ColumnSpec("field_id", "bigint", immutable=True, required=True),
            ColumnSpec(
                "entered_value",
                "text",
                description="Text, checked and normalised against the field's type.",
            ),
            *_audit(),
        ),
        relations={
            "entries": to_one("entries", "entry_id"),
            "fields": to_one("fields", "field_id"),
        },
        soft_delete_column="active",
        writer=field_entry_writer,
        nested_inputs=frozenset({"value"}),
    )
)

ENTRY_HISTORY = register(
    Resource(
        name="entry_history",
        table="entry_history",
        description="Every change to an entry or its values (read-only).",
        columns=_columns(
            _id(),
            ColumnSpec("entry_id", "bigint", readonly=True),
            ColumnSpec("field_id", "bigint", readonly=True),
            ColumnSpec("action", "text", readonly=True),
            ColumnSpec("before", "jsonb", readonly=True),
            ColumnSpec("after", "jsonb", readonly=True),
            ColumnSpec("changed_by", "uuid", readonly=True),
            ColumnSpec("changed_at", "timestamp with time zone", readonly=True),
        ),
        relations={
            "entries": to_one("entries", "entry_id"),
            "fields": to_one("fields", "field_id"),
        },
        default_order=("changed_at", "id"),
    )
)
