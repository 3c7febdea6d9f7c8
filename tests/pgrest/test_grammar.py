"""The PostgREST grammar: query string, Prefer and Range (no database needed)."""

import pytest

from pgrest.ast import (
    Column,
    Condition,
    Embed,
    GrammarError,
    JsonStep,
    Level,
    Logic,
    OrderTerm,
    Path,
    RangeRequest,
    Star,
)
from pgrest.grammar import (
    BIGINT_MAX,
    MAX_DEPTH,
    parse_prefer,
    parse_query,
    parse_range,
)


def q(query_string: str):
    """Parse ``a=1&b=2`` (no URL decoding: write values already decoded)."""
    params = [tuple(part.split("=", 1)) for part in query_string.split("&") if part]
    return parse_query(params)


def one_filter(key: str, value: str):
    query = parse_query([(key, value)])
    assert query.embedded == {}
    (condition,) = query.root.filters
    return condition


def error(params) -> GrammarError:
    with pytest.raises(GrammarError) as caught:
        parse_query(params)
    return caught.value


def col(name: str, *steps: tuple[str, bool]) -> Path:
    return Path(name, tuple(JsonStep(key, as_text) for key, as_text in steps))


# --- Filter values and operators ---------------------------------------------------


def test_eq_keeps_everything_after_the_operator_dot_verbatim():
    assert one_filter("price", "eq.1.5") == Condition(col("price"), "eq", "1.5")
    assert one_filter("name", "eq.a.b").value == "a.b"
    assert one_filter("name", "eq. spaced (x), y ").value == " spaced (x), y "


def test_empty_value_is_an_empty_string():
    assert one_filter("name", "eq.") == Condition(col("name"), "eq", "")


@pytest.mark.parametrize(
    "operator",
    ["neq", "gt", "gte", "lt", "lte", "match", "imatch", "isdistinct"],
)
def test_comparison_operators_keep_the_raw_value(operator):
    assert one_filter("a", f"{operator}.x*y") == Condition(col("a"), operator, "x*y")


def test_not_prefix_negates_the_condition():
    assert one_filter("age", "not.eq.5") == Condition(col("age"), "eq", "5", True)


def test_like_turns_stars_into_percent_signs():
    assert one_filter("name", "like.*an*").value == "%an%"


def test_ilike_turns_stars_into_percent_signs():
    assert one_filter("name", "ilike.A*") == Condition(col("name"), "ilike", "A%")


def test_like_keeps_percent_signs():
    assert one_filter("name", "like.%a_").value == "%a_"


def test_match_keeps_stars_as_regex_syntax():
    assert one_filter("name", "match.^a.*z$").value == "^a.*z$"


def test_in_list_is_a_tuple_of_strings():
    assert one_filter("id", "in.(1,2,3)") == Condition(col("id"), "in", ("1", "2", "3"))


def test_in_list_keeps_commas_inside_quotes():
    assert one_filter("name", 'in.("a,b",c,"d)")').value == ("a,b", "c", "d)")


def test_in_list_unescapes_backslashes_in_quotes():
    assert one_filter("name", r'in.("say \"hi\"","back\\slash")').value == (
        'say "hi"',
        "back\\slash",
    )


def test_in_list_quote_not_followed_by_separator_is_literal():
    assert one_filter("name", 'in.("a"b,c)').value == ('"a"b', "c")


def test_in_list_items_keep_inner_spaces():
    assert one_filter("id", "in.( 1, 2 )").value == ("1", " 2 ")


def test_empty_in_list_is_an_empty_tuple():
    assert one_filter("id", "in.()").value == ()


def test_in_without_parentheses_is_rejected():
    err = error([("id", "in.1,2")])
    assert err.code == "PGRST100"
    assert err.details == 'unexpected "1" expecting "("'


def test_in_list_with_trailing_garbage_is_rejected():
    assert error([("id", "in.(1,2)x")]).code == "PGRST100"


