"""PostgREST's request grammar: query string, ``Prefer`` and ``Range`` headers.

Pure Python (no Django): ``parse_query`` turns the decoded query string into an
:class:`~pgrest.ast.Query`, ``parse_prefer`` the ``Prefer`` headers into
:class:`~pgrest.ast.Preferences` and ``parse_range`` the ``Range``
header into a :class:`~pgrest.ast.RangeRequest`.

The grammar follows PostgREST 12's parser (``ApiRequest/QueryParams.hs``): the
same reserved keys, identifiers, quoting, JSON paths, operator syntax and logic
trees. Every rejected input raises :class:`~pgrest.ast.GrammarError`
(and nothing else), shaped like PostgREST's own error, e.g.::

    message: "failed to parse filter (noop.1)" (line 1, column 1)
    details: unexpected "n" expecting "not" or operator (eq, gt, ...)

Where PostgREST silently ignores trailing garbage (its Parsec parsers do not
demand end of input), this grammar rejects it instead: ``id=in.(1,2)x``,
``id=is.nullx``, ``select=id)`` and ``a::text=eq.1`` are errors here.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from pgrest.ast import (
    FTS_OPERATORS,
    OPERATORS,
    QUANTIFIABLE,
    Column,
    Condition,
    Embed,
    Filter,
    GrammarError,
    JsonStep,
    Level,
    Logic,
    OrderTerm,
    Path,
    Preferences,
    Query,
    RangeRequest,
    SelectItem,
    Star,
)

__all__ = ["parse_prefer", "parse_query", "parse_range"]

# Limits, offsets and ranges beyond PostgreSQL's bigint are clamped to it: the
# result is the same (no table has that many rows) and the SQL stays valid.
BIGINT_MAX = 2**63 - 1
# Logic trees and embeds nested deeper than this are rejected (PGRST100) rather
# than exhausting Python's recursion limit.
MAX_DEPTH = 100

# Keys that are never filters. `apikey` is how Supabase clients may pass the key.
_IGNORED_KEYS = frozenset({"apikey"})
_RESERVED_KEYS = frozenset({"select", "columns", "on_conflict"})
_LOGIC_OPS = ("and", "or")

_WS = " \t"
_DIGITS = "0123456789"
_IDENT_EXTRA = "_ $"  # PostgREST's identifier characters besides letters, digits
_JSON_KEY_STOP = "(-:.,>)"  # characters an unquoted JSON key cannot contain
_IS_VALUES_ORDER = ("null", "not_null", "true", "false", "unknown")
_AGGREGATES = ("sum", "avg", "count", "max", "min")

_FIELD_NAME = "field name (* or [a..z0..9_$])"
_OPERATOR = "operator (eq, gt, ...)"
_DELIMITER = "delimiter (.)"
_TREE_ITEM = (_FIELD_NAME, "negation operator (not)", "logic operator (and, or)")
_LOGIC_START = re.compile(r"(not\.)?(and|or)[ \t]*\(")


# ---------------------------------------------------------------------------
# Errors


def _show(text: str) -> str:
    """Quote ``text`` the way Haskell's ``show`` does (PostgREST's messages)."""
    escaped = (
        text.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("\n", "\\n")
        .replace("\r", "\\r")
        .replace("\t", "\\t")
    )
    return f'"{escaped}"'


def _position(text: str, pos: int) -> tuple[int, int]:
    """Parsec's (line, column) of ``pos``: tabs advance to the next 8-stop."""
    line, column = 1, 1
    for char in text[:pos]:
        if char == "\n":
            line, column = line + 1, 1
        elif char == "\t":
            column += 8 - ((column - 1) % 8)
        else:
            column += 1
    return line, column


