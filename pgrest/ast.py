"""The parsed form of a PostgREST request: pure data, no Django.

``grammar.parse_query`` builds a :class:`Query` from the query string,
``grammar.parse_prefer`` :class:`Preferences` from ``Prefer`` headers and
``grammar.parse_range`` the ``Range`` header.
"""

from dataclasses import dataclass, field
from typing import Literal, Union

from core.errors import ApplicationError

# Every operator PostgREST documents for plain columns.
OPERATORS: frozenset[str] = frozenset(
    {
        "eq", "neq", "gt", "gte", "lt", "lte",
        "like", "ilike", "match", "imatch",
        "in", "is", "isdistinct",
        "fts", "plfts", "phfts", "wfts",
        "cs", "cd", "ov", "sl", "sr", "nxr", "nxl", "adj",
    }
)  # fmt: skip
# Operators that take the (any)/(all) quantifier: `like(any).{a*,b*}`.
QUANTIFIABLE: frozenset[str] = frozenset(
    {"eq", "neq", "gt", "gte", "lt", "lte", "like", "ilike", "match", "imatch"}
)
FTS_OPERATORS: frozenset[str] = frozenset({"fts", "plfts", "phfts", "wfts"})
# The values `is.` accepts.
IS_VALUES: frozenset[str] = frozenset({"null", "not_null", "true", "false", "unknown"})


@dataclass(frozen=True)
class JsonStep:
    """One arrow of a JSON path: ``->key`` (as_text False) or ``->>key``."""

    key: str  # an object key, or an array index written as digits ("0", "-1")
    as_text: bool


@dataclass(frozen=True)
class Path:
    """A column, optionally followed by a JSON path: ``values->>Status``."""

    column: str
    json_path: tuple[JsonStep, ...] = ()

    @property
    def label(self) -> str:
        """The output key PostgREST uses: the last JSON key, else the column."""
        return self.json_path[-1].key if self.json_path else self.column


@dataclass(frozen=True)
class Condition:
    """A leaf filter: ``path=[not.]operator[(any|all)][(language)].value``."""

    path: Path
    operator: str  # one of OPERATORS
    # A plain string for most operators (still text: typing is the planner's);
    # a tuple of strings for `in` and for the (any)/(all) quantifiers;
    # for `is`: one of IS_VALUES (lower-cased).
    value: str | tuple[str, ...]
    negated: bool = False
    quantifier: Literal["any", "all"] | None = None
    language: str | None = None  # fts(english).word -> "english"


@dataclass(frozen=True)
class Logic:
    """``and=(...)`` / ``or=(...)``, possibly negated and nested."""

    op: Literal["and", "or"]
    items: tuple[Union["Condition", "Logic"], ...]
    negated: bool = False


Filter = Condition | Logic


@dataclass(frozen=True)
class OrderTerm:
    path: Path
    descending: bool = False
    nulls: Literal["first", "last"] | None = None  # None: PostgreSQL's default
    # `order=clients(name).desc`: `path` is a column of the to-one embed
    # `clients` (its alias or relation name), not of this level's table.
    relation: str | None = None


@dataclass(frozen=True)
class Star:
    """``*`` in a select list."""


@dataclass(frozen=True)
class Column:
    """``[alias:]path[::cast]`` in a select list."""

    path: Path
    alias: str | None = None
    cast: str | None = None  # a type name, validated by the planner

    @property
    def label(self) -> str:
        return self.alias or self.path.label


@dataclass(frozen=True)
class Embed:
    """``[alias:][...]relation[!hint][!inner|!left](select...)``."""

    relation: str
    select: tuple["SelectItem", ...]
    alias: str | None = None
    hint: str | None = None  # a column or constraint name disambiguating the join
    inner: bool = False  # !inner: parents without a matching child are left out
    spread: bool = False  # ...relation(cols): the child's columns inline

    @property
    def label(self) -> str:
        return self.alias or self.relation


SelectItem = Star | Column | Embed


@dataclass(frozen=True)
class Level:
    """Filters, order and paging for the top level or one embedded resource."""

    filters: tuple[Filter, ...] = ()  # all ANDed
    order: tuple[OrderTerm, ...] = ()
    limit: int | None = None
    offset: int | None = None


@dataclass(frozen=True)
class Query:
    """Everything the query string says."""

    select: tuple[SelectItem, ...] = (Star(),)
    root: Level = field(default_factory=Level)
    # Embedded levels by their path of embed labels (alias or relation name):
    # `field_entries.fields.order=name` -> ("field_entries", "fields").
    embedded: dict[tuple[str, ...], Level] = field(default_factory=dict)
    on_conflict: tuple[str, ...] | None = None
    columns: tuple[str, ...] | None = None  # ?columns=a,b for POST/PATCH


@dataclass(frozen=True)
class Preferences:
    """The ``Prefer`` header(s)."""

    return_: Literal["minimal", "headers-only", "representation"] | None = None
    count: Literal["exact", "planned", "estimated"] | None = None
    resolution: Literal["merge-duplicates", "ignore-duplicates"] | None = None
    missing: Literal["default"] | None = None
    handling: Literal["strict", "lenient"] = "lenient"
    max_affected: int | None = None
    tx: Literal["commit", "rollback"] | None = None
    timezone: str | None = None  # timestamps rendered in this zone
    # Recognised preferences, as PostgREST echoes them in Preference-Applied.
    applied: tuple[str, ...] = ()
    # Preferences that were not understood (an error under handling=strict).
    invalid: tuple[str, ...] = ()


@dataclass(frozen=True)
class RangeRequest:
    """``Range: 0-9`` (offset 0, limit 10); ``Range: 10-`` has no limit."""

    offset: int
    limit: int | None


class GrammarError(ApplicationError):
    """A request PostgREST would reject while parsing (``PGRST100`` etc.).

    ``message``/``details``/``hint`` follow PostgREST's error body; ``details``
    names the offending part of the request.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "PGRST100",
        details: str | None = None,
        hint: str | None = None,
        status: int = 400,
    ) -> None:
        super().__init__(message, code=code, status=status, details=details, hint=hint)