def test_negated_in_list():
    assert one_filter("id", "not.in.(1)") == Condition(col("id"), "in", ("1",), True)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("null", "null"),
        ("NULL", "null"),
        ("Not_Null", "not_null"),
        ("TRUE", "true"),
        ("false", "false"),
        ("unKnown", "unknown"),
    ],
)
def test_is_values_are_case_insensitive_and_lower_cased(raw, value):
    assert one_filter("a", f"is.{raw}") == Condition(col("a"), "is", value)


def test_is_rejects_other_values():
    err = error([("a", "is.nil")])
    assert err.code == "PGRST100"
    assert err.message == '"failed to parse filter (is.nil)" (line 1, column 4)'
    assert "null, not_null, true, false, unknown" in err.details


def test_is_rejects_trailing_garbage():
    assert error([("a", "is.nullx")]).code == "PGRST100"


def test_negated_is():
    assert one_filter("a", "not.is.null") == Condition(col("a"), "is", "null", True)


def test_fts_reads_the_language():
    assert one_filter("tsv", "fts(english).cat & dog") == Condition(
        col("tsv"), "fts", "cat & dog", language="english"
    )


@pytest.mark.parametrize("operator", ["fts", "plfts", "phfts", "wfts"])
def test_full_text_operators_without_language(operator):
    assert one_filter("tsv", f"not.{operator}.The Fat Cats") == Condition(
        col("tsv"), operator, "The Fat Cats", negated=True
    )


def test_empty_fts_language_is_rejected():
    assert error([("tsv", "fts().x")]).code == "PGRST100"


@pytest.mark.parametrize(
    ("operator", "value"),
    [("cs", "{1,2}"), ("cd", '{"a":1}'), ("ov", "[2017-01-01,2017-06-30]")],
)
def test_containment_operators_keep_the_literal_raw(operator, value):
    assert one_filter("tags", f"{operator}.{value}").value == value


@pytest.mark.parametrize("operator", ["sl", "sr", "nxr", "nxl", "adj"])
def test_range_operators_keep_the_literal_raw(operator):
    assert one_filter("r", f"{operator}.(1,10)") == Condition(
        col("r"), operator, "(1,10)"
    )


def test_any_quantifier_parses_the_braces_list():
    assert one_filter("id", "eq(any).{1,2,3}") == Condition(
        col("id"), "eq", ("1", "2", "3"), quantifier="any"
    )


def test_all_quantifier_with_like_converts_stars_in_each_item():
    assert one_filter("name", "like(all).{O*,*n}") == Condition(
        col("name"), "like", ("O%", "%n"), quantifier="all"
    )


def test_quantifier_list_allows_quoted_items_and_trims_bare_ones():
    assert one_filter("name", r'eq(any).{ a ,"b,c","d\"e",""}').value == (
        "a",
        "b,c",
        'd"e',
        "",
    )


def test_empty_quantifier_list_is_an_empty_tuple():
    assert one_filter("id", "gt(all).{}").value == ()


def test_quantifier_without_braces_is_postgresql_malformed_array():
    err = error([("id", "eq(any).1,2")])
    assert (err.code, err.status) == ("22P02", 400)
    assert err.message == 'malformed array literal: "1,2"'


def test_unterminated_quantifier_list_is_rejected():
    assert error([("id", "eq(any).{1,2")]).code == "22P02"


@pytest.mark.parametrize("value", ["cs(any).{1}", "in(any).(1)", "is(all).null"])
def test_quantifier_on_an_unquantifiable_operator_is_rejected(value):
    assert error([("a", value)]).code == "PGRST100"


def test_unknown_quantifier_is_rejected():
    err = error([("a", "eq(some).{1}")])
    assert err.details == 'unexpected "s" expecting "any" or "all"'


