"""CSV import into a thing, and the rows of a CSV export.

One module per step: ``csvfile`` (reading and escaping CSV), ``jobs`` (upload
into staging rows, discard, expiry), ``mapping``, ``validate``, ``apply`` and
``export``; ``common`` holds what they share. The public API is re-exported
here (``from gathergrid import imports; imports.import_job_create(...)``).

An import is a job in the tenant's schema: the upload is parsed once into
staging rows (``import_rows``), so any worker can serve the next step. The
admin maps columns to fields, the rows are validated in chunks by the same
rules as the API's writers (``values.normalise`` and ``EntryWriter.clean``;
the required-for-initialization and reference rules as ``EntryWriter.insert``
applies them), and applying writes all chosen rows through
``EntryWriter.insert`` (COPY, history) in one transaction, which is also where
the job becomes ``applied``: a crash before the commit leaves nothing behind,
and a job cannot be applied twice.
"""

from gathergrid.imports.apply import (
    import_apply,
    import_apply_run,
    import_apply_start,
)
from gathergrid.imports.common import (
    APPLY_CHUNK,
    DELIMITER_NAMES,
    DELIMITERS,
    ENTRY_COLUMN_ALIASES,
    ENTRY_COLUMNS,
    PREVIEW_ROWS,
    SNIFF_BYTES,
    STAGE_CHUNK,
    VALIDATE_CHUNK,
    ImportFileError,
    ImportRefused,
    MappingErrors,
    max_bytes,
    refuse_unless,
    staging_drop,
)
from gathergrid.imports.csvfile import (
    FORMULA_STARTS,
    csv_cell_escape,
    csv_cell_unescape,
    csv_open,
    csv_records,
    csv_sniff_delimiter,
    header_names,
)
from gathergrid.imports.export import (
    export_header,
    export_rows,
)
from gathergrid.imports.jobs import (
    PENDING,
    STAGING_WRITER,
    ExpiredImports,
    StagingWriter,
    duration_words,
    import_discard,
    import_job_create,
    import_jobs_expire,
    import_jobs_of,
    import_rejected_csv,
    import_rejected_rows,
    job_stage,
)
from gathergrid.imports.mapping import (
    active_fields,
    import_mapping_check,
    import_mapping_default,
    import_mapping_set,
    import_targets,
    import_unmapped_fields,
)
from gathergrid.imports.validate import (
    CheckedRow,
    RowChecker,
    import_elapsed,
    import_preview,
    import_rows_per_second,
    import_validate_step,
)

__all__ = [
    "APPLY_CHUNK",
    "DELIMITERS",
    "DELIMITER_NAMES",
    "ENTRY_COLUMNS",
    "ENTRY_COLUMN_ALIASES",
    "FORMULA_STARTS",
    "PENDING",
    "PREVIEW_ROWS",
    "SNIFF_BYTES",
    "STAGE_CHUNK",
    "STAGING_WRITER",
    "VALIDATE_CHUNK",
    "CheckedRow",
    "ExpiredImports",
    "ImportFileError",
    "ImportRefused",
    "MappingErrors",
    "RowChecker",
    "StagingWriter",
    "active_fields",
    "csv_cell_escape",
    "csv_cell_unescape",
    "csv_open",
    "csv_records",
    "csv_sniff_delimiter",
    "duration_words",
    "export_header",
    "export_rows",
    "header_names",
    "import_apply",
    "import_apply_run",
    "import_apply_start",
    "import_discard",
    "import_elapsed",
    "import_job_create",
    "import_jobs_expire",
    "import_jobs_of",
    "import_mapping_check",
    "import_mapping_default",
    "import_mapping_set",
    "import_preview",
    "import_rejected_csv",
    "import_rejected_rows",
    "import_rows_per_second",
    "import_targets",
    "import_unmapped_fields",
    "import_validate_step",
    "job_stage",
    "max_bytes",
    "refuse_unless",
    "staging_drop",
]
