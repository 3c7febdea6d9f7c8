"""``event_partitions``: create the coming months' ``events`` partitions.

For the tenant template (what new tenants are cloned from) and every tenant,
or one schema; meant for a monthly cron job. A schema that fails is reported
and the others still run; the command then exits non-zero.
"""

from django.core.management.base import BaseCommand, CommandError

from tenants.commands import run_in_schemas, schemas_to_run
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
        schemas = schemas_to_run(self, only=options["schema"], template=True)
        run_in_schemas(
            self,
            schemas,
            lambda: event_partitions_ensure(
                months_back=options["months_back"],
                months_ahead=options["months_ahead"],
            ),
            lambda created: (
                f"created {', '.join(created)}" if created else "up to date"
            ),
        )
