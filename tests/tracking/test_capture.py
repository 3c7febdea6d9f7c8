"""The one ingestion pipeline (tracking/capture.py): its steps, and what every
dialect's endpoint gets from it."""

import base64
import dataclasses
import gzip
import json
import math
import zlib
from datetime import UTC, datetime

import pytest
from django.db import OperationalError, connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext

from core.errors import ApplicationError
from tenants.models import KeyKind, hash_secret
from tracking import capture
from tracking.messages import DialectError, FieldError, Kind, Message

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

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
    capture._valid_keys.clear()
    yield capture
    capture._valid_keys.clear()
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


# -- the steps, one by one --------------------------------------------------------


def request_of(raw: bytes = b"{}", **headers: str):
    return RequestFactory().post(
        "/v1/batch", data=raw, content_type="application/json", headers=headers
    )


@pytest.mark.parametrize(
    ("encoding", "pack"),
    [
        ("gzip", gzip.compress),
        ("x-gzip", gzip.compress),
        ("GZIP ", gzip.compress),
        ("deflate", zlib.compress),
        ("identity", lambda raw: raw),
        ("", lambda raw: raw),
    ],
)
def test_read_body_unpacks_what_was_packed(encoding, pack):
    raw = b'{"a": 1}'
    request = request_of(pack(raw), **{"Content-Encoding": encoding})
    assert capture.read_body(request, limit=100) == raw


