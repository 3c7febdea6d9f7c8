"""The tracking store read through /rest/v1 with the full grammar (read-only)."""

import json
from datetime import timedelta

import pytest
from django.test import Client
from django.utils.dateparse import parse_datetime

from tests.clients import api_for
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


def test_account_usage_and_sessions_through_rest(tenant_a):
    from tests.tracking.test_segment_api import basic, post

    post(
        "/v1/batch",
        {
            "batch": [
                {
                    "type": "page",
                    "userId": "u1",
                    "messageId": "p1",
                    "context": {"groupId": "acme"},
                    "timestamp": "2026-11-02T09:00:00Z",
                },
                {
                    "type": "page",
                    "userId": "u1",
                    "messageId": "p2",
                    "context": {"groupId": "acme"},
                    "timestamp": "2026-11-02T09:10:00Z",
                },
            ]
        },
        headers={"Authorization": basic(tenant_a.api_key)},
    )
    viewer = api_for(tenant_a, "viewer")
    usage = viewer.get(
        "account_usage?select=day,sessions,page_views,active_users,accounts(external_id)"
    )
    assert usage.json() == [
        {
            "day": "2026-11-02",
            "sessions": 1,
            "page_views": 2,
            "active_users": 1,
            "accounts": {"external_id": "acme"},
        }
    ]
    sessions = viewer.get("sessions?select=page_views,users(external_id)")
    assert sessions.json() == [{"page_views": 2, "users": {"external_id": "u1"}}]


CLIENT_TIMES = "name,event_time,original_timestamp,sent_at"


def client_times_sent(tenant) -> None:
    """A Segment track stamped 09:00 and sent 09:00:30 by the client's clock,
    and a Bucket event, which has no such times."""
    post(
        "/v1/batch",
        {
            "sentAt": "2026-11-01T09:00:30Z",
            "batch": [
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Stamped",
                    "messageId": "t1",
                    "timestamp": "2026-11-01T09:00:00Z",
                }
            ],
        },
        headers={"Authorization": basic(tenant.api_key)},
    )
    response = Client().post(
        "/event",
        data=json.dumps({"userId": "u1", "event": "Unstamped"}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {tenant.tracking_key}"},
    )
    assert response.status_code == 200, response.content


def test_events_keep_segments_client_times_beside_event_time(tenant_a):
    client_times_sent(tenant_a)
    viewer = api_for(tenant_a, "viewer")
    stamped = viewer.get(f"events?select={CLIENT_TIMES},received_at&name=eq.Stamped")
    (row,) = stamped.json()
    assert row["original_timestamp"] == "2026-11-01T09:00:00+00:00"
    assert row["sent_at"] == "2026-11-01T09:00:30+00:00"
    # event_time is corrected by the client's delay (30 s) from received_at.
    assert parse_datetime(row["received_at"]) - parse_datetime(
        row["event_time"]
    ) == timedelta(seconds=30)
    unstamped = viewer.get(f"events?select={CLIENT_TIMES}&sent_at=is.null")
    assert [(r["name"], r["original_timestamp"]) for r in unstamped.json()] == [
        ("Unstamped", None)
    ]
    ordered = viewer.get("events?select=name&order=original_timestamp.asc.nullslast")
    assert [r["name"] for r in ordered.json()] == ["Stamped", "Unstamped"]


def test_the_client_times_are_not_readable_by_another_tenant(tenant_a, tenant_b):
    client_times_sent(tenant_a)
    other = api_for(tenant_b, "admin", email="b-admin@example.com")
    own = other.get(f"events?select={CLIENT_TIMES}&sent_at=not.is.null")
    assert own.status_code == 200 and own.json() == []
    other.profile = "tenant_a"  # tenant_b's member naming tenant_a's schema
    refused = other.get(f"events?select={CLIENT_TIMES}")
    assert refused.status_code == 406
    assert "2026-11-01" not in refused.content.decode()
    # tenant_a's own key with tenant_b's member token: refused too.
    other.session.api_key = tenant_a.api_key
    crossed = other.get(f"events?select={CLIENT_TIMES}")
    assert crossed.status_code == 406 and crossed.json()["code"] == "PGRST106"
