"""Import a CSV file into a thing from the command line, through the same
service as the browser UI (staging, validation, one-transaction apply)."""

import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_tenants.utils import schema_context

from gathergrid import imports
from gathergrid.models import ImportMode, ImportStatus, Thing


class Command(BaseCommand):
    help = (
        "Import a CSV file into a thing: columns map to fields by name; prints "
        "progress (rows/s, counts), the rejected rows with their reasons, and "
        "applies the valid rows (or all or nothing) in one transaction."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("schema", help="the tenant's schema name")
        parser.add_argument("thing_id", type=int)
        parser.add_argument("path", type=Path, help="the CSV file")
        parser.add_argument(
            "--mode",
            choices=ImportMode.values,
            default=ImportMode.VALID_ROWS,
            help="valid: apply the valid rows; all: apply only if none is rejected",
        )
        parser.add_argument(
            "--chunk", type=int, default=imports.VALIDATE_CHUNK, help="rows per step"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="validate and report, write nothing"
        )
        parser.add_argument(
            "--show", type=int, default=20, help="rejected rows to print (0: none)"
        )

    def handle(self, *args, **options) -> None:
        with schema_context(options["schema"]):
            self._import(options)

    def _import(self, options) -> None:
        thing = Thing.objects.filter(pk=options["thing_id"]).first()
        if thing is None:
            raise CommandError(f"No thing {options['thing_id']} in this tenant.")
        started = time.perf_counter()
        try:
            with options["path"].open("rb") as file:
                job = imports.import_job_create(
                    thing=thing, filename=options["path"].name, file=file, user_id=None
                )
            mapped = [
                f"{name} -> {label}"
                for name, target in zip(job.header, job.mapping, strict=True)
                for value, label in imports.import_targets(fields=thing.fields.all())
                if value == target
            ]
            self.stdout.write(
                f"{job.total_rows} rows staged in "
                f"{time.perf_counter() - started:.1f} s (job {job.id}); "
                f"mapping: {', '.join(mapped) or 'nothing mapped'}"
            )
            job = imports.import_mapping_set(job=job, mapping=job.mapping)
            while job.status == ImportStatus.VALIDATING:
                job = imports.import_validate_step(job=job, chunk=options["chunk"])
                self.stdout.write(
                    f"validated {job.validated_rows}/{job.total_rows} rows "
                    f"({imports.import_rows_per_second(job)} rows/s): "
                    f"{job.valid_rows} valid, {job.rejected_rows} rejected"
                )
            shown = imports.import_rejected_rows(job=job)[: options["show"]]
            for row in shown:
                self.stdout.write(f"row {row.number}: {row.error}")
            if job.rejected_rows > len(shown):
                self.stdout.write(f"... {job.rejected_rows - len(shown)} more rejected")
            if options["dry_run"]:
                imports.import_discard(job=job)
                self.stdout.write("dry run: nothing written")
                return
            applying = time.perf_counter()
            job = imports.import_apply(job=job, mode=options["mode"], user_id=None)
        except imports.ImportRefused as refused:
            raise CommandError(refused.message) from None
        seconds = time.perf_counter() - applying
        rate = int(job.created_entries / seconds) if seconds else 0
        self.stdout.write(
            f"created {job.created_entries} entries in {seconds:.1f} s "
            f"({rate} rows/s), one transaction"
        )
