"""Tenant schemas: the migrated template, cloning it, and finding pending migrations."""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import schema_exists

TEMPLATE_SCHEMA: str = settings.TENANT_BASE_SCHEMA


class UnsupportedTemplateObject(RuntimeError):
    """The template holds something the cloner does not copy (yet)."""


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


@dataclass(frozen=True)
class TemplateScript:
    """The DDL that rebuilds the template in another schema, and its version."""

    version: tuple[int, ...]
    statements: tuple[str, ...]


_script_cache: TemplateScript | None = None


def _template_version(cursor) -> tuple[int, ...]:
    # Partitions are also added between migrations (tracking.partitions, run
    # by cron): their number and newest oid are part of the version.
    cursor.execute(
        "SELECT m.n, m.last, p.n, p.newest FROM "
        f"(SELECT count(*), coalesce(max(id), 0) FROM {_q(TEMPLATE_SCHEMA)}"
        ".django_migrations) AS m(n, last), "
        "(SELECT count(*), coalesce(max(i.inhrelid::bigint), 0) "
        " FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid "
        " JOIN pg_inherits i ON i.inhparent = t.partrelid "
        " WHERE c.relnamespace = %s::regnamespace) AS p(n, newest)",
        [TEMPLATE_SCHEMA],
    )
    return tuple(int(value) for value in cursor.fetchone())


def _template_statements(cursor) -> tuple[str, ...]:
    """Read the template's catalog into DDL that names nothing schema-qualified.

    Run with ``search_path`` set to the template alone, so ``pg_get_*def``
    leave table names unqualified; the statements are then run with the
    search_path set to the new schema. Object names are kept exactly (Django
    migrations refer to indexes and constraints by name).
    """
    template = TEMPLATE_SCHEMA
    cursor.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", [template])
    namespace = cursor.fetchone()[0]
    cursor.execute(
        "SELECT p.proname FROM pg_proc p WHERE p.pronamespace = %s "
        "UNION ALL SELECT c.relname FROM pg_class c WHERE c.relnamespace = %s "
        "AND (c.relkind IN ('m', 'f', 'c') OR (c.relkind = 'S' AND NOT EXISTS ("
        "  SELECT 1 FROM pg_depend d WHERE d.objid = c.oid "
        "  AND d.deptype IN ('a', 'i'))))",
        [namespace, namespace],
    )
    unsupported = [row[0] for row in cursor.fetchall()]
    if unsupported:
        raise UnsupportedTemplateObject(
            "The tenant template holds objects the cloner does not copy: "
            + ", ".join(unsupported)
            + ". Extend tenants.schemas._template_statements."
        )
    like = (
        "INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING GENERATED "
        "INCLUDING CONSTRAINTS INCLUDING STORAGE"
    )
    statements: list[str] = []
    # Tables (plain and partitioned parents first, partitions after).
    cursor.execute(
        "SELECT c.oid, c.relname, c.relkind, c.relispartition, "
        "pg_get_partkeydef(c.oid), pg_get_expr(c.relpartbound, c.oid), "
        "(SELECT p.relname FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
        " WHERE i.inhrelid = c.oid) "
        "FROM pg_class c WHERE c.relnamespace = %s AND c.relkind IN ('r', 'p') "
        "ORDER BY c.relispartition, c.oid",
        [namespace],
    )
    for _oid, name, kind, is_partition, partkey, bound, parent in cursor.fetchall():
        if is_partition:
            statements.append(
                f"CREATE TABLE {_q(name)} PARTITION OF {_q(parent)} {bound}"
            )
            continue
        sql = f"CREATE TABLE {_q(name)} (LIKE {_q(template)}.{_q(name)} {like})"
        if kind == "p":
            sql += f" PARTITION BY {partkey}"
        statements.append(sql)
    # Primary keys, unique and exclusion constraints, then foreign keys.
    cursor.execute(
        "SELECT cl.relname, con.conname, pg_get_constraintdef(con.oid) "
        "FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid "
        "WHERE cl.relnamespace = %s AND con.contype IN ('p', 'u', 'x', 'f') "
        "AND con.conparentid = 0 "
        "ORDER BY con.contype = 'f', cl.oid, con.oid",
        [namespace],
    )
    statements += [
        f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}"
        for table, name, definition in cursor.fetchall()
    ]
    # Indexes that back no constraint (those came with their constraint).
    # pg_get_indexdef and pg_get_triggerdef always qualify the table: drop the
    # template's name so that the statements apply to the new schema. An index
    # of a partitioned table is created without ONLY, so that it cascades to
    # the partitions (whose own indexes are therefore not listed).
    cursor.execute(
        "SELECT replace(replace(pg_get_indexdef(i.indexrelid), "
        "' ON ONLY ' || quote_ident(%(schema)s) || '.', ' ON '), "
        "' ON ' || quote_ident(%(schema)s) || '.', ' ON ') FROM pg_index i "
        "JOIN pg_class ic ON ic.oid = i.indexrelid "
        "WHERE ic.relnamespace = %(namespace)s AND NOT ic.relispartition "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid "
        "  AND c.contype IN ('p', 'u', 'x')) "
        "ORDER BY i.indexrelid",
        {"schema": template, "namespace": namespace},
    )
    statements += [row[0] for row in cursor.fetchall()]
    # Views and triggers.
    cursor.execute(
        "SELECT c.relname, pg_get_viewdef(c.oid) FROM pg_class c "
        "WHERE c.relnamespace = %s AND c.relkind = 'v' ORDER BY c.oid",
        [namespace],
    )
    statements += [
        f"CREATE VIEW {_q(name)} AS {definition}"
        for name, definition in cursor.fetchall()
    ]
    cursor.execute(
        "SELECT replace(pg_get_triggerdef(t.oid), "
        "' ON ' || quote_ident(%(schema)s) || '.', ' ON ') FROM pg_trigger t "
        "JOIN pg_class c ON c.oid = t.tgrelid "
        "WHERE c.relnamespace = %(namespace)s AND NOT t.tgisinternal ORDER BY t.oid",
        {"schema": template, "namespace": namespace},
    )
    statements += [row[0] for row in cursor.fetchall()]
    statements.append(
        "INSERT INTO django_migrations (app, name, applied) "
        f"SELECT app, name, applied FROM {_q(template)}.django_migrations ORDER BY id"
    )
    return tuple(statements)


