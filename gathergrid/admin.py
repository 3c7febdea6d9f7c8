"""Admin of the entity-entry model (tenant schemas).

Writes go through the same writers as ``/rest/v1`` (gathergrid.services): the
same validation, normalisation and ``entry_history``. A form is checked by a
dry run of its write (rolled back), so the writer's refusal shows on the form
next to the field it names; saving then runs the write for real. Nothing is
hard-deleted: rows are deactivated and restored (``active``), as on the API.
Entries and values are created through the UI or the API (they need their
thing's required values), not here; ``entry_history`` is read-only.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from core.errors import ApplicationError, Conflict, ValidationFailed
from core.writes import WriteContext
from gathergrid.models import (
    ClassificationItem,
    Entry,
    EntryHistory,
    Field,
    FieldEntry,
    Thing,
)
from gathergrid.services.base import ModelWriter, written_once
from gathergrid.services.entries import ENTRY_WRITER
from gathergrid.services.field_entries import FIELD_ENTRY_WRITER
from gathergrid.services.fields import FIELD_WRITER
from gathergrid.services.things import CLASSIFICATION_ITEM_WRITER, THING_WRITER
from tenants.admin_site import IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin

AUDIT_FIELDS = ("created_by", "created_at", "updated_at")


class _DryRun(Exception):
    """Raised to roll back a write made only to validate a form."""


def _form_field(model, column: str) -> str | None:
    """The form field named by a writer's error column (``thing_id`` -> ``thing``)."""
    for field in model._meta.concrete_fields:
        if column in (field.name, field.attname):
            return field.name
    return None


# What a refusal by PostgreSQL (its SQLSTATE) means, in words for the form.
REFUSALS = {
    "23505": "Another row already has this value.",
    "23503": "It names a row that does not exist, or one that is still in use.",
    "23502": "A required value is missing.",
    "23514": "A value breaks a rule of this table.",
}


def database_refusal(model, error: DatabaseError) -> tuple[str | None, str]:
    """(form field or None, words) for a database error the writers did not
    name: read from its SQLSTATE and constraint, never PostgreSQL's own text
    (which names tables and a COPY line)."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None)
    constraint = getattr(getattr(cause, "diag", None), "constraint_name", None)
    for unique in model._meta.constraints:
        if unique.name == constraint and getattr(unique, "fields", None):
            labels = [model._meta.get_field(f).verbose_name for f in unique.fields]
            field = _form_field(model, unique.fields[-1])
            return field, (
                f"A {model._meta.verbose_name} with this "
                f"{' and '.join(labels)} already exists."
            )
    return None, REFUSALS.get(
        sqlstate or "", "The database refused this change; nothing was saved."
    )


class ServiceWriteAdmin(IdSearchMixin, TenantModelAdmin):
    """An admin whose writes are the REST writer's (validation and history)."""

    writer: ModelWriter
    # Columns that cannot change once a row exists (as on the API).
    immutable_fields: tuple[str, ...] = ()
    actions = ["deactivate_selected", "restore_selected"]

    def get_readonly_fields(self, request, obj=None):
        fields = [*super().get_readonly_fields(request, obj), *AUDIT_FIELDS]
        if obj is not None:
            fields += self.immutable_fields
        return fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # soft delete only: the `active` flag

    def get_form(self, request, obj=None, change=False, **kwargs):
        form_class = super().get_form(request, obj, change=change, **kwargs)
        model_admin = self

        class ServiceCheckedForm(form_class):
            def clean(self) -> dict[str, Any]:
                cleaned = super().clean()
                if not self.errors:
                    model_admin.check_write(request, self)
                return cleaned

        return ServiceCheckedForm

    def write_values(self, form) -> dict[str, Any]:
        """The columns the form sets: every field on add, changed ones on change."""
        names = form.changed_data if form.instance.pk else list(form.cleaned_data)
        values = {}
        for name in names:
            if name not in form.cleaned_data:
                continue
            field = self.model._meta.get_field(name)
            value = form.cleaned_data[name]
            if field.is_relation:
                value = value.pk if value is not None else None
            values[field.attname] = value
        return values

    def write(self, request: HttpRequest, obj, values: dict[str, Any]) -> Any:
        """The form's write; a unique name taken becomes a Conflict naming it."""
        ctx = WriteContext(user_id=str(request.user.pk))
        name = str(values.get("name", getattr(obj, "name", "")))
        if obj.pk is None:
            return written_once(
                lambda: self.writer.insert([values], ctx=ctx, upsert=None).ids[0],
                name=name,
            )
        if values:
            written_once(
                lambda: self.writer.update([obj.pk], values, ctx=ctx), name=name
            )
        return obj.pk

    def check_write(self, request: HttpRequest, form) -> None:
        """Run the form's write and roll it back; its refusal becomes form errors."""
        try:
            with transaction.atomic():
                self.write(request, form.instance, self.write_values(form))
                raise _DryRun
        except _DryRun:
            pass
        except ApplicationError as error:
            at = error.field if isinstance(error, ValidationFailed | Conflict) else None
            name = _form_field(self.model, at) if at else None
            if name in form.fields:
                form.add_error(name, error.reason)
            else:
                form.add_error(None, error.message)
        except IntegrityError as error:
            field, words = database_refusal(self.model, error)
            form.add_error(field if field in form.fields else None, words)

    def save_model(self, request, obj, form, change) -> None:
        obj.pk = self.write(request, obj, self.write_values(form))
        obj.refresh_from_db()

    @admin.action(description="Deactivate selected (soft delete)")
    def deactivate_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, active=False)

    @admin.action(description="Restore selected")
    def restore_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_active(request, queryset, active=True)

    def _set_active(self, request: HttpRequest, queryset: QuerySet, *, active: bool):
        rows = list(queryset.exclude(active=active))
        ids = [row.pk for row in rows]
        ctx = WriteContext(user_id=str(request.user.pk))
        try:
            with transaction.atomic():
                if active:
                    self.writer.update(ids, {"active": True}, ctx=ctx)
                else:
                    self.writer.delete(ids, ctx=ctx)
                for row in rows:
                    self.log_change(request, row, [{"changed": {"fields": ["active"]}}])
        except ApplicationError as error:
            why = error.reason if isinstance(error, Conflict) else error.message
            self.message_user(request, f"Nothing changed: {why}", messages.ERROR)
            return
        except DatabaseError as error:
            _, words = database_refusal(self.model, error)
            self.message_user(request, f"Nothing changed: {words}", messages.ERROR)
            return
        verb = "Restored" if active else "Deactivated"
        self.message_user(request, f"{verb} {len(rows)} row(s).", messages.SUCCESS)


