"""AST + resource -> one parameterised SQL statement.

Values always travel as parameters (psycopg quotes them as untyped literals,
so PostgreSQL types them from the column they meet, as PostgREST's do);
identifiers only ever come from the registry, never from the request. The
response is built in SQL with ``json_agg``, embeds included, so a request costs
one round trip however deep its embeds go.
"""

from dataclasses import dataclass, field, replace
from typing import Any

from pgrest.ast import (
    Column,
    Condition,
    Embed,
    Filter,
    Level,
    OrderTerm,
    Path,
    Query,
    SelectItem,
    Star,
)
from pgrest.errors import PostgrestError
from pgrest.registry import (
    CASTABLE_TYPES,
    ColumnSpec,
    Relation,
    Resource,
    get_resource,
)

COMPARISON_SQL = {
    "eq": "=",
    "neq": "<>",
    "gt": ">",
    "gte": ">=",
    "lt": "<",
    "lte": "<=",
    "like": "LIKE",
    "ilike": "ILIKE",
    "match": "~",
    "imatch": "~*",
    "cs": "@>",
    "cd": "<@",
    "ov": "&&",
    "sl": "<<",
    "sr": ">>",
    "nxr": "&<",
    "nxl": "&>",
    "adj": "-|-",
}
FTS_FUNCTIONS = {
    "fts": "to_tsquery",
    "plfts": "plainto_tsquery",
    "phfts": "phraseto_tsquery",
    "wfts": "websearch_to_tsquery",
}
JSON_TYPES = frozenset({"json", "jsonb"})


def column_not_found(resource: Resource, name: str) -> PostgrestError:
    return PostgrestError(
        f"column {resource.table}.{name} does not exist",
        code="42703",
        status=400,
    )


def relation_not_found(resource: Resource, name: str) -> PostgrestError:
    return PostgrestError(
        f"Could not find a relationship between '{resource.name}' and '{name}' "
        "in the schema cache",
        code="PGRST200",
        status=400,
        hint="Embed one of: " + ", ".join(sorted(resource.relations)) or None,
    )


@dataclass
class SqlBuilder:
    """Collects parameters and hands out table aliases."""

    params: list[Any] = field(default_factory=list)
    # Lookups a resource made while planning this statement (one per request).
    memo: dict[Any, Any] = field(default_factory=dict)
    _aliases: int = 0

    def param(self, value: Any) -> str:
        self.params.append(value)
        return "%s"

    def alias(self) -> str:
        name = f"t{self._aliases}"
        self._aliases += 1
        return name


def quote_label(label: str) -> str:
    """A double-quoted SQL identifier for an output label (aliases are free text)."""
    return '"' + label.replace('"', '""') + '"'


# --- Expressions ----------------------------------------------------------------


def resolve_column(resource: Resource, name: str) -> ColumnSpec:
    spec = resource.column(name)
    if spec is None:
        raise column_not_found(resource, name)
    return spec


def path_sql(
    b: SqlBuilder, resource: Resource, alias: str, path: Path
) -> tuple[str, str]:
    """SQL for a column or JSON path, and its PostgreSQL type."""
    spec = resolve_column(resource, path.column)
    expr = spec.sql(alias)
    if not path.json_path:
        return expr, spec.pg_type
    if spec.pg_type not in JSON_TYPES:
        raise PostgrestError(
            f"operator does not exist: {spec.pg_type} -> unknown",
            code="42883",
            status=404,
            hint="JSON paths apply to json columns only.",
        )
    for step in path.json_path:
        arrow = "->>" if step.as_text else "->"
        key = step.key
        if key.lstrip("-").isdigit():
            expr = f"({expr} {arrow} {int(key)})"
        else:
            expr = f"({expr} {arrow} {b.param(key)}::text)"
    return expr, "text" if path.json_path[-1].as_text else "jsonb"


def _array_param(b: SqlBuilder, values: tuple[str, ...], pg_type: str) -> str:
    if not values:
        return f"ARRAY[]::{pg_type}[]"
    items = ", ".join(b.param(v) for v in values)
    return f"ARRAY[{items}]::{pg_type}[]"


