"""The one value-condition compiler: the grid's filters compile through it, and
stay right when Django nests the entries query inside another."""

import pytest

from core.writes import WriteContext
from gathergrid import entry_sql
from gathergrid.models import Entry, Field, Thing
from gathergrid.selectors import entries_filtered, entry_query_parse
from gathergrid.services import entries, fields, things
from tests.factories import in_tenant

BY = WriteContext(user_id=None)


@pytest.fixture
def cities(tenant_a):
    with in_tenant(tenant_a):
        thing = Thing.objects.get(
            pk=things.thing_create(values={"name": "Cities"}, by=BY)
        )
        for name, data_type in [("Name", "text"), ("Size", "integer")]:
            fields.field_create(
                thing=thing, values={"name": name, "data_type": data_type}, by=BY
            )
        for name, size in [("Oslo", "9"), ("Lima", "10"), ("Rome", None)]:
            values = {"Name": name} | ({"Size": size} if size else {})
            entries.entry_create(thing_id=thing.pk, columns={}, values=values, by=BY)
        yield thing


def _names(queryset) -> set[str]:
    return {
        value
        for entry in queryset
        for value in entry.values.values()
        if not value.isdigit()
    }


def _grid(thing: Thing, *filters: str):
    thing_fields = list(Field.objects.filter(thing=thing, active=True))
    by_name = {f.name: f.id for f in thing_fields}
    raw = [f.format(**by_name) for f in filters]
    query = entry_query_parse(params={"f": raw}, fields=thing_fields)
    assert not query.errors
    return entries_filtered(thing=thing, fields=thing_fields, query=query)


def test_numbers_compare_as_numbers_not_text(cities):
    assert _names(_grid(cities, "{Size}:gt:9")) == {"Lima"}


def test_is_not_keeps_entries_without_a_value(cities):
    assert _names(_grid(cities, "{Size}:neq:9")) == {"Lima", "Rome"}


def test_contains_treats_like_wildcards_as_text(cities):
    assert _names(_grid(cities, "{Name}:contains:o")) == {"Oslo", "Rome"}
    assert _names(_grid(cities, "{Name}:contains:%")) == set()


def test_a_filtered_query_nested_in_another_keeps_its_own_alias(cities):
    matching = _grid(cities, "{Size}:gt:9").values("id")
    # Django renames the inner "entries"; a hard-coded alias would correlate
    # with the outer row and match every entry.
    nested = Entry.objects.filter(thing=cities, pk__in=matching)
    assert nested.count() == 1
    inner = str(nested.query).split(" IN (", 1)[1]
    assert "fe.entry_id = U0.id" in inner
    assert '"entries".id' not in inner


def test_short_text_equality_is_one_indexed_prefix_comparison():
    params = entry_sql.SqlParams()
    sql = entry_sql.value_condition(
        params, column="entered_value", op="eq", value="Oslo"
    )
    assert sql == "left(fe.entered_value, 200) = %s"
    assert params.params == ["Oslo"]
    long = "x" * 300
    params = entry_sql.SqlParams()
    sql = entry_sql.value_condition(params, column="entered_value", op="eq", value=long)
    assert "fe.entered_value = %s" in sql
    assert params.params == [long, long[:200]]


def test_an_operator_that_does_not_apply_compiles_to_nothing():
    params = entry_sql.SqlParams()
    assert (
        entry_sql.value_condition(params, column="value_number", op="cs", value="[]")
        is None
    )