def test_unknown_operator_is_rejected_like_postgrest():
    err = error([("a.b", "noop.0")])
    assert (err.code, err.status) == ("PGRST100", 400)
    assert err.message == '"failed to parse filter (noop.0)" (line 1, column 1)'
    assert err.details == 'unexpected "n" expecting "not" or operator (eq, gt, ...)'


def test_missing_operator_is_rejected():
    err = error([("age", "5")])
    assert err.message == '"failed to parse filter (5)" (line 1, column 1)'
    assert err.details.startswith('unexpected "5" expecting')


def test_empty_filter_value_is_rejected():
    assert error([("age", "")]).details.startswith("unexpected end of input")


def test_operator_without_value_delimiter_is_rejected():
    err = error([("age", "eq")])
    assert err.details == 'unexpected end of input expecting "(" or delimiter (.)'


def test_operators_are_case_sensitive():
    assert error([("age", "EQ.1")]).code == "PGRST100"


def test_unknown_operator_after_not_is_rejected():
    err = error([("age", "not.equals.1")])
    assert err.message.endswith("(line 1, column 5)")


# --- Filter keys ---------------------------------------------------------------


def test_embed_path_prefix_filters_the_embedded_level():
    query = q("field_entries.entered_value=eq.x")
    assert query.root == Level()
    assert query.embedded == {
        ("field_entries",): Level(filters=(Condition(col("entered_value"), "eq", "x"),))
    }


def test_nested_embed_path():
    query = q("a.b.c=gt.1")
    assert query.embedded[("a", "b")].filters == (Condition(col("c"), "gt", "1"),)


def test_json_path_in_filter_key():
    assert one_filter("values->>Status", "eq.Done").path == col(
        "values", ("Status", True)
    )


def test_json_path_with_array_index():
    assert one_filter("data->0->>x", "eq.1").path == col(
        "data", ("0", False), ("x", True)
    )


def test_json_path_with_negative_array_index():
    assert one_filter("data->-1", "eq.1").path == col("data", ("-1", False))


def test_json_path_keys_may_hold_special_characters():
    assert one_filter("data->!@#$%^&*_a", "eq.1").path == col(
        "data", ("!@#$%^&*_a", False)
    )


def test_json_key_with_dots_must_be_quoted():
    assert one_filter('data->>"a.b"', "eq.1").path == col("data", ("a.b", True))


def test_embedded_filter_with_json_path():
    query = q("entries.values->>Status=eq.Done")
    (condition,) = query.embedded[("entries",)].filters
    assert condition.path == col("values", ("Status", True))


def test_quoted_column_may_contain_dots():
    assert one_filter('"information.cpe"', "like.*MS*").path == col("information.cpe")


def test_column_names_may_hold_spaces_dashes_and_unicode():
    assert one_filter("Unit Price", "lt.200").path == col("Unit Price")
    assert one_filter("my-col", "eq.1").path == col("my-col")
    assert one_filter("موارد", "eq.1").path == col("موارد")


def test_empty_key_is_rejected():
    err = error([("", "eq.1")])
    assert err.message == '"failed to parse tree path ()" (line 1, column 1)'


def test_empty_embed_name_is_rejected():
    assert error([("a..b", "eq.1")]).code == "PGRST100"


def test_trailing_garbage_in_key_is_rejected():
    assert error([("a::text", "eq.1")]).code == "PGRST100"


def test_apikey_param_is_ignored():
    assert q("apikey=secret&select=id").root == Level()


def test_filters_keep_request_order_and_are_all_kept():
    query = q("a=eq.1&or=(b.eq.2)&a=neq.3")
    assert query.root.filters == (
        Condition(col("a"), "eq", "1"),
        Logic("or", (Condition(col("b"), "eq", "2"),)),
        Condition(col("a"), "neq", "3"),
    )


# --- Logic trees -----------------------------------------------------------------


def test_or_tree():
    assert q("or=(a.eq.1,b.gt.2)").root.filters == (
        Logic("or", (Condition(col("a"), "eq", "1"), Condition(col("b"), "gt", "2"))),
    )


