"""The one compiler of SQL over entry values, for every face.

Whether an entry's value of a field matches a condition is decided here once:
which typed shadow column compares (numbers as numbers, dates as dates), how a
text comparison uses the ``(field_id, left(entered_value, 200))`` index, and
what each operator means. ``gathergrid.resources`` compiles ``values->>Name``
filters of ``/rest/v1`` with it; ``gathergrid.selectors`` the grid's filters
(through :class:`EntrySql`, a Django expression). The entry-level expressions
(``values``, ``initialized``, ``complete``) are here too, with ``{t}`` standing
for the alias of the ``entries`` row.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models
from django.db.models.expressions import Expression

from gathergrid.models import TEXT_INDEX_PREFIX, FieldDataType
from gathergrid.values import SHADOW_COLUMN, SHADOW_SQL_TYPE, normalise

# --- Entry-level expressions ({t}: the entries row) ------------------------------

HAS_VALUE = (
    "EXISTS (SELECT 1 FROM field_entries fe WHERE fe.entry_id = {{t}}.id "
    "AND fe.field_id = f.id AND fe.active AND fe.entered_value IS NOT NULL)"
)
ALL_FLAGGED_HAVE_VALUES = (
    "NOT EXISTS (SELECT 1 FROM fields f WHERE f.thing_id = {{t}}.thing_id "
    "AND f.active AND f.{flag} AND NOT " + HAS_VALUE + ")"
)
INITIALIZED = ALL_FLAGGED_HAVE_VALUES.format(flag="required_for_initialization")
COMPLETE = ALL_FLAGGED_HAVE_VALUES.format(flag="mandatory")
# {"<field name>": entered_value}: what /rest/v1 shows as ``values``.
VALUES_BY_NAME = (
    "SELECT COALESCE(jsonb_object_agg(f.name, fe.entered_value), '{{}}'::jsonb) "
    "FROM field_entries fe JOIN fields f ON f.id = fe.field_id "
    "WHERE fe.entry_id = {t}.id AND fe.active AND f.active "
    "AND fe.entered_value IS NOT NULL"
)
# {"<field id>": entered_value}: what the grid shows.
VALUES_BY_FIELD_ID = (
    "SELECT COALESCE(jsonb_object_agg(fe.field_id::text, fe.entered_value), "
    "'{{}}'::jsonb) FROM field_entries fe WHERE fe.entry_id = {t}.id "
    "AND fe.active AND fe.entered_value IS NOT NULL"
)

# --- Conditions on one field_entries row (alias ``fe``) ----------------------------


class Params(Protocol):
    """Collects a statement's parameters: ``param(value)`` is its placeholder."""

    def param(self, value: Any) -> str: ...


@dataclass
class SqlParams:
    params: list[Any] = field(default_factory=list)

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"


# The grid compares datetimes by their day (its filter input is a date).
DAY_OF_DATETIME = "value_datetime_day"
_EXPRESSIONS = {DAY_OF_DATETIME: "(fe.value_datetime AT TIME ZONE 'UTC')::date"}
_SQL_TYPES = {**SHADOW_SQL_TYPE, DAY_OF_DATETIME: "date"}

TEXT_OPERATORS = frozenset(
    {"like", "ilike", "match", "imatch", "fts", "plfts", "phfts", "wfts"}
)
COMPARISONS = {"eq": "=", "neq": "<>", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
# A comparison of two texts implies the same comparison (or equality) of their
# prefixes: that implied condition lets the (field_id, left(value)) index serve.
PREFIX_IMPLIED = {"eq": "=", "gt": ">=", "gte": ">=", "lt": "<=", "lte": "<="}
_LIKE = {"like": "LIKE", "ilike": "ILIKE", "match": "~", "imatch": "~*"}
_FTS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}
_JSON_CONTAINMENT = {"cs": "@>", "cd": "<@", "ov": "&&"}


def shadow_column(data_type: str) -> str:
    """The column a value of ``data_type`` compares in."""
    return SHADOW_COLUMN.get(data_type, "entered_value")


def typed_value(column: str, raw: Any) -> Any:
    """``raw`` as ``column``'s type (text columns take it as it is); raises
    :class:`~gathergrid.values.InvalidValue`."""
    data_type = {
        "value_number": FieldDataType.DECIMAL,
        "value_date": FieldDataType.DATE,
        DAY_OF_DATETIME: FieldDataType.DATE,
        "value_datetime": FieldDataType.DATETIME,
        "value_boolean": FieldDataType.BOOLEAN,
    }.get(column)
    if data_type is None:
        return raw
    normal = normalise(data_type, None, raw)
    return {
        "value_number": normal.number,
        "value_date": normal.date,
        DAY_OF_DATETIME: normal.date,
        "value_datetime": normal.datetime,
        "value_boolean": normal.boolean,
    }[column]