def test_read_body_refuses_beyond_the_limit_without_inflating_more():
    bomb = gzip.compress(b"0" * 50_000_000)  # 48 KB that inflate to 50 MB
    request = request_of(bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(ApplicationError) as raised:
        capture.read_body(request, limit=100_000)
    assert raised.value.code == "payload_too_large" and raised.value.status == 413
    assert "decompressed is larger than 100000 bytes" in raised.value.message
    assert capture.read_body(request_of(b"x" * 1024), limit=1024) == b"x" * 1024
    with pytest.raises(ApplicationError) as raised:
        capture.read_body(request_of(b"x" * 1025), limit=1024)
    assert raised.value.status == 413
    assert "larger than 1 KB (1024 bytes)" in raised.value.message


def test_read_body_inflates_no_more_than_the_limit_and_one(monkeypatch):
    inflated = []
    real = zlib.decompressobj

    def spy(*args):
        inflater = real(*args)

        class Spy:
            def decompress(self, data, max_length=0):
                out = inflater.decompress(data, max_length)
                inflated.append(len(out))
                return out

        return Spy()

    monkeypatch.setattr(zlib, "decompressobj", spy)
    bomb = gzip.compress(b"0" * 50_000_000)
    request = request_of(bomb, **{"Content-Encoding": "gzip"})
    with pytest.raises(ApplicationError):
        capture.read_body(request, limit=100_000)
    assert inflated == [100_001]


@pytest.mark.parametrize(
    ("raw", "encoding"), [(b"not gzip", "gzip"), (b"{}", "br"), (b"{}", "compress")]
)
def test_read_body_refuses_bad_or_unknown_encodings(raw, encoding):
    with pytest.raises(ApplicationError) as raised:
        capture.read_body(request_of(raw, **{"Content-Encoding": encoding}), limit=99)
    assert raised.value.code == "invalid_encoding"


def test_parse_json_keeps_integers_beyond_64_bits_exact():
    assert capture.parse_json(b'{"n": 123456789012345678901234}') == {
        "n": 123456789012345678901234
    }
    assert capture.parse_json(b'{"n": 1.5, "s": "\xc3\xa9"}') == {"n": 1.5, "s": "é"}


def test_parse_json_reads_what_only_json_reads():
    assert math.isnan(capture.parse_json(b'{"x": NaN}')["x"])
    assert capture.parse_json(b'"\\ud800"') == "\ud800"


@pytest.mark.parametrize("raw", [b"{nope", b"", b"\xff\xfe", b"[1,]"])
def test_parse_json_refuses_what_is_not_json(raw):
    with pytest.raises(ApplicationError) as raised:
        capture.parse_json(raw)
    assert raised.value.code == "invalid_json"
    assert raised.value.message.startswith("The body is not valid JSON: ")


@pytest.mark.parametrize(
    ("header", "username"),
    [
        ("Basic " + base64.b64encode(b"key:secret").decode(), "key"),
        ("basic " + base64.b64encode(b"key").decode(), "key"),
        ("Basic " + base64.b64encode(b"key:").decode(), "key"),
        ("Basic not*base64", ""),
        ("Basic " + base64.b64encode(b"\xff").decode(), ""),
        ("Bearer key", ""),
        ("Basic", ""),
        ("", ""),
    ],
)
def test_basic_auth_username(header, username):
    request = request_of(**({"Authorization": header} if header else {}))
    assert capture.basic_auth_username(request) == username


def test_dialect_errors_become_400s_naming_each_field():
    error = capture.dialect_error(
        DialectError([FieldError("a", "is bad"), FieldError("b[0]", "is worse")])
    )
    assert (error.status, error.code) == (400, "invalid_request")
    assert error.message == "a: is bad; b[0]: is worse"
    assert error.details == [
        {"path": "a", "message": "is bad"},
        {"path": "b[0]", "message": "is worse"},
    ]


def test_a_failed_write_is_a_503_to_retry(monkeypatch):
    def down(messages, *, received_at):
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(capture, "messages_ingest_grouped", down)
    with pytest.raises(ApplicationError) as raised:
        capture.ingest_or_error([], received_at=RECEIVED)
    assert (raised.value.status, raised.value.code) == (503, "unavailable")
    assert raised.value.headers == {"Retry-After": "2"}


def test_the_renderer_gives_code_message_and_details_when_known():
    plain = capture.error_response(ApplicationError("No.", code="x", status=401))
    assert plain.status_code == 401 and json.loads(plain.content) == {
        "code": "x",
        "message": "No.",
    }
    detailed = capture.error_response(ApplicationError("No.", code="x", details=[]))
    assert json.loads(detailed.content) == {
        "code": "x",
        "message": "No.",
        "details": [],
    }


# -- the key check, as an endpoint declares it ------------------------------------

MISSING = capture.Refusal("No key.", code="missing", headers={"WWW-Authenticate": "X"})
INVALID = capture.Refusal("Bad key.", code="invalid")


def check_of(*keys: str, **kwargs) -> capture.KeyCheck:
    return capture.KeyCheck(
        find=lambda request, body, route: list(keys),
        missing=MISSING,
        invalid=INVALID,
        **kwargs,
    )


def refusal(check: capture.KeyCheck) -> ApplicationError:
    with pytest.raises(ApplicationError) as raised:
        capture.key_check(request_of(), check=check, body=None, route={})
    return raised.value


def test_no_key_is_the_endpoints_missing_401():
    error = refusal(check_of("", ""))
    assert (error.status, error.code, error.message) == (401, "missing", "No key.")
    assert error.headers == {"WWW-Authenticate": "X"}
    assert refusal(check_of()).code == "missing"


def test_the_first_key_that_activates_wins(tenant_a, key_cache, monkeypatch):
    tried: list[str] = []
    real = capture.tracking_tenant_activate

    def activate(key, *, kinds):
        tried.append(key)
        return real(key, kinds=kinds)

    monkeypatch.setattr(capture, "tracking_tenant_activate", activate)
    check = check_of("gg_pk_nope", "gg_pk_nope", tenant_a.api_key, "never")
    capture.key_check(request_of(), check=check, body=None, route={})
    assert tried == ["gg_pk_nope", tenant_a.api_key]  # each key tried once
    assert connection.schema_name == tenant_a.tenant.schema_name


def test_keys_of_other_kinds_are_the_endpoints_invalid_401(tenant_a, key_cache):
    error = refusal(check_of(tenant_a.tracking_key, kinds=(KeyKind.API,)))
    assert (error.status, error.code, error.message) == (401, "invalid", "Bad key.")
    assert error.headers == {}


def test_a_database_error_checking_the_key_is_a_503_only_where_declared(
    key_cache, monkeypatch
):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(capture, "tenant_key_find", down)
    with pytest.raises(OperationalError):
        capture.key_check(request_of(), check=check_of("k"), body=None, route={})
    error = refusal(check_of("k", retry_when_down=True))
    assert (error.status, error.code) == (503, "unavailable")
    assert error.headers == {"Retry-After": "2"}


# -- the pipeline -----------------------------------------------------------------


def never(*args, **kwargs):
    raise AssertionError("nothing may be written")


def endpoint_of(log: list, *, in_body=False, translate=True, answer=None):
    """An endpoint that notes each step it is asked for, in order."""

    def find(request, body, route):
        log.append(("key", body))
        return [route["key"]]

    def decode(request, limit):
        log.append(("decode", limit))
        return capture.json_body(request, limit)

    def translated(body, received_at, route):
        log.append(("translate", body, received_at.tzinfo is not None, dict(route)))
        return []

    return capture.Endpoint(
        key=capture.KeyCheck(
            find=find, missing=MISSING, invalid=INVALID, in_body=in_body
        ),
        body_limit=64,
        decode=decode,
        translate=translated if translate else None,
        answer=answer or (lambda messages: {"ok": len(messages)}),
    )


def test_the_key_is_checked_before_the_body_is_read(tenant_a, key_cache):
    log: list = []
    route = {"key": tenant_a.api_key, "x": "1"}
    response = capture.capture(
        request_of(b'{"a": 1}'), endpoint=endpoint_of(log), route=route
    )
    assert json.loads(response.content) == {"ok": 0}
    assert log == [
        ("key", None),
        ("decode", 64),
        ("translate", {"a": 1}, True, route),
    ]


def test_a_key_in_the_body_is_checked_once_the_body_is_read(tenant_a, key_cache):
    log: list = []
    endpoint = endpoint_of(log, in_body=True)
    capture.capture(
        request_of(b"[2]"), endpoint=endpoint, route={"key": tenant_a.api_key}
    )
    assert log == [
        ("decode", 64),
        ("key", [2]),
        ("translate", [2], True, {"key": tenant_a.api_key}),
    ]


def test_a_refused_key_reads_no_body(key_cache):
    log: list = []
    with pytest.raises(ApplicationError) as raised:
        capture.capture(
            request_of(b"{nope"), endpoint=endpoint_of(log), route={"key": "gg_pk_x"}
        )
    assert raised.value.code == "invalid" and log == [("key", None)]


def test_an_endpoint_without_translation_only_checks_its_key(
    tenant_a, key_cache, monkeypatch
):
    monkeypatch.setattr(capture, "messages_ingest_grouped", never)
    log: list = []
    endpoint = endpoint_of(log, translate=False, answer=lambda m: {"success": False})
    response = capture.capture(
        request_of(b"{nope"), endpoint=endpoint, route={"key": tenant_a.api_key}
    )
    assert json.loads(response.content) == {"success": False}
    assert log == [("key", None)]


def test_the_dialects_refusal_is_a_400_and_nothing_is_written(
    tenant_a, key_cache, monkeypatch
):
    monkeypatch.setattr(capture, "messages_ingest_grouped", never)

    def translate(body, received_at, route):
        raise DialectError([FieldError("userId", "is required")])

    endpoint = dataclasses.replace(endpoint_of([]), translate=translate)
    with pytest.raises(ApplicationError) as raised:
        capture.capture(
            request_of(), endpoint=endpoint, route={"key": tenant_a.api_key}
        )
    assert raised.value.code == "invalid_request"
    assert raised.value.details == [{"path": "userId", "message": "is required"}]


def test_translated_messages_are_written_with_the_time_received_then_answered(
    tenant_a, key_cache, monkeypatch
):
    written: list = []
    monkeypatch.setattr(
        capture,
        "messages_ingest_grouped",
        lambda messages, *, received_at: written.append((messages, received_at)),
    )
    monkeypatch.setattr(capture.timezone, "now", lambda: RECEIVED)
    message = Message(
        kind=Kind.EVENT, source="x", message_id="m", timestamp=RECEIVED, event="e"
    )
    endpoint = dataclasses.replace(
        endpoint_of([]),
        translate=lambda body, received_at, route: [message] * body["n"],
        answer=lambda messages: {"written": len(messages)},
    )
    response = capture.capture(
        request_of(b'{"n": 2}'), endpoint=endpoint, route={"key": tenant_a.api_key}
    )
    assert json.loads(response.content) == {"written": 2}
    assert written == [([message, message], RECEIVED)]


# -- what every dialect's endpoint gets from the pipeline -------------------------


def post(vendor: str, tenant, raw: bytes = b"{}", **headers: str):
    path, credential = VENDORS[vendor]
    return Client().post(
        path,
        data=raw,
        content_type="application/json",
        headers={**credential(tenant), **headers},
    )


@pytest.mark.parametrize("vendor", VENDORS)
def test_other_methods_are_405_json(tenant_a, vendor):
    path, credential = VENDORS[vendor]
    response = Client().get(path, headers=credential(tenant_a))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"
    if vendor == "bucket":
        assert response["Allow"] == "POST, OPTIONS"
        assert response["Access-Control-Allow-Origin"] == "*"
    else:
        assert response["Allow"] == "POST"


def test_only_bucket_answers_its_own_preflight(tenant_a):
    preflight = Client().options(
        "/event",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, bucket-sdk-version",
        },
    )
    assert preflight.status_code == 200 and preflight.content == b""
    assert preflight["Access-Control-Allow-Origin"] == "*"
    assert preflight["Access-Control-Allow-Methods"] == "POST, OPTIONS"
    assert (
        preflight["Access-Control-Allow-Headers"] == "authorization, bucket-sdk-version"
    )
    assert preflight["Access-Control-Max-Age"] == "86400"
    bare = Client().options("/gg_pk_abc/feedback/prompting-init")
    assert bare["Access-Control-Allow-Headers"] == (
        "authorization, content-type, content-encoding, bucket-sdk-version, "
        "reflag-sdk-version"
    )
    assert Client().options("/events").status_code == 405


