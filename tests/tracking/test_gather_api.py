"""Gather's own API (/models/account/records, /models/user/records, /events) as
curl and HTTP clients call it: form and JSON bodies, Token auth, upserts,
bad input, isolation."""

import gzip
import json
from datetime import UTC, datetime

import pytest
from django.test import Client

from tracking.models import Account, AccountUser, CustomerUser, Event

pytestmark = pytest.mark.django_db


FORM = "application/x-www-form-urlencoded"

# The reference's three curl examples (gather-tracking-api.txt), as the bytes
# curl sends: the shell strips the quotes, curl joins the -d values with "&"
# and sends them unencoded, as application/x-www-form-urlencoded. (As printed,
# the examples would not run: the Authorization header is unquoted and the
# event's title line lacks its trailing backslash. They are sent as meant.)
CURL_ACCOUNT = b"id=1234&name=Lovelace, Inc&size=50-100"
CURL_USER = (
    b"id=4567&account_id=1234&first_name=Ada&last_name=Lovelace&email=ada@acme.com"
)
CURL_EVENT = (
    b"user=4567&type=page.viewed&properties[title]=The Meaning of Life"
    b"&properties[url]=https://meaning.life"
)
ACCOUNTS = "/models/account/records"
USERS = "/models/user/records"
EVENTS = "/events"


def token(key: str) -> dict[str, str]:
    return {"Authorization": f"Token {key}"}


def curl(path: str, raw: bytes, key: str, **headers: str):
    """A POST as ``curl -H 'Authorization: Token …' -d … -d …`` sends it."""
    return Client().post(
        path,
        data=raw,
        content_type=FORM,
        headers={"User-Agent": "curl/8.5.0", "Accept": "*/*", **token(key), **headers},
    )


def post_json(path: str, body, key: str | None, **headers: str):
    return Client().post(
        path,
        data=json.dumps(body),
        content_type="application/json",
        headers={**(token(key) if key else {}), **headers},
    )


def counts(tenant) -> tuple[int, int, int]:
    with tenant:
        return (
            Account.objects.count(),
            CustomerUser.objects.count(),
            Event.objects.count(),
        )


def test_the_reference_curl_examples_land(tenant_a):
    key = tenant_a.api_key
    for path, raw, stored_id in [
        (ACCOUNTS, CURL_ACCOUNT, "1234"),
        (USERS, CURL_USER, "4567"),
    ]:
        response = curl(path, raw, key)
        assert response.status_code == 200, response.content
        assert response.json() == {"success": True, "id": stored_id}
    response = curl(EVENTS, CURL_EVENT, key)
    assert response.status_code == 200, response.content
    assert response.json()["success"] is True
    with tenant_a.tenant:
        account = Account.objects.get()
        assert account.external_id == "1234"
        assert account.name == "Lovelace, Inc"
        assert account.traits == {"name": "Lovelace, Inc", "size": "50-100"}
        user = CustomerUser.objects.get()
        assert (user.external_id, user.first_name, user.last_name, user.email) == (
            "4567",
            "Ada",
            "Lovelace",
            "ada@acme.com",
        )
        assert user.traits == {
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@acme.com",
        }
        assert list(user.accounts.all()) == [account]
        event = Event.objects.get()
        assert event.name == "page.viewed"
        assert event.properties == {
            "title": "The Meaning of Life",
            "url": "https://meaning.life",
        }
        assert event.user_id == user.id and event.account_id is None
        assert event.source == "gather"
        assert event.message_id == response.json()["id"]


def test_the_reference_examples_as_json(tenant_a):
    key = tenant_a.api_key
    account = {"id": 1234, "name": "Lovelace, Inc", "size": "50-100", "seats": 75}
    user = {
        "id": 4567,
        "account_id": "1234",
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@acme.com",
        "admin": True,
    }
    event = {
        "user": "4567",
        "type": "page.viewed",
        "properties": {"title": "The Meaning of Life", "url": "https://meaning.life"},
    }
    assert post_json(ACCOUNTS, account, key).json() == {"success": True, "id": "1234"}
    assert post_json(USERS, user, key).json() == {"success": True, "id": "4567"}
    assert post_json(EVENTS, event, key).status_code == 200
    with tenant_a.tenant:
        stored = Account.objects.get(external_id="1234")
        assert stored.traits == {"name": "Lovelace, Inc", "size": "50-100", "seats": 75}
        person = CustomerUser.objects.get(external_id="4567")
        assert person.email == "ada@acme.com" and person.traits["admin"] is True
        assert AccountUser.objects.filter(user=person, account=stored).exists()
        assert Event.objects.get().properties["title"] == "The Meaning of Life"


