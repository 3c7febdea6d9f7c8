"""Properties of the grammar: total (only GrammarError escapes) and faithful."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pgrest.ast import (
    FTS_OPERATORS,
    QUANTIFIABLE,
    Column,
    Condition,
    GrammarError,
    Logic,
    Path,
    Preferences,
    Query,
)
from pgrest.grammar import (
    BIGINT_MAX,
    parse_prefer,
    parse_query,
    parse_range,
)

# Characters that mean something to the grammar, plus some that mean nothing.
SYNTAX = '.,()"\\{}[]!:*-> \t\n$_=&%+0123456789azAZ'
tricky_text = st.text(alphabet=st.sampled_from(SYNTAX), max_size=30) | st.text(
    max_size=30
)
reserved_keys = st.sampled_from(
    [
        "select",
        "order",
        "limit",
        "offset",
        "on_conflict",
        "columns",
        "or",
        "and",
        "not.or",
        "not.and",
        "e.order",
        "e.limit",
        "e.offset",
        "e.or",
        "a.b.and",
        "apikey",
    ]
)
keys = reserved_keys | tricky_text
values = tricky_text | st.builds(
    lambda op, rest: f"{op}{rest}",
    st.sampled_from(
        ["eq.", "not.", "in.(", "is.", "like(any).{", "fts(", "(", "or(", "not.and("]
    ),
    tricky_text,
)

RESERVED_NAMES = {
    "select",
    "columns",
    "on_conflict",
    "apikey",
    "and",
    "or",
    "order",
    "limit",
    "offset",
}
names = st.from_regex(r"[a-z_]{1,12}", fullmatch=True).filter(
    lambda name: name not in RESERVED_NAMES
)
# Operators whose value is the verbatim rest of the parameter.
PLAIN_OPERATORS = sorted(
    {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"}
    | {"isdistinct", "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj"}
    | FTS_OPERATORS
)
plain_values = st.from_regex(r"[A-Za-z0-9 _-]{0,12}", fullmatch=True)


def quote(value: str) -> str:
    """PostgREST's quoting of a value inside a list or a logic tree."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def expected_value(operator: str, value: str) -> str:
    return value.replace("*", "%") if operator in ("like", "ilike") else value


# --- (1) totality --------------------------------------------------------------------


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(keys, values), max_size=6))
def test_parse_query_returns_a_query_or_raises_grammar_error(params):
    try:
        result = parse_query(params)
    except GrammarError as error:
        assert error.code
        assert isinstance(error.message, str)
        assert error.status in (400, 416)
    else:
        assert isinstance(result, Query)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40))
def test_any_select_returns_a_query_or_raises_grammar_error(select):
    try:
        query = parse_query([("select", select)])
    except GrammarError as error:
        assert error.code in ("PGRST100", "PGRST123")
    else:
        assert isinstance(query.select, tuple)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=40), st.text(max_size=40))
def test_any_logic_tree_returns_a_query_or_raises_grammar_error(prefix, body):
    try:
        query = parse_query([("or", f"({prefix}.eq.{body})"), ("and", body)])
    except GrammarError as error:
        assert error.code in ("PGRST100", "22P02")
    else:
        assert all(isinstance(tree, Logic) for tree in query.root.filters)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["limit", "offset", "e.limit"]), st.text(max_size=25))
def test_any_limit_is_a_bounded_int_or_a_grammar_error(key, value):
    try:
        query = parse_query([(key, value)])
    except GrammarError:
        return
    level = query.embedded[("e",)] if key.startswith("e.") else query.root
    number = level.limit if key.endswith("limit") else level.offset
    assert 0 <= number <= BIGINT_MAX


# --- (2) round trips ---------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(names, st.sampled_from(PLAIN_OPERATORS), plain_values, st.booleans())
def test_generated_filters_parse_back_to_their_condition(column, op, value, negated):
    raw = ("not." if negated else "") + f"{op}.{value}"
    (condition,) = parse_query([(column, raw)]).root.filters
    assert condition == Condition(Path(column), op, expected_value(op, value), negated)


@settings(max_examples=100, deadline=None)
@given(names, st.sampled_from(PLAIN_OPERATORS), st.text(max_size=20))
def test_top_level_filter_values_are_kept_verbatim(column, op, value):
    (condition,) = parse_query([(column, f"{op}.{value}")]).root.filters
    assert condition.value == expected_value(op, value)