@pytest.mark.parametrize("vendor", VENDORS)
def test_an_unsupported_encoding_is_400_in_the_vendors_shape(tenant_a, vendor):
    response = post(vendor, tenant_a, **{"Content-Encoding": "br"})
    assert response.status_code == 400
    answer = response.json()
    assert answer["code"] == "invalid_encoding"
    assert ("details" in answer) == (vendor == "bucket")


@pytest.mark.parametrize("vendor", ["vitally", "gather", "bucket"])
def test_without_a_key_the_body_is_never_read(vendor):
    path, _ = VENDORS[vendor]
    response = Client().post(path, data=b"{nope", content_type="application/json")
    assert response.status_code == 401


def test_segment_reads_the_body_first_as_the_key_may_be_in_it(tenant_a):
    response = Client().post(
        "/v1/batch", data=b"{nope", content_type="application/json"
    )
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"
    body = {"writeKey": tenant_a.tracking_key, "batch": []}
    response = Client().post(
        "/v1/batch", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200 and response.json() == {"success": True}


@pytest.mark.parametrize(
    ("vendor", "raw", "answer"),
    [
        ("segment", b'{"batch": []}', {"success": True}),
        ("vitally", b"[]", {"message": "Success."}),
        ("bucket", b'{"userId": "u1"}', {"success": True}),
    ],
)
def test_each_vendor_answers_success_its_way(tenant_a, vendor, raw, answer):
    path, credential = VENDORS[vendor]
    if vendor == "bucket":
        path = "/user"
    response = Client().post(
        path, data=raw, content_type="application/json", headers=credential(tenant_a)
    )
    assert response.status_code == 200 and response.json() == answer


def test_prompting_init_checks_the_key_and_reads_no_body(tenant_a):
    path = f"/{tenant_a.tracking_key}/feedback/prompting-init"
    response = Client().post(path, data=b"{nope", content_type="text/plain")
    assert response.status_code == 200 and response.json() == {"success": False}
    assert response["Access-Control-Allow-Origin"] == "*"
    refused = Client().post("/gg_pk_nope/feedback/prompting-init")
    assert refused.status_code == 401 and refused.json()["code"] == "invalid_key"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_database_down_at_the_key_check_is_a_503(
    tenant_a, vendor, key_cache, monkeypatch
):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(capture, "tenant_key_find", down)
    response = post(vendor, tenant_a)
    assert response.status_code == 503
    if vendor == "bucket":  # Bucket's own answer, with CORS
        assert response.json()["code"] == "unavailable"
        assert response["Retry-After"] == "2"
        assert response["Access-Control-Allow-Origin"] == "*"
    else:  # the edge's answer
        assert response.json()["code"] == "database_unavailable"
        assert response["Retry-After"] == "5"


@pytest.mark.parametrize("vendor", VENDORS)
def test_a_failed_write_is_a_503_in_every_dialect(tenant_a, vendor, monkeypatch):
    def down(messages, *, received_at):
        raise OperationalError("could not serialize access")

    monkeypatch.setattr(capture, "messages_ingest_grouped", down)
    raw = {
        "segment": b'{"batch": []}',
        "vitally": b"[]",
        "gather": b'{"user": "u1", "type": "page.viewed"}',
        "bucket": b'{"event": "e", "userId": "u1"}',
    }[vendor]
    response = post(vendor, tenant_a, raw)
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert response["Retry-After"] == "2"