def condition_sql(
    b: SqlBuilder, resource: Resource, alias: str, cond: Condition
) -> str:
    spec = resolve_column(resource, cond.path.column)
    if spec.virtual_json and cond.path.json_path:
        if resource.json_filter is None:
            raise column_not_found(resource, cond.path.column)
        sql = resource.json_filter(b, alias, cond)
    else:
        sql = _plain_condition_sql(b, resource, alias, cond)
    return f"NOT ({sql})" if cond.negated else sql


def _plain_condition_sql(
    b: SqlBuilder, resource: Resource, alias: str, cond: Condition
) -> str:
    expr, pg_type = path_sql(b, resource, alias, cond.path)
    op = cond.operator
    value = cond.value
    if op == "is":
        return {
            "null": f"{expr} IS NULL",
            "not_null": f"{expr} IS NOT NULL",
            "true": f"{expr} IS TRUE",
            "false": f"{expr} IS FALSE",
            "unknown": f"{expr} IS UNKNOWN",
        }[str(value)]
    if op == "isdistinct":
        return f"{expr} IS DISTINCT FROM {b.param(value)}"
    if op == "in":
        if not value:
            return "FALSE"
        return f"{expr} IN ({', '.join(b.param(v) for v in value)})"
    if op in FTS_FUNCTIONS:
        function = FTS_FUNCTIONS[op]
        vector = expr if pg_type == "tsvector" else None
        if cond.language:
            if vector is None:
                vector = (
                    f"to_tsvector({b.param(cond.language)}::regconfig, {expr}::text)"
                )
            config = b.param(cond.language) + "::regconfig"
            return f"{vector} @@ {function}({config}, {b.param(value)})"
        vector = vector or f"to_tsvector({expr}::text)"
        return f"{vector} @@ {function}({b.param(value)})"
    sql_op = COMPARISON_SQL[op]
    if cond.quantifier:
        values = value if isinstance(value, tuple) else (value,)
        element_type = "text" if op in {"like", "ilike", "match", "imatch"} else pg_type
        array = _array_param(b, values, element_type)
        return f"{expr} {sql_op} {cond.quantifier.upper()}({array})"
    return f"{expr} {sql_op} {b.param(value)}"


def filter_sql(b: SqlBuilder, resource: Resource, alias: str, item: Filter) -> str:
    if isinstance(item, Condition):
        return condition_sql(b, resource, alias, item)
    joiner = " AND " if item.op == "and" else " OR "
    parts = [filter_sql(b, resource, alias, child) for child in item.items]
    sql = (
        "("
        + (joiner.join(parts) if parts else ("TRUE" if item.op == "and" else "FALSE"))
        + ")"
    )
    return f"NOT {sql}" if item.negated else sql


def mentions_column(filters: tuple[Filter, ...], column: str) -> bool:
    for item in filters:
        if isinstance(item, Condition):
            if item.path.column == column:
                return True
        elif mentions_column(item.items, column):
            return True
    return False


# --- Levels -----------------------------------------------------------------------


def level_where(
    b: SqlBuilder,
    resource: Resource,
    alias: str,
    level: Level,
    *,
    soft_delete: bool = True,
) -> list[str]:
    """The WHERE conditions of one level, soft-deleted rows left out by default.

    A level that filters on the soft-delete column itself decides alone.
    """
    conditions = [filter_sql(b, resource, alias, item) for item in level.filters]
    column = resource.soft_delete_column
    if soft_delete and column and not mentions_column(level.filters, column):
        conditions.append(f'{alias}."{column}"')
    return conditions


def order_sql(
    b: SqlBuilder, resource: Resource, alias: str, terms: tuple[OrderTerm, ...]
) -> str:
    parts = []
    for term in terms:
        if term.relation is not None:
            expr = related_order_expression(b, resource, alias, term)
            sql = f"{expr} {'DESC' if term.descending else 'ASC'}"
            if term.nulls:
                sql += f" NULLS {term.nulls.upper()}"
            parts.append(sql)
            continue
        spec = resolve_column(resource, term.path.column)
        if spec.virtual_json and term.path.json_path:
            if resource.json_order is None:
                raise column_not_found(resource, term.path.column)
            expr = resource.json_order(b, alias, term.path)
        else:
            expr, _ = path_sql(b, resource, alias, term.path)
        sql = f"{expr} {'DESC' if term.descending else 'ASC'}"
        if term.nulls:
            sql += f" NULLS {term.nulls.upper()}"
        parts.append(sql)
    return ", ".join(parts)


