"""The checks every dialect shares: ids, objects, times, storability, message
ids (:func:`made_id` for messages sent without one), and the error list that
names each bad field by its path.

One rule, one place: a dialect calls these and adds only what its vendor
decides differently (its field names, its messages' wording). Pure: no
database, no HTTP.
"""

import hashlib
import json
import math
import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tracking.messages import DialectError, FieldError

ID_MAX_LENGTH = 255  # the store's id columns
MAX_DEPTH = 100  # levels of nesting in one message (the message itself is 1)

INVALID: Any = object()  # a field that failed its check (already reported)


class Errors:
    """Every bad field, in order, each once (two checks of one field that find
    the same fault report it once)."""

    def __init__(self) -> None:
        self._found: dict[FieldError, None] = {}

    def add(self, path: str, message: str) -> None:
        self._found.setdefault(FieldError(path, message))

    def __len__(self) -> int:
        return len(self._found)

    def raise_if_any(self) -> None:
        if self._found:
            raise DialectError(list(self._found))


# -- words and paths --------------------------------------------------------------


def type_name(value: Any) -> str:
    """The JSON type of a value, for error messages (values are not echoed)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "a non-JSON value"


def quote(text: str) -> str:
    """A value shown in a message: JSON-quoted, cut at 40 characters."""
    return json.dumps(text[:40] + ("..." if len(text) > 40 else ""))


IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)


def dotted(path: str, key: str) -> str:
    """JavaScript's path syntax: ``batch[0]`` + ``userId`` -> ``batch[0].userId``,
    an odd key in brackets (``a["b c"]``)."""
    if IDENTIFIER.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def bracketed(path: str, key: str) -> str:
    """A form's path syntax: ``properties`` + ``title`` -> ``properties[title]``."""
    return f"{path}[{key}]" if path else key


# -- storability: what PostgreSQL's text and jsonb cannot hold --------------------


def scan_text(text: str, where: str, what: str, errors: Errors) -> None:
    if "\x00" in text:
        errors.add(where, f"{what} contains a NUL character (\\u0000)")
    try:
        text.encode()
    except UnicodeEncodeError:
        errors.add(where, f"{what} contains an unpaired surrogate (invalid Unicode)")


def scan(
    value: Any,
    path: str,
    errors: Errors,
    *,
    child: Callable[[str, str], str] = dotted,
    max_depth: int = MAX_DEPTH,
) -> None:
    """Name, by path, everything in ``value`` the store could not hold.

    A loop, not recursion, so any depth is walked. ``path`` is where
    ``value`` is (``""`` for the body itself, reported as ``body``); ``child``
    writes a key's path in the dialect's syntax.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        at = where or "body"
        if isinstance(item, str):
            scan_text(item, at, "text", errors)
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            try:
                str(item)
            except ValueError:
                errors.add(at, "is a number with too many digits")
        elif isinstance(item, float):
            if not math.isfinite(item):
                errors.add(at, "must be a finite number")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                errors.add(at, f"is nested more than {max_depth} levels deep")
                continue
            children: list[tuple[Any, str, int]] = []
            if isinstance(item, list):
                for index, element in enumerate(item):
                    children.append((element, f"{where}[{index}]", depth + 1))
            else:
                for key, element in item.items():
                    if not isinstance(key, str):
                        errors.add(at, "has a key that is not a string")
                        continue
                    child_path = child(where, key)
                    scan_text(key, child_path, "key", errors)
                    children.append((element, child_path, depth + 1))
            stack.extend(reversed(children))
        else:
            errors.add(at, "is not a JSON value")


# -- fields -----------------------------------------------------------------------


def id_text(value: Any, path: str, errors: Errors) -> Any:
    """A string or number as text; None when null or empty; INVALID if bad.

    Integral numbers are their integer text (``123.0`` -> ``"123"``), others
    their shortest repr; booleans are refused.
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        errors.add(path, "must be a string or a number, not a boolean")
        return INVALID
    elif isinstance(value, int):
        try:
            text = str(value)
        except ValueError:
            errors.add(path, "is a number with too many digits")
            return INVALID
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors.add(path, "must be a finite number")
            return INVALID
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        errors.add(path, f"must be a string or a number, not {type_name(value)}")
        return INVALID
    if len(text) > ID_MAX_LENGTH:
        errors.add(path, f"is longer than {ID_MAX_LENGTH} characters")
        return INVALID
    return text or None


