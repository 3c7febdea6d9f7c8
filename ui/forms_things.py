"""Forms of the things and fields pages.

The forms only shape browser input; every write is a service of
``gathergrid.services`` (the API's own rules), whose structured errors come
back as form errors on the input that caused them.
"""

from collections.abc import Callable, Sequence
from typing import Any

import django_filters
from django import forms

from core.errors import ApplicationError, Conflict, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import ClassificationItem, Field, FieldDataType, Thing
from gathergrid.services import fields as field_services
from gathergrid.services import things as thing_services

CHOICE_TYPES = (FieldDataType.CHOICE, FieldDataType.MULTI_CHOICE)


def _sentence(text: str) -> str:
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def write_or_explain(
    write: Callable[[], Any],
    *,
    columns: dict[str, str] | None = None,
    form: forms.Form | None = None,
) -> str | None:
    """Run the service call ``write``; None if it worked, else why in words.

    With a ``form``, the reason is also added to the input that caused it:
    ``columns`` maps the service's column names to the form's field names.
    """
    columns = columns or {}
    try:
        write()
        return None
    except ApplicationError as error:
        at = error.field if isinstance(error, ValidationFailed | Conflict) else None
        field_name = columns.get(at) if at else None
        if field_name is not None or isinstance(error, Conflict):
            message = _sentence(error.reason)
        else:
            message = _sentence(error.message)
    if form is not None:
        form.add_error(field_name, message)
    return message


# --- Things ---------------------------------------------------------------------

THING_COLUMNS = {"name": "name", "description": "description"}


class ThingFilter(django_filters.FilterSet):
    """The things list's filters: a part of the name, and active or not."""

    q = django_filters.CharFilter(label="Name contains", method="filter_nothing")
    status = django_filters.ChoiceFilter(
        label="Show",
        choices=[
            ("active", "Active things"),
            ("deactivated", "Deactivated things"),
            ("all", "All things"),
        ],
        empty_label=None,
        method="filter_nothing",
    )

    class Meta:
        model = Thing
        fields: list[str] = []

    def filter_nothing(self, queryset, name, value):
        # The selector applies them (one place for the list's query).
        return queryset

    def selected(self) -> dict[str, str]:
        """The chosen filters, as ``thing_list`` takes them."""
        data = self.form.cleaned_data if self.form.is_valid() else {}
        return {"status": data.get("status") or "active", "search": data.get("q") or ""}


class ThingForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    description = forms.CharField(
        label="Description",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def create(self, *, ctx: WriteContext) -> int | None:
        """Create the thing; its id, or None with the reasons on the form."""
        if not self.is_valid():
            return None
        created: list[int] = []
        write_or_explain(
            lambda: created.append(
                thing_services.thing_create(values=dict(self.cleaned_data), by=ctx)
            ),
            columns=THING_COLUMNS,
            form=self,
        )
        return created[0] if created else None

    def update(self, *, thing: Thing, ctx: WriteContext) -> bool:
        if not self.is_valid():
            return False
        changes = {
            column: value
            for column, value in self.cleaned_data.items()
            if getattr(thing, column) != value
        }
        if not changes:
            return True
        return (
            write_or_explain(
                lambda: thing_services.thing_update(
                    thing=thing, changes=changes, by=ctx
                ),
                columns=THING_COLUMNS,
                form=self,
            )
            is None
        )


def thing_set_active(*, thing: Thing, active: bool, ctx: WriteContext) -> str | None:
    """Deactivate (soft) or restore a thing; None, or why it could not be done."""
    return write_or_explain(
        lambda: thing_services.thing_set_active(thing=thing, active=active, by=ctx)
    )


# --- Fields ---------------------------------------------------------------------


class FieldForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200)
    data_type = forms.ChoiceField(
        label="Data type", choices=FieldDataType.choices, initial=FieldDataType.TEXT
    )
    choices = forms.CharField(
        label="Choices",
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One choice per line (Choice and Multiple choice fields).",
    )
    reference_thing = forms.TypedChoiceField(
        label="Refers to",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="The thing whose entries this field points at (references).",
    )
    mandatory = forms.BooleanField(
        label="Mandatory",
        required=False,
        help_text="Once set, its value cannot be cleared.",
    )
    required_for_initialization = forms.BooleanField(
        label="Required for initialization",
        required=False,
        help_text="A new entry must have a value for it.",
    )

    def __init__(
        self,
        *args: Any,
        things: Sequence[tuple[int, str]] = (),
        field: Field | None = None,
        **kwargs: Any,
    ) -> None:
        self.instance = field
        if field is not None and "initial" not in kwargs:
            options = field.options or {}
            kwargs["initial"] = {
                "name": field.name,
                "data_type": field.data_type,
                "choices": "\n".join(str(c) for c in options.get("choices", [])),
                "reference_thing": options.get("thing_id"),
                "mandatory": field.mandatory,
                "required_for_initialization": field.required_for_initialization,
            }
        super().__init__(*args, **kwargs)
        self.fields["reference_thing"].choices = [("", "—"), *things]

    @property
    def columns(self) -> dict[str, str]:
        """Writer columns -> this form's inputs (where its errors are shown)."""
        data_type = (getattr(self, "cleaned_data", None) or {}).get("data_type")
        return {
            "name": "name",
            "data_type": "data_type",
            "options": "reference_thing"
            if data_type == FieldDataType.REFERENCE
            else "choices",
            "mandatory": "mandatory",
            "required_for_initialization": "required_for_initialization",
        }

    def clean_choices(self) -> list[str]:
        lines = [line.strip() for line in self.cleaned_data["choices"].splitlines()]
        return [line for line in lines if line]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data_type = data.get("data_type")
        if data_type in CHOICE_TYPES:
            choices = data.get("choices") or []
            repeated = sorted({c for c in choices if choices.count(c) > 1})
            if not choices and "choices" not in self.errors:
                self.add_error("choices", "List at least one choice, one per line.")
            elif repeated:
                self.add_error(
                    "choices", "Each choice may appear once: " + ", ".join(repeated)
                )
        if data_type == FieldDataType.REFERENCE and data.get("reference_thing") is None:
            self.add_error("reference_thing", "Pick the thing this field refers to.")
        return data

    def options(self) -> dict[str, Any]:
        """The field's options for its data type (others' keys kept as they were)."""
        options = dict(self.instance.options or {}) if self.instance is not None else {}
        options.pop("choices", None)
        options.pop("thing_id", None)
        data_type = self.cleaned_data["data_type"]
        if data_type in CHOICE_TYPES:
            options["choices"] = self.cleaned_data["choices"]
        if data_type == FieldDataType.REFERENCE:
            options["thing_id"] = self.cleaned_data["reference_thing"]
        return options

    def _row(self) -> dict[str, Any]:
        return {
            "name": self.cleaned_data["name"],
            "data_type": self.cleaned_data["data_type"],
            "options": self.options(),
            "mandatory": self.cleaned_data["mandatory"],
            "required_for_initialization": self.cleaned_data[
                "required_for_initialization"
            ],
        }

    def create(self, *, thing: Thing, ctx: WriteContext) -> bool:
        """Add the field after the thing's others; False with reasons on the form."""
        if not self.is_valid():
            return False
        # The service puts a field sent without a position after the others.
        values = self._row()
        return (
            write_or_explain(
                lambda: field_services.field_create(thing=thing, values=values, by=ctx),
                columns=self.columns,
                form=self,
            )
            is None
        )

    def update(self, *, ctx: WriteContext) -> bool:
        """Save the changed columns of ``self.instance``; False with reasons."""
        assert self.instance is not None, "an edit form needs the field"
        if not self.is_valid():
            return False
        changes = {
            column: value
            for column, value in self._row().items()
            if getattr(self.instance, column) != value
        }
        if "data_type" in changes:
            # A type change re-checks the options against the new type.
            changes["options"] = self.options()
        if not changes:
            return True
        field = self.instance
        return (
            write_or_explain(
                lambda: field_services.field_update(
                    field=field, changes=changes, by=ctx
                ),
                columns=self.columns,
                form=self,
            )
            is None
        )


def field_set_active(*, field: Field, active: bool, ctx: WriteContext) -> str | None:
    """Deactivate (soft: its values stay) or restore a field; None, or why not."""
    return write_or_explain(
        lambda: field_services.field_set_active(field=field, active=active, by=ctx)
    )


# --- Classification items ---------------------------------------------------------

ITEM_COLUMNS = {"name": "name", "parent_id": "parent"}


class ClassificationItemForm(forms.Form):
    """Add or rename a classification item (shared by every thing's entries)."""

    name = forms.CharField(label="Name", max_length=200)
    parent = forms.TypedChoiceField(
        label="Under", required=False, coerce=int, empty_value=None
    )

    def __init__(
        self, *args: Any, items: Sequence[tuple[int, str]] = (), **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["parent"].choices = [("", "— (top level)"), *items]

    def _values(self) -> dict[str, Any]:
        return {
            "name": self.cleaned_data["name"],
            "parent_id": self.cleaned_data["parent"],
        }

    def create(self, *, ctx: WriteContext) -> int | None:
        if not self.is_valid():
            return None
        created: list[int] = []
        write_or_explain(
            lambda: created.append(
                thing_services.classification_item_create(values=self._values(), by=ctx)
            ),
            columns=ITEM_COLUMNS,
            form=self,
        )
        return created[0] if created else None

    def update(self, *, item: ClassificationItem, ctx: WriteContext) -> bool:
        if not self.is_valid():
            return False
        changes = {
            column: value
            for column, value in self._values().items()
            if getattr(item, column) != value
        }
        if not changes:
            return True
        return (
            write_or_explain(
                lambda: thing_services.classification_item_update(
                    item=item, changes=changes, by=ctx
                ),
                columns=ITEM_COLUMNS,
                form=self,
            )
            is None
        )
