"""Checks every dialect adapter shares: ids, objects, texts, times, and the
error list that names each bad field by its path."""

import json
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from tracking.messages import DialectError, FieldError

ID_MAX_LENGTH = 255

_INVALID: Any = object()  # a field that failed its check (already reported)


class _Errors:
    """Every bad field, in order, each once."""

    def __init__(self) -> None:
        self._found: dict[FieldError, None] = {}

    def add(self, path: str, message: str) -> None:
        self._found.setdefault(FieldError(path, message))

    def __len__(self) -> int:
        return len(self._found)

    def raise_if_any(self) -> None:
        if self._found:
            raise DialectError(list(self._found))


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)


def _name(value: Any) -> str:
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


def _quote(text: str) -> str:
    return json.dumps(text[:40] + ("..." if len(text) > 40 else ""))


def _scan_text(text: str, where: str, what: str, errors: _Errors) -> None:
    if "\x00" in text:
        errors.add(where, f"{what} contains a NUL character (\\u0000)")
    try:
        text.encode()
    except UnicodeEncodeError:
        errors.add(where, f"{what} contains an unpaired surrogate (invalid Unicode)")


def _id(value: Any, path: str, errors: _Errors) -> Any:
    """A string or number as text; None when null or empty; _INVALID if bad."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        errors.add(path, "must be a string or a number, not a boolean")
        return _INVALID
    elif isinstance(value, int):
        try:
            text = str(value)
        except ValueError:
            errors.add(path, "is a number with too many digits")
            return _INVALID
    elif isinstance(value, float):
        if not math.isfinite(value):
            errors.add(path, "must be a finite number")
            return _INVALID
        text = str(int(value)) if value.is_integer() else repr(value)
    else:
        errors.add(path, f"must be a string or a number, not {_name(value)}")
        return _INVALID
    if len(text) > ID_MAX_LENGTH:
        errors.add(path, f"is longer than {ID_MAX_LENGTH} characters")
        return _INVALID
    return text or None


def _object(value: Any, path: str, errors: _Errors) -> Any:
    """An object; ``{}`` when absent or null; _INVALID if anything else."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    errors.add(path, f"must be an object, not {_name(value)}")
    return _INVALID


_ISO_8601 = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)?",
    re.ASCII,
)


def _parse_time(text: str) -> datetime | None:
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


def _utc(at: datetime) -> datetime:
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
