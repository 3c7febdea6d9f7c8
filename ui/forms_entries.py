"""Forms of the entries grid: one input per field type, checked with the same
normalisation as the API (``gathergrid.values.normalise``), so an error reads
the same in a cell, a form and a REST response. Writes are the entry
services of ``gathergrid.services.entries``, one transaction each."""

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django import forms

from core.errors import STALE, ApplicationError, Conflict, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import ClassificationItem, Entry, Field, FieldDataType
from gathergrid.services import entries as entry_services
from gathergrid.values import InvalidValue, choices_of, normalise

# Entry columns the grid and forms edit, by the key the UI uses for them.
ENTRY_COLUMNS = {
    "classification": "classification_item_id",
    "valid_from": "validity_start_date",
    "valid_to": "validity_end_date",
}
NUMERIC_TYPES = {FieldDataType.INTEGER, FieldDataType.DECIMAL, FieldDataType.REFERENCE}


COLUMN_WORDS = {
    "validity_start_date": "the valid-from date",
    "validity_end_date": "the valid-to date",
    "classification_item_id": "the classification",
}


def error_words(error: ApplicationError) -> str:
    """A writer's failure in words: its reason without the column it names,
    columns named as the UI labels them."""
    message = error.reason if isinstance(error, ValidationFailed) else error.message
    for column, words in COLUMN_WORDS.items():
        message = message.replace(column, words)
    return message[:1].upper() + message[1:]


def check_value(field: Field, raw: Any) -> str | None:
    """``raw`` normalised for ``field`` (None: no value); ValidationError in words."""
    try:
        normal = normalise(field.data_type, field.options, raw)
    except InvalidValue as error:
        message = str(error)
        raise forms.ValidationError(message[:1].upper() + message[1:]) from None
    return normal.text


def input_value(field: Field, text: str | None) -> str:
    """A stored value as its input shows it (datetimes in UTC, minutes)."""
    if text is None:
        return ""
    if field.data_type == FieldDataType.DATETIME:
        try:
            moment = datetime.fromisoformat(text).astimezone(UTC)
        except ValueError:
            return text
        return moment.strftime("%Y-%m-%dT%H:%M")
    if field.data_type == FieldDataType.MULTI_CHOICE:
        try:
            return ", ".join(json.loads(text))
        except (ValueError, TypeError):
            return text
    return text


def display_value(field: Field, text: str | None) -> str:
    """A stored value in words, for read-only cells."""
    if text is None:
        return ""
    if field.data_type == FieldDataType.BOOLEAN:
        return "Yes" if text == "true" else "No"
    if field.data_type == FieldDataType.DATETIME:
        return input_value(field, text).replace("T", " ") + " UTC"
    return input_value(field, text)


class ValueField(forms.CharField):
    """The form field of one thing field: its input widget, checked by normalise."""

    def __init__(self, field: Field, **kwargs: Any) -> None:
        self.thing_field = field
        kwargs.setdefault("label", field.name)
        kwargs.setdefault("widget", value_widget(field))
        super().__init__(strip=False, **kwargs)

    def clean(self, value: Any) -> str | None:
        value = super().clean(value)
        return check_value(self.thing_field, value)


def value_widget(field: Field) -> forms.Widget:
    match field.data_type:
        case FieldDataType.LONG_TEXT | FieldDataType.JSON:
            return forms.Textarea(attrs={"rows": 2})
        case FieldDataType.DATE:
            return forms.DateInput(attrs={"type": "date"})
        case FieldDataType.DATETIME:
            return forms.TextInput(attrs={"type": "datetime-local"})
        case FieldDataType.BOOLEAN:
            return forms.Select(choices=[("", "—"), ("true", "Yes"), ("false", "No")])
        case FieldDataType.CHOICE:
            choices = choices_of(field.options)
            return forms.Select(choices=[("", "—"), *((c, c) for c in choices)])
        case FieldDataType.EMAIL:
            return forms.EmailInput()
        case FieldDataType.URL:
            return forms.URLInput()
        case _ if field.data_type in NUMERIC_TYPES:
            # Text, not type=number: a browser empties a number input holding
            # "12,5", which would clear the value instead of saying why.
            return forms.TextInput(attrs={"inputmode": "decimal"})
    help_text = (
        "Choices separated by commas"
        if field.data_type == FieldDataType.MULTI_CHOICE
        else None
    )
    attrs = {"placeholder": help_text} if help_text else {}
    return forms.TextInput(attrs=attrs)


