"""Which column of the file fills which field."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from gathergrid.imports.common import (
    ENTRY_COLUMN_ALIASES,
    ENTRY_COLUMNS,
    MappingErrors,
    refuse_unless,
)
from gathergrid.models import (
    Field,
    ImportJob,
    ImportStatus,
)

# --- Mapping ----------------------------------------------------------------------


def active_fields(thing_id: int) -> QuerySet[Field]:
    return Field.objects.filter(thing_id=thing_id, active=True).order_by(
        "position", "id"
    )


def import_targets(*, fields: Iterable[Field]) -> list[tuple[str, str]]:
    """(value, label) of every column target: the fields, then entry columns."""
    return [
        *((f"field:{f.id}", f.name) for f in fields),
        *ENTRY_COLUMNS.items(),
    ]


def import_mapping_default(*, header: list[str], fields: Sequence[Field]) -> list[str]:
    """Each column's target by name, ignoring case (a field wins over an entry
    column); each target is used once."""
    by_name: dict[str, str] = {}
    for column, aliases in ENTRY_COLUMN_ALIASES.items():
        for alias in aliases:
            by_name[alias] = column
    for f in fields:
        by_name[f.name.strip().lower()] = f"field:{f.id}"
    mapping, used = [], set()
    for name in header:
        target = by_name.get(name.strip().lower(), "")
        if target in used:
            target = ""
        used.add(target)
        mapping.append(target)
    return mapping


def import_mapping_check(*, job: ImportJob, mapping: list[str]) -> None:
    """Raise :class:`MappingErrors` for unknown targets or a target used twice."""
    valid = {value for value, _ in import_targets(fields=active_fields(job.thing_id))}
    errors: dict[int, str] = {}
    seen: dict[str, int] = {}
    for index, target in enumerate(mapping):
        if not target:
            continue
        if target not in valid:
            errors[index] = "This field no longer exists; choose another."
        elif target in seen:
            errors[index] = (
                f"Already chosen for column “{job.header[seen[target]]}”; "
                "a target takes one column."
            )
        else:
            seen[target] = index
    if len(mapping) != len(job.header):
        errors[len(job.header)] = "Give a target (or skip) for every column."
    if errors:
        raise MappingErrors(errors)


def import_unmapped_fields(
    *, fields: Iterable[Field], mapping: list[str]
) -> dict[str, list[str]]:
    """Names of required-for-initialization and mandatory fields no column fills."""
    chosen = set(mapping)
    unmapped: dict[str, list[str]] = {"required": [], "mandatory": []}
    for f in fields:
        if f"field:{f.id}" in chosen:
            continue
        if f.required_for_initialization:
            unmapped["required"].append(f.name)
        elif f.mandatory:
            unmapped["mandatory"].append(f.name)
    return unmapped


@transaction.atomic
def import_mapping_set(*, job: ImportJob, mapping: list[str]) -> ImportJob:
    """Save the mapping and (re)start validation from the first row."""
    job = ImportJob.objects.select_for_update().get(pk=job.pk)
    refuse_unless(
        job, {ImportStatus.MAPPING, ImportStatus.VALIDATING, ImportStatus.VALIDATED}
    )
    import_mapping_check(job=job, mapping=mapping)
    job.mapping = mapping
    job.status = ImportStatus.VALIDATING
    job.validated_rows = job.validated_through = 0
    job.valid_rows = job.rejected_rows = 0
    job.validation_started_at = timezone.now()
    job.validation_seconds = None
    job.error = ""
    job.updated_at = timezone.now()
    job.save()
    return job
