"""The one ingestion pipeline (tracking/capture.py): its steps, and what every
dialect's endpoint gets from it."""

import base64
import json

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


# Each dialect's URL, a valid credential and where its 400s name the body.
VENDORS = {
    "segment": ("/v1/batch", lambda t: basic(t.tracking_key)),
    "vitally": (
        "/analytics/v1/batch",
        lambda t: {"Authorization": f"Basic {t.api_key}"},
    ),
    "gather": ("/events", lambda t: {"Authorization": f"Token {t.api_key}"}),
    "bucket": ("/event", lambda t: {"Authorization": f"Bearer {t.tracking_key}"}),
}


@pytest.mark.parametrize("vendor", VENDORS)
@pytest.mark.parametrize("depth", [1_025, 100_000])
def test_a_deeply_nested_body_is_400_in_the_vendors_shape(tenant_a, vendor, depth):
    # orjson refuses more than 1024 levels (JSONDecodeError); json then hits
    # the interpreter's recursion limit: both end as the vendor's 400.
    path, credential = VENDORS[vendor]
    raw = b"[" * depth + b"]" * depth
    response = Client().post(
        path, data=raw, content_type="application/json", headers=credential(tenant_a)
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid_json"
    assert answer["message"] == "The body is nested too deeply."
    if vendor == "bucket":
        assert answer["details"] == [{"path": "body", "message": answer["message"]}]
        assert response["Access-Control-Allow-Origin"] == "*"
    else:
        assert "details" not in answer


def test_a_deeply_nested_body_with_a_long_integer_is_400_too(tenant_a):
    # 20 digits in a row: json parses it alone (orjson would round the integer).
    raw = b'{"n": 12345678901234567890, "x": ' + b"[" * 5_000 + b"]" * 5_000 + b"}"
    response = Client().post(
        "/v1/batch",
        data=raw,
        content_type="application/json",
        headers=basic(tenant_a.tracking_key),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_json"


def test_nesting_within_the_parsers_limits_is_the_dialects_400(tenant_a):
    body = {"batch": [{"type": "track", "userId": "u", "event": "e"}]}
    node = body["batch"][0]["properties"] = {}
    for _ in range(200):
        node["a"] = {}
        node = node["a"]
    response = Client().post(
        "/v1/batch",
        data=json.dumps(body),
        content_type="application/json",
        headers=basic(tenant_a.tracking_key),
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert "nested more than 100 levels" in response.json()["details"][0]["message"]