def _or_list(items: Iterable[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " or " + items[-1]


def _aggregate_error() -> GrammarError:
    # PostgREST 12 with db-aggregates-enabled=false (its and Supabase's default).
    return GrammarError("Use of aggregate functions is not allowed", code="PGRST123")


def _range_error(details: str) -> GrammarError:
    return GrammarError(
        "Requested range not satisfiable", code="PGRST103", status=416, details=details
    )


class _Parser:
    """A recursive-descent parser over one parameter's text.

    ``source`` names what is parsed, as in PostgREST's errors: ``failed to
    parse filter (eq.1)``. Every failure raises a PGRST100 ``GrammarError``
    whose message carries the source and the position, and whose details say
    what was found and what was expected.
    """

    def __init__(self, text: str, source: str) -> None:
        self.text = text
        self.pos = 0
        self.source = source
        self.depth = 0

    # -- primitives ---------------------------------------------------------

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos : self.pos + size]

    def startswith(self, prefix: str) -> bool:
        return self.text.startswith(prefix, self.pos)

    def take(self, prefix: str) -> bool:
        if self.startswith(prefix):
            self.pos += len(prefix)
            return True
        return False

    def expect(self, prefix: str, *expected: str) -> None:
        if not self.take(prefix):
            raise self.fail(*(expected or (_show(prefix),)))

    def skip_ws(self) -> None:
        while self.peek() and self.peek() in _WS:
            self.pos += 1

    def run(self, accept: Callable[[str], bool]) -> str:
        start = self.pos
        while self.pos < len(self.text) and accept(self.text[self.pos]):
            self.pos += 1
        return self.text[start : self.pos]

    def fail(
        self, *expected: str, message: str | None = None, at: int | None = None
    ) -> GrammarError:
        """The error for the input at ``at`` (default: the current position)."""
        pos = self.pos if at is None else at
        line, column = _position(self.text, pos)
        found = self.text[pos : pos + 1]
        parts = [f"unexpected {_show(found)}" if found else "unexpected end of input"]
        if expected:
            parts.append("expecting " + _or_list(expected))
        if message:
            parts.append(message)
        return GrammarError(
            f"{_show(self.source)} (line {line}, column {column})",
            details=" ".join(parts),
        )

    def finish(self, *expected: str) -> None:
        """Demand the end of the input (PostgREST ignores what is left)."""
        if not self.at_end():
            raise self.fail(*(expected or ("end of input",)))

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(message=f"nesting deeper than {MAX_DEPTH} levels")

    # -- identifiers and paths ----------------------------------------------

    def quoted(self) -> str:
        """``"..."`` with backslash escaping any character (``\\"``, ``\\\\``)."""
        self.expect('"')
        chars = []
        while True:
            if self.at_end():
                raise self.fail('"\\""')
            char = self.text[self.pos]
            self.pos += 1
            if char == '"':
                return "".join(chars)
            if char == "\\":
                if self.at_end():
                    raise self.fail("any character")
                char = self.text[self.pos]
                self.pos += 1
            chars.append(char)

    def dashed(self, accept: Callable[[str], bool], what: tuple[str, ...]) -> str:
        """Runs of ``accept`` joined by ``-`` (a ``-`` not starting ``->``).

        Each run is stripped of surrounding spaces and must not be empty.
        """
        parts = []
        while True:
            start = self.pos
            part = self.run(accept).strip()
            if not part:
                raise self.fail(*what, at=start)
            parts.append(part)
            if self.peek() == "-" and self.peek(2) != "->":
                self.pos += 1
                continue
            return "-".join(parts)

    def field_name(self, what: tuple[str, ...] = (_FIELD_NAME,)) -> str:
        """A quoted name, or letters, digits, ``_``, ``$`` and spaces (stripped)."""
        start = self.pos
        if self.peek() == '"':
            name = self.quoted()
            if not name:
                raise self.fail(*what, message="empty field name", at=start)
            return name
        return self.dashed(_is_ident_char, what)

    def json_path(self) -> tuple[JsonStep, ...]:
        """``->key``/``->>key`` steps; ``->0``/``->-1`` index arrays."""
        steps = []
        while self.startswith("->"):
            as_text = self.startswith("->>")
            self.pos += 3 if as_text else 2
            steps.append(JsonStep(self.json_operand(), as_text))
        return tuple(steps)

    def json_operand(self) -> str:
        if self.peek() == '"':
            return self.quoted()
        if self.peek() == "-":  # a negative array index
            self.pos += 1
            digits = self.run(lambda c: c in _DIGITS)
            if not digits:
                raise self.fail("digit")
            after = self.peek()
            if after and _is_json_key_char(after) and after not in _WS:
                raise self.fail("digit", '"->"', '"::"', '"."', '","')
            return "-" + digits
        return self.dashed(
            _is_json_key_char, ("any non reserved character different from: .,>()",)
        )

    def field(self, what: tuple[str, ...] = (_FIELD_NAME,)) -> Path:
        """``[ws]name[json path][ws]``."""
        self.skip_ws()
        name = self.field_name(what)
        path = Path(name, self.json_path())
        self.skip_ws()
        return path

    def key_path(self) -> tuple[tuple[str, ...], Path]:
        """A filter key: ``embed.path.column[json path]`` -> (embed path, Path)."""
        names = [self.field_name()]
        while self.take("."):
            names.append(self.field_name())
        path = Path(names[-1], self.json_path())
        self.finish(_DELIMITER, '"->"', '"->>"', "end of input")
        return tuple(names[:-1]), path

    def dotted_names(self) -> list[str]:
        """``a.b.c`` as names, up to the end of the input."""
        names = [self.field_name()]
        while self.take("."):
            names.append(self.field_name())
        self.finish(_DELIMITER, "end of input")
        return names

    def name_list(self) -> list[str]:
        """``a, "b,c" , d`` (columns, on_conflict): at least one name."""
        names = []
        while True:
            self.skip_ws()
            names.append(self.field_name())
            self.skip_ws()
            if not self.take(","):
                break
        self.finish('","', "end of input")
        return names

    # -- select ---------------------------------------------------------------

    def select_list(self, nested: bool) -> list[SelectItem]:
        """Items separated by commas; may be empty (``select=``, ``rel()``)."""
        self.skip_ws()
        if self.at_end() or (nested and self.peek() == ")"):
            return []
        items = [self.select_item()]
        while True:
            self.skip_ws()
            if not self.take(","):
                return items
            items.append(self.select_item())

    def select_item(self) -> SelectItem:
        self.skip_ws()
        if self.take("..."):
            relation = self.field_name()
            hint, inner = self.embed_params()
            body = self.embed_body()
            return Embed(relation, body, hint=hint, inner=inner, spread=True)
        if self.take("*"):
            self.skip_ws()
            self.item_end()
            return Star()
        alias = self.alias()
        name = self.field_name()
        if self.peek() in ("!", "("):
            if name == "count":
                if self.startswith("()"):
                    raise _aggregate_error()
                raise self.fail('"()"')
            hint, inner = self.embed_params()
            body = self.embed_body()
            return Embed(name, body, alias=alias, hint=hint, inner=inner)
        path = Path(name, self.json_path())
        cast = self.cast() if self.take("::") else None
        if self.peek() == ".":
            rest = self.text[self.pos + 1 :]
            if any(rest.startswith(f"{agg}()") for agg in _AGGREGATES):
                raise _aggregate_error()
            raise self.fail('"::"', '","', '")"', "end of input")
        self.skip_ws()
        self.item_end()
        return Column(path, alias=alias, cast=cast)

    def item_end(self) -> None:
        if not (self.at_end() or self.peek() in ",)"):
            raise self.fail('"->>"', '"->"', '"::"', '","', '")"', "end of input")

    def alias(self) -> str | None:
        """``alias:`` (a single colon) before a column or an embed, if any."""
        start = self.pos
        try:
            name = self.field_name()
        except GrammarError:
            self.pos = start
            return None
        if self.peek() == ":" and self.peek(2) != "::":
            self.pos += 1
            self.skip_ws()
            return name
        self.pos = start
        return None

    def cast(self) -> str:
        start = self.pos
        name = self.run(_is_ident_char).strip()
        if not name:
            raise self.fail("letter or digit", at=start)
        return name

    def embed_params(self) -> tuple[str | None, bool]:
        """Up to two ``!hint``/``!inner``/``!left``; the first of each kind wins."""
        hint: str | None = None
        join: str | None = None
        for _ in range(2):
            if not self.take("!"):
                break
            quoted = self.peek() == '"'
            word = self.field_name(('"left"', '"inner"', "hint"))
            if not quoted and word in ("left", "inner"):
                join = join or word
            else:
                hint = hint or word
        return hint, join == "inner"

    def embed_body(self) -> tuple[SelectItem, ...]:
        self.expect("(", '"!"', '"("')
        self.nest()
        items = self.select_list(nested=True)
        self.depth -= 1
        self.skip_ws()
        self.expect(")", '","', '")"')
        return tuple(items)

    # -- order ----------------------------------------------------------------

    def order_terms(self) -> list[OrderTerm]:
        terms = [self.order_term()]
        while self.take(","):
            terms.append(self.order_term())
        self.finish('","', "end of input")
        return terms

    def order_term(self) -> OrderTerm:
        self.skip_ws()
        name = self.field_name()
        relation = None
        if self.take("("):  # clients(name): a column of a to-one embed
            relation = name
            path = self.field()
            self.expect(")", '"->"', '"->>"', '")"')
        else:
            path = Path(name, self.json_path())
        self.skip_ws()
        descending = False
        direction: str | None = None
        nulls: str | None = None
        while self.peek() == ".":
            start = self.pos + 1
            self.pos += 1
            word = self.run(lambda c: c not in ".," and c not in _WS)
            if word in ("asc", "desc") and direction is None and nulls is None:
                direction = word
                descending = word == "desc"
            elif word in ("nullsfirst", "nullslast") and nulls is None:
                nulls = word[len("nulls") :]
            elif direction is None and nulls is None:
                raise self.fail(
                    '"asc"', '"desc"', '"nullsfirst"', '"nullslast"', at=start
                )
            elif nulls is None:
                raise self.fail('"nullsfirst"', '"nullslast"', at=start)
            else:
                raise self.fail('","', "end of input", at=start - 1)
            self.skip_ws()
        if not (self.at_end() or self.peek() == ","):
            raise self.fail(_DELIMITER, '","', "end of input")
        return OrderTerm(path, descending=descending, nulls=nulls, relation=relation)

    # -- filters --------------------------------------------------------------

    def op_expr(self, path: Path, in_tree: bool) -> Condition:
        """``[not.]op[(any|all)|(lang)].value`` after a column (and its dot)."""
        negated = self.take("not.")
        start = self.pos
        op = self.run(lambda c: "a" <= c <= "z")
        if op not in OPERATORS:
            expected = (_OPERATOR,) if negated else ('"not"', _OPERATOR)
            raise self.fail(*expected, at=start)
        value: str | tuple[str, ...]
        quantifier = None
        language = None
        if op == "in":
            self.expect(".", _DELIMITER)
            items = self.list_val()
            value = () if items == [""] else tuple(items)
            self.end_of_value(in_tree)
        elif op == "is":
            self.expect(".", _DELIMITER)
            value = self.is_val()
            self.end_of_value(in_tree)
        elif op in FTS_OPERATORS:
            if self.take("("):
                language = self.cast()
                self.expect(")", '")"')
            self.expect(".", '"("', _DELIMITER)
            value = self.single_val(in_tree)
        elif op in QUANTIFIABLE:
            if self.take("("):
                if self.take("any"):
                    quantifier = "any"
                elif self.take("all"):
                    quantifier = "all"
                else:
                    raise self.fail('"any"', '"all"')
                self.expect(")", '")"')
            self.expect(".", '"("', _DELIMITER)
            raw = self.single_val(in_tree)
            value = _pg_array(raw) if quantifier else raw
            if op in ("like", "ilike"):  # `*` is PostgREST's URL-safe `%`
                value = _stars_to_percents(value)
        else:
            self.expect(".", _DELIMITER)
            value = self.single_val(in_tree)
        return Condition(path, op, value, negated, quantifier, language)

    def end_of_value(self, in_tree: bool) -> None:
        if not in_tree:
            self.skip_ws()
            self.finish()

    def single_val(self, in_tree: bool) -> str:
        """A filter's value: the rest of the text, or in a tree up to ``,``/``)``.

        In a tree the value may be ``"quoted"`` (then followed by ``,``/``)``)
        or a ``{...}`` array literal holding commas.
        """
        if not in_tree:
            value = self.text[self.pos :]
            self.pos = len(self.text)
            return value
        start = self.pos
        value = self.whole_quoted()
        if value is not None:
            return value
        if self.peek() == "{":
            close = self.text.find("}", start + 1)
            if close != -1 and "{" not in self.text[start + 1 : close]:
                self.pos = close + 1
                return self.text[start : self.pos]
        return self.run(lambda c: c not in ",)")

    def list_val(self) -> list[str]:
        """``(a,"b,c",d)``: raw items, or quoted ones followed by ``,``/``)``."""
        self.skip_ws()
        self.expect("(", '"("')
        self.skip_ws()
        items = [self.list_item()]
        while self.take(","):
            items.append(self.list_item())
        self.expect(")", '","', '")"')
        self.skip_ws()
        return items

    def list_item(self) -> str:
        value = self.whole_quoted()
        if value is not None:
            return value
        return self.run(lambda c: c not in ",)")

    def whole_quoted(self) -> str | None:
        """A double-quoted item ending at ``,``, ``)`` or the end; None (and the
        position kept) when the item is not one."""
        start = self.pos
        if self.peek() == '"':
            try:
                value = self.quoted()
            except GrammarError:
                pass
            else:
                if self.at_end() or self.peek() in ",)":
                    return value
            self.pos = start
        return None

    def is_val(self) -> str:
        for word in _IS_VALUES_ORDER:
            chunk = self.peek(len(word))
            if len(chunk) == len(word) and all(
                c in (w, w.upper()) for c, w in zip(chunk, word, strict=True)
            ):
                self.pos += len(word)
                return word
        raise self.fail("isVal: (null, not_null, true, false, unknown)")

    # -- logic trees ------------------------------------------------------------

    def logic_root(self, op_length: int) -> Logic:
        """``[not.]and(...)``/``[not.]or(...)`` filling the whole text.

        ``op_length`` is the length of the ``[not.]and``/``[not.]or`` prefix
        taken from the key; the tree itself must start with ``(``.
        """
        if _LOGIC_START.match(self.text, self.pos) is None:
            raise self.fail('"("', at=op_length)
        tree = self.logic_tree()
        self.finish()
        assert isinstance(tree, Logic)
        return tree

    def logic_tree(self) -> Filter:
        self.skip_ws()
        match = _LOGIC_START.match(self.text, self.pos)
        if match is None:  # a leaf: column.[not.]op.value
            path = self.field(_TREE_ITEM)
            self.expect(".", _DELIMITER, '"->"', '"->>"')
            return self.op_expr(path, in_tree=True)
        self.pos = match.end()
        self.nest()
        items = [self.logic_tree()]
        self.skip_ws()
        while self.take(","):
            items.append(self.logic_tree())
            self.skip_ws()
        self.expect(")", '","', '")"')
        self.skip_ws()
        self.depth -= 1
        op = "and" if match.group(2) == "and" else "or"
        return Logic(op, tuple(items), negated=match.group(1) is not None)


def _is_ident_char(char: str) -> bool:
    return char.isalpha() or char in _DIGITS or char in _IDENT_EXTRA


def _is_json_key_char(char: str) -> bool:
    return char not in _JSON_KEY_STOP


def _stars_to_percents(value: str | tuple[str, ...]) -> str | tuple[str, ...]:
    if isinstance(value, tuple):
        return tuple(item.replace("*", "%") for item in value)
    return value.replace("*", "%")


# ---------------------------------------------------------------------------
# PostgreSQL array literals (the values of the (any)/(all) quantifiers)

_PG_SPACE = " \t\n\r\v\f"


def _pg_array(literal: str) -> tuple[str, ...]:
    """Parse a one-dimensional array literal ``{a,"b,c",d}`` as PostgreSQL does.

    Unquoted items are trimmed; quoted ones keep everything, with backslash
    escapes; an unquoted ``NULL`` stays the string ``"NULL"``. A malformed
    literal raises PostgreSQL's own error (22P02), which is what PostgREST
    answers since it hands the literal to PostgreSQL.
    """

    def malformed(details: str) -> GrammarError:
        return GrammarError(
            f"malformed array literal: {_show(literal)}", code="22P02", details=details
        )

    text, pos, size = literal, 0, len(literal)

    def skip_space() -> None:
        nonlocal pos
        while pos < size and text[pos] in _PG_SPACE:
            pos += 1

    skip_space()
    if pos >= size or text[pos] != "{":
        raise malformed('Array value must start with "{" or dimension information.')
    pos += 1
    skip_space()
    items: list[str] = []
    if pos < size and text[pos] == "}":
        pos += 1
    else:
        while True:
            skip_space()
            if pos >= size:
                raise malformed("Unexpected end of input.")
            char = text[pos]
            chars: list[str] = []
            if char == '"':
                pos += 1
                while True:
                    if pos >= size:
                        raise malformed("Unexpected end of input.")
                    char = text[pos]
                    pos += 1
                    if char == '"':
                        break
                    if char == "\\":
                        if pos >= size:
                            raise malformed("Unexpected end of input.")
                        char = text[pos]
                        pos += 1
                    chars.append(char)
                item = "".join(chars)
                skip_space()
            else:
                if char in ',{}"':
                    raise malformed(f'Unexpected "{char}" character.')
                while pos < size and text[pos] not in ",}":
                    char = text[pos]
                    pos += 1
                    if char in '{"':
                        raise malformed(f'Unexpected "{char}" character.')
                    if char == "\\":
                        if pos >= size:
                            raise malformed("Unexpected end of input.")
                        char = text[pos]
                        pos += 1
                    chars.append(char)
                item = "".join(chars).strip(_PG_SPACE)
            items.append(item)
            if pos >= size:
                raise malformed("Unexpected end of input.")
            if text[pos] == "}":
                pos += 1
                break
            if text[pos] != ",":
                raise malformed(f'Unexpected "{text[pos]}" character.')
            pos += 1
    skip_space()
    if pos < size:
        raise malformed("Junk after closing right brace.")
    return tuple(items)


# ---------------------------------------------------------------------------
# Integers (limit, offset, Range, max-affected)

_INTEGER = re.compile(r"[ \t]*(-?)([0-9]+)[ \t]*")


def _bounded(digits: str) -> int:
    """A non-negative decimal as an int, clamped to ``BIGINT_MAX``.

    Never calls ``int()`` on more than 19 digits (Python refuses over 4300).
    """
    digits = digits.lstrip("0") or "0"
    if len(digits) > 19:
        return BIGINT_MAX
    return min(int(digits), BIGINT_MAX)


def _integer_param(key: str, value: str) -> int:
    """A ``limit``/``offset`` value: a decimal integer (clamped to bigint).

    PostgREST silently ignores a non-integer; this grammar rejects it (PGRST100).
    A negative top-level limit is PGRST103 (416) as in PostgREST, an embedded
    one PostgreSQL's 2201W; a negative offset is no offset (PostgREST's
    RangeSpec: "succeeds if offset is negative as a no-op").
    """
    names = key.rsplit(".", 1)
    kind = names[-1]
    match = _INTEGER.fullmatch(value)
    if match is None:
        parser = _Parser(value, f"failed to parse {kind} parameter ({value})")
        parser.skip_ws()
        parser.take("-")
        digits = parser.run(lambda c: c in _DIGITS)
        raise parser.fail(*(("digit", "end of input") if digits else ("digit",)))
    number = _bounded(match.group(2))
    if match.group(1) and number:
        if kind == "offset":
            return 0
        if len(names) == 1:
            raise _range_error("Limit should be greater than or equal to zero.")
        raise GrammarError("LIMIT must not be negative", code="2201W")
    return number


# ---------------------------------------------------------------------------
# The query string


@dataclass
class _LevelParts:
    filters: list[tuple[int, Filter]] = field(default_factory=list)
    order: tuple[OrderTerm, ...] | None = None
    limit: int | None = None
    offset: int | None = None

    def build(self) -> Level:
        return Level(
            filters=tuple(f for _, f in sorted(self.filters, key=lambda p: p[0])),
            order=self.order or (),
            limit=self.limit,
            offset=self.offset,
        )


def _last_segment(key: str) -> str:
    return key.rsplit(".", 1)[-1]


def parse_query(params: list[tuple[str, str]]) -> Query:
    """Parse the decoded query string, ``(key, value)`` pairs in request order.

    * ``select``, ``columns``, ``on_conflict``: the first occurrence is used.
      No ``select`` means ``*``; an empty ``select=`` selects no column (``()``).
    * Keys whose last dotted segment is ``and``/``or`` are logic trees
      (``or=(a.eq.1,b.gt.2)``, ``not.and=(...)``, ``embed.or=(...)``).
    * ``[embed.]order``: the first one per level wins. ``[embed.]limit`` and
      ``[embed.]offset``: the last one wins; they must be integers. A negative
      limit is PGRST103 (416), a negative offset none; values
      beyond bigint are clamped to ``BIGINT_MAX``.
    * ``apikey`` is ignored; every other key is a filter
      ``[embed.path.]column[->json]=[not.]op[(any|all)|(lang)].value``.

    Errors are reported in PostgREST's order: order, logic, columns, select,
    filters, on_conflict, then limit/offset.
    """
    orders: list[tuple[str, str]] = []
    logics: list[tuple[int, str, str]] = []
    filters: list[tuple[int, str, str]] = []
    ranges: list[tuple[str, str]] = []
    reserved: dict[str, str] = {}
    for index, (key, value) in enumerate(params):
        if key in _IGNORED_KEYS:
            continue
        if key in _RESERVED_KEYS:
            reserved.setdefault(key, value)
            continue
        last = _last_segment(key)
        if last in _LOGIC_OPS:
            logics.append((index, key, value))
        elif last == "order":
            orders.append((key, value))
        elif last in ("limit", "offset"):
            ranges.append((key, value))
        else:
            filters.append((index, key, value))

    levels: dict[tuple[str, ...], _LevelParts] = {}

    def level(path: tuple[str, ...]) -> _LevelParts:
        return levels.setdefault(path, _LevelParts())

    for key, value in orders:
        path = _embed_path(key)
        terms = _Parser(value, f"failed to parse order ({value})").order_terms()
        if level(path).order is None:
            level(path).order = tuple(terms)

    for index, key, value in logics:
        names = _Parser(key, f"failed to parse logic path ({key})").dotted_names()
        negated = "not" in names[:-1]
        path = tuple(name for name in names[:-1] if name != "not")
        op = ("not." if negated else "") + names[-1]
        text = op + value
        parser = _Parser(text, f"failed to parse logic tree ({value})")
        tree = parser.logic_root(len(op))
        level(path).filters.append((index, tree))

    columns = None
    if "columns" in reserved:
        value = reserved["columns"]
        parser = _Parser(value, f"failed to parse columns parameter ({value})")
        columns = tuple(dict.fromkeys(parser.name_list()))

    select: tuple[SelectItem, ...] = (Star(),)
    if reserved.get("select", "").strip():  # `select=` alone: every column
        value = reserved["select"]
        parser = _Parser(value, f"failed to parse select parameter ({value})")
        items = parser.select_list(nested=False)
        parser.finish('","', "end of input")
        select = tuple(items)

    for index, key, value in filters:
        path, column = _Parser(key, f"failed to parse tree path ({key})").key_path()
        parser = _Parser(value, f"failed to parse filter ({value})")
        level(path).filters.append((index, parser.op_expr(column, in_tree=False)))

    on_conflict = None
    if "on_conflict" in reserved:
        value = reserved["on_conflict"]
        parser = _Parser(value, f"failed to parse on_conflict parameter ({value})")
        on_conflict = tuple(parser.name_list())

    for key, value in ranges:
        path = _embed_path(key)
        number = _integer_param(key, value)
        if _last_segment(key) == "limit":
            level(path).limit = number
        else:
            level(path).offset = number

    root = levels.pop((), _LevelParts()).build()
    embedded = {path: parts.build() for path, parts in levels.items()}
    return Query(
        select=select,
        root=root,
        embedded=embedded,
        on_conflict=on_conflict,
        columns=columns,
    )


def _embed_path(key: str) -> tuple[str, ...]:
    """The embed path of ``a.b.order``-like keys: every name but the last."""
    names = _Parser(key, f"failed to parse tree path ({key})").dotted_names()
    return tuple(names[:-1])


# ---------------------------------------------------------------------------
# Prefer

# Recognised preferences: header value -> (category, value).
_PREFERENCES: dict[str, tuple[str, str]] = {
    "resolution=merge-duplicates": ("resolution", "merge-duplicates"),
    "resolution=ignore-duplicates": ("resolution", "ignore-duplicates"),
    "missing=default": ("missing", "default"),
    "missing=null": ("missing", "null"),
    "return=representation": ("return", "representation"),
    "return=minimal": ("return", "minimal"),
    "return=headers-only": ("return", "headers-only"),
    "count=exact": ("count", "exact"),
    "count=planned": ("count", "planned"),
    "count=estimated": ("count", "estimated"),
    "tx=commit": ("tx", "commit"),
    "tx=rollback": ("tx", "rollback"),
    "handling=strict": ("handling", "strict"),
    "handling=lenient": ("handling", "lenient"),
}
# PostgREST's order in Preference-Applied.
_APPLIED_ORDER = ("resolution", "missing", "return", "count", "tx", "handling")
_INT64 = re.compile(r"-?[0-9]{1,19}")


def parse_prefer(
    values: list[str], *, timezones: Callable[[], frozenset[str]] | None = None
) -> Preferences:
    """Parse the ``Prefer`` header values (each may hold comma-separated prefs).

    Like PostgREST: each preference is matched exactly (after trimming), the
    first one of each kind wins, and unknown ones go to ``invalid`` (an error
    only under ``handling=strict``, which the caller raises). ``applied`` lists
    the recognised ones as ``Preference-Applied`` echoes them, in PostgREST's
    order (resolution, missing, return, count, tx, handling, max-affected).

    * ``missing=null`` is recognised (it is the default): applied, ``missing``
      stays ``None``.
    * ``max-affected=<int>`` only takes effect with ``handling=strict``:
      ``max_affected`` is ``None`` otherwise. A non-integer is ``invalid``.
    * ``timezone=<name>`` is applied when ``timezones()`` (PostgreSQL's
      ``pg_timezone_names``, asked only when a time zone is given) has it, and
      ``invalid`` otherwise, as in PostgREST. ``params=single-object`` is
      ``invalid``: not supported here.
    * Empty items (``count=exact,``) are ignored. Never raises.
    """
    chosen: dict[str, str] = {}
    max_affected: int | None = None
    timezone: str | None = None
    invalid: list[str] = []
    for header in values:
        for raw in header.split(","):
            pref = raw.strip()
            if not pref:
                continue
            if pref in _PREFERENCES:
                category, value = _PREFERENCES[pref]
                chosen.setdefault(category, value)
            elif pref.startswith("max-affected="):
                number = pref[len("max-affected=") :]
                parsed = int(number) if _INT64.fullmatch(number) else None
                if parsed is None or not -(2**63) <= parsed < 2**63:
                    invalid.append(pref)
                elif max_affected is None:
                    max_affected = parsed
            elif pref.startswith("timezone="):
                name = pref[len("timezone=") :]
                if timezones is None or name not in timezones():
                    invalid.append(pref)
                elif timezone is None:
                    timezone = name
            else:
                invalid.append(pref)
    handling = chosen.get("handling", "lenient")
    if handling != "strict":
        max_affected = None
    applied = [f"{c}={chosen[c]}" for c in _APPLIED_ORDER if c in chosen]
    if timezone is not None:
        applied.append(f"timezone={timezone}")
    if max_affected is not None:
        applied.append(f"max-affected={max_affected}")
    missing = chosen.get("missing")
    return Preferences(
        return_=chosen.get("return"),
        count=chosen.get("count"),
        resolution=chosen.get("resolution"),
        missing="default" if missing == "default" else None,
        handling=handling,
        max_affected=max_affected,
        tx=chosen.get("tx"),
        timezone=timezone,
        applied=tuple(applied),
        invalid=tuple(invalid),
    )


# ---------------------------------------------------------------------------
# Range

_RANGE = re.compile(r"([0-9]+)-([0-9]*)")


def parse_range(value: str) -> RangeRequest | None:
    """Parse ``Range: <first>-[<last>]`` (``0-9``: offset 0, limit 10).

    Like PostgREST, only that exact form counts: an absent, empty or malformed
    header (``items=0-9``, ``-5``, ``a-b``) is ignored (``None``). ``5-2``
    (last before first) raises PGRST103 with status 416. Numbers beyond bigint
    are clamped to ``BIGINT_MAX``.
    """
    if not value:
        return None
    match = _RANGE.fullmatch(value.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    offset = _bounded(first)
    if not last:
        return RangeRequest(offset=offset, limit=None)
    if _magnitude(last) < _magnitude(first):
        raise _range_error(
            "The lower boundary must be lower than or equal to the upper boundary "
            "in the Range header."
        )
    limit = min(_bounded(last) - offset + 1, BIGINT_MAX)
    return RangeRequest(offset=offset, limit=limit)


def _magnitude(digits: str) -> tuple[int, str]:
    """A sort key comparing decimal strings numerically, without ``int()``."""
    digits = digits.lstrip("0") or "0"
    return len(digits), digits