def required_id(value: Any, path: str, what: str, errors: Errors) -> Any:
    """:func:`id_text`, with null and ``""`` reported as missing ``what``."""
    text = id_text(value, path, errors)
    if text is None:
        errors.add(path, f"is required: {what}")
        return INVALID
    return text


def object_value(value: Any, path: str, errors: Errors) -> Any:
    """An object; ``{}`` when absent or null; INVALID if anything else."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    errors.add(path, f"must be an object, not {type_name(value)}")
    return INVALID


def choice(value: Any, path: str, errors: Errors, *, choices: tuple[str, ...]) -> Any:
    """One of ``choices``, matched case-insensitively (lower-cased), or None."""
    listed = ", ".join(choices)
    if value is None:
        errors.add(path, f"is required: one of {listed}")
        return None
    if not isinstance(value, str):
        errors.add(path, f"must be a string, one of {listed}; not {type_name(value)}")
        return None
    if value.lower() not in choices:
        errors.add(path, f"unknown type {quote(value)}: expected one of {listed}")
        return None
    return value.lower()


# -- times ------------------------------------------------------------------------

_ISO_8601 = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


def parse_time(text: str) -> datetime | None:
    """An ISO 8601 date-time as aware UTC, or None.

    ``Z`` or an offset (naive means UTC); a date alone is midnight UTC;
    one-digit months, days and hours are accepted (Segment's own example
    sends ``2015-2-02T00:30:08.276Z``); fractions beyond microseconds are
    truncated. Times that do not exist, or not in UTC, are None.
    """
    match = _ISO_8601.fullmatch(text)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction, _, sign, oh, om = match.groups()
    offset = timedelta(0)
    if sign:
        if int(om or 0) > 59:
            return None
        offset = timedelta(hours=int(oh), minutes=int(om or 0))
        if sign == "-":
            offset = -offset
    try:
        at = datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "")[:6].ljust(6, "0")),
            tzinfo=timezone(offset),
        )
        return at.astimezone(UTC)
    except (ValueError, OverflowError):
        return None


def time_value(
    value: Any, path: str, errors: Errors, *, example: str, echo: bool = True
) -> Any:
    """An ISO 8601 string (:func:`parse_time`) as aware UTC; None when null;
    INVALID if bad. ``example`` is the vendor's own; ``echo=False`` leaves the
    bad value out of the message (Gather's wording)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(
            path, f"must be an ISO 8601 date-time string, not {type_name(value)}"
        )
        return INVALID
    at = parse_time(value)
    if at is None:
        shown = f"{quote(value)} is" if echo else "is"
        errors.add(path, f"{shown} not an ISO 8601 date-time (like {example})")
        return INVALID
    return at


def utc(at: datetime) -> datetime:
    """``at`` in UTC; naive means UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# -- message ids ------------------------------------------------------------------


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Sorted compact JSON: equal values, equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def hash_id(value: Any) -> str:
    """``hash:`` and the sha256 of what ``value`` says: an id derived from
    another (equal values, equal ids)."""
    return "hash:" + sha256_hex(canonical_json(value))


def made_id() -> str:
    """The id of a message its client sent without one: a fresh uuid4.

    Only ids the client sent are deduplicated (``Message.deduplicate``): a
    message without one is never taken for another, as two identical calls
    are two real actions (two clicks within a minute; the same track twice
    at one timestamp), and a hash of its content would drop the second. The
    price: a client's retry of a call without an id counts twice, which
    Bucket, whose SDKs send no ids, documents ("can technically result in
    duplicate entries")."""
    return str(uuid.uuid4())
