"""Fixtures for /rest/v1: signed-in clients per role and a small catalog."""

from dataclasses import dataclass

import pytest

from gathergrid.models import Field, FieldDataType, Thing
from tenants.models import Role
from tests.clients import Api, api_for


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