@settings(max_examples=100, deadline=None)
@given(st.lists(names, min_size=1, max_size=3), names, plain_values)
def test_embed_paths_route_filters_to_their_level(embeds, column, value):
    query = parse_query([(".".join([*embeds, column]), f"eq.{value}")])
    assert query.root.filters == ()
    (condition,) = query.embedded[tuple(embeds)].filters
    assert condition == Condition(Path(column), "eq", value)


@settings(max_examples=150, deadline=None)
@given(names, st.lists(st.text(max_size=8), min_size=1, max_size=5))
def test_quoted_in_lists_round_trip_any_strings(column, items):
    raw = "in.(" + ",".join(quote(item) for item in items) + ")"
    (condition,) = parse_query([(column, raw)]).root.filters
    assert condition.value == (() if items == [""] else tuple(items))


@settings(max_examples=100, deadline=None)
@given(
    names,
    st.sampled_from(sorted(QUANTIFIABLE)),
    st.sampled_from(["any", "all"]),
    st.lists(st.text(max_size=8), max_size=5),
)
def test_quantified_lists_round_trip_any_strings(column, op, quantifier, items):
    raw = f"{op}({quantifier}).{{" + ",".join(quote(item) for item in items) + "}"
    (condition,) = parse_query([(column, raw)]).root.filters
    expected = tuple(expected_value(op, item) for item in items)
    assert condition == Condition(Path(column), op, expected, quantifier=quantifier)


leaves = st.builds(
    lambda column, op, value, negated: Condition(Path(column), op, value, negated),
    names,
    st.sampled_from(sorted(set(PLAIN_OPERATORS) - FTS_OPERATORS - {"like", "ilike"})),
    st.text(max_size=8),
    st.booleans(),
)
trees = st.recursive(
    leaves,
    lambda children: st.builds(
        Logic,
        st.sampled_from(["and", "or"]),
        st.lists(children, min_size=1, max_size=3).map(tuple),
        st.booleans(),
    ),
    max_leaves=8,
)


def render(node) -> str:
    if isinstance(node, Condition):
        negation = "not." if node.negated else ""
        return f"{node.path.column}.{negation}{node.operator}.{quote(node.value)}"
    inner = ",".join(render(item) for item in node.items)
    return ("not." if node.negated else "") + f"{node.op}({inner})"


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(["and", "or"]), st.lists(trees, min_size=1, max_size=3))
def test_generated_logic_trees_parse_back(op, items):
    value = "(" + ",".join(render(item) for item in items) + ")"
    (tree,) = parse_query([(op, value)]).root.filters
    assert tree == Logic(op, tuple(items))


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.none() | names, names), min_size=1, max_size=5))
def test_generated_select_lists_parse_back(columns):
    select = ",".join(f"{alias}:{name}" if alias else name for alias, name in columns)
    assert parse_query([("select", select)]).select == tuple(
        Column(Path(name), alias=alias) for alias, name in columns
    )


# --- (3) Prefer and Range ----------------------------------------------------------

prefer_items = st.sampled_from(
    [
        "return=minimal",
        "return=representation",
        "count=exact",
        "handling=strict",
        "missing=null",
        "max-affected=3",
        "max-affected=x",
        "timezone=UTC",
        "tx=rollback",
    ]
) | st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(prefer_items, max_size=5).map(", ".join), max_size=4))
def test_parse_prefer_never_raises(headers):
    prefs = parse_prefer(headers)
    assert isinstance(prefs, Preferences)
    items = [p.strip() for h in headers for p in h.split(",") if p.strip()]
    assert set(prefs.invalid) <= set(items)
    assert all("=" in applied for applied in prefs.applied)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=30) | st.from_regex(r"\s*[0-9]{0,25}-[0-9]{0,25}\s*"))
def test_parse_range_returns_none_a_range_or_raises_grammar_error(header):
    try:
        result = parse_range(header)
    except GrammarError as error:
        assert (error.code, error.status) == ("PGRST103", 416)
        return
    if result is not None:
        assert 0 <= result.offset <= BIGINT_MAX
        assert result.limit is None or 1 <= result.limit <= BIGINT_MAX


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_valid_ranges_round_trip(first, size):
    result = parse_range(f"{first}-{first + size}")
    assert (result.offset, result.limit) == (first, size + 1)