def related_order_expression(
    b: SqlBuilder, resource: Resource, alias: str, term: OrderTerm
) -> str:
    """``order=things(name).desc``: a column of a to-one related row."""
    relation = resource.relations.get(term.relation)
    if relation is None:
        for candidate in resource.relations.values():
            if not candidate.many and candidate.local_column == term.relation:
                relation = candidate
    if relation is None or relation.many:
        raise PostgrestError(
            f"A related order on '{term.relation}' is not possible",
            code="PGRST118",
            status=400,
            details=f"'{resource.name}' and '{term.relation}' do not form a "
            "many-to-one or one-to-one relationship",
        )
    target = get_resource(relation.target)
    child = b.alias()
    expr, _ = path_sql(b, target, child, term.path)
    return (
        f"(SELECT {expr} FROM {target.table} {child} "
        f"WHERE {join_condition(relation, alias, child)})"
    )


def default_order_sql(resource: Resource, alias: str) -> str:
    return ", ".join(f'{alias}."{name}"' for name in resource.default_order)


def find_relation(resource: Resource, embed: Embed) -> Relation:
    relation = resource.relations.get(embed.relation)
    if relation is None:
        # Embedding by a foreign-key column name (`thing_id(*)`) works too.
        for candidate in resource.relations.values():
            if not candidate.many and candidate.local_column == embed.relation:
                relation = candidate
                break
    if relation is None:
        raise relation_not_found(resource, embed.relation)
    if embed.hint and embed.hint not in (*relation.hints, relation.local_column):
        raise relation_not_found(resource, f"{embed.relation}!{embed.hint}")
    return relation


def join_condition(relation: Relation, parent_alias: str, child_alias: str) -> str:
    return (
        f'{child_alias}."{relation.remote_column}" = '
        f'{parent_alias}."{relation.local_column}"'
    )


def select_list(
    b: SqlBuilder,
    resource: Resource,
    alias: str,
    items: tuple[SelectItem, ...],
    query: Query,
    path: tuple[str, ...],
) -> list[str]:
    """``expr AS "label"`` for every selected item of one level."""
    columns: list[str] = []
    for item in items:
        if isinstance(item, Star):
            columns.extend(
                f"{spec.sql(alias)} AS {quote_label(spec.name)}"
                for spec in resource.columns.values()
                if not spec.virtual_json
            )
        elif isinstance(item, Column):
            expr, _ = path_sql(b, resource, alias, item.path)
            if item.cast:
                cast = item.cast.strip().lower()
                if cast not in CASTABLE_TYPES:
                    raise PostgrestError(
                        f'type "{item.cast}" does not exist', code="42704", status=400
                    )
                expr = f"({expr})::{cast}"
            columns.append(f"{expr} AS {quote_label(item.label)}")
        else:
            columns.extend(embed_columns(b, resource, alias, item, query, path))
    return columns


