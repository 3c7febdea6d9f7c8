"""Bucket's Tracking HTTP API (/{key}/user|company|event|feedback, and the
Bearer-keyed paths of Bucket's newer SDKs): the reference's examples, the
official JS SDKs' exact requests, bad input, keys, retries, isolation."""

import contextlib
import gzip
import json
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.test import Client
from django.urls import Resolver404, resolve

from tests.tracking.test_bucket_dialect import (
    REFERENCE_COMPANY,
    REFERENCE_EVENT,
    REFERENCE_FEEDBACK,
    REFERENCE_USER,
)
from tracking import capture
from tracking.models import (
    Account,
    AccountUser,
    CustomerUser,
    Event,
    Feedback,
    MessageReceipt,
)

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)


def post(path: str, body=None, *, raw: bytes | str | None = None, headers=None, **kw):
    content_type = kw.pop("content_type", "application/json")
    return Client().post(
        path,
        data=raw if raw is not None else json.dumps(body),
        content_type=content_type,
        headers=headers or {},
        **kw,
    )


def rows(tenant) -> dict[str, int]:
    with tenant:
        return {
            "users": CustomerUser.objects.count(),
            "accounts": Account.objects.count(),
            "links": AccountUser.objects.count(),
            "events": Event.objects.count(),
            "feedback": Feedback.objects.count(),
        }


EVENT_AND_ATTRIBUTES = {"event", "attributes"}
NOTHING = {"users": 0, "accounts": 0, "links": 0, "events": 0, "feedback": 0}


def at_now():
    """Freeze the received time (one minute for every call)."""
    return mock.patch.object(capture.timezone, "now", return_value=NOW)


# -- the reference's examples, sent as written ------------------------------------


def test_reference_user_example_lands(tenant_a):
    response = post(f"/{tenant_a.tracking_key}/user", raw=REFERENCE_USER)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    with tenant_a.tenant:
        user = CustomerUser.objects.get()
        assert user.external_id == "1234567890"
        assert user.name == "Rasmus Makwarth"
        assert user.traits == {
            "name": "Rasmus Makwarth",
            "custom_property": True,
            "some_number": 12,
        }
        assert user.last_seen_at is not None


def test_reference_company_example_lands_and_links_the_user(tenant_a):
    response = post(f"/{tenant_a.tracking_key}/company", raw=REFERENCE_COMPANY)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    with tenant_a.tenant:
        account = Account.objects.get()
        assert account.external_id == "101112231415"
        assert account.name == "Acme Corp"
        assert account.traits == {
            "name": "Acme Corp",
            "monthly_spend": 99,
            "activated": True,
        }
        link = AccountUser.objects.get()
        assert link.account_id == account.id
        assert link.user.external_id == "1234567890"


def test_reference_event_example_lands(tenant_a):
    response = post(f"/{tenant_a.tracking_key}/event", raw=REFERENCE_EVENT)
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    with tenant_a.tenant:
        event = Event.objects.get()
        assert event.name == "Sent message"
        assert event.properties == {"position": "popover", "version": 3}
        assert event.source == "bucket"
        assert event.message_id  # made here: Bucket sends none
        assert event.user_id == CustomerUser.objects.get(external_id="1234567890").id
        assert event.account_id == Account.objects.get(external_id="my_company_id").id


def test_reference_feedback_example_lands(tenant_a):
    response = post(f"/{tenant_a.tracking_key}/feedback", raw=REFERENCE_FEEDBACK)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert answer["success"] is True
    with tenant_a.tenant:
        feedback = Feedback.objects.get()
        assert answer["feedbackId"] == feedback.message_id
        assert feedback.feature_id == "my_feature_id"
        assert feedback.score == 4
        assert feedback.comment == (
            "It's pretty nice, but I expect slightly more to be fully satisfied"
        )
        assert feedback.source == "bucket"
        assert feedback.user.external_id == "1234567890"
        assert feedback.account.external_id == "101112231415"


def test_all_four_examples_together(tenant_a):
    for method, raw in [
        ("user", REFERENCE_USER),
        ("company", REFERENCE_COMPANY),
        ("events", REFERENCE_EVENT),  # the reference's method list says `events`
        ("feedback", REFERENCE_FEEDBACK),
    ]:
        response = post(f"/{tenant_a.tracking_key}/{method}", raw=raw)
        assert response.status_code == 200, (method, response.content)
    assert rows(tenant_a.tenant) == {
        "users": 1,
        "accounts": 2,  # 101112231415 and the event's my_company_id
        "links": 2,
        "events": 1,
        "feedback": 1,
    }


