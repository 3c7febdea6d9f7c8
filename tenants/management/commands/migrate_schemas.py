"""``migrate_schemas``: django-tenants' command, made fast for many tenants.

- The tenant template schema (what new tenants are cloned from) is created if
  missing and migrated first, like any tenant.
- Schemas with nothing pending are skipped, found with one query per 500
  schemas instead of one migration run per schema.
- Pending schemas migrate in parallel (``--executor multiprocessing`` by
  default when more than one schema is pending), with a ``[i/n]`` progress prefix.
"""

import time

from django.db import connection
from django_tenants.management.commands.migrate_schemas import (
    MigrateSchemasCommand,
)
from django_tenants.migration_executors import get_executor
from django_tenants.utils import get_public_schema_name, schema_exists

from tenants.models import Tenant
from tenants.schemas import TEMPLATE_SCHEMA, schemas_with_pending_migrations


class Command(MigrateSchemasCommand):
    help = (
        "Migrate the public schema, the tenant template and every tenant schema "
        "with pending migrations (in parallel)."
    )

    def handle(self, *args, **options):
        if (
            options.get("schema_name")
            or options.get("app_label")
            or options.get("check_unapplied")
            or options.get("plan")
        ):
            # A targeted or inspecting run: django-tenants' behaviour as is.
            return super().handle(*args, **options)

        started = time.monotonic()
        # Parses the shared/tenant flags and the executor option.
        super(MigrateSchemasCommand, self).handle(*args, **options)
        public = get_public_schema_name()
        verbosity = int(options.get("verbosity", 1))

        if self.sync_public:
            get_executor(codename=self.executor or "standard")(
                self.args, self.options
            ).run_migrations(tenants=[public])

        if not self.sync_tenant:
            return
        connection.set_schema_to_public()
        if not schema_exists(TEMPLATE_SCHEMA):
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE SCHEMA {connection.ops.quote_name(TEMPLATE_SCHEMA)}"
                )
        tenants = list(Tenant.objects.values_list("schema_name", flat=True))
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [tenants]
            )
            existing = {row[0] for row in cursor.fetchall()}
        for schema in tenants:
            if schema not in existing:
                # Never recreate it empty: that would hide the loss of its data.
                self.stderr.write(
                    f"Tenant {schema!r} has no schema: skipped. Restore the schema "
                    "from a backup, or delete the tenant."
                )
        schemas = [TEMPLATE_SCHEMA, *(s for s in tenants if s in existing)]
        pending = schemas_with_pending_migrations(schemas)
        if verbosity >= 1:
            self.stdout.write(
                f"Tenant schemas: {len(schemas) - 1} tenants + template, "
                f"{len(pending)} with pending migrations."
            )
        if pending:
            codename = self.executor or (
                "multiprocessing" if len(pending) > 1 else "standard"
            )
            # The template first: tenants created meanwhile clone the new state.
            if TEMPLATE_SCHEMA in pending:
                get_executor(codename="standard")(
                    self.args, self.options
                ).run_migrations(tenants=[TEMPLATE_SCHEMA])
                pending.remove(TEMPLATE_SCHEMA)
            if pending:
                get_executor(codename=codename)(self.args, self.options).run_migrations(
                    tenants=pending
                )
        if verbosity >= 1:
            self.stdout.write(f"Migrated in {time.monotonic() - started:.1f}s.")
