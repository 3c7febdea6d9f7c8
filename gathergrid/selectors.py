"""Reads of the entity-entry model for the browser UI (one tenant schema, the
connection's). Each function returns a lazy queryset or a value; counts and
flags come from subqueries, so a page costs the same with 1 row or 1,000."""

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import models
from django.db.models import (
    Count,
    Exists,
    F,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce, Left, Lower

from gathergrid import entry_sql
from gathergrid.models import (
    TEXT_INDEX_PREFIX,
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldDataType,
    FieldEntry,
    GridView,
    HistoryAction,
    Thing,
)
from gathergrid.values import InvalidValue, normalise

# --- Things and fields ------------------------------------------------------------


def _count_of(queryset: QuerySet, column: str) -> Coalesce:
    """Rows of ``queryset`` whose ``column`` is the outer row's id, as a subquery."""
    counted = (
        queryset.filter(**{column: OuterRef("pk")})
        .order_by()
        .values(column)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def thing_list(*, status: str = "active", search: str = "") -> QuerySet[Thing]:
    """Things by name, with ``active_field_count`` and ``active_entry_count``.

    ``status`` is ``active``, ``deactivated`` or ``all``; ``search`` matches a
    part of the name, ignoring case.
    """
    things = Thing.objects.all()
    if status == "active":
        things = things.filter(active=True)
    elif status == "deactivated":
        things = things.filter(active=False)
    if search:
        things = things.filter(name__icontains=search)
    return things.annotate(
        active_field_count=_count_of(Field.objects.filter(active=True), "thing"),
        active_entry_count=_count_of(Entry.objects.filter(active=True), "thing"),
    ).order_by("-active", "name", "id")


def field_list(*, thing_id: int, active: bool) -> QuerySet[Field]:
    """A thing's fields in display order, with ``has_values`` (any value entered,
    which fixes the field's data type)."""
    return (
        Field.objects.filter(thing_id=thing_id, active=active)
        .annotate(
            has_values=Exists(
                FieldEntry.objects.filter(
                    field_id=OuterRef("pk"), entered_value__isnull=False
                )
            )
        )
        .order_by("position", "id")
    )


def thing_fields(*, thing_id: int) -> list[Field]:
    """A thing's active fields in display order (the grid's columns)."""
    return list(
        Field.objects.filter(thing_id=thing_id, active=True).order_by("position", "id")
    )


def classification_items() -> list[ClassificationItem]:
    """The active classification items, by name."""
    return list(ClassificationItem.objects.filter(active=True).order_by("name", "id"))


def reference_labels(
    *, fields: Sequence[Field], entries: Iterable[Entry]
) -> dict[int, str]:
    """What the reference values of ``entries`` (annotated with ``values``)
    show: each named entry's value of its thing's first field (its name
    column), by entry id. One query per referenced thing, however many rows."""
    wanted: dict[int, set[int]] = {}
    rows = list(entries)
    for field in fields:
        target = (field.options or {}).get("thing_id")
        if field.data_type != FieldDataType.REFERENCE or not isinstance(target, int):
            continue
        for entry in rows:
            text = (entry.values or {}).get(str(field.id))
            if text and text.isdigit():
                wanted.setdefault(target, set()).add(int(text))
    labels: dict[int, str] = {}
    for target, ids in wanted.items():
        first = (
            Field.objects.filter(thing_id=target, active=True)
            .order_by("position", "id")
            .values("id")[:1]
        )
        labels.update(
            FieldEntry.objects.filter(
                field_id=Subquery(first),
                entry_id__in=ids,
                active=True,
                entered_value__isnull=False,
            ).values_list("entry_id", "entered_value")
        )
    return labels


def name_field(*, thing_id: int) -> Field | None:
    """The field that names a thing's entries: its first active field."""
    return (
        Field.objects.filter(thing_id=thing_id, active=True)
        .order_by("position", "id")
        .first()
    )


def entries_named(*, thing_id: int, names: Iterable[str]) -> dict[str, list[int]]:
    """Active entries of ``thing_id`` whose name (first field's value) is one
    of ``names``, ignoring case: {lowercased name: [entry ids]}. One query."""
    wanted = {name.strip().lower() for name in names if name.strip()}
    if not wanted:
        return {}
    first = (
        Field.objects.filter(thing_id=thing_id, active=True)
        .order_by("position", "id")
        .values("id")[:1]
    )
    found: dict[str, list[int]] = {}
    rows = (
        FieldEntry.objects.filter(
            field_id=Subquery(first),
            active=True,
            entry__active=True,
            entered_value__isnull=False,
        )
        .annotate(lowered=Lower("entered_value"))
        .filter(lowered__in=wanted)
        .order_by("entry_id")
        .values_list("lowered", "entry_id")
    )
    for lowered, entry_id in rows:
        found.setdefault(lowered, []).append(entry_id)
    return found


def reference_options(*, field: Field, search: str, limit: int) -> list[dict[str, Any]]:
    """What a reference field may point at, for a search-as-you-type picker:
    active entries of its target thing whose name starts with ``search``
    (ignoring case) first, then those containing it, by name; an entry id
    typed as digits finds that entry. ``[{"id", "label"}]``, one query."""
    target = (field.options or {}).get("thing_id")
    if field.data_type != FieldDataType.REFERENCE or not isinstance(target, int):
        return []
    first = (
        Field.objects.filter(thing_id=target, active=True)
        .order_by("position", "id")
        .values("id")[:1]
    )
    label = Subquery(
        FieldEntry.objects.filter(
            entry_id=OuterRef("pk"), field_id=Subquery(first), active=True
        ).values("entered_value")[:1]
    )
    entries = Entry.objects.filter(thing_id=target, active=True).annotate(label=label)
    text = search.strip()
    if text:
        matches = Q(label__icontains=text)
        if text.isascii() and text.isdigit() and len(text) < 19:
            matches |= Q(pk=int(text))
        entries = entries.filter(matches).annotate(
            starts=models.Case(
                models.When(label__istartswith=text, then=0),
                default=1,
                output_field=IntegerField(),
            )
        )
        entries = entries.order_by("starts", Lower("label"), "id")
    else:
        entries = entries.order_by(Lower("label"), "id")
    return [
        {"id": entry_id, "label": name or f"#{entry_id}"}
        for entry_id, name in entries.values_list("id", "label")[:limit]
    ]


def classification_names(*, item_ids: Iterable[int]) -> dict[int, str]:
    """Names of the classification items ``item_ids`` (any state), one query."""
    ids = set(item_ids)
    if not ids:
        return {}
    return dict(ClassificationItem.objects.filter(pk__in=ids).values_list("id", "name"))


def entry_referrers_count(*, entry: Entry) -> int:
    """How many active values of active reference fields name ``entry``."""
    return (
        FieldEntry.objects.filter(
            active=True,
            field__active=True,
            field__data_type=FieldDataType.REFERENCE,
            field__options__thing_id=entry.thing_id,
            value_number=entry.id,
        )
        .exclude(entry__active=False)
        .count()
    )


def entries_referrers_count(*, thing_id: int, entry_ids: Iterable[int]) -> int:
    """How many active values of active reference fields, in entries other
    than ``entry_ids``, name one of ``entry_ids`` (entries of ``thing_id``).
    One query, however many ids."""
    ids = list(entry_ids)
    if not ids:
        return 0
    return (
        FieldEntry.objects.filter(
            active=True,
            field__active=True,
            field__data_type=FieldDataType.REFERENCE,
            field__options__thing_id=thing_id,
            value_number__in=ids,
        )
        .exclude(entry__active=False)
        .exclude(entry_id__in=ids)
        .count()
    )


def field_positions(*, thing_id: int) -> list[tuple[int, int]]:
    """(id, position) of a thing's active fields in display order."""
    return list(
        Field.objects.filter(thing_id=thing_id, active=True)
        .order_by("position", "id")
        .values_list("id", "position")
    )


def thing_names() -> list[tuple[int, str, bool]]:
    """(id, name, active) of every thing by name: reference targets' labels."""
    return list(
        Thing.objects.order_by("name", "id").values_list("id", "name", "active")
    )


# --- Entries: the grid, the trash and CSV export ----------------------------------
#
# The grid's state lives in the query string (shareable URLs):
#   f=<field id>:<operator>:<value>   a filter on a field (repeatable, all must hold)
#   q=<text>                          free-text search in the entry's values
#   sort=<key> | sort=-<key>          id, updated, classification, valid_from,
#                                     valid_to, or f<field id>
#   class=<item id> | class=none      classification filter
#   valid_on=YYYY-MM-DD               entries valid on that day
# ``entry_query_parse`` turns it into an :class:`EntryQuery`; ``entries_filtered``
# (all matching rows, e.g. CSV export) and ``entries_page`` (one page of the grid)
# take that query.

# Filtered entries counted for paging at most; beyond, the pager says "more
# than 1,000" (counting every match of a filter on 100k entries would cost
# more than the page itself). Unfiltered counts are exact: an index-only scan.
ENTRY_COUNT_CAP = 1_000


class FilterOperator(models.TextChoices):
    CONTAINS = "contains", "contains"
    EQ = "eq", "is"
    NEQ = "neq", "is not"
    STARTS = "starts", "starts with"
    GT = "gt", ">"
    GTE = "gte", "≥"
    LT = "lt", "<"
    LTE = "lte", "≤"
    BETWEEN = "between", "between"
    EMPTY = "empty", "is empty"
    NOT_EMPTY = "notempty", "is not empty"


_TEXTUAL = ("contains", "eq", "neq", "starts", "empty", "notempty")
_ORDERED = ("eq", "neq", "gt", "gte", "lt", "lte", "between", "empty", "notempty")
FILTER_OPERATORS: dict[str, tuple[str, ...]] = {
    FieldDataType.TEXT: _TEXTUAL,
    FieldDataType.LONG_TEXT: _TEXTUAL,
    FieldDataType.EMAIL: _TEXTUAL,
    FieldDataType.URL: _TEXTUAL,
    FieldDataType.JSON: ("contains", "empty", "notempty"),
    FieldDataType.INTEGER: _ORDERED,
    FieldDataType.DECIMAL: _ORDERED,
    FieldDataType.REFERENCE: ("eq", "neq", "empty", "notempty"),
    FieldDataType.DATE: _ORDERED,
    FieldDataType.DATETIME: _ORDERED,
    FieldDataType.BOOLEAN: ("eq", "empty", "notempty"),
    FieldDataType.CHOICE: ("eq", "neq", "empty", "notempty"),
    FieldDataType.MULTI_CHOICE: ("contains", "empty", "notempty"),
}
# Dates read better in words than with < and >.
DATE_OPERATOR_LABELS = {
    "eq": "on",
    "neq": "not on",
    "gt": "after",
    "gte": "on or after",
    "lt": "before",
    "lte": "on or before",
    "between": "between",
}
# "between" takes two values, "<low>..<high>" (both included).
BETWEEN_SEPARATOR = ".."
ENTRY_SORT_KEYS = ("id", "updated", "classification", "valid_from", "valid_to")
_SORT_COLUMNS = {
    "id": "id",
    "updated": "updated_at",
    "classification": "classification_item__name",
    "valid_from": "validity_start_date",
    "valid_to": "validity_end_date",
}


def filter_operator_label(data_type: str, operator: str) -> str:
    """How an operator reads for a field of ``data_type`` ("after" for dates)."""
    if data_type in {FieldDataType.DATE, FieldDataType.DATETIME}:
        return DATE_OPERATOR_LABELS.get(operator, FilterOperator(operator).label)
    return FilterOperator(operator).label


@dataclass(frozen=True)
class EntryFilter:
    """One condition on one field's value; ``value`` is the typed value to compare
    with (``None`` for empty/notempty), ``text`` what the user typed."""

    field: Field
    operator: str
    text: str
    value: Any = None

    @property
    def param(self) -> str:
        return f"{self.field.id}:{self.operator}:{self.text}"

    @property
    def label(self) -> str:
        words = filter_operator_label(self.field.data_type, self.operator)
        if self.operator in {"empty", "notempty"}:
            return f"{self.field.name} {words}"
        if self.operator == "between":
            low, _, high = self.text.partition(BETWEEN_SEPARATOR)
            return f"{self.field.name} between {low} and {high}"
        return f"{self.field.name} {words} {self.text}"


@dataclass(frozen=True)
class EntryQuery:
    """What the grid shows: filters, search, order (``errors`` says in words which
    parts of the query string were ignored, and why)."""

    filters: tuple[EntryFilter, ...] = ()
    search: str = ""
    order: str = "id"
    classification: str = ""  # "", "none" or an item id
    valid_on: date | None = None
    errors: tuple[str, ...] = ()


def _filter_value(field: Field, operator: str, text: str) -> Any:
    """The value a filter compares with, typed like the field's shadow column."""
    if operator in {"empty", "notempty"}:
        return None
    if operator == "between":
        low, separator, high = text.partition(BETWEEN_SEPARATOR)
        if not separator:
            raise InvalidValue(f"needs two values, as low{BETWEEN_SEPARATOR}high")
        bounds = (
            _filter_value(field, "gte", low.strip()),
            _filter_value(field, "lte", high.strip()),
        )
        if bounds[0] > bounds[1]:
            raise InvalidValue("the first value is above the second")
        return bounds
    data_type = field.data_type
    if data_type == FieldDataType.DATETIME:
        # Datetime filters compare days (the filter input is a date).
        data_type = FieldDataType.DATE
    if data_type == FieldDataType.MULTI_CHOICE:
        data_type = FieldDataType.CHOICE
    if operator in {"contains", "starts"} or data_type in {
        FieldDataType.TEXT,
        FieldDataType.LONG_TEXT,
        FieldDataType.EMAIL,
        FieldDataType.URL,
    }:
        if text == "":
            raise InvalidValue("needs a value")
        return text
    normal = normalise(data_type, field.options, text)  # choices checked too
    if normal.text is None:
        raise InvalidValue("needs a value")
    return entry_sql.typed_value(entry_sql.shadow_column(data_type), normal.text)


def _is_id(text: str) -> bool:
    """ASCII digits only: str.isdigit() also says yes to "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def _with_article(noun: str) -> str:
    return ("an " if noun[:1] in "aeiou" else "a ") + noun


def entry_query_parse(
    *, params: Mapping[str, Any], fields: Sequence[Field]
) -> EntryQuery:
    """The grid's state from a query string (``request.GET``); see the section
    comment for the parameters. Unknown fields, operators and values that do not
    fit the field's type are left out and named in ``errors``."""
    getlist = getattr(params, "getlist", None)
    raw_filters = getlist("f") if getlist else list(params.get("f") or [])
    # PostgreSQL text cannot hold NUL: no value has one to match.
    raw_filters = [raw.replace("\x00", "") for raw in raw_filters]
    by_id = {field.id: field for field in fields}
    filters: list[EntryFilter] = []
    errors: list[str] = []
    for raw in raw_filters:
        field_id, _, rest = raw.partition(":")
        operator, _, text = rest.partition(":")
        field = by_id.get(int(field_id)) if _is_id(field_id) else None
        if field is None:
            errors.append(f"Filter {raw!r} ignored: no such field.")
            continue
        if operator not in FILTER_OPERATORS.get(field.data_type, ()):
            errors.append(
                f"Filter on {field.name} ignored: {operator!r} does not apply "
                f"to {_with_article(field.get_data_type_display().lower())} field."
            )
            continue
        try:
            value = _filter_value(field, operator, text.strip())
        except InvalidValue as error:
            errors.append(f"Filter on {field.name} ignored: {error}.")
            continue
        filters.append(EntryFilter(field, operator, text.strip(), value))
    order = str(params.get("sort") or "id")
    key = order.removeprefix("-")
    if not (
        key in ENTRY_SORT_KEYS
        or (key[:1] == "f" and _is_id(key[1:]) and int(key[1:]) in by_id)
    ):
        errors.append(f"Sort {order!r} ignored: no such column.")
        order = "id"
    classification = str(params.get("class") or "")
    if classification and classification != "none" and not _is_id(classification):
        errors.append(f"Classification {classification!r} ignored: not an item id.")
        classification = ""
    valid_on = None
    if params.get("valid_on"):
        try:
            valid_on = normalise(FieldDataType.DATE, None, params.get("valid_on")).date
        except InvalidValue as error:
            errors.append(f"Valid on ignored: {error}.")
    return EntryQuery(
        filters=tuple(filters),
        search=str(params.get("q") or "").replace("\x00", "").strip(),
        order=order,
        classification=classification,
        valid_on=valid_on,
        errors=tuple(errors),
    )


def _value_condition(p: entry_sql.Params, item: EntryFilter) -> str:
    """The condition on a field_entries row (``fe``) that makes ``item`` hold."""
    field, op, value = item.field, item.operator, item.value
    if op == "contains" and field.data_type == FieldDataType.MULTI_CHOICE:
        column, op, value = "value_json", "cs", json.dumps([value])
    elif op in {"contains", "starts"}:
        pattern = entry_sql.like_escaped(value)
        column, op = "entered_value", "ilike"
        value = f"%{pattern}%" if item.operator == "contains" else f"{pattern}%"
    elif field.data_type == FieldDataType.DATETIME:
        column = entry_sql.DAY_OF_DATETIME
    else:
        column = entry_sql.shadow_column(field.data_type)
    if op == "neq":
        op = "eq"  # negated around the EXISTS: entries without a value match
    if op == "between":
        low, high = value
        parts = [
            entry_sql.value_condition(p, column=column, op="gte", value=low),
            entry_sql.value_condition(p, column=column, op="lte", value=high),
        ]
        return " AND ".join(f"({part})" for part in parts if part)
    sql = entry_sql.value_condition(p, column=column, op=op, value=value)
    assert sql is not None, "entry_query_parse offers only operators that apply"
    return sql


def _field_filter(item: EntryFilter) -> Q:
    p = entry_sql.SqlParams()
    if item.operator in {"empty", "notempty"}:
        condition = "fe.entered_value IS NOT NULL"
    else:
        condition = _value_condition(p, item)
    exists = entry_sql.value_exists(
        entry="{t}", field_ids=[item.field.id], condition=condition
    )
    matching = Q(entry_sql.EntrySql(exists, p.params))
    # "is not" keeps the entries without a value, like a spreadsheet filter.
    return ~matching if item.operator in {"neq", "empty"} else matching


def _entries_matching(
    *, thing: Thing, fields: Sequence[Field], query: EntryQuery, active: bool
) -> QuerySet[Entry]:
    entries = Entry.objects.filter(thing_id=thing.id, active=active)
    for item in query.filters:
        entries = entries.filter(_field_filter(item))
    if query.search:
        # A substring can sit anywhere in a value, so no btree serves it: the
        # search runs per entry, and a page stops at its LIMIT.
        entries = entries.filter(
            Exists(
                FieldEntry.objects.filter(
                    entry_id=OuterRef("pk"),
                    field_id__in=[field.id for field in fields],
                    active=True,
                    entered_value__icontains=query.search,
                )
            )
        )
    if query.classification == "none":
        entries = entries.filter(classification_item_id__isnull=True)
    elif query.classification:
        entries = entries.filter(classification_item_id=int(query.classification))
    if query.valid_on is not None:
        day = query.valid_on
        entries = entries.filter(
            Q(validity_start_date__isnull=True) | Q(validity_start_date__lte=day),
            Q(validity_end_date__isnull=True) | Q(validity_end_date__gte=day),
        )
    return entries


def _entry_columns(entries: QuerySet[Entry]) -> QuerySet[Entry]:
    """Annotate what a row shows: ``values`` ({"<field id>": entered_value}),
    ``initialized``, ``complete`` (the API's own expressions),
    ``classification_name``."""
    return entries.annotate(
        values=entry_sql.EntrySql(
            entry_sql.VALUES_BY_FIELD_ID, output_field=models.JSONField()
        ),
        initialized=entry_sql.EntrySql(entry_sql.INITIALIZED),
        complete=entry_sql.EntrySql(entry_sql.COMPLETE),
        classification_name=F("classification_item__name"),
    )


def _sort_field(order: str, fields: Sequence[Field]) -> tuple[Field, str] | None:
    """The field a ``f<id>`` order sorts by and the column its values compare in
    (typed, so 9 < 10 and dates by date); None for an entry column."""
    key = order.removeprefix("-")
    if not key.startswith("f"):
        return None
    # entry_query_parse only lets through the ids of ``fields``.
    field = next(f for f in fields if f.id == int(key[1:]))
    column = entry_sql.shadow_column(field.data_type)
    return field, "entered_value" if column == "value_json" else column


def _ordered(
    entries: QuerySet[Entry], order: str, fields: Sequence[Field]
) -> QuerySet[Entry]:
    descending = order.startswith("-")
    sort = _sort_field(order, fields)
    if sort is not None:
        field, column = sort
        # A LEFT JOIN on the one value of that field (unique per entry).
        entries = entries.annotate(
            sort_value=FilteredRelation(
                "field_entries",
                condition=Q(
                    field_entries__field_id=field.id, field_entries__active=True
                ),
            )
        )
        expression = F(f"sort_value__{column}")
    else:
        expression = F(_SORT_COLUMNS[order.removeprefix("-")])
    expression = (
        expression.desc(nulls_last=True)
        if descending
        else expression.asc(nulls_last=True)
    )
    return entries.order_by(expression, "-id" if descending else "id")


# Value columns with a (field_id, column) index that can hand out a page of
# entries in value order (the text one by its 200-character prefix).
_INDEXED_SORT_COLUMNS = frozenset(
    {"value_number", "value_date", "value_datetime", "entered_value"}
)


def _page_ids(
    matching: QuerySet[Entry],
    order: str,
    fields: Sequence[Field],
    *,
    offset: int,
    limit: int,
) -> list[int]:
    """Ids of ``limit`` entries from ``offset`` in ``order`` (what _ordered sorts).

    Sorted by an indexed field, the LEFT JOIN of _ordered would sort every
    entry of the thing to show 50. Instead: the entries with a value, walked in
    the value index's order (an index scan stopped at the LIMIT), then, once
    those run out, the entries without one by id (NULLS LAST, as _ordered)."""
    sort = _sort_field(order, fields)
    if sort is None or sort[1] not in _INDEXED_SORT_COLUMNS:
        ordered = _ordered(matching, order, fields).values_list("id", flat=True)
        return list(ordered[offset : offset + limit])
    field, column = sort
    descending = order.startswith("-")
    has_value = {"field_id": field.id, "active": True, f"{column}__isnull": False}
    # One filter() call: one join, which the annotation and ordering reuse.
    valued = matching.filter(
        **{f"field_entries__{key}": value for key, value in has_value.items()}
    )
    keys = [F(f"field_entries__{column}")]
    if column == "entered_value":
        valued = valued.annotate(
            sort_prefix=Left("field_entries__entered_value", TEXT_INDEX_PREFIX)
        )
        keys.insert(0, F("sort_prefix"))
    keys.append(F("id"))
    valued = valued.order_by(*(k.desc() if descending else k.asc() for k in keys))
    ids = list(valued.values_list("id", flat=True)[offset : offset + limit])
    if len(ids) == limit:
        return ids
    valued_count = offset + len(ids) if ids else valued.count()
    unvalued = matching.exclude(
        Exists(FieldEntry.objects.filter(entry_id=OuterRef("pk"), **has_value))
    ).order_by("-id" if descending else "id")
    start = max(0, offset - valued_count)
    rest = unvalued.values_list("id", flat=True)[start : start + limit - len(ids)]
    return ids + list(rest)


def entries_filtered(
    *,
    thing: Thing,
    fields: Sequence[Field],
    query: EntryQuery,
    active: bool = True,
) -> QuerySet[Entry]:
    """All entries of ``thing`` matching ``query`` (``active=False``: the trash),
    in the query's order, each annotated with ``values`` ({"<field id>":
    entered_value}), ``initialized``, ``complete`` and ``classification_name``.

    ``fields`` are the thing's active fields (search looks in their values). For
    the CSV export of the grid's current view::

        fields = list(Field.objects.filter(thing=thing, active=True))
        query = entry_query_parse(params=request.GET, fields=fields)
        for entry in entries_filtered(thing=thing, fields=fields, query=query)
            .iterator(chunk_size=2000): ...
    """
    matching = _entries_matching(thing=thing, fields=fields, query=query, active=active)
    return _ordered(_entry_columns(matching), query.order, fields)


def entry_ids_matching(
    *, thing: Thing, fields: Sequence[Field], query: EntryQuery, active: bool = True
) -> list[int]:
    """The ids of every entry of ``thing`` matching ``query`` (the grid's
    "all matching" selection), by id. One query."""
    matching = _entries_matching(thing=thing, fields=fields, query=query, active=active)
    return list(matching.order_by("id").values_list("id", flat=True))


@dataclass(frozen=True)
class EntriesPage:
    rows: list[Entry]
    number: int
    page_size: int
    has_next: bool
    # Matching entries: exact without filters, up to ENTRY_COUNT_CAP with
    # (``count_capped`` beyond), None with a search (not counted).
    count: int | None
    count_capped: bool = False

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    @property
    def page_count(self) -> int | None:
        """Pages in all, if the count is known."""
        if self.count is None or self.count_capped:
            return None
        return max(1, -(-self.count // self.page_size))

    @property
    def first_index(self) -> int:
        return (self.number - 1) * self.page_size + 1 if self.rows else 0

    @property
    def last_index(self) -> int:
        return (self.number - 1) * self.page_size + len(self.rows)


def _entries_count(
    matching: QuerySet[Entry], query: EntryQuery
) -> tuple[int | None, bool]:
    """(count, capped): see EntriesPage.count."""
    if query.search:
        # A substring search reads every value once already; no second pass.
        return None, False
    if not (query.filters or query.classification or query.valid_on):
        return matching.count(), False
    count = matching.order_by().values("id")[: ENTRY_COUNT_CAP + 1].count()
    return min(count, ENTRY_COUNT_CAP), count > ENTRY_COUNT_CAP


def entries_page(
    *,
    thing: Thing,
    fields: Sequence[Field],
    query: EntryQuery,
    page: int = 1,
    page_size: int,
    active: bool = True,
) -> EntriesPage:
    """Page ``page`` (from 1) of :func:`entries_filtered`, in three queries however
    many entries or fields: the page's ids in order (LIMIT size + 1 tells whether
    a next page exists), those rows with their values (computed for the page
    only, not for the rows an OFFSET skips), and the count (see
    :class:`EntriesPage`)."""
    page = max(1, page)
    matching = _entries_matching(thing=thing, fields=fields, query=query, active=active)
    ids = _page_ids(
        matching,
        query.order,
        fields,
        offset=(page - 1) * page_size,
        limit=page_size + 1,
    )
    shown = ids[:page_size]
    rows = _entry_columns(Entry.objects.filter(pk__in=shown)) if shown else []
    by_id = {entry.id: entry for entry in rows}
    count, capped = _entries_count(matching, query)
    return EntriesPage(
        rows=[by_id[entry_id] for entry_id in shown],
        number=page,
        page_size=page_size,
        has_next=len(ids) > page_size,
        count=count,
        count_capped=capped,
    )


@dataclass(frozen=True)
class EntriesWindow:
    """Rows ``offset`` to ``offset + len(rows)`` of the matching entries, and
    how many match in all (exact: the grid sizes its pages and "select all
    matching" by it)."""

    rows: list[Entry]
    offset: int
    count: int


def entries_window(
    *,
    thing: Thing,
    fields: Sequence[Field],
    query: EntryQuery,
    offset: int,
    limit: int,
    active: bool = True,
) -> EntriesWindow:
    """Up to ``limit`` entries from ``offset`` of :func:`entries_filtered`, in
    three queries however far or wide: the ids (an index walk stopped at the
    LIMIT, see _page_ids), their rows with values, and the exact count."""
    matching = _entries_matching(thing=thing, fields=fields, query=query, active=active)
    ids = _page_ids(matching, query.order, fields, offset=max(0, offset), limit=limit)
    rows = _entry_columns(Entry.objects.filter(pk__in=ids)) if ids else []
    by_id = {entry.id: entry for entry in rows}
    return EntriesWindow(
        rows=[by_id[entry_id] for entry_id in ids],
        offset=offset,
        count=matching.order_by().count(),
    )


def entry_row(
    *, thing: Thing, fields: Sequence[Field], entry_id: int, active: bool | None = None
) -> Entry:
    """One entry of ``thing`` annotated like a grid row; Entry.DoesNotExist if it
    is not one of the thing's entries (or not in the ``active`` state asked)."""
    entries = Entry.objects.filter(thing_id=thing.id, pk=entry_id)
    if active is not None:
        entries = entries.filter(active=active)
    return _entry_columns(entries).get()


def entry_history_list(*, entry: Entry) -> QuerySet[EntryHistory]:
    """An entry's changes, newest first, with their field."""
    return (
        EntryHistory.objects.filter(entry_id=entry.id)
        .select_related("field")
        .order_by("-changed_at", "-id")
    )


def user_emails(*, user_ids: Iterable[Any]) -> dict[str, str]:
    """{str(user id): email} for the ids given (one query on the public users
    table; tenant rows keep user ids as plain values, no foreign key)."""
    from tenants.models import User

    ids = {str(user_id) for user_id in user_ids if user_id}
    if not ids:
        return {}
    return {
        str(user_id): email
        for user_id, email in User.objects.filter(pk__in=ids).values_list("id", "email")
    }


@dataclass(frozen=True)
class Deletion:
    """When an entry last went to the trash, and by whom (a user id, or None
    when written without one)."""

    at: Any
    by: Any


def entry_deletions(*, entry_ids: Iterable[int]) -> dict[int, Deletion]:
    """{entry id: its latest move to the trash} from the entries' history, in
    one query (``DISTINCT ON`` the entry)."""
    ids = list(entry_ids)
    if not ids:
        return {}
    records = (
        EntryHistory.objects.filter(
            entry_id__in=ids, field=None, action=HistoryAction.DEACTIVATE
        )
        .order_by("entry_id", "-changed_at", "-id")
        .distinct("entry_id")
        .values_list("entry_id", "changed_at", "changed_by")
    )
    return {entry_id: Deletion(at, by) for entry_id, at, by in records}


# --- Saved grid views -----------------------------------------------------------


def grid_view_list(*, thing_id: int) -> list[GridView]:
    """The saved views of a thing's grid, by name (every member sees them)."""
    return list(
        GridView.objects.filter(thing_id=thing_id).order_by(Lower("name"), "id")
    )
