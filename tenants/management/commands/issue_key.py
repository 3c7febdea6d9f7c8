from django.core.management.base import BaseCommand

from core.errors import ApplicationError
from tenants.management.commands._output import (
    as_command_error,
    dump_json,
    tenant_or_error,
)
from tenants.models import KeyKind
from tenants.services import key_issue


class Command(BaseCommand):
    help = "Issue a new API or tracking key for a tenant (old keys keep working)."

    def add_arguments(self, parser):
        parser.add_argument("schema", help="Tenant id.")
        parser.add_argument("--kind", required=True, choices=KeyKind.values)
        parser.add_argument("--label", default="", help="What the key is for.")
        parser.add_argument(
            "--json", action="store_true", help="Print one JSON object."
        )

    def handle(self, *args, **options):
        tenant = tenant_or_error(options["schema"])
        try:
            key, raw = key_issue(
                tenant=tenant, kind=options["kind"], label=options["label"]
            )
        except ApplicationError as error:
            raise as_command_error(error) from None
        if options["json"]:
            self.stdout.write(
                dump_json(
                    {
                        "tenant": tenant.schema_name,
                        "kind": key.kind,
                        "prefix": key.prefix,
                        "key": raw,
                    }
                )
            )
            return
        self.stdout.write(f"New {key.kind} key for {tenant.schema_name} (shown once):")
        self.stdout.write(raw)
        self.stdout.write(f"Revoke it with: python manage.py revoke_key {key.prefix}")