@admin.register(Thing)
class ThingAdmin(ServiceWriteAdmin):
    writer = THING_WRITER
    list_display = ["id", "name", "active", "created_at", "updated_at"]
    list_display_links = ["id", "name"]
    search_fields = ["name"]
    list_filter = ["active", ("created_at", DateFieldListFilter)]
    fields = ["name", "description", "active", *AUDIT_FIELDS]


@admin.register(Field)
class FieldAdmin(ServiceWriteAdmin):
    writer = FIELD_WRITER
    immutable_fields = ("thing",)
    list_display = [
        "id",
        "name",
        "thing",
        "data_type",
        "mandatory",
        "required_for_initialization",
        "position",
        "active",
    ]
    list_display_links = ["id", "name"]
    list_select_related = ["thing"]
    search_fields = ["name", "thing__name"]
    list_filter = ["active", "data_type", "mandatory", "thing"]
    autocomplete_fields = ["thing"]
    fields = [
        "thing",
        "name",
        "data_type",
        "mandatory",
        "required_for_initialization",
        "position",
        "options",
        "active",
        *AUDIT_FIELDS,
    ]


@admin.register(ClassificationItem)
class ClassificationItemAdmin(ServiceWriteAdmin):
    writer = CLASSIFICATION_ITEM_WRITER
    list_display = ["id", "name", "parent", "active", "updated_at"]
    list_display_links = ["id", "name"]
    list_select_related = ["parent"]
    search_fields = ["name"]
    list_filter = ["active"]
    autocomplete_fields = ["parent"]
    fields = ["name", "parent", "active", "created_at", "updated_at"]

    def get_readonly_fields(self, request, obj=None):
        return ["created_at", "updated_at"]  # no created_by column


class FieldEntryInline(admin.TabularInline):
    """An entry's values, read-only here: each links to its own form."""

    model = FieldEntry
    fields = ["field", "entered_value", "active", "updated_at"]
    readonly_fields = fields
    show_change_link = True
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("field")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Entry)
class EntryAdmin(ServiceWriteAdmin):
    writer = ENTRY_WRITER
    immutable_fields = ("thing",)
    list_display = [
        "id",
        "thing",
        "classification_item",
        "validity_start_date",
        "validity_end_date",
        "active",
        "updated_at",
    ]
    list_select_related = ["thing", "classification_item"]
    # A search finds entries by a value (and by id, when the term is a number).
    search_fields = ["field_entries__entered_value"]
    search_help_text = "A value of the entry, or its id."
    list_filter = ["active", "thing", ("updated_at", DateFieldListFilter)]
    autocomplete_fields = ["classification_item"]
    fields = [
        "thing",
        "classification_item",
        "validity_start_date",
        "validity_end_date",
        "active",
        *AUDIT_FIELDS,
    ]
    inlines = [FieldEntryInline]

    def has_add_permission(self, request) -> bool:
        return False  # an entry needs its required values: the UI or the API


@admin.register(FieldEntry)
class FieldEntryAdmin(ServiceWriteAdmin):
    writer = FIELD_ENTRY_WRITER
    id_lookups = ("pk", "entry_id")
    list_display = ["id", "entry", "field", "entered_value", "active", "updated_at"]
    sortable_by = ["id"]  # the big table: only its primary key sorts cheaply
    list_select_related = ["entry", "field"]
    search_fields = ["entered_value"]
    search_help_text = "A value, or the id of the value or of its entry."
    list_filter = ["active", "field__data_type"]
    raw_id_fields = ["entry", "field"]
    fields = ["entry", "field", "entered_value", "active", *AUDIT_FIELDS]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "entry", "field"]

    def has_add_permission(self, request) -> bool:
        return False  # values are written with their entry: the UI or the API


@admin.register(EntryHistory)
class EntryHistoryAdmin(IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin):
    id_lookups = ("entry_id",)
    list_display = ["id", "entry", "field", "action", "changed_by", "changed_at"]
    sortable_by = ["id"]
    list_select_related = ["entry", "field"]
    list_filter = ["action", ("changed_at", DateFieldListFilter)]
    ids_only = True
    search_fields = ["entry"]  # shows the search box; searched as ids
    search_help_text = "The id of an entry."
    raw_id_fields = ["entry", "field"]
