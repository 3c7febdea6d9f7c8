"""``migrate`` is ``migrate_schemas`` (so the test database gets the template too)."""

from tenants.management.commands.migrate_schemas import Command  # noqa: F401
