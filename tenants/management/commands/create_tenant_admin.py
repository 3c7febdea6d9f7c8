from django.core.management.base import BaseCommand

from core.errors import ApplicationError
from tenants.management.commands._output import as_command_error, tenant_or_error
from tenants.models import Role
from tenants.services import membership_set, user_ensure


class Command(BaseCommand):
    help = (
        "Create a user if needed, set their password and make them "
        "a member of a tenant."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")
        parser.add_argument("--tenant", required=True, help="Tenant id.")
        parser.add_argument("--password", required=True)
        parser.add_argument("--role", choices=Role.values, default=Role.ADMIN)

    def handle(self, *args, **options):
        tenant = tenant_or_error(options["tenant"])
        try:
            user, created = user_ensure(
                email=options["email"], password=options["password"]
            )
            membership_set(user=user, tenant=tenant, role=options["role"])
        except ApplicationError as error:
            raise as_command_error(error) from None
        verb = "Created" if created else "Updated"
        self.stdout.write(
            f"{verb} {user.email}: {options['role']} of {tenant.schema_name}."
        )
