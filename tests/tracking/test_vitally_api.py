"""Vitally's HTTPS Analytics API (POST /analytics/v1/batch) as clients written
against Vitally call it: the reference batch, every message type, every auth
form, retries, limits, bad input, isolation."""

import base64
import copy
import gzip
import json

import pytest
from django.test import Client

from tests.tracking.test_vitally_dialect import REFERENCE_BODY
from tracking.models import (
    Account,
    AccountUser,
    CustomerUser,
    CustomObject,
    CustomObjectInstance,
    Event,
    Organization,
)

pytestmark = pytest.mark.django_db

URL = "/analytics/v1/batch"
REFERENCE = json.loads(REFERENCE_BODY)
AT = "2018-05-15T12:31:12.123Z"


def raw_key(key: str) -> dict[str, str]:
    """Vitally's documented form: ``Basic [YOUR_API_TOKEN]``."""
    return {"Authorization": f"Basic {key}"}


def basic(key: str, colon: bool = True) -> dict[str, str]:
    encoded = base64.b64encode((key + (":" if colon else "")).encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def post(body, *, headers=None, raw: bytes | str | None = None, **extra):
    return Client().post(
        URL,
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        headers=headers or {},
        **extra,
    )


def counts(tenant) -> dict[str, int]:
    with tenant:
        return {
            "organizations": Organization.objects.count(),
            "accounts": Account.objects.count(),
            "users": CustomerUser.objects.count(),
            "links": AccountUser.objects.count(),
            "events": Event.objects.count(),
            "instances": CustomObjectInstance.objects.count(),
        }


NOTHING = {
    "organizations": 0,
    "accounts": 0,
    "users": 0,
    "links": 0,
    "events": 0,
    "instances": 0,
}
REFERENCE_COUNTS = {
    "organizations": 1,
    "accounts": 1,
    "users": 1,
    "links": 1,
    "events": 1,
    "instances": 1,
}


def test_reference_example_sent_as_written_lands(tenant_a):
    response = post(None, raw=REFERENCE_BODY, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 200, response.content
    assert response.json() == {"message": "Success."}
    with tenant_a.tenant:
        organization = Organization.objects.get(external_id="abcdefg")
        assert organization.name == "World Cup"
        assert organization.traits == {"name": "World Cup", "sport": "futbol"}
        account = Account.objects.get(external_id="123456")
        assert account.name == "Argentina" and account.traits["group"] == "D"
        assert account.organization_id == organization.id
        user = CustomerUser.objects.get(external_id="32")
        assert user.name == "Lionel Messi" and user.email == "messi@barcelona.sp"
        assert user.traits["number"] == 10
        assert list(user.accounts.all()) == [account]
        event = Event.objects.get()
        assert event.name == "scored-goal" and event.source == "vitally"
        assert event.properties == {"minute": 14, "opponentId": 421243, "matchId": 9}
        assert event.user_id == user.id
        assert event.event_time.isoformat() == "2018-05-15T12:31:12.123000+00:00"
        assert event.message_id == "track:7ac1c682-a54b-4d0d-9f56-d6d3618f4915"
        instance = CustomObjectInstance.objects.get()
        assert instance.external_id == "coi-789xyz"
        assert instance.name == "Q1 Renewal - Argentina"
        assert instance.custom_object.external_id == (
            "2a3a47e7-459e-440e-b9d3-9fc1b11f233e"
        )
        assert instance.account_id == account.id
        assert instance.traits["vitally.custom.dealValue"] == 50000
    assert counts(tenant_a.tenant) == REFERENCE_COUNTS


def test_retried_batch_creates_no_duplicates(tenant_a):
    for _ in range(3):
        response = post(REFERENCE, headers=raw_key(tenant_a.api_key))
        assert response.status_code == 200
    assert counts(tenant_a.tenant) == REFERENCE_COUNTS


@pytest.mark.parametrize(
    "auth", ["raw", "raw-tracking-key", "basic", "basic-no-colon", "lowercase"]
)
def test_every_credential_form(tenant_a, auth):
    headers = {
        "raw": raw_key(tenant_a.api_key),
        "raw-tracking-key": raw_key(tenant_a.tracking_key),
        "basic": basic(tenant_a.api_key),
        "basic-no-colon": basic(tenant_a.api_key, colon=False),
        "lowercase": {"Authorization": f"basic {tenant_a.api_key}"},
    }[auth]
    assert post(REFERENCE, headers=headers).status_code == 200
    assert counts(tenant_a.tenant) == REFERENCE_COUNTS


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "missing_api_key"),
        ({"Authorization": "Basic"}, "missing_api_key"),
        ({"Authorization": "Bearer gg_sk_whatever"}, "missing_api_key"),
        (raw_key("gg_sk_" + "x" * 40), "invalid_api_key"),
        (basic("gg_sk_" + "x" * 40), "invalid_api_key"),
    ],
)
def test_missing_or_wrong_key_is_401(tenant_a, headers, code):
    response = post(REFERENCE, headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code and response.json()["message"]
    assert response["WWW-Authenticate"].startswith("Basic")
    assert counts(tenant_a.tenant) == NOTHING


def test_revoked_key_is_refused(tenant_a):
    from tenants.services import key_issue, key_revoke

    key, secret = key_issue(tenant=tenant_a.tenant, kind="tracking")
    key_revoke(prefix=key.prefix)
    assert post(REFERENCE, headers=raw_key(secret)).status_code == 401


def test_another_tenants_key_writes_only_there(tenant_a, tenant_b):
    assert post(REFERENCE, headers=raw_key(tenant_b.api_key)).status_code == 200
    assert counts(tenant_a.tenant) == NOTHING
    assert counts(tenant_b.tenant) == REFERENCE_COUNTS


def test_gzip_body(tenant_a):
    response = post(
        None,
        raw=gzip.compress(REFERENCE_BODY.encode()),
        headers={**raw_key(tenant_a.api_key), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.content
    assert counts(tenant_a.tenant) == REFERENCE_COUNTS


def test_every_message_type_with_numeric_ids(tenant_a):
    body = [
        {"type": "organization", "organizationId": 1, "messageId": 1, "timestamp": AT},
        {
            "type": "account",
            "accountId": 10,
            "organizationId": 1,
            "traits": {"name": "Ten"},
            "messageId": 1,
        },
        {
            "type": "user",
            "userId": 100,
            "accountId": 10,
            "traits": {"email": "a@b.co"},
            "messageId": 1,
        },
        {"type": "user", "userId": 101, "organizationId": 1, "messageId": 2},
        {
            "type": "track",
            "userId": 100,
            "accountId": 10,
            "event": "Clicked",
            "properties": {},
            "messageId": 1,
        },
        {"type": "track", "accountId": 10, "event": "Paid", "messageId": 2},
        {
            "type": "customobjectinstance",
            "customObjectId": 5,
            "externalId": 50,
            "accountId": 10,
            "messageId": 1,
        },
        {"type": "unlink", "userId": 101, "accountId": 10, "messageId": 1},
    ]
    response = post(body, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 200, response.content
    with tenant_a.tenant:
        organization = Organization.objects.get(external_id="1")
        account = Account.objects.get(external_id="10")
        assert account.organization == organization and account.name == "Ten"
        user = CustomerUser.objects.get(external_id="100")
        assert user.email == "a@b.co"
        assert list(user.accounts.all()) == [account]
        assert CustomerUser.objects.filter(external_id="101").exists()
        assert AccountUser.objects.count() == 1
        events = {e.name: e for e in Event.objects.all()}
        assert events["Clicked"].user_id == user.id
        assert events["Clicked"].account_id == account.id
        assert events["Paid"].user_id is None
        assert events["Paid"].account_id == account.id
        assert CustomObject.objects.get().external_id == "5"
        instance = CustomObjectInstance.objects.get()
        assert (instance.external_id, instance.account_id) == ("50", account.id)


def test_unlink_removes_the_user_from_the_account(tenant_a):
    headers = raw_key(tenant_a.api_key)
    link = {"type": "user", "userId": "u", "accountIds": ["a", "b"], "timestamp": AT}
    assert post([link], headers=headers).status_code == 200
    with tenant_a.tenant:
        user = CustomerUser.objects.get(external_id="u")
        assert sorted(a.external_id for a in user.accounts.all()) == ["a", "b"]
    unlink = {"type": "unlink", "userId": "u", "accountId": "a", "messageId": "x"}
    assert post([unlink], headers=headers).status_code == 200
    with tenant_a.tenant:
        assert [a.external_id for a in user.accounts.all()] == ["b"]


def test_user_and_account_messages_do_not_move_last_seen_but_track_does(tenant_a):
    headers = raw_key(tenant_a.api_key)
    user = {"type": "user", "userId": "u", "accountId": "a", "messageId": "1"}
    post([user], headers=headers)
    with tenant_a.tenant:
        assert CustomerUser.objects.get().last_seen_at is None
        assert Account.objects.get().last_seen_at is None
    track = {"type": "track", "userId": "u", "accountId": "a", "event": "e"}
    post([{**track, "timestamp": AT}], headers=headers)
    with tenant_a.tenant:
        assert (
            CustomerUser.objects.get()
            .last_seen_at.isoformat()
            .startswith("2018-05-15T12:31:12")
        )
        assert Account.objects.get().last_seen_at is not None


def test_messages_with_only_a_timestamp_are_each_stored(tenant_a):
    # Only a messageId dedupes: the same track at one timestamp, sent twice
    # (or twice in a batch), is stored each time.
    headers = raw_key(tenant_a.api_key)
    track = {"type": "track", "userId": "u", "event": "e", "timestamp": AT}
    for _ in range(2):
        assert post([track], headers=headers).status_code == 200
    assert post([track, track], headers=headers).status_code == 200
    with tenant_a.tenant:
        assert Event.objects.count() == 4
        assert len(set(Event.objects.values_list("message_id", flat=True))) == 4


def test_same_message_id_and_type_is_one_message(tenant_a):
    track = {"type": "track", "userId": "u", "event": "e", "messageId": "m"}
    response = post([track, {**track, "event": "f"}], headers=raw_key(tenant_a.api_key))
    assert response.status_code == 200
    with tenant_a.tenant:
        assert Event.objects.get().name == "e"


def test_more_than_100_messages_is_400_and_writes_nothing(tenant_a):
    body = [
        {"type": "track", "userId": "u", "event": "e", "messageId": f"m{i}"}
        for i in range(101)
    ]
    response = post(body, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "at most 100" in response.json()["message"]
    assert counts(tenant_a.tenant) == NOTHING
    assert post(body[:100], headers=raw_key(tenant_a.api_key)).status_code == 200
    assert counts(tenant_a.tenant)["events"] == 100


def test_bad_messages_are_400_naming_every_path_and_write_nothing(tenant_a):
    body = copy.deepcopy(REFERENCE)
    body[2]["userId"] = True
    del body[3]["event"]
    body[4]["type"] = "deal"
    body.append({"type": "unlink", "userId": "32"})
    response = post(body, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 400
    payload = response.json()
    assert payload["code"] == "invalid_request" and payload["message"]
    assert [d["path"] for d in payload["details"]] == [
        "[2].userId",
        "[3].event",
        "[4].type",
        "[5].messageId",
        "[5].accountId",
    ]
    assert all(d["message"] for d in payload["details"])
    assert counts(tenant_a.tenant) == NOTHING


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b"[{nope", "invalid_json"),
        (b'{"batch": []}', "invalid_request"),
        (b'"text"', "invalid_request"),
    ],
)
def test_bad_bodies_are_400_with_code_and_message(tenant_a, raw, code):
    response = post(None, raw=raw, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]


def test_an_empty_batch_succeeds(tenant_a):
    response = post([], headers=raw_key(tenant_a.api_key))
    assert response.status_code == 200
    assert response.json() == {"message": "Success."}


def test_wrong_method_is_json(tenant_a):
    response = Client().get(URL, headers=raw_key(tenant_a.api_key))
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
