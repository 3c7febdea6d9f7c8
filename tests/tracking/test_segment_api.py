"""Segment's HTTP Tracking API (/v1/*) as Dreamdata, RudderStack and Segment
SDKs call it: every auth form, gzip, limits, retries, bad input, isolation."""

import base64
import copy
import gzip
import json

import pytest
from django.test import Client

from tests.tracking.test_segment_dialect import REFERENCE_EXAMPLE
from tracking.models import Account, AccountUser, CustomerUser, Event

pytestmark = pytest.mark.django_db

# The reference's own example, as written (one copy, in the adapter's tests).
REFERENCE_BATCH = REFERENCE_EXAMPLE


def basic(key: str, colon: bool = True) -> str:
    return "Basic " + base64.b64encode((key + (":" if colon else "")).encode()).decode()


def post(path: str, body, *, headers=None, raw: bytes | None = None, **extra):
    return Client().post(
        path,
        data=raw if raw is not None else json.dumps(body),
        content_type="application/json",
        headers=headers or {},
        **extra,
    )


def counts(tenant) -> tuple[int, int]:
    with tenant:
        return CustomerUser.objects.count(), Event.objects.count()


def test_reference_example_lands_with_basic_auth(tenant_a):
    response = post(
        "/v1/batch", REFERENCE_BATCH, headers={"Authorization": basic(tenant_a.api_key)}
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    with tenant_a.tenant:
        user = CustomerUser.objects.get(external_id="019mr8mf4r")
        assert user.email == "jake@yahoo.com" and user.name == "Jake Peterson"
        event = Event.objects.get()
        assert event.name == "Song Played"
        assert event.properties["artist"] == "Dierks Bentley"
        assert event.user_id == user.id


@pytest.mark.parametrize(
    "auth",
    ["basic", "basic-no-colon", "bearer", "write-key", "tracking-key"],
)
def test_every_credential_form(tenant_a, auth):
    body = copy.deepcopy(REFERENCE_BATCH)
    headers = {}
    if auth == "basic":
        headers["Authorization"] = basic(tenant_a.api_key)
    elif auth == "basic-no-colon":
        headers["Authorization"] = basic(tenant_a.api_key, colon=False)
    elif auth == "bearer":
        headers["Authorization"] = f"Bearer {tenant_a.api_key}"
    elif auth == "write-key":
        body["writeKey"] = tenant_a.api_key
    else:
        headers["Authorization"] = basic(tenant_a.tracking_key)
    assert post("/v1/batch", body, headers=headers).status_code == 200
    assert counts(tenant_a.tenant) == (1, 1)


def test_gzip_body(tenant_a):
    raw = gzip.compress(json.dumps(REFERENCE_BATCH).encode())
    response = post(
        "/v1/batch",
        None,
        raw=raw,
        headers={"Authorization": basic(tenant_a.api_key), "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert counts(tenant_a.tenant) == (1, 1)


def test_retried_batch_creates_no_duplicates(tenant_a):
    headers = {"Authorization": basic(tenant_a.api_key)}
    for _ in range(3):
        assert post("/v1/batch", REFERENCE_BATCH, headers=headers).status_code == 200
    assert counts(tenant_a.tenant) == (1, 1)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        ({}, 401, "missing_write_key"),
        ({"Authorization": basic("gg_sk_" + "x" * 40)}, 401, "invalid_write_key"),
    ],
)
def test_missing_or_wrong_key(tenant_a, headers, status, code):
    response = post("/v1/batch", REFERENCE_BATCH, headers=headers)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["message"]


def test_revoked_key_is_refused(tenant_a):
    from tenants.services import key_issue, key_revoke

    key, raw_key = key_issue(tenant=tenant_a.tenant, kind="tracking")
    key_revoke(prefix=key.prefix)
    response = post(
        "/v1/batch", REFERENCE_BATCH, headers={"Authorization": basic(raw_key)}
    )
    assert response.status_code == 401


def test_a_key_revoked_after_use_is_refused_once_the_key_cache_expires(
    tenant_a, monkeypatch
):
    from tenants.services import key_issue, key_revoke
    from tracking import capture

    key, raw_key = key_issue(tenant=tenant_a.tenant, kind="tracking")
    headers = {"Authorization": basic(raw_key)}
    assert post("/v1/batch", REFERENCE_BATCH, headers=headers).status_code == 200
    key_revoke(prefix=key.prefix)
    later = capture._clock() + capture.KEY_CACHE_SECONDS
    monkeypatch.setattr(capture, "_clock", lambda: later)
    assert post("/v1/batch", REFERENCE_BATCH, headers=headers).status_code == 401


def test_integers_beyond_64_bits_are_stored_exactly(tenant_a):
    body = copy.deepcopy(REFERENCE_BATCH)
    body["batch"] = [
        {
            "type": "track",
            "userId": "u1",
            "event": "Big",
            "properties": {"n": 123456789012345678901234567890},
        }
    ]
    headers = {"Authorization": basic(tenant_a.api_key)}
    assert post("/v1/batch", body, headers=headers).status_code == 200
    with tenant_a.tenant:
        assert Event.objects.get().properties["n"] == 123456789012345678901234567890


def test_another_tenants_key_writes_only_there(tenant_a, tenant_b):
    post(
        "/v1/batch", REFERENCE_BATCH, headers={"Authorization": basic(tenant_b.api_key)}
    )
    assert counts(tenant_a.tenant) == (0, 0)
    assert counts(tenant_b.tenant) == (1, 1)


def test_bad_json_is_400_with_code_and_message(tenant_a):
    response = post(
        "/v1/batch",
        None,
        raw=b"{nope",
        headers={"Authorization": basic(tenant_a.api_key)},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"
    assert "message" in response.json()


def test_oversized_batch_is_413_and_writes_nothing(tenant_a):
    body = copy.deepcopy(REFERENCE_BATCH)
    filler = {
        "type": "track",
        "userId": "u",
        "event": "x",
        "properties": {"blob": "y" * 20_000},
    }
    body["batch"] += [dict(filler, messageId=f"m{i}") for i in range(30)]
    response = post(
        "/v1/batch", body, headers={"Authorization": basic(tenant_a.api_key)}
    )
    assert response.status_code == 413
    assert "500 KB" in response.json()["message"]
    assert counts(tenant_a.tenant) == (0, 0)


def test_one_bad_message_rejects_the_batch_naming_it(tenant_a):
    body = copy.deepcopy(REFERENCE_BATCH)
    body["batch"][1]["userId"] = None
    body["batch"][1].pop("anonymousId", None)
    response = post(
        "/v1/batch", body, headers={"Authorization": basic(tenant_a.api_key)}
    )
    assert response.status_code == 400
    paths = [d["path"] for d in response.json()["details"]]
    assert any(p.startswith("batch[1]") for p in paths)
    assert counts(tenant_a.tenant) == (0, 0)


def test_null_user_id_with_anonymous_id_is_accepted(tenant_a):
    body = {
        "batch": [
            {
                "type": "track",
                "userId": None,
                "anonymousId": "anon-1",
                "event": "Viewed",
                "messageId": "x1",
            }
        ]
    }
    response = post(
        "/v1/batch", body, headers={"Authorization": basic(tenant_a.api_key)}
    )
    assert response.status_code == 200, response.content
    with tenant_a.tenant:
        assert Event.objects.get().anonymous_id == "anon-1"


@pytest.mark.parametrize(
    ("kind", "body"),
    [
        ("identify", {"userId": "u1", "traits": {"email": "a@b.co"}}),
        ("track", {"userId": "u1", "event": "Clicked"}),
        ("page", {"userId": "u1", "name": "Home", "properties": {"url": "https://x"}}),
        ("screen", {"userId": "u1", "name": "Home"}),
        ("group", {"userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}}),
        ("alias", {"userId": "u1", "previousId": "anon"}),
    ],
)
def test_single_message_endpoints(tenant_a, kind, body):
    response = post(
        f"/v1/{kind}",
        {**body, "messageId": f"single-{kind}"},
        headers={"Authorization": basic(tenant_a.api_key)},
    )
    assert response.status_code == 200, response.content


def test_group_links_the_user_to_the_account(tenant_a):
    post(
        "/v1/group",
        {"userId": "u1", "groupId": "acme", "traits": {"name": "Acme"}},
        headers={"Authorization": basic(tenant_a.api_key)},
    )
    with tenant_a.tenant:
        assert Account.objects.get(external_id="acme").name == "Acme"
        assert AccountUser.objects.filter(user__external_id="u1").exists()


def test_wrong_method_and_unknown_path_are_json(tenant_a):
    assert Client().get("/v1/batch")["Content-Type"] == "application/json"
    response = post("/v1/nope", {}, headers={"Authorization": basic(tenant_a.api_key)})
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