def test_and_tree_with_nested_or():
    (tree,) = q("and=(a.gte.1,or(b.eq.x,c.is.null))").root.filters
    assert tree == Logic(
        "and",
        (
            Condition(col("a"), "gte", "1"),
            Logic(
                "or",
                (Condition(col("b"), "eq", "x"), Condition(col("c"), "is", "null")),
            ),
        ),
    )


def test_not_on_the_key_negates_the_tree():
    (tree,) = q("not.or=(a.eq.1)").root.filters
    assert tree == Logic("or", (Condition(col("a"), "eq", "1"),), negated=True)


def test_not_and_nested_inside_a_tree():
    (tree,) = q("or=(age.eq.14,not.and(age.gte.11,age.lte.17))").root.filters
    assert tree.items[1] == Logic(
        "and",
        (Condition(col("age"), "gte", "11"), Condition(col("age"), "lte", "17")),
        negated=True,
    )


def test_negated_leaf_inside_a_tree():
    (tree,) = q("or=(age.not.eq.5)").root.filters
    assert tree.items == (Condition(col("age"), "eq", "5", negated=True),)


def test_in_list_inside_a_tree():
    (tree,) = q('or=(name.in.(a,"b,c"),id.eq.1)').root.filters
    assert tree.items[0] == Condition(col("name"), "in", ("a", "b,c"))


def test_json_path_leaf_inside_a_tree():
    (tree,) = q("or=(values->>Status.eq.Done)").root.filters
    assert tree.items == (Condition(col("values", ("Status", True)), "eq", "Done"),)


def test_tree_values_may_be_quoted_to_hold_commas_and_parentheses():
    (tree,) = q('or=(name.eq."a,b)",name.eq."x\\"y")').root.filters
    assert [item.value for item in tree.items] == ["a,b)", 'x"y']


def test_tree_values_may_be_braces_literals_holding_commas():
    (tree,) = q("or=(tags.cs.{a,b},id.eq(any).{1,2})").root.filters
    assert tree.items == (
        Condition(col("tags"), "cs", "{a,b}"),
        Condition(col("id"), "eq", ("1", "2"), quantifier="any"),
    )


def test_tree_ignores_spaces_around_items_but_keeps_them_in_values():
    (tree,) = q("or=( a.eq.1 , b.eq.2 )").root.filters
    assert [(i.path.column, i.value) for i in tree.items] == [("a", "1 "), ("b", "2 ")]


def test_tree_leaf_with_fts_language_and_like():
    (tree,) = q("or=(tsv.fts(english).cat,name.like.a*)").root.filters
    assert tree.items == (
        Condition(col("tsv"), "fts", "cat", language="english"),
        Condition(col("name"), "like", "a%"),
    )


def test_embedded_logic_goes_to_the_embedded_level():
    query = q("field_entries.or=(a.eq.1,b.eq.2)&a.b.not.and=(c.eq.3)")
    assert query.root == Level()
    assert query.embedded[("field_entries",)].filters[0].op == "or"
    assert query.embedded[("a", "b")].filters == (
        Logic("and", (Condition(col("c"), "eq", "3"),), negated=True),
    )


def test_tree_must_be_wrapped_in_parentheses():
    err = error([("or", "a.eq.1")])
    assert err.message == '"failed to parse logic tree (a.eq.1)" (line 1, column 3)'
    assert err.details == 'unexpected "a" expecting "("'


def test_unbalanced_tree_is_rejected():
    err = error([("or", "(a.eq.1,b.eq.2")])
    assert err.details == 'unexpected end of input expecting "," or ")"'


def test_extra_closing_parenthesis_is_rejected():
    assert error([("or", "(a.eq.1))")]).code == "PGRST100"


