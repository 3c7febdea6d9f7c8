"""Browser-UI view tests with Django's test client: signed-in members of the
session tenants ``tenant_a`` / ``tenant_b`` in each role."""

import pytest
from django.test import Client

from tenants.models import Role
from tests.clients import ui_client
from tests.factories import member_make


@pytest.fixture
def admin_a(tenant_a):
    return member_make(tenant_a.tenant, Role.ADMIN)


@pytest.fixture
def editor_a(tenant_a):
    return member_make(tenant_a.tenant, Role.EDITOR)


@pytest.fixture
def viewer_a(tenant_a):
    return member_make(tenant_a.tenant, Role.VIEWER)


@pytest.fixture
def admin_b(tenant_b):
    return member_make(tenant_b.tenant, Role.ADMIN)


@pytest.fixture
def client_a(admin_a) -> Client:
    """Signed in as an admin of tenant_a."""
    return ui_client(admin_a)


@pytest.fixture
def viewer_client_a(viewer_a) -> Client:
    return ui_client(viewer_a)


@pytest.fixture
def client_b(admin_b) -> Client:
    """Signed in as an admin of tenant_b only."""
    return ui_client(admin_b)