class EntryForm(forms.Form):
    """An entry's values (``f<field id>``), classification and validity dates.

    Creating, the required-for-initialization fields are required; mandatory
    fields are required always (their value cannot be cleared).
    """

    classification = forms.TypedChoiceField(
        label="Classification", required=False, coerce=int, empty_value=None
    )
    valid_from = forms.DateField(
        label="Valid from",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    valid_to = forms.DateField(
        label="Valid to",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(
        self,
        *args: Any,
        fields: Sequence[Field],
        items: Sequence[ClassificationItem],
        entry: Entry | None = None,
        values: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.entry = entry
        self.thing_fields = list(fields)
        if entry is not None:
            initial = {
                "classification": entry.classification_item_id,
                "valid_from": entry.validity_start_date,
                "valid_to": entry.validity_end_date,
            }
            for field in self.thing_fields:
                initial[f"f{field.id}"] = input_value(
                    field, (values or {}).get(str(field.id))
                )
            kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        self.fields["classification"].choices = [
            ("", "—"),
            *((item.id, item.name) for item in items),
        ]
        for field in self.thing_fields:
            required = field.mandatory or (
                entry is None and field.required_for_initialization
            )
            self.fields[f"f{field.id}"] = ValueField(field, required=required)
        # Required-for-initialization fields first: what a new entry needs.
        self.order_fields(
            [
                f"f{f.id}"
                for f in self.thing_fields
                if f.required_for_initialization or f.mandatory
            ]
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("valid_from"), cleaned.get("valid_to")
        if start and end and end < start:
            self.add_error("valid_to", "Must not be before the valid-from date.")
        return cleaned

    def value_fields(self) -> list[forms.BoundField]:
        return [self[f"f{f.id}"] for f in self.thing_fields]

    def required_value_fields(self) -> list[forms.BoundField]:
        return [b for b in self.value_fields() if b.field.required]

    def optional_value_fields(self) -> list[forms.BoundField]:
        return [b for b in self.value_fields() if not b.field.required]

    def _entry_columns(self) -> dict[str, Any]:
        return {
            column: self.cleaned_data.get(key) for key, column in ENTRY_COLUMNS.items()
        }

    def create(self, *, thing_id: int, ctx: WriteContext) -> int | None:
        """Create the entry with its values (one transaction); its id, or None
        with the writer's error added to the form."""
        values = {
            f.name: self.cleaned_data[f"f{f.id}"]
            for f in self.thing_fields
            if self.cleaned_data.get(f"f{f.id}") is not None
        }
        try:
            return entry_services.entry_create(
                thing_id=thing_id, columns=self._entry_columns(), values=values, by=ctx
            )
        except ApplicationError as error:
            self.add_error(None, error_words(error))
            return None

    def save(self, *, ctx: WriteContext) -> bool:
        """Write what changed on ``self.entry`` (one transaction); False with the
        writer's error added to the form."""
        changes: dict[str, Any] = {
            column: value
            for column, value in self._entry_columns().items()
            if value != getattr(self.entry, column)
        }
        values = {
            f.name: self.cleaned_data[f"f{f.id}"]
            for f in self.thing_fields
            if f"f{f.id}" in self.changed_data
        }
        if values:
            changes["values"] = values
        if not changes:
            return True
        try:
            entry_services.entry_update(entry=self.entry, changes=changes, by=ctx)
        except ApplicationError as error:
            self.add_error(None, error_words(error))
            return False
        return True


def cell_save(
    *,
    entry: Entry,
    column: str,
    field: Field | None,
    raw: str,
    ctx: WriteContext,
    seen: str | None = None,
) -> None:
    """Save one grid cell through the writer (history recorded); raise
    ValidationError in words when the value does not fit, and
    ``Conflict(stale)`` when ``seen`` (the stored text the cell showed) is no
    longer what is stored."""
    if field is not None:
        changes: dict[str, Any] = {"values": {field.name: check_value(field, raw)}}
    else:
        form_field = EntryForm.base_fields[column]
        if column == "classification":
            form_field = forms.TypedChoiceField(
                required=False,
                coerce=int,
                empty_value=None,
                choices=[("", ""), (raw, raw)]
                if raw.isascii() and raw.isdigit()
                else [("", "")],
            )
        changes = {ENTRY_COLUMNS[column]: form_field.clean(raw)}
    expected = None
    if seen is not None:
        expected = {field.name if field else ENTRY_COLUMNS[column]: seen}
    try:
        entry_services.entry_update(entry=entry, changes=changes, by=ctx, seen=expected)
    except ApplicationError as error:
        if isinstance(error, Conflict) and error.code == STALE:
            raise
        raise forms.ValidationError(error_words(error)) from None