def test_empty_tree_is_rejected_like_postgrest():
    err = error([("or", "()")])
    assert err.message == '"failed to parse logic tree (())" (line 1, column 4)'
    assert err.details == (
        'unexpected ")" expecting field name (* or [a..z0..9_$]), '
        "negation operator (not) or logic operator (and, or)"
    )


def test_unknown_logic_operator_inside_a_tree_is_rejected():
    assert error([("or", "(id.eq.1,not.xor(id.eq.2))")]).code == "PGRST100"


def test_unknown_operator_inside_a_tree_is_rejected():
    err = error([("and", "(a.eq.1,b.foo.2)")])
    assert err.details == 'unexpected "f" expecting "not" or operator (eq, gt, ...)'


def test_deeply_nested_tree_is_rejected_with_a_grammar_error():
    depth = MAX_DEPTH + 5
    value = "(" + "or(" * depth + "a.eq.1" + ")" * depth + ")"
    assert "nesting deeper than" in error([("or", value)]).details


def test_tree_nested_within_the_limit_parses():
    depth = 20
    (tree,) = q("or=(" + "and(" * depth + "a.eq.1" + ")" * depth + ")").root.filters
    assert isinstance(tree, Logic)


# --- select ----------------------------------------------------------------------


def test_select_defaults_to_star():
    assert q("").select == (Star(),)


def test_empty_select_selects_every_column():
    # PostgREST 12 QuerySpec, "empty root select": "gives all columns".
    assert q("select=").select == (Star(),)


def test_select_columns_with_alias_and_cast():
    assert q("select=id,name:full_name,salary::text,n:num::int").select == (
        Column(col("id")),
        Column(col("full_name"), alias="name"),
        Column(col("salary"), cast="text"),
        Column(col("num"), alias="n", cast="int"),
    )


def test_select_json_paths_with_alias():
    assert q("select=json->a->>b,status:data->>Status,d->0").select == (
        Column(col("json", ("a", False), ("b", True))),
        Column(col("data", ("Status", True)), alias="status"),
        Column(col("d", ("0", False))),
    )


def test_select_embed_with_star_and_alias():
    assert q("select=*,embed(*),al:other(a,b)").select == (
        Star(),
        Embed("embed", (Star(),)),
        Embed("other", (Column(col("a")), Column(col("b"))), alias="al"),
    )


@pytest.mark.parametrize(
    ("item", "hint", "inner"),
    [
        ("e!inner(*)", None, True),
        ("e!left(*)", None, False),
        ("e!fk_col(*)", "fk_col", False),
        ("e!e_fkey!inner(*)", "e_fkey", True),
        ("e!inner!e_fkey(*)", "e_fkey", True),
    ],
)
def test_select_embed_hints_and_join_types(item, hint, inner):
    assert q(f"select={item}").select == (
        Embed("e", (Star(),), hint=hint, inner=inner),
    )


def test_select_spread_embed():
    assert q("select=id,...owner!inner(name,email)").select == (
        Column(col("id")),
        Embed(
            "owner",
            (Column(col("name")), Column(col("email"))),
            inner=True,
            spread=True,
        ),
    )


def test_select_nested_embeds():
    assert q("select=a(*,b(c,d))").select == (
        Embed("a", (Star(), Embed("b", (Column(col("c")), Column(col("d")))))),
    )


def test_select_embed_with_empty_column_list():
    assert q("select=id,clients!inner()").select == (
        Column(col("id")),
        Embed("clients", (), inner=True),
    )


def test_select_ignores_whitespace_around_items():
    assert q("select= id , name :full , * , e ( a , b ) ").select == (
        Column(col("id")),
        Column(col("full"), alias="name"),
        Star(),
        Embed("e", (Column(col("a")), Column(col("b")))),
    )


def test_select_quoted_identifiers():
    assert q('select="a,b":"c.d",e("x y")').select == (
        Column(col("c.d"), alias="a,b"),
        Embed("e", (Column(col("x y")),)),
    )


