"""Shared fixtures: two tenants created once per session (cloned, committed),
and the real service for the slow tests. Test data is made with
tests/factories.py, clients with tests/clients.py."""

import pytest
from django.test import Client

from tenants.models import User
from tenants.services import CreatedTenant, tenant_create
from tests.clients import ui_client
from tests.factories import PASSWORD


@pytest.fixture(scope="session")
def tenants_ab(
    django_db_setup, django_db_blocker
) -> tuple[CreatedTenant, CreatedTenant]:
    """Tenants ``tenant_a`` and ``tenant_b``, created once for the whole session."""
    with django_db_blocker.unblock():
        a = tenant_create(schema_name="tenant_a", name="Tenant A")
        b = tenant_create(schema_name="tenant_b", name="Tenant B")
    return a, b


@pytest.fixture
def tenant_a(tenants_ab, db) -> CreatedTenant:
    return tenants_ab[0]


@pytest.fixture
def tenant_b(tenants_ab, db) -> CreatedTenant:
    return tenants_ab[1]


@pytest.fixture
def superuser(db) -> User:
    return User.objects.create_superuser("root@example.com", PASSWORD)


@pytest.fixture
def root(superuser) -> Client:
    """Signed in as a superuser (the admin site's tests)."""
    return ui_client(superuser)


@pytest.fixture(scope="session")
def served(tmp_path_factory):
    """The real service on a fresh embedded PostgreSQL, for the whole session."""
    from tests.live import Served, free_port

    service = Served(tmp_path_factory.mktemp("served") / "data", free_port())
    try:
        service.wait_healthy()
        yield service
        service.ctrl_c()
    finally:
        service.kill()