def embed_columns(
    b: SqlBuilder,
    resource: Resource,
    alias: str,
    embed: Embed,
    query: Query,
    path: tuple[str, ...],
) -> list[str]:
    relation = find_relation(resource, embed)
    target = get_resource(relation.target)
    assert target is not None, relation.target
    child_path = (*path, embed.label)
    level = query.embedded.get(child_path, Level())
    child = b.alias()

    def where() -> str:
        # Built after the columns it follows in the statement, so that the
        # parameters are collected in the order their placeholders appear.
        return " AND ".join(
            [
                join_condition(relation, alias, child),
                *level_where(b, target, child, level, soft_delete=relation.many),
            ]
        )

    if embed.spread:
        if relation.many:
            raise PostgrestError(
                f"A spread operation on '{embed.relation}' is not possible",
                code="PGRST119",
                status=400,
                details=f"'{resource.name}' and '{embed.relation}' do not form a "
                "many-to-one or one-to-one relationship",
            )
        columns = []
        for item in embed.select:
            inner = select_list(b, target, child, (item,), query, child_path)
            for column_sql in inner:
                expr, label = column_sql.rsplit(" AS ", 1)
                columns.append(
                    f"(SELECT {expr} FROM {target.table} {child} "
                    f"WHERE {where()}) AS {label}"
                )
        return columns
    inner_columns = select_list(b, target, child, embed.select, query, child_path)
    if not inner_columns:
        # `embed!inner()`: it filters the parents but is left out of the rows.
        return []
    sql = (
        f"SELECT {', '.join(inner_columns)} FROM {target.table} {child} WHERE {where()}"
    )
    row = b.alias()
    if relation.many:
        order = (
            order_sql(b, target, child, level.order)
            if level.order
            else default_order_sql(target, child)
        )
        sql += f" ORDER BY {order}"
        if level.limit is not None:
            sql += f" LIMIT {int(level.limit)}"
        if level.offset:
            sql += f" OFFSET {int(level.offset)}"
        value = f"COALESCE((SELECT json_agg({row}) FROM ({sql}) {row}), '[]'::json)"
    else:
        value = f"(SELECT row_to_json({row}) FROM ({sql} LIMIT 1) {row})"
    return [f"{value} AS {quote_label(embed.label)}"]


def inner_embed_conditions(
    b: SqlBuilder,
    resource: Resource,
    alias: str,
    items: tuple[SelectItem, ...],
    query: Query,
    path: tuple[str, ...],
) -> list[str]:
    """``EXISTS`` conditions for ``!inner`` embeds (and embeds filtered by them)."""
    conditions = []
    for item in items:
        if not isinstance(item, Embed) or not item.inner:
            continue
        relation = find_relation(resource, item)
        target = get_resource(relation.target)
        child_path = (*path, item.label)
        level = query.embedded.get(child_path, Level())
        child = b.alias()
        where = [
            join_condition(relation, alias, child),
            *level_where(b, target, child, level, soft_delete=relation.many),
        ]
        where += inner_embed_conditions(
            b, target, child, item.select, query, child_path
        )
        conditions.append(
            f"EXISTS (SELECT 1 FROM {target.table} {child} WHERE {' AND '.join(where)})"
        )
    return conditions


def embeds_by_label(query: Query) -> Query:
    """``query`` with its embedded levels keyed by embed label: PostgREST lets a
    filter, order or limit name an aliased embed by its relation too
    (``select=the_tasks:tasks(...)&tasks.order=name``) when that relation is
    embedded once at that level."""
    moved: dict[tuple[str, ...], Level] = {}
    for path, level in query.embedded.items():
        canonical = _label_path(query.select, path)
        if canonical is None or canonical in query.embedded or canonical in moved:
            moved.setdefault(path, level)
        else:
            moved[canonical] = level
    if moved.keys() == query.embedded.keys():
        return query
    return replace(query, embedded=moved)


def _label_path(items, path: tuple[str, ...]) -> tuple[str, ...] | None:
    labels: list[str] = []
    for name in path:
        embeds = [item for item in items if isinstance(item, Embed)]
        match = [e for e in embeds if e.label == name] or [
            e for e in embeds if e.relation == name
        ]
        if len(match) != 1:
            return None
        labels.append(match[0].label)
        items = match[0].select
    return tuple(labels)


def check_embedded_levels(resource: Resource, query: Query) -> None:
    """Filters on an embed that is not selected are an error, as in PostgREST."""
    labels = _embed_paths(resource, query.select, ())
    for path in query.embedded:
        if path not in labels:
            raise PostgrestError(
                f"'{'.'.join(path)}' is not an embedded resource in this request",
                code="PGRST108",
                status=400,
                hint=f"Verify that '{path[-1]}' is included in the 'select' query "
                "parameter.",
            )


def _embed_paths(resource: Resource, items, prefix) -> set[tuple[str, ...]]:
    paths = set()
    for item in items:
        if isinstance(item, Embed):
            relation = resource.relations.get(item.relation)
            path = (*prefix, item.label)
            paths.add(path)
            if relation is not None:
                target = get_resource(relation.target)
                if target is not None:
                    paths |= _embed_paths(target, item.select, path)
    return paths


