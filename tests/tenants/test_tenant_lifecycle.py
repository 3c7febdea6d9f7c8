"""Tenant creation by cloning the template, schema-name rules, migrations."""

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from core.errors import ApplicationError
from tenants.models import Tenant, TenantKey, is_valid_schema_name
from tenants.schemas import TEMPLATE_SCHEMA, schemas_with_pending_migrations
from tenants.services import tenant_create


def tables_of(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("name", ["acme", "a", "team_42", "x" * 63, "a1_b2"])
def test_valid_schema_names(name):
    assert is_valid_schema_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "",
        "public",
        "pg_temp",
        "pg_catalog",
        "tenant_template",
        "information_schema",
        "Acme",
        "1abc",
        "_abc",
        "a-b",
        "a b",
        'a"b',
        "a;b",
        "x" * 64,
        "ünïcode",
        "abc\n",
    ],
)
def test_invalid_schema_names(name):
    assert not is_valid_schema_name(name)


@given(st.text(max_size=80))
def test_every_accepted_name_is_a_safe_bare_identifier(name):
    if is_valid_schema_name(name):
        assert name == name.lower()
        assert len(name) <= 63
        assert all(c.isascii() and (c.isalnum() or c == "_") for c in name)
        assert not name.startswith("pg_") and name != "public"


@pytest.mark.django_db
def test_tenant_create_clones_the_template_with_tables_and_migration_state():
    created = tenant_create(schema_name="fresh_one", name="Fresh")
    assert tables_of("fresh_one") == tables_of(TEMPLATE_SCHEMA)
    assert {"things", "fields", "entries", "field_entries", "django_migrations"} <= (
        tables_of("fresh_one")
    )
    assert schemas_with_pending_migrations(["fresh_one"]) == []
    assert created.api_key.startswith("gg_sk_")
    assert created.tracking_key.startswith("gg_pk_")
    assert TenantKey.objects.filter(tenant=created.tenant).count() == 2


@pytest.mark.django_db
def test_cloned_schema_has_working_sequences_and_constraints():
    tenant_create(schema_name="seq_check", name="Seq")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO seq_check.things (name, description, active, created_at, "
            "updated_at) VALUES ('x', '', true, now(), now()) RETURNING id"
        )
        assert cursor.fetchone()[0] == 1
        with pytest.raises(Exception, match="things_name_unique_active"):
            cursor.execute(
                "INSERT INTO seq_check.things (name, description, active, created_at, "
                "updated_at) VALUES ('x', '', true, now(), now())"
            )


@pytest.mark.django_db
@pytest.mark.parametrize("bad", ["public", "Bad-Name", "pg_x", "tenant_template", ""])
def test_invalid_tenant_id_is_rejected_and_nothing_is_created(bad):
    before = Tenant.objects.count()
    with pytest.raises(ApplicationError):
        tenant_create(schema_name=bad, name="Bad")
    assert Tenant.objects.count() == before


@pytest.mark.django_db
def test_duplicate_tenant_is_rejected(tenant_a):
    with pytest.raises(ApplicationError, match="already exists"):
        tenant_create(schema_name="tenant_a", name="Again")


@pytest.mark.django_db
def test_no_foreign_key_leaves_a_tenant_schema(tenant_a):
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.conname, tn.nspname AS target
            FROM pg_constraint c
            JOIN pg_class src ON src.oid = c.conrelid
            JOIN pg_namespace sn ON sn.oid = src.relnamespace
            JOIN pg_class tgt ON tgt.oid = c.confrelid
            JOIN pg_namespace tn ON tn.oid = tgt.relnamespace
            WHERE c.contype = 'f' AND sn.nspname = ANY(%s) AND tn.nspname <> sn.nspname
            """,
            [[TEMPLATE_SCHEMA, "tenant_a"]],
        )
        assert cursor.fetchall() == []


@pytest.mark.django_db
def test_schemas_missing_a_migration_are_pending_and_others_are_skipped(
    tenant_a, tenant_b
):
    assert schemas_with_pending_migrations(["tenant_a", "tenant_b"]) == []
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM tenant_b.django_migrations WHERE app = 'gathergrid'"
        )
        cursor.execute('CREATE SCHEMA "bare_schema"')
    pending = schemas_with_pending_migrations(["tenant_a", "tenant_b", "bare_schema"])
    assert pending == ["tenant_b", "bare_schema"]


def schema_signature(schema: str) -> dict[str, list]:
    """Everything structural about a schema, with the schema's name left out."""
    queries = {
        "columns": """
            SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod),
                   a.attnotnull, a.attidentity, a.attgenerated,
                   pg_get_expr(d.adbin, d.adrelid)
            FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
            LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
            WHERE c.relnamespace = %(ns)s::regnamespace AND a.attnum > 0
              AND NOT a.attisdropped AND c.relkind IN ('r', 'p')
        """,
        "constraints": """
            SELECT cl.relname, con.conname, con.contype,
                   replace(pg_get_constraintdef(con.oid), %(ns)s || '.', '')
            FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid
            WHERE cl.relnamespace = %(ns)s::regnamespace
        """,
        "indexes": """
            SELECT ic.relname, replace(pg_get_indexdef(i.indexrelid), %(ns)s || '.', '')
            FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
            WHERE ic.relnamespace = %(ns)s::regnamespace
        """,
        "migrations": "SELECT app, name FROM {schema}.django_migrations",
    }
    signature = {}
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL search_path TO public")
        for key, sql in queries.items():
            cursor.execute(sql.format(schema=f'"{schema}"'), {"ns": schema})
            signature[key] = sorted(map(tuple, cursor.fetchall()))
    return signature


@pytest.mark.django_db
def test_clone_is_structurally_identical_to_the_template():
    tenant_create(schema_name="twin", name="Twin")
    template = schema_signature(TEMPLATE_SCHEMA)
    twin = schema_signature("twin")
    assert template["columns"] and template["constraints"] and template["indexes"]
    for key in template:
        assert twin[key] == template[key], key
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_constraint con JOIN pg_class cl "
            "ON cl.oid = con.conrelid WHERE cl.relnamespace = 'twin'::regnamespace "
            "AND pg_get_constraintdef(con.oid) LIKE %s",
            [f"%{TEMPLATE_SCHEMA}%"],
        )
        assert cursor.fetchone()[0] == 0  # its foreign keys point at its own tables


@pytest.mark.django_db
def test_a_failed_clone_leaves_no_schema_and_no_row():
    tenant_create(schema_name="first_one", name="First")
    with connection.cursor() as cursor:
        # A schema of that name already exists (outside our control).
        cursor.execute('CREATE SCHEMA "taken_name"')
    with pytest.raises(ApplicationError):
        tenant_create(schema_name="taken_name", name="Taken")
    assert not Tenant.objects.filter(schema_name="taken_name").exists()


@pytest.mark.django_db
def test_migrate_schemas_skips_a_tenant_whose_schema_is_gone():
    from io import StringIO

    from django.core.management import call_command

    Tenant.objects.create(schema_name="lost_schema", name="Lost")
    err = StringIO()
    call_command("migrate_schemas", interactive=False, verbosity=0, stderr=err)
    assert "lost_schema" in err.getvalue()
    assert schemas_with_pending_migrations([TEMPLATE_SCHEMA]) == []