def template_script() -> TemplateScript:
    """The template's DDL, read once per process and again after it migrates."""
    global _script_cache
    with connection.cursor() as cursor:
        version = _template_version(cursor)
        if _script_cache is not None and _script_cache.version == version:
            return _script_cache
        cursor.execute("SELECT current_setting('search_path')")
        previous = cursor.fetchone()[0]
        cursor.execute(f"SET search_path TO {_q(TEMPLATE_SCHEMA)}")
        try:
            statements = _template_statements(cursor)
        finally:
            cursor.execute("SELECT set_config('search_path', %s, false)", [previous])
    _script_cache = TemplateScript(version=version, statements=statements)
    return _script_cache


def schema_clone_from_template(schema_name: str) -> None:
    """Create schema ``schema_name`` as a structural copy of the migrated template.

    Tables (with their defaults, identities, checks, keys, indexes, partitions),
    views, triggers and the ``django_migrations`` rows are recreated under the
    same names, so the new schema needs no migration run. The DDL is read from
    the catalog once per process (and again when the template has migrated)
    and sent in one round trip, so creation costs the same however many
    tenants exist. Must run inside a transaction (``tenant_create`` is atomic).
    """
    if not schema_exists(TEMPLATE_SCHEMA):
        raise RuntimeError(
            f"The template schema {TEMPLATE_SCHEMA!r} is missing: run "
            "`python manage.py migrate_schemas` first."
        )
    connection.set_schema_to_public()
    script = template_script()
    sql = ";\n".join(
        [
            f"CREATE SCHEMA {_q(schema_name)}",
            f"SET LOCAL search_path TO {_q(schema_name)}",
            *script.statements,
            'SET LOCAL search_path TO "public"',
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql)


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


def tenant_schemas_existing() -> tuple[list[str], list[str]]:
    """The tenants' schema names, in order: those that exist, and those whose
    schema is missing (for commands that run in every tenant to report)."""
    from django_tenants.utils import get_public_schema_name

    from tenants.models import Tenant

    tenants = list(
        Tenant.objects.exclude(schema_name=get_public_schema_name())
        .order_by("schema_name")
        .values_list("schema_name", flat=True)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)", [tenants]
        )
        existing = {row[0] for row in cursor.fetchall()}
    return (
        [schema for schema in tenants if schema in existing],
        [schema for schema in tenants if schema not in existing],
    )


def search_path_due() -> list[str] | None:
    """The schemas of the ``SET search_path`` django-tenants would send before
    the connection's next statement, or None when the path is already set.

    The caller puts the change into its own statement (``set_config`` or a
    pipelined ``SET``) instead of paying a round trip for it: this marks the
    path as set, so django-tenants sends nothing; a caller whose statement then
    fails calls :func:`search_path_unknown`.
    """
    if connection.connection is None:
        return None
    schemas = connection._get_cursor_search_paths()
    if connection.search_path_set_schemas == schemas:
        return None
    connection.search_path_set_schemas = schemas
    return schemas


def search_path_unknown() -> None:
    """Make django-tenants set the search_path again before the next statement."""
    connection.search_path_set_schemas = None
