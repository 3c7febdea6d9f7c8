"""/t/<tenant>/... in the browser: members only; everyone else sees a 404."""

import pytest
from django.test import Client

from tenants.models import Role
from tenants.services import membership_remove
from tests.clients import ui_client
from tests.factories import member_make

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.probe_urls")]


def test_member_gets_their_tenant_and_role(tenant_a):
    user = member_make(tenant_a.tenant, Role.VIEWER)
    response = ui_client(user).get("/t/tenant_a/_probe")
    assert response.status_code == 200
    assert response.json() == {"schema": "tenant_a", "role": "viewer", "things": []}


@pytest.mark.parametrize("schema", ["tenant_b", "no_such", "public", "Bad-Name"])
def test_other_or_unknown_tenant_is_404(tenant_a, tenant_b, schema):
    user = member_make(tenant_a.tenant)
    response = ui_client(user).get(f"/t/{schema}/_probe")
    assert response.status_code == 404


def test_anonymous_is_sent_to_sign_in(tenant_a):
    response = Client().get("/t/tenant_a/_probe")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=/t/tenant_a/_probe")


def test_removed_member_gets_404_at_once(tenant_a):
    user = member_make(tenant_a.tenant)
    client = ui_client(user)
    assert client.get("/t/tenant_a/_probe").status_code == 200
    membership_remove(user=user, tenant=tenant_a.tenant)
    assert client.get("/t/tenant_a/_probe").status_code == 404