def test_nested_and_repeated_form_keys(tenant_a):
    raw = (
        b"user=4567&type=signed_up&properties[plan][name]=pro"
        b"&properties[plan][seats]=5&properties[tags][]=a&properties[tags][]=b"
        b"&properties[email]=ada%2Btest%40acme.com&properties[note]=caf%C3%A9 au lait"
    )
    assert curl(EVENTS, raw, tenant_a.api_key).status_code == 200
    with tenant_a.tenant:
        assert Event.objects.get().properties == {
            "plan": {"name": "pro", "seats": "5"},
            "tags": ["a", "b"],
            "email": "ada+test@acme.com",
            "note": "café au lait",
        }


def test_upserts_are_idempotent_traits_merge_and_the_request_wins(tenant_a):
    key = tenant_a.api_key
    first = b"id=1234&name=Lovelace, Inc&size=50-100&plan=pro"
    for _ in range(2):
        assert curl(ACCOUNTS, first, key).status_code == 200
    assert counts(tenant_a.tenant) == (1, 0, 0)
    curl(ACCOUNTS, b"id=1234&name=Lovelace Ltd&size=100-200", key)
    for _ in range(2):
        curl(USERS, CURL_USER + b"&role=admin", key)
    curl(USERS, CURL_USER.replace(b"Ada", b"Augusta") + b"&team=math", key)
    assert counts(tenant_a.tenant) == (1, 1, 0)
    with tenant_a.tenant:
        account = Account.objects.get()
        assert account.name == "Lovelace Ltd"
        assert account.traits == {
            "name": "Lovelace Ltd",
            "size": "100-200",
            "plan": "pro",
        }
        user = CustomerUser.objects.get()
        assert user.first_name == "Augusta"
        assert user.traits == {
            "first_name": "Augusta",
            "last_name": "Lovelace",
            "email": "ada@acme.com",
            "role": "admin",
            "team": "math",
        }
        assert AccountUser.objects.count() == 1


def test_an_upsert_back_to_an_earlier_state_is_applied(tenant_a):
    # A content hash as message id would skip the third upsert (it hashes like
    # the first) and leave the account named B forever.
    for name in (b"A", b"B", b"A"):
        curl(ACCOUNTS, b"id=1&name=" + name, tenant_a.api_key)
    with tenant_a.tenant:
        assert Account.objects.get().name == "A"


def test_identical_events_are_two_events_unless_they_share_an_id(tenant_a):
    key = tenant_a.api_key
    for _ in range(2):
        assert curl(EVENTS, CURL_EVENT, key).status_code == 200
    assert counts(tenant_a.tenant)[2] == 2
    ids = {
        post_json(EVENTS, {"id": "evt-1", "user": "4567", "type": "x"}, key).json()[
            "id"
        ]
        for _ in range(3)
    }
    assert ids == {"evt-1"}
    assert counts(tenant_a.tenant)[2] == 3


def test_event_time_account_and_links(tenant_a):
    body = {
        "user": "4567",
        "account": 1234,
        "type": "report.exported",
        "timestamp": "2024-05-06T07:08:09.5+02:00",
        "channel": "api",
    }
    assert post_json(EVENTS, body, tenant_a.api_key).status_code == 200
    with tenant_a.tenant:
        event = Event.objects.get()
        assert event.event_time == datetime(2024, 5, 6, 5, 8, 9, 500000, tzinfo=UTC)
        assert event.context == {"channel": "api"}
        account = Account.objects.get(external_id="1234")
        assert event.account_id == account.id
        user = CustomerUser.objects.get(external_id="4567")
        assert list(user.accounts.all()) == [account]
        assert user.last_seen_at == event.event_time


def test_record_syncs_do_not_move_last_seen(tenant_a):
    curl(ACCOUNTS, CURL_ACCOUNT, tenant_a.api_key)
    curl(USERS, CURL_USER, tenant_a.api_key)
    with tenant_a.tenant:
        assert Account.objects.get().last_seen_at is None
        assert CustomerUser.objects.get().last_seen_at is None


