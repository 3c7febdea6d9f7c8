"""The one ingestion pipeline (tracking/capture.py): its steps, and what every
dialect's endpoint gets from it."""

import base64
import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tenants.models import KeyKind, hash_secret

ANY_KEY = (KeyKind.API, KeyKind.TRACKING)

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


# -- the key check ----------------------------------------------------------------


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What ran, without django-tenants' ``SET search_path`` (which the next
    cursor issues whenever the schema changed, key check or not)."""
    return [q["sql"] for q in queries.captured_queries if "search_path" not in q["sql"]]


@pytest.fixture
def key_cache():
    from tracking.endpoints import common

    common._valid_keys.clear()
    yield common
    common._valid_keys.clear()
    connection.set_schema_to_public()


def test_the_key_lookup_gives_the_tenant_of_an_active_key_of_the_kinds(tenant_a):
    from tenants.selectors import tenant_key_find
    from tenants.services import key_issue, key_revoke

    tenant = tenant_a.tenant
    found = (tenant.id, tenant.schema_name)
    key_hash = hash_secret(tenant_a.tracking_key)
    assert tenant_key_find(key_hash=key_hash, kinds=ANY_KEY) == found
    assert tenant_key_find(key_hash=key_hash, kinds=(KeyKind.TRACKING,)) == found
    assert tenant_key_find(key_hash=key_hash, kinds=(KeyKind.API,)) is None
    assert tenant_key_find(key_hash=hash_secret("gg_pk_nope"), kinds=ANY_KEY) is None
    key, raw = key_issue(tenant=tenant, kind=KeyKind.API)
    key_revoke(prefix=key.prefix)
    assert tenant_key_find(key_hash=hash_secret(raw), kinds=ANY_KEY) is None


def test_a_key_check_is_one_query_on_a_miss_and_none_on_a_hit(tenant_a, key_cache):
    with CaptureQueriesContext(connection) as queries:
        assert key_cache.tracking_tenant_activate(tenant_a.tracking_key, kinds=ANY_KEY)
    (lookup,) = statements(queries)
    assert "public.tenants_tenantkey" in lookup
    assert connection.schema_name == tenant_a.tenant.schema_name
    connection.set_schema_to_public()
    with CaptureQueriesContext(connection) as queries:
        assert key_cache.tracking_tenant_activate(tenant_a.tracking_key, kinds=ANY_KEY)
    assert len(statements(queries)) == 0
    assert connection.schema_name == tenant_a.tenant.schema_name


def test_an_unknown_key_is_looked_up_every_time_and_activates_nothing(
    tenant_a, key_cache
):
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert not key_cache.tracking_tenant_activate("gg_pk_nope", kinds=ANY_KEY)
        assert len(statements(queries)) == 1
    assert connection.schema_name == "public"


@pytest.mark.parametrize("raw_key", ["", "gg_pk_" + "x" * 200])
def test_an_empty_or_overlong_key_costs_no_query(key_cache, raw_key):
    with CaptureQueriesContext(connection) as queries:
        assert not key_cache.tracking_tenant_activate(raw_key, kinds=ANY_KEY)
    assert len(statements(queries)) == 0


def test_a_cached_key_is_looked_up_again_once_its_time_is_up(
    tenant_a, key_cache, monkeypatch
):
    assert key_cache.tracking_tenant_activate(tenant_a.api_key, kinds=ANY_KEY)
    later = key_cache._clock() + key_cache.KEY_CACHE_SECONDS
    monkeypatch.setattr(key_cache, "_clock", lambda: later)
    with CaptureQueriesContext(connection) as queries:
        assert key_cache.tracking_tenant_activate(tenant_a.api_key, kinds=ANY_KEY)
    assert len(statements(queries)) == 1


def test_kinds_are_part_of_the_cached_answer(tenant_a, key_cache):
    assert key_cache.tracking_tenant_activate(tenant_a.tracking_key, kinds=ANY_KEY)
    assert not key_cache.tracking_tenant_activate(
        tenant_a.tracking_key, kinds=(KeyKind.API,)
    )
