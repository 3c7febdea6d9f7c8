from django.core.management.base import BaseCommand

from core.errors import ApplicationError
from tenants.management.commands._output import as_command_error
from tenants.services import key_revoke


class Command(BaseCommand):
    help = "Revoke a key by its prefix (the first characters, e.g. gg_sk_AbCdEfGh)."

    def add_arguments(self, parser):
        parser.add_argument("prefix")

    def handle(self, *args, **options):
        try:
            key = key_revoke(prefix=options["prefix"])
        except ApplicationError as error:
            raise as_command_error(error) from None
        self.stdout.write(
            f"Revoked {key.kind} key {key.prefix}… of {key.tenant.schema_name}."
        )
