"""What every step of an import shares: sizes, the entry columns a CSV may
fill, and the refusals."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import connection

from core.errors import ApplicationError
from gathergrid.models import (
    ImportJob,
    ImportStatus,
)

logger = logging.getLogger(__name__)

# Rows per validation step: one step is one short request (well under a second).
VALIDATE_CHUNK = 1000
# Rows per EntryWriter.insert call while applying (all in one transaction).
APPLY_CHUNK = 2000
STAGE_CHUNK = 5000
SNIFF_BYTES = 65536
PREVIEW_ROWS = 20
DELIMITERS = (",", ";", "\t")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab"}

# Mapping targets besides the thing's fields ("field:<id>"); "" skips a column.
ENTRY_COLUMNS = {
    "classification_item_id": "Classification item (id or name)",
    "validity_start_date": "Valid from (validity_start_date)",
    "validity_end_date": "Valid to (validity_end_date)",
}
ENTRY_COLUMN_ALIASES = {
    "classification_item_id": {"classification_item_id", "classification_item"},
    "validity_start_date": {"validity_start_date", "valid from"},
    "validity_end_date": {"validity_end_date", "valid to"},
}


class ImportRefused(ApplicationError):
    """An import step refused, with the reason in words."""


class ImportFileError(ImportRefused):
    """The upload is not a CSV file we can read."""


class MappingErrors(ImportRefused):
    """Per column (index) what is wrong with the chosen target."""

    def __init__(self, columns: dict[int, str]) -> None:
        super().__init__("The mapping has problems; see the marked columns.")
        self.columns = columns


def max_bytes() -> int:
    return settings.UI_IMPORT_MAX_BYTES


def refuse_unless(job: ImportJob, allowed: set[str]) -> None:
    if job.status in allowed:
        return
    if job.status == ImportStatus.APPLIED:
        raise ImportRefused(
            f"This import was already applied: it created {job.created_entries:,} "
            "entries. Nothing was done again."
        )
    if job.status == ImportStatus.DISCARDED:
        raise ImportRefused("This import was discarded; upload the file again.")
    if job.status == ImportStatus.MAPPING:
        raise ImportRefused("Map the columns first.")
    if job.status == ImportStatus.APPLYING:
        raise ImportRefused("This import is being applied; wait for it to finish.")
    raise ImportRefused("Validation has not finished yet; wait for it to finish.")


def staging_drop(job: ImportJob) -> None:
    """Delete a job's staging rows in one statement (nothing refers to them;
    Django's ``delete()`` would first fetch them all to look for cascades)."""
    with connection.cursor() as cursor:
        cursor.execute('DELETE FROM "import_rows" WHERE "job_id" = %s', [job.pk])