@pytest.mark.parametrize(
    "select", ["count()", "total:count()", "amount.sum()", "id.max()"]
)
def test_select_aggregates_are_not_allowed(select):
    err = error([("select", select)])
    assert (err.code, err.status) == ("PGRST123", 400)
    assert err.message == "Use of aggregate functions is not allowed"


@pytest.mark.parametrize(
    "select",
    [
        "id,",
        ",id",
        "a(",
        "a(b",
        "a)",
        "a(b))",
        "*x",
        "a::",
        "rel->x(*)",
        "al:...rel(*)",
    ],
)
def test_malformed_select_is_rejected(select):
    err = error([("select", select)])
    assert err.code == "PGRST100"
    assert err.message.startswith(f'"failed to parse select parameter ({select})"')


def test_first_select_wins():
    assert q("select=a&select=b").select == (Column(col("a")),)


# --- order -----------------------------------------------------------------------


def test_order_terms_with_directions_and_nulls():
    assert q("order=a,b.desc,c.asc.nullslast,d.nullsfirst").root.order == (
        OrderTerm(col("a")),
        OrderTerm(col("b"), descending=True),
        OrderTerm(col("c"), nulls="last"),
        OrderTerm(col("d"), nulls="first"),
    )


def test_order_by_json_path():
    assert q("order=values->>Due.desc.nullsfirst").root.order == (
        OrderTerm(col("values", ("Due", True)), descending=True, nulls="first"),
    )


def test_embedded_order_goes_to_the_embedded_level():
    query = q("field_entries.order=position.desc")
    assert query.root.order == ()
    assert query.embedded[("field_entries",)].order == (
        OrderTerm(col("position"), descending=True),
    )


def test_order_by_a_column_of_a_to_one_embed():
    assert q("order=clients(name).desc").root.order == (
        OrderTerm(col("name"), descending=True, relation="clients"),
    )


def test_order_ignores_spaces_around_terms():
    assert q("order= a , b.desc").root.order == (
        OrderTerm(col("a")),
        OrderTerm(col("b"), descending=True),
    )


def test_bad_order_direction_is_rejected_like_postgrest():
    err = error([("order", "id.ac")])
    assert err.message == '"failed to parse order (id.ac)" (line 1, column 4)'
    assert err.details == (
        'unexpected "a" expecting "asc", "desc", "nullsfirst" or "nullslast"'
    )


@pytest.mark.parametrize(
    "order", ["id.asc.nlsfst", "id.nullslast.desc", "id.descc", ""]
)
def test_malformed_order_is_rejected(order):
    assert error([("order", order)]).code == "PGRST100"


def test_first_order_per_level_wins():
    assert q("order=a&order=b").root.order == (OrderTerm(col("a")),)


# --- limit and offset ------------------------------------------------------------


def test_limit_and_offset():
    query = q("limit=10&offset=30")
    assert (query.root.limit, query.root.offset) == (10, 30)


def test_embedded_limit_and_offset():
    query = q("field_entries.limit=5&field_entries.offset=2")
    assert query.root == Level()
    assert query.embedded[("field_entries",)] == Level(limit=5, offset=2)


def test_limit_zero_is_allowed():
    assert q("limit=0").root.limit == 0


def test_last_limit_wins():
    assert q("limit=1&limit=2").root.limit == 2


@pytest.mark.parametrize("value", ["abc", "1.5", "", "+1", "1_000", "\u0661"])
def test_non_integer_limit_is_rejected(value):
    err = error([("limit", value)])
    assert err.code == "PGRST100"
    assert err.message.startswith(f'"failed to parse limit parameter ({value})"')


def test_negative_limit_is_range_not_satisfiable():
    err = error([("limit", "-1")])
    assert (err.code, err.status) == ("PGRST103", 416)
    assert err.details == "Limit should be greater than or equal to zero."


