"""Cells as spreadsheets write them, read into the text a field's value takes.

A range copied from Excel, Google Sheets or Numbers arrives as TSV text in the
spreadsheet's locale: ``1,234.50`` or ``1.234,50``, ``$12``, ``25/03/2026``,
``TRUE``, a choice in another case, an entry by its name. :func:`cell_text`
turns one cell into what :func:`gathergrid.values.normalise` accepts (which
then has the last word); names of referenced entries are left to the caller,
who resolves a whole range in one query (:func:`reference_cell`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Literal

from gathergrid.models import FieldDataType
from gathergrid.values import InvalidValue, choices_of

DateOrder = Literal["dmy", "mdy"]
DATE_ORDERS: tuple[DateOrder, ...] = ("dmy", "mdy")

_SPACES = re.compile(r"[\s\u00a0\u202f\u2009']")
_CURRENCY = "$€£¥₹₽₩"
# 25/03/2026, 3-25-2026, 25.03.26: three numbers, the year last.
_SLASHED = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})(?:[ T](.+))?$")
_THOUSANDS_COMMA = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_THOUSANDS_DOT = re.compile(r"^[+-]?\d{1,3}(\.\d{3})+(,\d+)?$")


def number_text(text: str) -> str:
    """``1,234.50``, ``1.234,50``, ``1 234,5``, ``$12``, ``(3)`` as plain
    ``1234.50``-style text. A lone comma is a decimal comma unless it groups
    thousands (``1,234``: one thousand two hundred and thirty-four)."""
    raw = _SPACES.sub("", text.strip())
    if raw.startswith("(") and raw.endswith(")"):
        raw = "-" + raw[1:-1]
    sign = ""
    if raw[:1] in "+-":
        sign, raw = raw[:1], raw[1:]
    raw = raw.strip(_CURRENCY)
    if raw[:1] in "+-" and not sign:
        sign, raw = raw[:1], raw[1:]
    if "," in raw and "." in raw:
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        raw = (
            raw.replace(",", "")
            if _THOUSANDS_COMMA.match(raw)
            else raw.replace(",", ".")
        )
    elif raw.count(".") > 1 and _THOUSANDS_DOT.match(raw):
        raw = raw.replace(".", "")
    return sign + raw


def date_order_of(texts: Iterable[str]) -> DateOrder | None:
    """The day/month order a column's slashed dates must have been written
    in (a part above 12 can only be a day), or None when they do not say."""
    day_first = month_first = False
    for text in texts:
        match = _SLASHED.match(text.strip())
        if not match:
            continue
        first, second = int(match.group(1)), int(match.group(2))
        day_first |= first > 12
        month_first |= second > 12
    if day_first and not month_first:
        return "dmy"
    if month_first and not day_first:
        return "mdy"
    return None


def _date_text(text: str, order: DateOrder | None) -> str:
    match = _SLASHED.match(text)
    if not match:
        return text
    first, second, year, rest = match.groups()
    a, b = int(first), int(second)
    if order is None:
        if a <= 12 and b <= 12 and a != b:
            raise InvalidValue(
                f"{text!r} could be day/month or month/day; write it as YYYY-MM-DD"
            )
        order = "dmy" if a > 12 or a == b else "mdy"
    day, month = (a, b) if order == "dmy" else (b, a)
    full_year = int(year) if len(year) == 4 else 2000 + int(year)
    try:
        day_of = date(full_year, month, day)
    except ValueError:
        raise InvalidValue(f"{text!r} is not a date") from None
    return day_of.isoformat() + (f"T{rest}" if rest else "")


def cell_text(
    data_type: str, options: object, text: str, *, date_order: DateOrder | None = None
) -> str:
    """One spreadsheet cell as the text ``normalise`` takes for ``data_type``;
    :class:`InvalidValue` when it cannot be read at all. ``date_order``: how
    slashed dates are written (``dmy``/``mdy``; None: only unambiguous ones)."""
    if data_type in {FieldDataType.TEXT, FieldDataType.LONG_TEXT, FieldDataType.JSON}:
        return text
    text = text.strip()
    if not text:
        return ""
    match data_type:
        case FieldDataType.INTEGER | FieldDataType.DECIMAL:
            return number_text(text)
        case FieldDataType.DATE | FieldDataType.DATETIME:
            return _date_text(text, date_order)
        case FieldDataType.CHOICE:
            return _choice(text, choices_of(options))
        case FieldDataType.MULTI_CHOICE:
            if text.startswith("["):
                return text
            allowed = choices_of(options)
            parts = [part.strip() for part in re.split(r"[,;\n]", text)]
            return ", ".join(_choice(part, allowed) for part in parts if part)
        case FieldDataType.REFERENCE:
            return text.removeprefix("#")
    return text


def _choice(text: str, allowed: list[str]) -> str:
    """A choice written in any case as the choice itself."""
    if text in allowed:
        return text
    folded = [choice for choice in allowed if choice.casefold() == text.casefold()]
    return folded[0] if len(folded) == 1 else text


def reference_cell(text: str) -> int | None:
    """The entry id a reference cell names by number (``12``, ``#12``), or
    None when it names the entry by its name."""
    raw = text.strip().removeprefix("#")
    if raw.isascii() and raw.isdigit() and len(raw) < 19:
        return int(raw)
    return None
