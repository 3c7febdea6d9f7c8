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

from gathergrid.imports import ExpiredImports, import_jobs_expire
from tenants.commands import run_in_schemas, schemas_to_run

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
        schemas = schemas_to_run(self, only=options["schema"])
        verb = "would discard" if options["dry_run"] else "discarded"

        def describe(expired: ExpiredImports) -> str:
            if not expired.jobs:
                return "nothing to discard"
            return (
                f"{verb} {expired.jobs:,} import(s), "
                f"{expired.staged_rows:,} staged row(s)"
            )

        results = run_in_schemas(
            self,
            schemas,
            lambda: import_jobs_expire(
                older_than=older_than, dry_run=options["dry_run"]
            ),
            describe,
        )
        self.stdout.write(
            f"{verb.capitalize()} {sum(r.jobs for r in results):,} import(s) and "
            f"{sum(r.staged_rows for r in results):,} staged row(s) "
            f"in {len(results)} tenant(s)."
        )
