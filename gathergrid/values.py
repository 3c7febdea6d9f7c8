"""Field values: validation and normalisation against a field's data type.

``entered_value`` travels as text; :func:`normalise` checks it against the
field's type and returns the canonical text plus the typed shadow column that
makes filtering and ordering by value correct (numbers as numbers, dates as
dates) and indexable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.dateparse import parse_date, parse_datetime

from gathergrid.models import FieldDataType

TRUE_WORDS = frozenset({"true", "t", "yes", "y", "1", "on"})
FALSE_WORDS = frozenset({"false", "f", "no", "n", "0", "off"})
# The shadow column each type's value lives in, for filters and ordering.
SHADOW_COLUMN = {
    FieldDataType.INTEGER: "value_number",
    FieldDataType.DECIMAL: "value_number",
    FieldDataType.REFERENCE: "value_number",
    FieldDataType.DATE: "value_date",
    FieldDataType.DATETIME: "value_datetime",
    FieldDataType.BOOLEAN: "value_boolean",
    FieldDataType.JSON: "value_json",
    FieldDataType.MULTI_CHOICE: "value_json",
}
SHADOW_SQL_TYPE = {
    "value_number": "numeric",
    "value_date": "date",
    "value_datetime": "timestamptz",
    "value_boolean": "boolean",
    "value_json": "jsonb",
    "entered_value": "text",
}
MAX_NUMBER = Decimal("1e28")


class InvalidValue(ValueError):
    """The value does not fit the field's type; the message says why, in words."""


@dataclass(frozen=True)
class Normalised:
    text: str | None
    number: Decimal | None = None
    date: date | None = None
    datetime: datetime | None = None
    boolean: bool | None = None
    json: Any = None

    def shadow_values(self) -> dict[str, Any]:
        return {
            "value_number": self.number,
            "value_date": self.date,
            "value_datetime": self.datetime,
            "value_boolean": self.boolean,
            "value_json": self.json,
        }


def choices_of(options: Any) -> list[str]:
    if isinstance(options, dict):
        options = options.get("choices", [])
    return [str(choice) for choice in options or []]


def as_text(value: Any) -> str:
    """A JSON body value as the text form `entered_value` travels in."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def normalise(data_type: str, options: Any, value: Any) -> Normalised:
    """Check ``value`` against the type; raise :class:`InvalidValue` if it does not fit.

    ``None`` and blank strings are "no value" (``Normalised(text=None)``).
    """
    if is_empty(value):
        return Normalised(text=None)
    text = (
        as_text(value).strip()
        if data_type not in {FieldDataType.TEXT, FieldDataType.LONG_TEXT}
        else as_text(value)
    )
    if "\x00" in text:
        # PostgreSQL text cannot hold it: refused here in words, not by the COPY.
        raise InvalidValue("a value cannot contain a NUL character")
    match data_type:
        case FieldDataType.TEXT | FieldDataType.LONG_TEXT:
            if data_type == FieldDataType.TEXT and "\n" in text:
                raise InvalidValue("text is one line; use a long_text field for more")
            return Normalised(text=text)
        case FieldDataType.INTEGER:
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise InvalidValue(f"{text!r} is not a whole number") from None
            if number != number.to_integral_value() or abs(number) >= MAX_NUMBER:
                raise InvalidValue(f"{text!r} is not a whole number")
            number = number.quantize(Decimal(1))
            return Normalised(text=str(number), number=number)
        case FieldDataType.DECIMAL:
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise InvalidValue(f"{text!r} is not a number") from None
            if not number.is_finite() or abs(number) >= MAX_NUMBER:
                raise InvalidValue(f"{text!r} is not a finite number")
            normal = format(number.normalize(), "f")
            return Normalised(text=normal, number=number)
        case FieldDataType.BOOLEAN:
            word = text.lower()
            if word in TRUE_WORDS:
                return Normalised(text="true", boolean=True)
            if word in FALSE_WORDS:
                return Normalised(text="false", boolean=False)
            raise InvalidValue(f"{text!r} is not true or false")
        case FieldDataType.DATE:
            try:
                parsed = parse_date(text)
            except ValueError:
                parsed = None
            if parsed is None:
                raise InvalidValue(f"{text!r} is not a date (YYYY-MM-DD)")
            return Normalised(text=parsed.isoformat(), date=parsed)
        case FieldDataType.DATETIME:
            try:
                parsed = parse_datetime(text)
            except ValueError:
                parsed = None
            if parsed is None:
                raise InvalidValue(
                    f"{text!r} is not a date and time (YYYY-MM-DDTHH:MM[:SS][+HH:MM])"
                )
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
            return Normalised(text=parsed.isoformat(), datetime=parsed)
        case FieldDataType.EMAIL:
            try:
                EmailValidator()(text)
            except ValidationError:
                raise InvalidValue(f"{text!r} is not an email address") from None
            local, _, domain = text.rpartition("@")
            return Normalised(text=f"{local}@{domain.lower()}")
        case FieldDataType.URL:
            try:
                URLValidator()(text)
            except ValidationError:
                raise InvalidValue(f"{text!r} is not a URL (http or https)") from None
            return Normalised(text=text)
        case FieldDataType.CHOICE:
            allowed = choices_of(options)
            if text not in allowed:
                raise InvalidValue(
                    f"{text!r} is not one of the choices: {', '.join(allowed)}"
                )
            return Normalised(text=text)
        case FieldDataType.MULTI_CHOICE:
            picked = value
            if isinstance(value, str):
                try:
                    picked = json.loads(value)
                except ValueError:
                    picked = [part.strip() for part in value.split(",") if part.strip()]
            if not isinstance(picked, list):
                raise InvalidValue("a multiple choice value is a list of choices")
            picked = [str(item) for item in picked]
            allowed = choices_of(options)
            wrong = [item for item in picked if item not in allowed]
            if wrong:
                raise InvalidValue(
                    f"{', '.join(map(repr, wrong))} not among the choices: "
                    f"{', '.join(allowed)}"
                )
            ordered = [choice for choice in allowed if choice in picked]
            return Normalised(
                text=json.dumps(ordered, ensure_ascii=False), json=ordered
            )
        case FieldDataType.JSON:
            parsed = value
            if isinstance(value, str):
                try:
                    parsed = json.loads(value)
                except ValueError as error:
                    raise InvalidValue(f"not valid JSON: {error}") from None
            return Normalised(
                text=json.dumps(parsed, ensure_ascii=False, sort_keys=True), json=parsed
            )
        case FieldDataType.REFERENCE:
            if not text.isdigit():
                raise InvalidValue(f"{text!r} is not an entry id")
            return Normalised(text=str(int(text)), number=Decimal(int(text)))
    raise InvalidValue(f"unknown data type {data_type!r}")
