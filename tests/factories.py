"""Plain functions that make test data: members of a tenant, and (in a session
tenant's schema) things, fields, entries and classification items.

``created`` is a ``tenants.services.CreatedTenant`` (the ``tenant_a`` /
``tenant_b`` fixtures); the rows are rolled back with the test."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection

from tenants.models import Role, Tenant, User
from tenants.services import CreatedTenant, membership_set, user_ensure

PASSWORD = "correct horse battery staple"


@contextmanager
def in_tenant(created: CreatedTenant) -> Iterator[None]:
    """Run ORM code in ``created``'s schema, then put the connection back on
    ``public``."""
    connection.set_tenant(created.tenant)
    try:
        yield
    finally:
        connection.set_schema_to_public()


def member_make(
    tenant: Tenant, role: str = Role.ADMIN, email: str | None = None
) -> User:
    """A user (password ``PASSWORD``) in ``role`` of ``tenant``; the same email
    again is the same user, with that role."""
    email = email or f"{role}-{tenant.schema_name}@example.com"
    user, _ = user_ensure(email=email, password=PASSWORD)
    membership_set(user=user, tenant=tenant, role=role)
    return user
