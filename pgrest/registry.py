"""What the engine serves: resources (tables) with their columns and relations.

The engine knows nothing of the domain; ``gathergrid/resources.py`` registers
the tables, their virtual columns (SQL expressions) and the writer that
validates and performs their writes.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from core.writes import InsertResult, Upsert, WriteContext

__all__ = ["InsertResult", "Upsert", "WriteContext"]

# Types PostgREST clients may cast to with `col::type` (identifiers cannot be
# parameterised, so casts are whitelisted).
CASTABLE_TYPES: frozenset[str] = frozenset(
    {
        "text", "varchar", "char", "integer", "int", "int2", "int4", "int8",
        "smallint", "bigint", "numeric", "real", "float4", "float8",
        "double precision", "boolean", "bool", "date", "time", "timestamp",
        "timestamptz", "interval", "json", "jsonb", "uuid",
    }
)  # fmt: skip


@dataclass(frozen=True)
class ColumnSpec:
    """One column as the API exposes it."""

    name: str
    pg_type: str  # as PostgreSQL names it: bigint, text, boolean, jsonb, ...
    # A SQL expression for derived columns, with `{t}` standing for the row's
    # table alias; None for a real column of the table.
    expression: str | None = None
    readonly: bool = False  # never accepted in a body (derived, server-set)
    immutable: bool = False  # accepted on insert, refused on update
    required: bool = False  # no default: inserts must give it
    description: str = ""
    # For virtual JSON columns whose `col->>key` filters and orders the
    # resource compiles itself (``Resource.json_filter``/``json_order``).
    virtual_json: bool = False
    # Facts the OpenAPI document states (``column_from_model`` reads them from
    # a Django model field): may be null, longest text, the allowed values,
    # the smallest number, text that must not be blank.
    nullable: bool = False
    max_length: int | None = None
    enum: tuple[str, ...] | None = None
    minimum: int | None = None
    not_blank: bool = False
    # What JSON holds, for jsonb columns: "object", "array" or None (any).
    json_type: str | None = None
    # A body may give any JSON value (the writer turns it into the column's).
    any_json_input: bool = False

    @property
    def is_real(self) -> bool:
        return self.expression is None

    def sql(self, alias: str) -> str:
        if self.expression is not None:
            return "(" + self.expression.format(t=alias) + ")"
        return f'{alias}."{self.name}"'


# Django's field types -> the PostgreSQL type the API names (varchar is text).
_PG_TYPES = {
    "AutoField": "integer",
    "BigAutoField": "bigint",
    "BigIntegerField": "bigint",
    "BooleanField": "boolean",
    "CharField": "text",
    "DateField": "date",
    "DateTimeField": "timestamp with time zone",
    "DecimalField": "numeric",
    "IntegerField": "integer",
    "JSONField": "jsonb",
    "PositiveIntegerField": "integer",
    "SmallIntegerField": "smallint",
    "TextField": "text",
    "UUIDField": "uuid",
}


def column_from_model(model: Any, name: str, **overrides: Any) -> ColumnSpec:
    """The column ``name`` (an attname: ``thing_id``) of a Django model as the
    API exposes it, its facts read from ``model._meta``: type, nullability,
    length, choices, blank, required (no default), read-only (primary key or
    not editable). ``overrides`` set any other ColumnSpec field."""
    field_ = model._meta.get_field(name)
    target = field_.target_field if field_.is_relation else field_
    kind = target.get_internal_type()
    facts: dict[str, Any] = {
        "pg_type": _PG_TYPES[kind],
        "nullable": field_.null,
        "max_length": field_.max_length if kind in {"CharField", "TextField"} else None,
        "readonly": field_.primary_key or not field_.editable,
        "required": not (
            field_.null
            or field_.has_default()
            or field_.primary_key
            or not field_.editable
        ),
    }
    if field_.choices:
        facts["enum"] = tuple(str(value) for value, _ in field_.flatchoices)
    if kind in {"CharField", "TextField"} and not field_.blank:
        facts["not_blank"] = True
    if kind == "JSONField" and field_.has_default() and callable(field_.default):
        default = field_.default()
        facts["json_type"] = (
            "object" if isinstance(default, dict) else "array" if default else None
        )
    facts.update(overrides)
    return ColumnSpec(name, **facts)


@dataclass(frozen=True)
class Relation:
    """An embeddable relation: ``local_column`` joins ``target.remote_column``.

    ``many`` is True for a to-many relation (the target's rows point here).
    ``hints`` are the names that disambiguate it in ``embed!hint(...)``.
    """

    name: str
    target: str
    local_column: str
    remote_column: str
    many: bool
    hints: tuple[str, ...] = ()


def to_one(table: str, column: str) -> Relation:
    """This row's ``column`` points at a row of ``table`` (embedded as ``table``)."""
    return Relation(table, table, column, "id", many=False, hints=(column,))


def to_many(table: str, column: str) -> Relation:
    """Rows of ``table`` point at this row through their ``column``."""
    return Relation(table, table, "id", column, many=True)


class Writer(Protocol):
    """Validates and performs a resource's writes (the domain's services)."""

    def insert(
        self,
        rows: Sequence[dict[str, Any]],
        *,
        ctx: "WriteContext",
        upsert: "Upsert | None",
    ) -> "InsertResult":
        """Insert rows (already restricted to writable columns); return their ids."""
        ...

    def update(
        self, ids: Sequence[int], values: dict[str, Any], *, ctx: "WriteContext"
    ) -> list[int]:
        """Apply ``values`` to the rows ``ids`` (locked); return the ids changed."""
        ...

    def delete(self, ids: Sequence[int], *, ctx: "WriteContext") -> list[int]:
        """Delete (soft or hard) the rows ``ids`` (locked); return their ids."""
        ...


@dataclass
class Resource:
    name: str
    table: str
    columns: dict[str, ColumnSpec]
    writer: Writer | None = None
    relations: dict[str, Relation] = field(default_factory=dict)
    primary_key: str = "id"
    # Rows with this column false are left out of reads unless the request
    # filters on the column itself.
    soft_delete_column: str | None = None
    default_order: tuple[str, ...] = ("id",)
    description: str = ""
    # Compiles `virtual_json_col->key op value` for this resource's virtual
    # JSON columns: (alias, column, key, condition) -> (sql, params).
    json_filter: Callable[..., tuple[str, list[Any]]] | None = None
    json_order: Callable[..., str] | None = None
    # Body keys accepted besides columns, handed to the writer (nested writes).
    nested_inputs: frozenset[str] = frozenset()
    # Column sets `on_conflict` may name: the primary key and the table's
    # unconditional unique constraints.
    unique_keys: tuple[tuple[str, ...], ...] = ()

    def column(self, name: str) -> ColumnSpec | None:
        return self.columns.get(name)


_registry: dict[str, Resource] = {}


def register(resource: Resource) -> Resource:
    _registry[resource.name] = resource
    return resource


def get_resource(name: str) -> Resource | None:
    return _registry.get(name)


def all_resources() -> list[Resource]:
    return list(_registry.values())
