"""Shared fixtures: two tenants created once per session (cloned, committed),
members and signed-in clients per test (rolled back with the test)."""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test import Client

from tenants.models import Role, Tenant, User
from tenants.services import CreatedTenant, membership_set, tenant_create, user_ensure

PASSWORD = "correct horse battery staple"


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


@contextmanager
def in_tenant(created: CreatedTenant) -> Iterator[None]:
    """Run ORM code in ``created``'s schema (``tenant_a``/``tenant_b``), then
    put the connection back on ``public``."""
    connection.set_tenant(created.tenant)
    try:
        yield
    finally:
        connection.set_schema_to_public()


def make_member(
    tenant: Tenant, role: str = Role.ADMIN, email: str | None = None
) -> User:
    email = email or f"{role}-{tenant.schema_name}@example.com"
    user, _ = user_ensure(email=email, password=PASSWORD)
    membership_set(user=user, tenant=tenant, role=role)
    return user


@dataclass
class Session:
    """A signed-in API client: its key, tokens and a Django test client."""

    client: Client
    api_key: str
    access_token: str
    refresh_token: str
    body: dict

    def headers(self, **extra: str) -> dict[str, str]:
        headers = {
            "apikey": self.api_key,
            "Authorization": f"Bearer {self.access_token}",
        }
        headers.update(extra)
        return headers

    def get(self, path: str, **headers: str):
        return self.client.get(path, headers=self.headers(**headers))

    def post(self, path: str, data: dict | None = None, **headers: str):
        return self.client.post(
            path,
            data=json.dumps(data or {}),
            content_type="application/json",
            headers=self.headers(**headers),
        )


def password_login(client: Client, api_key: str, email: str, password: str = PASSWORD):
    return client.post(
        "/auth/v1/token?grant_type=password",
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        headers={"apikey": api_key},
    )


def sign_in(api_key: str, user: User, password: str = PASSWORD) -> Session:
    client = Client()
    response = password_login(client, api_key, user.email, password)
    assert response.status_code == 200, response.content
    body = response.json()
    return Session(
        client=client,
        api_key=api_key,
        access_token=body["access_token"],
        refresh_token=body["refresh_token"],
        body=body,
    )


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