def like_escaped(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def text_comparison(p: Params, op: str, value: str) -> str:
    if op == "eq" and len(value) < TEXT_INDEX_PREFIX:
        # For a value shorter than the indexed prefix, equal prefixes are equal
        # values; repeating the full comparison would make the planner count
        # the match twice, expect a handful of rows and plan for a handful.
        return f"left(fe.entered_value, {TEXT_INDEX_PREFIX}) = {p.param(value)}"
    sql = f"fe.entered_value {COMPARISONS[op]} {p.param(value)}"
    if op in PREFIX_IMPLIED:
        prefix = p.param(value[:TEXT_INDEX_PREFIX])
        sql = (
            f"left(fe.entered_value, {TEXT_INDEX_PREFIX}) {PREFIX_IMPLIED[op]} "
            f"{prefix} AND {sql}"
        )
    return sql


def value_condition(
    p: Params,
    *,
    column: str,
    op: str,
    value: Any,
    quantifier: str | None = None,
    language: str | None = None,
) -> str | None:
    """The condition ``fe.<column> <op> value`` (values already typed for
    ``column``, tuples for ``in`` and quantified operators); None when ``op``
    does not apply to ``column``."""
    expr = _EXPRESSIONS.get(column, f"fe.{column}")
    sql_type = _SQL_TYPES[column]
    if op in COMPARISONS and column == "entered_value" and not quantifier:
        return text_comparison(p, op, str(value))
    if op == "in" and column == "entered_value" and value:
        prefixes = ", ".join(p.param(v[:TEXT_INDEX_PREFIX]) for v in value)
        items = ", ".join(p.param(v) for v in value)
        return (
            f"left(fe.entered_value, {TEXT_INDEX_PREFIX}) IN ({prefixes}) "
            f"AND fe.entered_value IN ({items})"
        )
    if op in COMPARISONS:
        if quantifier:
            items = ", ".join(p.param(v) for v in _many(value))
            array = f"ARRAY[{items}]::{sql_type}[]"
            return f"{expr} {COMPARISONS[op]} {quantifier.upper()}({array})"
        return f"{expr} {COMPARISONS[op]} {p.param(value)}"
    if op == "in":
        if not value:
            return "FALSE"
        return f"{expr} IN ({', '.join(p.param(v) for v in value)})"
    if op == "isdistinct":
        return f"{expr} IS DISTINCT FROM {p.param(value)}"
    if op == "is":
        return f"{expr} IS {str(value).upper()}"
    if op in _LIKE:
        if quantifier:
            items = ", ".join(p.param(v) for v in _many(value))
            return f"{expr} {_LIKE[op]} {quantifier.upper()}(ARRAY[{items}]::text[])"
        return f"{expr} {_LIKE[op]} {p.param(value)}"
    if op in _FTS:
        if language:
            vector = f"to_tsvector({p.param(language)}::regconfig, {expr})"
            config = p.param(language) + "::regconfig"
            return f"{vector} @@ {_FTS[op]}({config}, {p.param(value)})"
        return f"to_tsvector({expr}) @@ {_FTS[op]}({p.param(value)})"
    if op in _JSON_CONTAINMENT and column == "value_json":
        return f"{expr} {_JSON_CONTAINMENT[op]} {p.param(value)}::jsonb"
    return None


def _many(value: Any) -> tuple[Any, ...]:
    return value if isinstance(value, tuple) else (value,)


def value_exists(*, entry: str, field_ids: Sequence[int], condition: str) -> str:
    """Whether the entry aliased ``entry`` has an active value of one of
    ``field_ids`` meeting ``condition`` (on ``fe``)."""
    ids = ", ".join(str(int(i)) for i in field_ids)  # ids, never client text
    return (
        f"EXISTS (SELECT 1 FROM field_entries fe WHERE fe.entry_id = {entry}.id "
        f"AND fe.active AND fe.field_id IN ({ids}) AND ({condition}))"
    )


class EntrySql(Expression):
    """SQL about the ``entries`` row of a queryset (``{t}`` its alias) as a
    Django expression: the alias is the query's own, also when Django renames
    it (a subquery of entries inside a query of entries)."""

    def __init__(
        self,
        template: str,
        params: Sequence[Any] = (),
        *,
        output_field: models.Field | None = None,
    ) -> None:
        super().__init__(output_field=output_field or models.BooleanField())
        self.template = template
        self.params = list(params)
        self.alias: str | None = None

    def resolve_expression(self, query=None, *args: Any, **kwargs: Any) -> "EntrySql":
        clone = self.copy()
        clone.alias = query.get_initial_alias()
        return clone

    def relabeled_clone(self, change_map: dict[str, str]) -> "EntrySql":
        clone = self.copy()
        clone.alias = change_map.get(self.alias, self.alias)
        return clone

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        alias = compiler.quote_name_unless_alias(self.alias)
        return "(" + self.template.format(t=alias) + ")", self.params