@pytest.mark.parametrize(
    ("path", "raw", "field"),
    [
        (ACCOUNTS, CURL_ACCOUNT, "id"),
        (ACCOUNTS, CURL_ACCOUNT, "name"),
        (USERS, CURL_USER, "id"),
        (USERS, CURL_USER, "account_id"),
        (USERS, CURL_USER, "first_name"),
        (USERS, CURL_USER, "last_name"),
        (USERS, CURL_USER, "email"),
        (EVENTS, CURL_EVENT, "type"),
        (EVENTS, CURL_EVENT, "user"),
    ],
)
@pytest.mark.parametrize("how", ["absent", "empty"])
def test_each_required_field_missing_is_400_naming_it(tenant_a, path, raw, field, how):
    pairs = [pair for pair in raw.split(b"&") if not pair.startswith(field.encode())]
    if how == "empty":
        pairs.append(field.encode() + b"=")
    response = curl(path, b"&".join(pairs), tenant_a.api_key)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request" and field in body["message"]
    assert [d["path"] for d in body["details"]] == [field]
    assert counts(tenant_a.tenant) == (0, 0, 0)


def test_every_bad_field_is_named_at_once(tenant_a):
    body = {"account_id": True, "first_name": 7, "email": "x" * 400}
    response = post_json(USERS, body, tenant_a.api_key)
    assert response.status_code == 400
    paths = [d["path"] for d in response.json()["details"]]
    assert paths == ["id", "account_id", "first_name", "last_name", "email"]
    assert all(d["message"] for d in response.json()["details"])


@pytest.mark.parametrize(
    ("raw", "path"),
    [
        (b"user=1&type=x&properties=flat", "properties"),
        (b"user=1&type=x&properties[a]=1&properties=2", "properties"),
        (b"user=1&type=x&timestamp=yesterday", "timestamp"),
        (b"user=1&type=x&properties[bad]=a%00b", "properties[bad]"),
    ],
)
def test_bad_event_fields_are_400_naming_them(tenant_a, raw, path):
    response = curl(EVENTS, raw, tenant_a.api_key)
    assert response.status_code == 400
    assert path in [d["path"] for d in response.json()["details"]]
    assert counts(tenant_a.tenant) == (0, 0, 0)


CREDENTIALS = {
    "none": (lambda t: {}, "missing_token"),
    "token-without-key": (lambda t: {"Authorization": "Token"}, "missing_token"),
    "unknown-api-key": (lambda t: token("gg_sk_" + "x" * 40), "invalid_token"),
    "not-a-key": (lambda t: token("not-a-key"), "invalid_token"),
    # The secret API key, but sent as another scheme than Token.
    "bearer": (lambda t: {"Authorization": f"Bearer {t.api_key}"}, "missing_token"),
    "bare-key": (lambda t: {"Authorization": t.api_key}, "missing_token"),
    # A valid, publishable tracking key: Gather's API takes API keys only.
    "tracking-key": (lambda t: token(t.tracking_key), "invalid_token"),
}


@pytest.mark.parametrize("credential", CREDENTIALS)
def test_missing_wrong_or_tracking_key_is_401(tenant_a, credential):
    headers_of, code = CREDENTIALS[credential]
    for path, raw in [
        (ACCOUNTS, CURL_ACCOUNT),
        (USERS, CURL_USER),
        (EVENTS, CURL_EVENT),
    ]:
        response = Client().post(
            path, data=raw, content_type=FORM, headers=headers_of(tenant_a)
        )
        assert response.status_code == 401
        assert response.json()["code"] == code and response.json()["message"]
        assert response["WWW-Authenticate"] == "Token"
    assert counts(tenant_a.tenant) == (0, 0, 0)


def test_the_token_scheme_is_case_insensitive(tenant_a):
    headers = {"Authorization": f"token   {tenant_a.api_key} "}
    response = Client().post(
        ACCOUNTS, data=CURL_ACCOUNT, content_type=FORM, headers=headers
    )
    assert response.status_code == 200