@dataclass(frozen=True)
class ReadPlan:
    sql: str
    params: list[Any]
    count_sql: str | None
    count_params: list[Any]


def plan_read(
    resource: Resource,
    query: Query,
    *,
    limit: int | None,
    offset: int,
    ids: list[int] | None = None,
    exact_count: bool = False,
    strip_nulls: bool = False,
) -> ReadPlan:
    """The statement answering a read: ``(row_count, json_text)``.

    With ``ids`` (the rows a write touched) the request's own filters are not
    applied again and the rows come back in the order of ``ids``.
    """
    query = embeds_by_label(query)
    check_embedded_levels(resource, query)
    b = SqlBuilder()
    alias = b.alias()
    # No columns (`select=only!inner()`): rows of no keys, as PostgREST sends.
    columns = select_list(b, resource, alias, query.select, query, ())
    where: list[str]
    if ids is not None:
        where = [f'{alias}."{resource.primary_key}" = ANY({b.param(ids)})']
    else:
        where = level_where(b, resource, alias, query.root)
    where += inner_embed_conditions(b, resource, alias, query.select, query, ())
    # The page is picked first, from the table's own columns, and only its rows
    # get their derived columns and embeds computed: an OFFSET then skips rows
    # without building them. The outer query keeps the page's order.
    page = f"SELECT {alias}.* FROM {resource.table} {alias}"
    if where:
        page += " WHERE " + " AND ".join(where)
    page += f" ORDER BY {_root_order(b, resource, alias, query, ids)}"
    if limit is not None:
        page += f" LIMIT {int(limit)}"
    if offset:
        page += f" OFFSET {int(offset)}"
    sql = (
        f"SELECT {', '.join(columns)} FROM ({page}) {alias} "
        f"ORDER BY {_root_order(b, resource, alias, query, ids)}"
    )
    rows = "COALESCE(json_agg(_r), '[]'::json)"
    if strip_nulls:
        rows = f"json_strip_nulls({rows})"
    wrapped = f"SELECT count(*), {rows}::text FROM ({sql}) _r"
    count_sql = None
    count_params: list[Any] = []
    if exact_count:
        cb = SqlBuilder()
        calias = cb.alias()
        cwhere = level_where(cb, resource, calias, query.root)
        cwhere += inner_embed_conditions(cb, resource, calias, query.select, query, ())
        count_sql = f"SELECT count(*) FROM {resource.table} {calias}"
        if cwhere:
            count_sql += " WHERE " + " AND ".join(cwhere)
        count_params = cb.params
    return ReadPlan(
        sql=wrapped, params=b.params, count_sql=count_sql, count_params=count_params
    )


def _root_order(
    b: SqlBuilder, resource: Resource, alias: str, query: Query, ids: list[int] | None
) -> str:
    if ids is not None:
        key = f'{alias}."{resource.primary_key}"'
        return f"array_position({b.param(ids)}::bigint[], {key})"
    if query.root.order:
        return order_sql(b, resource, alias, query.root.order)
    return default_order_sql(resource, alias)


def plan_target_ids(
    resource: Resource, query: Query, *, soft_delete: bool = True
) -> tuple[str, list[Any]]:
    """The ids of the rows a PATCH/DELETE's filters match, locked for update.

    PATCH passes ``soft_delete=False``: it reaches inactive rows too, so that
    ``PATCH ?id=eq.5 {"active": true}`` restores a deleted row.
    """
    query = embeds_by_label(query)
    b = SqlBuilder()
    alias = b.alias()
    where = level_where(b, resource, alias, query.root, soft_delete=soft_delete)
    where += inner_embed_conditions(b, resource, alias, query.select, query, ())
    sql = f'SELECT {alias}."{resource.primary_key}" FROM {resource.table} {alias}'
    if where:
        sql += " WHERE " + " AND ".join(where)
    order = (
        order_sql(b, resource, alias, query.root.order)
        if query.root.order
        else default_order_sql(resource, alias)
    )
    sql += f" ORDER BY {order}"
    if query.root.limit is not None:
        sql += f" LIMIT {int(query.root.limit)}"
    if query.root.offset:
        sql += f" OFFSET {int(query.root.offset)}"
    sql += f" FOR UPDATE OF {alias}"
    return sql, b.params
