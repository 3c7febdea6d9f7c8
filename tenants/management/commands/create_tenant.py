from django.core.management.base import BaseCommand

from core.errors import ApplicationError
from tenants.management.commands._output import as_command_error, dump_json
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Create a tenant (schema cloned from the template) "
        "with an API key and a tracking key."
    )

    def add_arguments(self, parser):
        parser.add_argument("schema", help="Tenant id = PostgreSQL schema name.")
        parser.add_argument("--name", required=True, help="Display name.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, **options):
        try:
            created = tenant_create(schema_name=options["schema"], name=options["name"])
        except ApplicationError as error:
            raise as_command_error(error) from None
        tenant = created.tenant
        if options["json"]:
            self.stdout.write(
                dump_json(
                    {
                        "tenant": tenant.schema_name,
                        "name": tenant.name,
                        "api_key": created.api_key,
                        "tracking_key": created.tracking_key,
                    }
                )
            )
            return
        self.stdout.write(f"Created tenant {tenant.schema_name} ({tenant.name}).")
        self.stdout.write(f"API key (secret, shown once):        {created.api_key}")
        self.stdout.write(
            f"Tracking key (publishable, shown once): {created.tracking_key}"
        )
