"""The entity-entry model, one copy per tenant schema.

*Things* are entity types, *fields* their field definitions, *entries* records
of a thing and *field entries* one value per (entry, field). ``created_by`` holds
the user's id as a plain value: no foreign key leaves the tenant schema.
"""

from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Left, Lower
from django.utils import timezone

# Characters of a text value held in its index (see FieldEntry.Meta.indexes).
TEXT_INDEX_PREFIX = 200


class FieldDataType(models.TextChoices):
    TEXT = "text", "Text"
    LONG_TEXT = "long_text", "Long text"
    INTEGER = "integer", "Integer"
    DECIMAL = "decimal", "Decimal"
    BOOLEAN = "boolean", "Yes / no"
    DATE = "date", "Date"
    DATETIME = "datetime", "Date and time"
    EMAIL = "email", "Email"
    URL = "url", "URL"
    CHOICE = "choice", "Choice"
    MULTI_CHOICE = "multi_choice", "Multiple choice"
    JSON = "json", "JSON"
    REFERENCE = "reference", "Reference to an entry"


class Thing(models.Model):
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    active = models.BooleanField(default=True)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "things"
        ordering = ["id"]
        constraints = [
            # Case-insensitive, as CSV import matches columns to names.
            models.UniqueConstraint(
                Lower("name"),
                condition=Q(active=True),
                name="things_name_unique_active",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Field(models.Model):
    thing = models.ForeignKey(Thing, on_delete=models.PROTECT, related_name="fields")
    name = models.CharField(max_length=200)
    data_type = models.CharField(
        max_length=20, choices=FieldDataType.choices, default=FieldDataType.TEXT
    )
    mandatory = models.BooleanField(default=False)
    required_for_initialization = models.BooleanField(default=False)
    position = models.IntegerField(default=0)
    # Choices for choice/multi_choice; {"thing_id": n} for references.
    options = models.JSONField(default=dict, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "fields"
        ordering = ["thing_id", "position", "id"]
        constraints = [
            models.UniqueConstraint(
                "thing",
                Lower("name"),
                condition=Q(active=True),
                name="fields_thing_name_unique_active",
            )
        ]

    def __str__(self) -> str:
        return f"{self.thing_id}.{self.name}"


class ClassificationItem(models.Model):
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "classification_items"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Entry(models.Model):
    thing = models.ForeignKey(Thing, on_delete=models.PROTECT, related_name="entries")
    classification_item = models.ForeignKey(
        ClassificationItem,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="entries",
    )
    validity_start_date = models.DateField(null=True, blank=True)
    validity_end_date = models.DateField(null=True, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "entries"
        verbose_name_plural = "entries"
        ordering = ["id"]
        indexes = [
            models.Index(fields=["thing", "active", "id"], name="entries_thing_active")
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(validity_end_date__isnull=True)
                | Q(validity_start_date__isnull=True)
                | Q(validity_end_date__gte=F("validity_start_date")),
                name="entries_validity_end_not_before_start",
            )
        ]

    def __str__(self) -> str:
        return f"entry {self.pk} of thing {self.thing_id}"


class FieldEntry(models.Model):
    """One value of one entry for one field.

    ``entered_value`` is the normalised text form; the typed shadow columns make
    filters and ordering on numbers, dates and booleans indexed and correct.
    """

    # No single-column indexes: (entry_id, field_id) and the (field_id, value)
    # indexes below serve every lookup by entry or by field.
    entry = models.ForeignKey(
        Entry, on_delete=models.CASCADE, related_name="field_entries", db_index=False
    )
    field = models.ForeignKey(
        Field, on_delete=models.PROTECT, related_name="field_entries", db_index=False
    )
    # NULL is "no value", distinct from an entered empty string.
    entered_value = models.TextField(null=True, blank=True)  # noqa: DJ001
    value_number = models.DecimalField(max_digits=38, decimal_places=10, null=True)
    value_date = models.DateField(null=True)
    value_datetime = models.DateTimeField(null=True)
    value_boolean = models.BooleanField(null=True)
    value_json = models.JSONField(null=True)
    active = models.BooleanField(default=True)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "field entries"
        db_table = "field_entries"
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                "entry", "field", name="field_entries_entry_field_unique"
            )
        ]
        indexes = [
            # A prefix: a btree entry cannot hold a long text (~2.7 KB); filters
            # on text add the matching prefix condition to use it.
            models.Index(
                F("field"),
                Left("entered_value", TEXT_INDEX_PREFIX),
                name="fe_field_text_prefix",
            ),
            models.Index(
                fields=["field", "value_number"],
                name="fe_field_number",
                condition=Q(value_number__isnull=False),
            ),
            models.Index(
                fields=["field", "value_date"],
                name="fe_field_date",
                condition=Q(value_date__isnull=False),
            ),
            models.Index(
                fields=["field", "value_datetime"],
                name="fe_field_datetime",
                condition=Q(value_datetime__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.entry_id}/{self.field_id}={self.entered_value!r}"


class HistoryAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Updated"
    DEACTIVATE = "deactivate", "Deactivated"
    RESTORE = "restore", "Restored"


class EntryHistory(models.Model):
    """Every change to an entry or one of its values: who, when, before, after."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="history")
    field = models.ForeignKey(
        Field, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    action = models.CharField(max_length=12, choices=HistoryAction.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    changed_by = models.UUIDField(null=True, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)
    # The grid's edits carry one id per user action (a cell, a bulk change, a
    # paste, an undo), so that the action can be undone as a whole.
    batch = models.UUIDField(null=True, blank=True)

    class Meta:
        db_table = "entry_history"
        ordering = ["entry_id", "changed_at", "id"]
        verbose_name_plural = "entry history"
        indexes = [
            models.Index(
                fields=["batch"],
                name="entry_history_batch",
                condition=Q(batch__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"{self.action} of entry {self.entry_id} at {self.changed_at}"


class GridView(models.Model):
    """A named arrangement of a thing's grid (columns, sort, filters, search),
    shared by every member of the tenant."""

    thing = models.ForeignKey(Thing, on_delete=models.CASCADE, related_name="views")
    name = models.CharField(max_length=200)
    config = models.JSONField(default=dict)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "grid_views"
        ordering = ["thing_id", "name", "id"]
        constraints = [
            models.UniqueConstraint(
                F("thing"), Lower("name"), name="grid_views_thing_name_unique"
            )
        ]

    def __str__(self) -> str:
        return self.name


# --- CSV imports (gathergrid/imports.py) ------------------------------------------


class ImportStatus(models.TextChoices):
    MAPPING = "mapping", "Waiting for the column mapping"
    VALIDATING = "validating", "Validating"
    VALIDATED = "validated", "Validated"
    APPLYING = "applying", "Applying"
    APPLIED = "applied", "Applied"
    DISCARDED = "discarded", "Discarded"


class ImportMode(models.TextChoices):
    VALID_ROWS = "valid", "Apply the valid rows"
    ALL_OR_NOTHING = "all", "All or nothing"


class ImportJob(models.Model):
    """One CSV upload into a thing, from mapping through validation to apply.

    The file lives in ``import_rows`` (staging), not on a worker's disk, so any
    worker can serve the next step.
    """

    thing = models.ForeignKey(
        Thing, on_delete=models.PROTECT, related_name="import_jobs"
    )
    filename = models.CharField(max_length=255)
    status = models.CharField(
        max_length=12, choices=ImportStatus.choices, default=ImportStatus.MAPPING
    )
    mode = models.CharField(
        max_length=8, choices=ImportMode.choices, blank=True, default=""
    )
    delimiter = models.CharField(max_length=1, default=",")
    # The CSV's header cells, and per column the target it maps to ("" = skip).
    header = models.JSONField(default=list)
    mapping = models.JSONField(default=list)
    total_rows = models.IntegerField(default=0)
    validated_rows = models.IntegerField(default=0)
    # The last staging row number validated: the next step starts after it.
    validated_through = models.IntegerField(default=0)
    valid_rows = models.IntegerField(default=0)
    rejected_rows = models.IntegerField(default=0)
    created_entries = models.IntegerField(default=0)
    # While applying: the rows written so far (in the apply's transaction, not
    # yet visible), reported by the applier every chunk.
    applied_rows = models.IntegerField(default=0)
    # Why the job is where it is: why an apply failed or was interrupted, or
    # why it was discarded automatically.
    error = models.TextField(blank=True, default="")
    validation_started_at = models.DateTimeField(null=True, blank=True)
    validation_seconds = models.FloatField(null=True, blank=True)
    apply_seconds = models.FloatField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    apply_started_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.UUIDField(null=True, blank=True, editable=False)
    created_by = models.UUIDField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "import_jobs"
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"import {self.pk} of {self.filename!r} into thing {self.thing_id}"


class ImportRow(models.Model):
    """A staged CSV record: its cells, then the entry it becomes or why not."""

    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="rows", db_index=False
    )
    # The record's number in the file, the header being row 1 (as spreadsheets
    # count), so an admin finds a rejected row where the report says.
    number = models.IntegerField()
    raw = models.JSONField()
    # The entry as EntryWriter.insert takes it (without thing_id), once valid.
    values = models.JSONField(null=True, blank=True)
    error = models.TextField(null=True, blank=True)  # noqa: DJ001

    class Meta:
        db_table = "import_rows"
        ordering = ["job_id", "number"]
        constraints = [
            models.UniqueConstraint("job", "number", name="import_rows_job_number")
        ]
        indexes = [
            models.Index(
                fields=["job", "number"],
                name="import_rows_rejected",
                condition=Q(error__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"row {self.number} of import {self.job_id}"