def test_negative_embedded_limit_is_rejected():
    assert error([("e.limit", "-1")]).code == "2201W"


def test_negative_offset_is_no_offset():
    # PostgREST 12 RangeSpec: "succeeds if offset is negative as a no-op".
    assert q("offset=-5").root.offset == 0
    assert q("e.offset=-5").embedded[("e",)].offset == 0


def test_huge_limit_is_clamped_to_bigint():
    assert q("limit=99999999999999999999").root.limit == BIGINT_MAX
    assert q("offset=" + "9" * 5000).root.offset == BIGINT_MAX


# --- on_conflict and columns -------------------------------------------------------


def test_on_conflict_names_are_stripped():
    assert q("on_conflict= a , b").on_conflict == ("a", "b")


def test_columns_may_be_quoted_and_are_deduplicated():
    assert q('columns="a,b",c,c').columns == ("a,b", "c")


def test_absent_columns_and_on_conflict_are_none():
    query = q("a=eq.1")
    assert (query.columns, query.on_conflict) == (None, None)


@pytest.mark.parametrize("key", ["columns", "on_conflict"])
def test_empty_column_list_is_rejected(key):
    err = error([(key, "")])
    assert err.message.startswith(f'"failed to parse {key} parameter ()"')


# --- error format ----------------------------------------------------------------


def test_error_column_counts_from_the_start_of_the_value():
    err = error([("a", "not.in.(1,2")])
    assert err.message == '"failed to parse filter (not.in.(1,2)" (line 1, column 12)'


def test_error_message_escapes_quotes_and_backslashes_like_haskell_show():
    err = error([("a", 'x"\\')])
    assert err.message == '"failed to parse filter (x\\"\\\\)" (line 1, column 1)'


def test_errors_are_reported_in_postgrest_order():
    # PostgREST parses order, logic, columns, select, filters, on_conflict.
    err = error([("a", "bad"), ("select", "("), ("order", "x.y")])
    assert err.message.startswith('"failed to parse order')


# --- Prefer ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "field", "value"),
    [
        ("return=minimal", "return_", "minimal"),
        ("return=headers-only", "return_", "headers-only"),
        ("return=representation", "return_", "representation"),
        ("count=exact", "count", "exact"),
        ("count=planned", "count", "planned"),
        ("count=estimated", "count", "estimated"),
        ("resolution=merge-duplicates", "resolution", "merge-duplicates"),
        ("resolution=ignore-duplicates", "resolution", "ignore-duplicates"),
        ("missing=default", "missing", "default"),
        ("handling=strict", "handling", "strict"),
        ("handling=lenient", "handling", "lenient"),
        ("tx=commit", "tx", "commit"),
        ("tx=rollback", "tx", "rollback"),
    ],
)
def test_prefer_recognises_each_preference(header, field, value):
    prefs = parse_prefer([header])
    assert getattr(prefs, field) == value
    assert prefs.applied == (header,)
    assert prefs.invalid == ()


def test_prefer_splits_commas_across_headers_and_trims_spaces():
    prefs = parse_prefer(["count=exact,    tx=commit   ,return=representation", "x"])
    assert (prefs.count, prefs.tx, prefs.return_) == (
        "exact",
        "commit",
        "representation",
    )
    assert prefs.invalid == ("x",)


def test_prefer_first_occurrence_wins_across_headers():
    prefs = parse_prefer(["tx=commit, tx=rollback", "resolution=ignore-duplicates"])
    assert prefs.tx == "commit"
    prefs = parse_prefer(
        ["resolution=ignore-duplicates", "resolution=merge-duplicates"]
    )
    assert prefs.resolution == "ignore-duplicates"
    assert prefs.applied == ("resolution=ignore-duplicates",)


def test_prefer_applied_uses_postgrest_order():
    prefs = parse_prefer(
        ["handling=lenient, count=exact, return=minimal, missing=default"]
    )
    assert prefs.applied == (
        "missing=default",
        "return=minimal",
        "count=exact",
        "handling=lenient",
    )


