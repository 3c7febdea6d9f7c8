"""Fixtures for /rest/v1: signed-in clients per role and a small catalog."""

import json
from dataclasses import dataclass

import pytest

from gathergrid.models import Field, FieldDataType, Thing
from tenants.models import Role
from tests.conftest import Session, make_member, sign_in


@dataclass
class Api:
    """A PostgREST client over Django's test client, for one tenant."""

    session: Session
    profile: str

    def _headers(self, method: str, prefer: str | None, headers: dict) -> dict:
        base = self.session.headers()
        key = "Accept-Profile" if method in {"GET", "HEAD"} else "Content-Profile"
        base[key] = self.profile
        if prefer:
            base["Prefer"] = prefer
        base.update(headers)
        return base

    def get(self, path: str, *, prefer: str | None = None, **headers):
        return self.session.client.get(
            "/rest/v1/" + path, headers=self._headers("GET", prefer, headers)
        )

    def head(self, path: str, **headers):
        return self.session.client.head(
            "/rest/v1/" + path, headers=self._headers("HEAD", None, headers)
        )

    def _send(self, method, path, body, prefer, headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return self.session.client.generic(
            method,
            "/rest/v1/" + path,
            data=data,
            content_type=headers.pop("content_type", "application/json"),
            headers=self._headers(method, prefer, headers),
        )

    def post(self, path: str, body, *, prefer: str | None = None, **headers):
        return self._send("POST", path, body, prefer, headers)

    def patch(self, path: str, body, *, prefer: str | None = None, **headers):
        return self._send("PATCH", path, body, prefer, headers)

    def delete(self, path: str, *, prefer: str | None = None, **headers):
        return self.session.client.delete(
            "/rest/v1/" + path, headers=self._headers("DELETE", prefer, headers)
        )


def api_for(tenant, role: str, email: str | None = None) -> Api:
    user = make_member(tenant.tenant, role, email=email)
    return Api(session=sign_in(tenant.api_key, user), profile=tenant.tenant.schema_name)


@pytest.fixture
def api(tenant_a) -> Api:
    return api_for(tenant_a, Role.EDITOR)


@pytest.fixture
def viewer_api(tenant_a) -> Api:
    return api_for(tenant_a, Role.VIEWER)


@dataclass
class Catalog:
    thing: Thing
    title: Field
    status: Field
    due: Field
    points: Field
    done: Field
    other_thing: Thing
    other_field: Field


@pytest.fixture
def catalog(tenant_a) -> Catalog:
    """A thing "Task" with typed fields, in tenant_a (rolled back after the test)."""
    with tenant_a.tenant:
        thing = Thing.objects.create(name="Task")
        title = Field.objects.create(
            thing=thing,
            name="Title",
            data_type=FieldDataType.TEXT,
            mandatory=True,
            required_for_initialization=True,
            position=1,
        )
        status = Field.objects.create(
            thing=thing,
            name="Status",
            data_type=FieldDataType.CHOICE,
            position=2,
            options={"choices": ["Todo", "Doing", "Done"]},
        )
        due = Field.objects.create(
            thing=thing, name="Due", data_type=FieldDataType.DATE, position=3
        )
        points = Field.objects.create(
            thing=thing, name="Points", data_type=FieldDataType.INTEGER, position=4
        )
        done = Field.objects.create(
            thing=thing, name="Done", data_type=FieldDataType.BOOLEAN, position=5
        )
        other = Thing.objects.create(name="Person")
        other_field = Field.objects.create(thing=other, name="Email", data_type="email")
    return Catalog(thing, title, status, due, points, done, other, other_field)
