"""What management commands that run in every tenant schema share: which
schemas (missing ones reported, ``--schema`` honoured), and the loop that runs
the work in each with ``[i/n] schema:`` progress, where one schema's failure is
reported and the others still run."""

from collections.abc import Callable
from typing import TypeVar

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.schemas import TEMPLATE_SCHEMA, tenant_schemas_existing

T = TypeVar("T")


def schemas_to_run(
    command: BaseCommand, *, only: str | None, template: bool = False
) -> list[str]:
    """Every tenant's schema (the template first if ``template``), or ``only``."""
    connection.set_schema_to_public()
    existing, missing = tenant_schemas_existing()
    for schema in missing:
        command.stderr.write(f"Tenant {schema!r} has no schema: skipped.")
    schemas = [TEMPLATE_SCHEMA, *existing] if template else existing
    if only:
        if only not in schemas:
            raise CommandError(f"No tenant schema {only!r}.")
        return [only]
    return schemas


def run_in_schemas(
    command: BaseCommand,
    schemas: list[str],
    work: Callable[[], T],
    describe: Callable[[T], str],
) -> list[T]:
    """``work()`` in each schema, printing ``[i/n] schema: <describe(result)>``;
    the results of the schemas that succeeded. Raises CommandError at the end
    naming the schemas that failed."""
    failed: list[str] = []
    results: list[T] = []
    for number, schema in enumerate(schemas, start=1):
        prefix = f"[{number}/{len(schemas)}] {schema}:"
        connection.set_schema(schema)
        try:
            result = work()
        except Exception as error:  # reported; the other schemas still run
            failed.append(schema)
            command.stderr.write(f"{prefix} failed: {error}")
            continue
        finally:
            connection.set_schema_to_public()
        results.append(result)
        command.stdout.write(f"{prefix} {describe(result)}")
    if failed:
        raise CommandError(f"Failed in {len(failed)} schema(s): {', '.join(failed)}")
    return results