def test_a_revoked_api_key_is_refused_within_the_key_cache_time(tenant_a, monkeypatch):
    from tenants.services import key_issue, key_revoke
    from tracking import capture

    key, raw_key = key_issue(tenant=tenant_a.tenant, kind="api")
    assert curl(ACCOUNTS, CURL_ACCOUNT, raw_key).status_code == 200
    key_revoke(prefix=key.prefix)
    later = capture._clock() + capture.KEY_CACHE_SECONDS
    monkeypatch.setattr(capture, "_clock", lambda: later)
    assert curl(ACCOUNTS, b"id=2&name=B", raw_key).status_code == 401
    assert counts(tenant_a.tenant) == (1, 0, 0)


def test_another_tenants_key_writes_only_there(tenant_a, tenant_b):
    curl(ACCOUNTS, CURL_ACCOUNT, tenant_b.api_key)
    curl(USERS, CURL_USER, tenant_b.api_key)
    curl(EVENTS, CURL_EVENT, tenant_b.api_key)
    assert counts(tenant_a.tenant) == (0, 0, 0)
    assert counts(tenant_b.tenant) == (1, 1, 1)


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "multipart/form-data; boundary=x", "application/xml", ""],
)
def test_another_content_type_is_415(tenant_a, content_type):
    response = Client().post(
        ACCOUNTS,
        data=CURL_ACCOUNT,
        content_type=content_type,
        headers=token(tenant_a.api_key),
    )
    assert response.status_code == 415
    assert response.json()["code"] == "unsupported_media_type"
    assert counts(tenant_a.tenant) == (0, 0, 0)


def test_content_type_parameters_and_json_suffix(tenant_a):
    key = tenant_a.api_key
    response = Client().post(
        ACCOUNTS,
        data=CURL_ACCOUNT,
        content_type=f"{FORM.upper()}; charset=UTF-8",
        headers=token(key),
    )
    assert response.status_code == 200, response.content
    response = Client().post(
        ACCOUNTS,
        data=json.dumps({"id": "2", "name": "B"}),
        content_type="application/vnd.api+json",
        headers=token(key),
    )
    assert response.status_code == 200
    response = Client().post(
        ACCOUNTS,
        data=CURL_ACCOUNT,
        content_type=f"{FORM}; charset=latin-1",
        headers=token(key),
    )
    assert response.status_code == 415
    assert counts(tenant_a.tenant) == (2, 0, 0)


@pytest.mark.parametrize(
    ("raw", "content_type", "code"),
    [
        (b"{nope", "application/json", "invalid_json"),
        (b"[" * 50_000, "application/json", "invalid_json"),
        (b"[1, 2]", "application/json", "invalid_request"),
        (b"id=1&name=\xff", FORM, "invalid_form"),
        (b"id=1&name=%FF", FORM, "invalid_form"),
    ],
)
def test_undecodable_bodies_are_400(tenant_a, raw, content_type, code):
    response = Client().post(
        ACCOUNTS, data=raw, content_type=content_type, headers=token(tenant_a.api_key)
    )
    assert response.status_code == 400
    assert response.json()["code"] == code and response.json()["message"]
    assert counts(tenant_a.tenant) == (0, 0, 0)


def test_deep_form_nesting_is_400_not_a_crash(tenant_a):
    raw = b"user=1&type=x&properties" + b"[a]" * 5_000 + b"=1"
    response = curl(EVENTS, raw, tenant_a.api_key)
    assert response.status_code == 400
    assert "nested more than" in response.json()["details"][0]["message"]


def test_gzip_body(tenant_a):
    response = curl(
        ACCOUNTS,
        gzip.compress(CURL_ACCOUNT),
        tenant_a.api_key,
        **{"Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.content
    assert counts(tenant_a.tenant) == (1, 0, 0)


def test_oversized_body_is_413(tenant_a):
    raw = CURL_ACCOUNT + b"&blob=" + b"y" * (600 * 1024)
    response = curl(ACCOUNTS, raw, tenant_a.api_key)
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert counts(tenant_a.tenant) == (0, 0, 0)


def test_trailing_slash_wrong_method_and_unknown_model(tenant_a):
    assert curl(ACCOUNTS + "/", CURL_ACCOUNT, tenant_a.api_key).status_code == 200
    response = Client().get(EVENTS, headers=token(tenant_a.api_key))
    assert response.status_code == 405
    assert response["Content-Type"] == "application/json"
    response = curl("/models/company/records", CURL_ACCOUNT, tenant_a.api_key)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
