"""``event_partitions``: create the coming months' ``events`` partitions.

For the tenant template (what new tenants are cloned from) and every tenant,
or one schema; meant for a monthly cron job. A schema that fails is reported
and the others still run; the command then exits non-zero.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.schemas import TEMPLATE_SCHEMA, tenant_schemas_existing
from tracking.partitions import MONTHS_AHEAD, MONTHS_BACK, event_partitions_ensure


class Command(BaseCommand):
    help = (
        "Create the monthly partitions of events, from --months-back months ago "
        "to --months-ahead months ahead, in the template and every tenant schema."
    )

    def add_arguments(self, parser):
        parser.add_argument("--months-ahead", type=int, default=MONTHS_AHEAD)
        parser.add_argument("--months-back", type=int, default=MONTHS_BACK)
        parser.add_argument(
            "--schema", help="Only this schema (a tenant id or the template)."
        )

    def handle(self, *args, **options):
        if options["months_ahead"] < 0 or options["months_back"] < 0:
            raise CommandError("--months-ahead and --months-back must be >= 0.")
        connection.set_schema_to_public()
        schemas = [TEMPLATE_SCHEMA, *self._tenant_schemas()]
        if options["schema"]:
            if options["schema"] not in schemas:
                raise CommandError(f"No tenant schema {options['schema']!r}.")
            schemas = [options["schema"]]
        failed = []
        for number, schema in enumerate(schemas, start=1):
            prefix = f"[{number}/{len(schemas)}] {schema}:"
            connection.set_schema(schema)
            try:
                created = event_partitions_ensure(
                    months_back=options["months_back"],
                    months_ahead=options["months_ahead"],
                )
            except Exception as error:  # reported; the other schemas still run
                failed.append(schema)
                self.stderr.write(f"{prefix} failed: {error}")
                continue
            finally:
                connection.set_schema_to_public()
            if created:
                self.stdout.write(f"{prefix} created {', '.join(created)}")
            else:
                self.stdout.write(f"{prefix} up to date")
        if failed:
            raise CommandError(
                f"Failed in {len(failed)} schema(s): {', '.join(failed)}"
            )

    def _tenant_schemas(self) -> list[str]:
        """The tenants' schemas that exist (a missing one is reported)."""
        existing, missing = tenant_schemas_existing()
        for schema in missing:
            self.stderr.write(f"Tenant {schema!r} has no schema: skipped.")
        return existing