def test_numeric_ids_become_strings(tenant_a):
    body = {"event": "Clicked", "userId": 42.0, "companyId": 7}
    assert post(f"/{tenant_a.tracking_key}/event", body).status_code == 200
    with tenant_a.tenant:
        assert CustomerUser.objects.get().external_id == "42"
        assert Account.objects.get().external_id == "7"


def test_api_keys_work_too(tenant_a):
    response = post(f"/{tenant_a.api_key}/user", {"userId": "u1"})
    assert response.status_code == 200, response.content
    response = post(
        "/event",
        {"event": "e", "userId": "u1"},
        headers={"Authorization": f"Bearer {tenant_a.api_key}"},
    )
    assert response.status_code == 200, response.content
    assert rows(tenant_a.tenant)["events"] == 1


def test_gzip_body(tenant_a):
    response = post(
        f"/{tenant_a.tracking_key}/event",
        raw=gzip.compress(REFERENCE_EVENT.encode()),
        headers={"Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.content
    assert rows(tenant_a.tenant)["events"] == 1


# -- context.active=false ----------------------------------------------------------


def test_context_active_false_leaves_last_seen_unchanged(tenant_a):
    key = tenant_a.tracking_key
    first = "2026-01-01T10:00:00Z"
    later = "2026-01-02T10:00:00Z"
    assert post(f"/{key}/user", {"userId": "u1", "timestamp": first}).status_code == 200
    company = {"companyId": "c1", "userId": "u1", "timestamp": first}
    assert post(f"/{key}/company", company).status_code == 200
    inactive = {"context": {"active": False}, "timestamp": later}
    for method, body in [
        ("user", {"userId": "u1", "attributes": {"plan": "pro"}}),
        ("company", {"companyId": "c1", "userId": "u1"}),
        ("event", {"event": "Synced", "userId": "u1", "companyId": "c1"}),
    ]:
        response = post(f"/{key}/{method}", {**body, **inactive})
        assert response.status_code == 200, response.content
    expected = datetime(2026, 1, 1, 10, tzinfo=UTC)
    with tenant_a.tenant:
        user = CustomerUser.objects.get()
        assert user.last_seen_at == expected
        assert user.traits == {"plan": "pro"}  # the call still applied
        assert Account.objects.get().last_seen_at == expected
        assert Event.objects.get().name == "Synced"  # the event is still recorded
    active = {"event": "Opened", "userId": "u1", "timestamp": later}
    assert post(f"/{key}/event", active).status_code == 200
    with tenant_a.tenant:
        assert CustomerUser.objects.get().last_seen_at == expected + timedelta(days=1)


# -- bad input: 400 with details, nothing written ----------------------------------


@pytest.mark.parametrize(
    ("method", "body", "paths"),
    [
        ("user", {"attributes": {"name": "x"}}, {"userId"}),
        ("user", {"userId": True}, {"userId"}),
        ("user", {"userId": "u", "attributes": ["x"]}, {"attributes"}),
        ("user", {"userId": "u", "timestamp": 1700000000}, {"timestamp"}),
        ("user", {"userId": "u", "context": {"active": "no"}}, {"context.active"}),
        ("company", {"userId": "u", "attributes": {"name": "x"}}, {"companyId"}),
        ("company", {"companyId": {"id": 1}}, {"companyId"}),
        ("event", {"userId": "u"}, {"event"}),
        ("event", {"event": "Sent message"}, {"userId"}),
        (
            "event",
            {"event": 3, "userId": "u", "attributes": 1},
            {"event", "attributes"},
        ),
        ("feedback", {"userId": "u", "score": 4}, {"featureId"}),
        ("feedback", {"featureId": "f", "score": 4}, {"userId"}),
        ("feedback", {"featureId": "f", "userId": "u"}, {"score"}),
        ("feedback", {"featureId": "f", "userId": "u", "score": 0}, {"score"}),
        ("feedback", {"featureId": "f", "userId": "u", "score": 6}, {"score"}),
        ("feedback", {"featureId": "f", "userId": "u", "score": "5"}, {"score"}),
        ("feedback", {"featureId": "f", "userId": "u", "comment": 5}, {"comment"}),
        ("user", [{"userId": "u"}], {"body"}),
    ],
)
def test_bad_input_is_400_naming_every_bad_field(tenant_a, method, body, paths):
    response = post(f"/{tenant_a.tracking_key}/{method}", body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["code"] == "invalid_request" and answer["message"]
    assert {d["path"] for d in answer["details"]} == paths
    assert all(d["message"] for d in answer["details"])
    assert rows(tenant_a.tenant) == NOTHING


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", ""],
)
def test_another_content_type_is_400(tenant_a, content_type):
    response = post(
        f"/{tenant_a.tracking_key}/event",
        raw=REFERENCE_EVENT,
        content_type=content_type,
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid_content_type" and answer["message"]
    assert answer["details"][0]["path"] == "Content-Type"
    assert rows(tenant_a.tenant) == NOTHING


def test_content_type_with_charset_is_json(tenant_a):
    response = post(
        f"/{tenant_a.tracking_key}/event",
        raw=REFERENCE_EVENT,
        content_type="Application/JSON; charset=utf-8",
    )
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "raw", [b"{nope", b" ", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000]
)
def test_bad_json_is_400(tenant_a, raw):
    response = post(f"/{tenant_a.tracking_key}/event", raw=raw)
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid_json" and answer["message"]
    assert answer["details"][0]["path"] == "body"
    assert rows(tenant_a.tenant) == NOTHING


def test_nan_is_400(tenant_a):
    raw = '{"event": "e", "userId": "u", "attributes": {"x": NaN}}'
    response = post(f"/{tenant_a.tracking_key}/event", raw=raw)
    assert response.status_code == 400
    assert response.json()["details"][0]["path"] == "attributes.x"
    assert rows(tenant_a.tenant) == NOTHING


def test_oversized_body_is_413(tenant_a):
    body = {"event": "e", "userId": "u", "attributes": {"x": "y" * 600_000}}
    response = post(f"/{tenant_a.tracking_key}/event", body)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert response.json()["details"][0]["path"] == "body"
    assert rows(tenant_a.tenant) == NOTHING


# -- keys ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "headers", "code"),
    [
        ("/gg_pk_" + "x" * 40 + "/event", {}, "invalid_key"),
        ("/gg_sk_" + "x" * 40 + "/event", {}, "invalid_key"),
        ("/event", {"Authorization": "Bearer gg_pk_nope"}, "invalid_key"),
        ("/event", {}, "missing_key"),
        ("/event", {"Authorization": "Basic Zm9vOg=="}, "missing_key"),
    ],
)
def test_wrong_or_missing_key_is_401(tenant_a, path, headers, code):
    response = post(path, json.loads(REFERENCE_EVENT), headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code and response.json()["message"]
    assert rows(tenant_a.tenant) == NOTHING


def test_revoked_key_is_refused(tenant_a):
    from tenants.services import key_issue, key_revoke

    key, raw_key = key_issue(tenant=tenant_a.tenant, kind="tracking")
    key_revoke(prefix=key.prefix)
    response = post(f"/{raw_key}/event", raw=REFERENCE_EVENT)
    assert response.status_code == 401


def test_the_path_key_wins_over_a_bearer(tenant_a, tenant_b):
    response = post(
        f"/{tenant_b.tracking_key}/event",
        raw=REFERENCE_EVENT,
        headers={"Authorization": f"Bearer {tenant_a.tracking_key}"},
    )
    assert response.status_code == 200
    assert rows(tenant_a.tenant)["events"] == 0
    assert rows(tenant_b.tenant)["events"] == 1


def test_publishable_key_query_parameter(tenant_a):
    response = post(
        f"/event?publishableKey={tenant_a.tracking_key}", raw=REFERENCE_EVENT
    )
    assert response.status_code == 200, response.content
    assert rows(tenant_a.tenant)["events"] == 1


def test_another_tenants_key_writes_only_there(tenant_a, tenant_b):
    for method, raw in [
        ("user", REFERENCE_USER),
        ("company", REFERENCE_COMPANY),
        ("event", REFERENCE_EVENT),
        ("feedback", REFERENCE_FEEDBACK),
    ]:
        assert post(f"/{tenant_b.tracking_key}/{method}", raw=raw).status_code == 200
    assert rows(tenant_a.tenant) == NOTHING
    assert rows(tenant_b.tenant)["feedback"] == 1


@pytest.mark.parametrize(
    "path",
    [
        "/trCqx4DGo1lk3Lcct5NHLjWy/event",  # Bucket's own key shape: not ours
        "/gg_pk_/event",
        "/gg_pk_abc-def/event",
        "/gg_xx_abc/event",
        "/events",  # key-less /events is Gather's, not Bucket's
        "/gg_pk_abc/track",
        "/user/",
    ],
)
def test_only_our_key_shapes_and_methods_are_routed(tenant_a, path):
    match = None
    with contextlib.suppress(Resolver404):
        match = resolve(path)
    assert match is None or not match.url_name.startswith("bucket")


@pytest.mark.parametrize(
    ("path", "view_module"),
    [
        ("/v1/batch", "tracking.endpoints.segment"),
        ("/v1/track", "tracking.endpoints.segment"),
        ("/healthz", "core.health"),
        ("/auth/v1/user", "tenants"),
        ("/rest/v1/accounts", "pgrest.views"),
    ],
)
def test_no_other_route_is_shadowed(path, view_module):
    assert resolve(path).func.__module__.startswith(view_module)


# -- retries --------------------------------------------------------------------------


def test_identical_calls_within_a_minute_are_each_stored(tenant_a):
    # Bucket sends no message ids: a user clicking twice is two events, and a
    # call repeated (a retry after a 5xx, the reference says) may count twice.
    key = tenant_a.tracking_key
    timed = {**json.loads(REFERENCE_EVENT), "timestamp": "2026-01-01T10:00:00Z"}
    with at_now():
        for _ in range(3):
            for method, raw in [
                ("user", REFERENCE_USER),
                ("company", REFERENCE_COMPANY),
                ("event", REFERENCE_EVENT),
                ("feedback", REFERENCE_FEEDBACK),
                ("event", json.dumps(timed)),
            ]:
                assert post(f"/{key}/{method}", raw=raw).status_code == 200
    assert rows(tenant_a.tenant) == {
        "users": 1,
        "accounts": 2,
        "links": 2,
        "events": 6,
        "feedback": 3,
    }
    with tenant_a.tenant:
        assert MessageReceipt.objects.count() == 0  # none kept for made ids


def test_the_same_call_a_minute_later_counts_again(tenant_a):
    key = tenant_a.tracking_key
    with at_now():
        assert post(f"/{key}/event", raw=REFERENCE_EVENT).status_code == 200
    a_minute_later = NOW + timedelta(minutes=1)
    with mock.patch.object(capture.timezone, "now", return_value=a_minute_later):
        assert post(f"/{key}/event", raw=REFERENCE_EVENT).status_code == 200
    assert rows(tenant_a.tenant)["events"] == 2


def test_each_feedback_call_without_an_id_is_new_feedback(tenant_a):
    key = tenant_a.tracking_key
    with at_now():
        first = post(f"/{key}/feedback", raw=REFERENCE_FEEDBACK).json()
        second = post(f"/{key}/feedback", raw=REFERENCE_FEEDBACK).json()
    assert first["feedbackId"] != second["feedbackId"]
    assert rows(tenant_a.tenant)["feedback"] == 2


# -- methods, CORS ---------------------------------------------------------------------


def test_another_method_is_405_json(tenant_a):
    response = Client().get(f"/{tenant_a.tracking_key}/event")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    assert response["Allow"] == "POST, OPTIONS"
    assert Client().get("/event").status_code == 405


def test_errors_carry_cors_headers(tenant_a):
    response = post("/event", {}, headers={"Origin": "https://app.example.com"})
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == "*"


# -- the official JS SDKs' requests, exactly (their URL, headers and body) -------------
# Read from the published packages: @bucketco/browser-sdk 3.3.3 (also what
# @bucketco/react-sdk wraps), @bucketco/tracking-sdk 2.4.0 and
# @bucketco/node-sdk 1.10.0. Only the host option changes.

ORIGIN = "https://app.customer.example"


def browser_sdk_post(path: str, key: str, body: dict):
    """`HttpClient.post` of @bucketco/browser-sdk: `new URL(path, apiBaseUrl)`,
    `JSON.stringify(body)` and these three headers (fetch adds the Origin)."""
    return Client().post(
        path,
        data=json.dumps(body, separators=(",", ":")),
        content_type="application/json",
        headers={
            "bucket-sdk-version": "browser-sdk/3.3.3",
            "Authorization": f"Bearer {key}",
            "Origin": ORIGIN,
        },
    )


def test_browser_sdk_requests_land(tenant_a):
    key = tenant_a.tracking_key
    # new BucketClient({publishableKey, user: {id: 42, role: "manager"},
    #   company: {id: 99, plan: "enterprise"}, apiBaseUrl: "<our host>"})
    # The browser's CORS preflight comes first (custom headers + JSON).
    preflight = Client().options(
        "/user",
        headers={
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization,bucket-sdk-version,"
            "content-type",
        },
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight["Access-Control-Allow-Methods"]
    allowed = preflight["Access-Control-Allow-Headers"].lower()
    assert {"authorization", "bucket-sdk-version", "content-type"} <= {
        h.strip() for h in allowed.split(",")
    }
    # initialize(): automated feedback surveys, then user() and company().
    prompting = browser_sdk_post("/feedback/prompting-init", key, {"userId": "42"})
    assert prompting.status_code == 200 and prompting.json() == {"success": False}
    user = browser_sdk_post(
        "/user", key, {"userId": "42", "attributes": {"role": "manager"}}
    )
    company = browser_sdk_post(
        "/company",
        key,
        {"userId": "42", "companyId": "99", "attributes": {"plan": "enterprise"}},
    )
    # getFeature("huddle").track() and track("Sent message", {position: ...})
    track = browser_sdk_post(
        "/event", key, {"userId": "42", "event": "huddle", "companyId": "99"}
    )
    track_attributes = browser_sdk_post(
        "/event",
        key,
        {
            "userId": "42",
            "event": "Sent message",
            "attributes": {"position": "popover"},
            "companyId": "99",
        },
    )
    # feedback({featureKey: "huddle", score: 5, comment: "Love it"}): the SDK
    # sends the feature key as `key` (`featureKey`/`featureId` undefined).
    feedback = browser_sdk_post(
        "/feedback",
        key,
        {
            "userId": "42",
            "companyId": "99",
            "score": 5,
            "comment": "Love it",
            "source": "sdk",
            "key": "huddle",
        },
    )
    # The feedback widget's first step (onScoreSubmit): the score and question.
    widget = browser_sdk_post(
        "/feedback",
        key,
        {
            "userId": "42",
            "companyId": "99",
            "source": "widget",
            "question": "How satisfied are you with Huddle?",
            "score": 3,
            "key": "huddle",
        },
    )
    for response in (user, company, track, track_attributes, feedback, widget):
        assert response.status_code == 200, response.content
        assert response["Access-Control-Allow-Origin"] == "*"
        assert response.json()["success"] is True
    assert widget.json()["feedbackId"]
    with tenant_a.tenant:
        user_row = CustomerUser.objects.get()
        assert user_row.external_id == "42" and user_row.traits == {"role": "manager"}
        account = Account.objects.get()
        assert account.external_id == "99" and account.traits == {"plan": "enterprise"}
        assert AccountUser.objects.filter(user=user_row, account=account).exists()
        assert sorted(Event.objects.values_list("name", flat=True)) == [
            "Sent message",
            "huddle",
        ]
        assert set(Event.objects.values_list("account_id", flat=True)) == {account.id}
        scores = dict(Feedback.objects.values_list("score", "question"))
        assert scores == {5: "", 3: "How satisfied are you with Huddle?"}
        assert set(Feedback.objects.values_list("feature_id", flat=True)) == {"huddle"}


def test_tracking_sdk_requests_land(tenant_a):
    """@bucketco/tracking-sdk: `${host}/${publishableKey}/<method>`, no auth
    header, `bucket-sdk-version: 2.4.0`."""
    key = tenant_a.tracking_key
    headers = {"bucket-sdk-version": "2.4.0"}

    def send(path: str, body: dict):
        return Client().post(
            f"/{key}/{path}",
            data=json.dumps(body, separators=(",", ":")),
            content_type="application/json",
            headers=headers,
        )

    # bucket.user("john_doe", {name: "John Doe"}) in a browser first asks
    # whether live satisfaction is on, and reads the answer as JSON.
    prompting = send("feedback/prompting-init", {"userId": "john_doe"})
    assert prompting.status_code == 200 and prompting.json() == {"success": False}
    calls = [
        send("user", {"userId": "john_doe", "attributes": {"name": "John Doe"}}),
        send(
            "company",
            {
                "userId": "john_doe",
                "companyId": "acme_inc",
                "attributes": {"name": "Acme Inc", "plan": "pro"},
            },
        ),
        send(
            "event",
            {
                "userId": "john_doe",
                "event": "sent_message",
                "companyId": "acme_inc",
                "attributes": {"foo": "bar"},
            },
        ),
        send(
            "feedback",
            {
                "userId": "john_doe",
                "featureId": "feature-1",
                "score": 5,
                "comment": "Great",
                "source": "sdk",
            },
        ),
    ]
    for response in calls:
        assert response.status_code == 200, response.content
        assert response.json()["success"] is True
    assert rows(tenant_a.tenant) == {
        "users": 1,
        "accounts": 1,
        "links": 1,
        "events": 1,
        "feedback": 1,
    }


def test_node_sdk_bulk_lands(tenant_a):
    """@bucketco/node-sdk batches calls: `POST {apiBaseUrl}/bulk` with a JSON
    array, `Authorization: Bearer <secretKey>`, and checks `success` in the
    answer. Its flag telemetry (`feature-flag-event`) is skipped."""
    body = [
        {"type": "user", "userId": "u1", "attributes": {"name": "Ann"}},
        {
            "type": "company",
            "companyId": "c1",
            "userId": "u1",
            "attributes": {"name": "Acme"},
        },
        {
            "type": "event",
            "event": "huddle",
            "companyId": "c1",
            "userId": "u1",
            "attributes": {"via": "api"},
            "context": {"active": True},
        },
        {
            "type": "feature-flag-event",
            "action": "evaluate",
            "key": "huddle",
            "targetingVersion": 2,
            "evalContext": {"user": {"id": "u1"}, "company": {"id": "c1"}},
            "evalResult": True,
            "evalRuleResults": [True],
            "evalMissingFields": [],
        },
    ]
    response = Client().post(
        "/bulk",
        data=json.dumps(body),
        content_type="application/json",
        headers={
            "bucket-sdk-version": "node-sdk/1.10.0",
            "Authorization": f"Bearer {tenant_a.api_key}",
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    assert rows(tenant_a.tenant) == {
        "users": 1,
        "accounts": 1,
        "links": 1,
        "events": 1,
        "feedback": 0,
    }


def test_bulk_with_a_bad_item_writes_nothing(tenant_a):
    body = [{"type": "user", "userId": "u1"}, {"type": "event", "userId": "u1"}]
    response = post(
        "/bulk", body, headers={"Authorization": f"Bearer {tenant_a.api_key}"}
    )
    assert response.status_code == 400
    assert [d["path"] for d in response.json()["details"]] == ["[1].event"]
    assert rows(tenant_a.tenant) == NOTHING


# -- feature flags (none defined) ------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "answer"),
    [
        ("/features", {"success": True, "features": []}),
        ("/features/evaluated?context.user.id=42", {"success": True, "features": {}}),
    ],
)
def test_the_sdks_feature_calls_get_no_flags_in_the_shape_they_parse(
    tenant_a, path, answer
):
    # node-sdk's initialize() reads GET /features (a list of definitions);
    # remote evaluation reads a map by key. No flag is defined here.
    for headers, query in [
        ({"Authorization": f"Bearer {tenant_a.api_key}"}, ""),
        ({}, ("&" if "?" in path else "?") + f"publishableKey={tenant_a.tracking_key}"),
    ]:
        response = Client().get(path + query, headers=headers)
        assert response.status_code == 200, response.content
        assert response.json() == answer
        assert response["Access-Control-Allow-Origin"] == "*"
    assert rows(tenant_a.tenant) == NOTHING


def test_the_feature_calls_check_the_key_and_take_only_get(tenant_a):
    missing = Client().get("/features")
    assert missing.status_code == 401 and missing.json()["code"] == "missing_key"
    wrong = Client().get("/features", headers={"Authorization": "Bearer gg_pk_nope"})
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_key"
    posted = Client().post(
        "/features", headers={"Authorization": f"Bearer {tenant_a.api_key}"}
    )
    assert posted.status_code == 405 and posted["Allow"] == "GET, OPTIONS"
    preflight = Client().options(
        "/features", headers={"Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200
    assert preflight["Access-Control-Allow-Methods"] == "GET, OPTIONS"
