"""The tracking store read through /rest/v1 with the full grammar (read-only)."""

import pytest

from tests.rest.conftest import api_for
from tests.tracking.test_segment_api import REFERENCE_BATCH, basic, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def tracked(tenant_a):
    post(
        "/v1/batch", REFERENCE_BATCH, headers={"Authorization": basic(tenant_a.api_key)}
    )
    post(
        "/v1/group",
        {
            "userId": "019mr8mf4r",
            "groupId": "acme",
            "traits": {"name": "Acme"},
            "messageId": "g1",
        },
        headers={"Authorization": basic(tenant_a.api_key)},
    )
    return api_for(tenant_a, "viewer")


def test_accounts_with_their_users_through_the_link_table(tracked):
    response = tracked.get("accounts?select=name,account_users(users(email))")
    assert response.status_code == 200, response.content
    assert response.json() == [
        {"name": "Acme", "account_users": [{"users": {"email": "jake@yahoo.com"}}]}
    ]


def test_events_filtered_ordered_and_embedded(tracked):
    response = tracked.get(
        "events?select=name,properties->>artist,users(external_id)"
        "&name=eq.Song Played&order=event_time.desc",
        prefer="count=exact",
    )
    assert response.json() == [
        {
            "name": "Song Played",
            "artist": "Dierks Bentley",
            "users": {"external_id": "019mr8mf4r"},
        }
    ]
    assert response["Content-Range"] == "0-0/1"


def test_users_filtered_by_trait(tracked):
    response = tracked.get("users?traits->>age=eq.26&select=external_id")
    assert response.json() == [{"external_id": "019mr8mf4r"}]


def test_tracking_tables_are_read_only_through_rest(tenant_a):
    editor = api_for(tenant_a, "editor")
    response = editor.post("accounts", {"external_id": "x"})
    assert response.status_code == 405
    assert response.json()["code"] == "25006"


def test_tracking_reads_are_isolated(tracked, tenant_b):
    other = api_for(tenant_b, "admin", email="b-admin@example.com")
    assert other.get("events").json() == []
    other.profile = "tenant_a"
    assert other.get("events").status_code == 406
