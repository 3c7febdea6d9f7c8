"""What management commands that run in every tenant schema share: which
schemas (missing ones reported, ``--schema`` honoured), and the loop that runs
the work in each with ``[i/n] schema:`` progress, where one schema's failure is
reported and the others still run; and the same for background jobs."""

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.models import Tenant
from tenants.schemas import TEMPLATE_SCHEMA, tenant_schemas_existing

logger = logging.getLogger(__name__)

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


# --- The same for background jobs (gathergrid/tasks.py, tracking/tasks.py) ----


class TenantGone(LookupError):
    """A job names a tenant that no longer exists (or never did)."""


@contextmanager
def tenant_active(schema_name: str) -> Iterator[Tenant]:
    """Run the block as ``schema_name``'s tenant (its schema, then public's
    shared tables, on the search path); the connection is back on the public
    schema after it. A job takes the tenant's schema name as an argument and runs
    its work inside this, so it can touch that tenant only."""
    connection.set_schema_to_public()
    tenant = Tenant.objects.filter(schema_name=schema_name).first()
    if tenant is None:
        raise TenantGone(f"No tenant {schema_name!r}.")
    connection.set_tenant(tenant)
    try:
        yield tenant
    finally:
        connection.set_schema_to_public()


def in_each_schema(
    work: Callable[[], T], *, template: bool = False, name: str = "job"
) -> dict[str, T]:
    """``work()`` in every tenant schema (the template first if ``template``);
    the results by schema. A schema that fails is logged and the others still
    run; the failures are raised together at the end."""
    connection.set_schema_to_public()
    existing, missing = tenant_schemas_existing()
    for schema in missing:
        logger.warning("%s: tenant %r has no schema: skipped", name, schema)
    results: dict[str, T] = {}
    failed: list[str] = []
    for schema in [TEMPLATE_SCHEMA, *existing] if template else existing:
        connection.set_schema(schema)
        try:
            results[schema] = work()
        except Exception:  # logged; the other schemas still run
            logger.exception("%s failed in schema %s", name, schema)
            failed.append(schema)
        finally:
            connection.set_schema_to_public()
    if failed:
        raise RuntimeError(f"{name} failed in {len(failed)} schema(s): {failed}")
    return results
