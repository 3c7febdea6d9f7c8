"""Tenant schemas: the migrated template, cloning it, and finding pending migrations."""

from collections import defaultdict
from collections.abc import Iterable

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.clone import CloneSchema
from django_tenants.utils import schema_exists

TEMPLATE_SCHEMA: str = settings.TENANT_BASE_SCHEMA

_clone_function_ready = False


def clone_function_ensure() -> None:
    """Create django-tenants' ``clone_schema()`` SQL function if it is missing.

    Done once (by ``migrate_schemas``), not per tenant as django-tenants does:
    creating the function drops and recreates types, which costs ~100 ms and
    would race between concurrent tenant creations.
    """
    global _clone_function_ready
    if _clone_function_ready:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_proc p JOIN pg_namespace n "
            "ON n.oid = p.pronamespace WHERE n.nspname = 'public' "
            "AND p.proname = 'clone_schema')"
        )
        if not cursor.fetchone()[0]:
            CloneSchema()._create_clone_schema_function()
    _clone_function_ready = True


def schema_clone_from_template(schema_name: str) -> None:
    """Create schema ``schema_name`` as a copy of the migrated template.

    Tables, indexes, constraints, sequences and the ``django_migrations`` rows
    are copied, so the new schema needs no migration run.
    """
    if not schema_exists(TEMPLATE_SCHEMA):
        raise RuntimeError(
            f"The template schema {TEMPLATE_SCHEMA!r} is missing: run "
            "`python manage.py migrate_schemas` first."
        )
    connection.set_schema_to_public()
    clone_function_ensure()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT public.clone_schema(%s, %s, 'DATA')", [TEMPLATE_SCHEMA, schema_name]
        )


def migrations_on_disk() -> set[tuple[str, str]]:
    """Every migration the code defines, as ``(app_label, name)``."""
    return set(MigrationLoader(None, ignore_no_migrations=True).graph.nodes)


def schemas_with_pending_migrations(schemas: Iterable[str]) -> list[str]:
    """The schemas, of ``schemas``, that miss at least one migration on disk.

    One query per 500 schemas reads every ``django_migrations`` table, so a
    no-op ``migrate_schemas`` over thousands of tenants takes seconds, not the
    per-schema migration run it would otherwise cost.
    """
    schemas = list(schemas)
    expected = migrations_on_disk()
    applied: dict[str, set[tuple[str, str]]] = defaultdict(set)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_schema FROM information_schema.tables "
            "WHERE table_name = 'django_migrations' AND table_schema = ANY(%s)",
            [schemas],
        )
        with_table = [row[0] for row in cursor.fetchall()]
        quote = connection.ops.quote_name
        for start in range(0, len(with_table), 500):
            chunk = with_table[start : start + 500]
            sql = " UNION ALL ".join(
                f"SELECT %s, app, name FROM {quote(schema)}.django_migrations"
                for schema in chunk
            )
            cursor.execute(sql, chunk)
            for schema, app, name in cursor.fetchall():
                applied[schema].add((app, name))
    return [schema for schema in schemas if not expected <= applied[schema]]