def test_prefer_unknown_and_miscased_preferences_are_invalid():
    prefs = parse_prefer(["Return=Minimal, anything, return = minimal"])
    assert prefs.return_ is None
    assert prefs.invalid == ("Return=Minimal", "anything", "return = minimal")


def test_prefer_missing_null_is_applied_and_means_the_default():
    prefs = parse_prefer(["missing=null"])
    assert (prefs.missing, prefs.applied, prefs.invalid) == (
        None,
        ("missing=null",),
        (),
    )


def test_prefer_handling_defaults_to_lenient_and_is_not_applied():
    prefs = parse_prefer([])
    assert (prefs.handling, prefs.applied) == ("lenient", ())


def test_prefer_max_affected_takes_effect_only_with_strict_handling():
    assert parse_prefer(["max-affected=5"]).max_affected is None
    prefs = parse_prefer(["handling=strict, max-affected=5"])
    assert prefs.max_affected == 5
    assert prefs.applied == ("handling=strict", "max-affected=5")


def test_prefer_malformed_max_affected_is_invalid():
    prefs = parse_prefer(
        ["handling=strict, max-affected=ten, max-affected=99999999999999999999"]
    )
    assert prefs.max_affected is None
    assert prefs.invalid == ("max-affected=ten", "max-affected=99999999999999999999")


def test_prefer_timezone_is_applied_when_the_database_knows_it():
    # PostgREST 12 PreferencesSpec, "test Prefer: timezone=America/Los_Angeles".
    known = lambda: frozenset({"America/Los_Angeles"})  # noqa: E731
    prefs = parse_prefer(
        ["handling=strict, timezone=America/Los_Angeles"], timezones=known
    )
    assert prefs.timezone == "America/Los_Angeles"
    assert prefs.applied == ("handling=strict", "timezone=America/Los_Angeles")
    assert prefs.invalid == ()


def test_prefer_unknown_timezone_and_params_are_invalid():
    # PreferencesSpec, "test Prefer: timezone=Invalid/Timezone".
    known = lambda: frozenset({"UTC"})  # noqa: E731
    prefs = parse_prefer(
        ["timezone=Invalid/Timezone, params=single-object"], timezones=known
    )
    assert prefs.timezone is None
    assert prefs.invalid == ("timezone=Invalid/Timezone", "params=single-object")


def test_prefer_empty_items_are_ignored():
    prefs = parse_prefer(["", "count=exact,", " , "])
    assert (prefs.count, prefs.invalid) == ("exact", ())


# --- Range -----------------------------------------------------------------------


def test_range_gives_offset_and_limit():
    assert parse_range("0-9") == RangeRequest(offset=0, limit=10)
    assert parse_range("10-10") == RangeRequest(offset=10, limit=1)


def test_open_ended_range_has_no_limit():
    assert parse_range("10-") == RangeRequest(offset=10, limit=None)


@pytest.mark.parametrize("header", ["", "   "])
def test_absent_range_is_none(header):
    assert parse_range(header) is None


@pytest.mark.parametrize("header", ["items=0-9", "-5", "a-b", "0-9,20-30", "1 - 2"])
def test_malformed_range_is_ignored_like_postgrest(header):
    assert parse_range(header) is None


def test_range_ending_before_it_starts_is_unsatisfiable():
    with pytest.raises(GrammarError) as caught:
        parse_range("5-2")
    err = caught.value
    assert (err.code, err.status) == ("PGRST103", 416)
    assert err.message == "Requested range not satisfiable"
    assert "lower boundary" in err.details


def test_huge_ranges_are_clamped_to_bigint():
    assert parse_range("0-" + "9" * 30) == RangeRequest(offset=0, limit=BIGINT_MAX)
    with pytest.raises(GrammarError):
        parse_range("9" * 30 + "-" + "9" * 29)
