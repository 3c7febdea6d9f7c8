"""``import_sweep``: discard CSV imports left unapplied, in every tenant.

An upload is staged in its tenant's database (the whole file, row by row) until
it is applied or discarded; one that is abandoned half-way would stay there.
This discards the imports whose last step is older than ``--days`` (7), with
their staged rows, and prints what it did per tenant. Meant for a daily cron
job; a tenant that fails is reported and the others still run (the command then
exits non-zero).
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from gathergrid.imports import import_jobs_expire
from tenants.schemas import tenant_schemas_existing

DEFAULT_DAYS = 7


class Command(BaseCommand):
    help = (
        "Discard CSV imports not applied within --days of their last step, "
        "with their staged rows, in every tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=float, default=DEFAULT_DAYS)
        parser.add_argument("--schema", help="Only this tenant.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Count, discard nothing."
        )

    def handle(self, *args, **options):
        if options["days"] <= 0:
            raise CommandError("--days must be more than 0.")
        older_than = timedelta(days=options["days"])
        connection.set_schema_to_public()
        schemas, missing = tenant_schemas_existing()
        for schema in missing:
            self.stderr.write(f"Tenant {schema!r} has no schema: skipped.")
        if options["schema"]:
            if options["schema"] not in schemas:
                raise CommandError(f"No tenant schema {options['schema']!r}.")
            schemas = [options["schema"]]
        verb = "would discard" if options["dry_run"] else "discarded"
        failed, jobs, rows = [], 0, 0
        for number, schema in enumerate(schemas, start=1):
            prefix = f"[{number}/{len(schemas)}] {schema}:"
            connection.set_schema(schema)
            try:
                expired = import_jobs_expire(
                    older_than=older_than, dry_run=options["dry_run"]
                )
            except Exception as error:  # reported; the other tenants still run
                failed.append(schema)
                self.stderr.write(f"{prefix} failed: {error}")
                continue
            finally:
                connection.set_schema_to_public()
            jobs += expired.jobs
            rows += expired.staged_rows
            if expired.jobs:
                self.stdout.write(
                    f"{prefix} {verb} {expired.jobs:,} import(s), "
                    f"{expired.staged_rows:,} staged row(s)"
                )
            else:
                self.stdout.write(f"{prefix} nothing to discard")
        self.stdout.write(
            f"{verb.capitalize()} {jobs:,} import(s) and {rows:,} staged row(s) "
            f"in {len(schemas) - len(failed)} tenant(s)."
        )
        if failed:
            raise CommandError(
                f"Failed in {len(failed)} tenant(s): {', '.join(failed)}"
            )
