"""Fixtures for /rest/v1: signed-in clients per role and a small catalog."""

from dataclasses import dataclass

import pytest

from gathergrid.models import Field, FieldDataType, Thing
from tenants.models import Role
from tests.clients import Api, api_for
from tests.factories import grid_make


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


TASK_FIELDS = [
    {
        "name": "Title",
        "data_type": FieldDataType.TEXT,
        "mandatory": True,
        "required_for_initialization": True,
        "position": 1,
    },
    {
        "name": "Status",
        "data_type": FieldDataType.CHOICE,
        "position": 2,
        "options": {"choices": ["Todo", "Doing", "Done"]},
    },
    {"name": "Due", "data_type": FieldDataType.DATE, "position": 3},
    {"name": "Points", "data_type": FieldDataType.INTEGER, "position": 4},
    {"name": "Done", "data_type": FieldDataType.BOOLEAN, "position": 5},
]


@pytest.fixture
def catalog(tenant_a) -> Catalog:
    """A thing "Task" with typed fields, and "Person" with an email, in
    tenant_a (rolled back after the test)."""
    task = grid_make(tenant_a, name="Task", fields=TASK_FIELDS)
    person = grid_make(
        tenant_a, name="Person", fields=[{"name": "Email", "data_type": "email"}]
    )
    fields = task.fields
    return Catalog(
        task.thing,
        fields["Title"],
        fields["Status"],
        fields["Due"],
        fields["Points"],
        fields["Done"],
        person.thing,
        person.fields["Email"],
    )
