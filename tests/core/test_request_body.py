"""Request bodies at the edge (core.http.request_body): chunked bodies read to
their end, each face's limit a 413 in its shape, never more read than the
limit and one byte."""

import base64
import io
import json

import pytest
from django.test import Client, RequestFactory

from core.errors import PayloadTooLarge
from core.http import request_body
from pgrest.request import BODY_LIMIT as REST_LIMIT
from tenants.auth_api import BODY_LIMIT as AUTH_LIMIT
from tests.clients import api_for
from tests.factories import PASSWORD, in_tenant, member_make
from tracking.dialects import bucket, gather, segment, vitally
from tracking.models import Event


class Input(io.BytesIO):
    """A server's input stream that counts what was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size=-1):
        data = super().read(size)
        self.taken += len(data)
        return data


def chunked(data: bytes, content_type: str = "application/json"):
    """A request as a WSGI server gives a chunked one: no Content-Length,
    ``Transfer-Encoding: chunked``, the de-chunked body on ``wsgi.input``."""
    request = RequestFactory().post("/x", data=b"-", content_type=content_type)
    stream = Input(data)
    request.META.pop("CONTENT_LENGTH", None)
    request.META["HTTP_TRANSFER_ENCODING"] = "gzip, chunked"
    request.environ["wsgi.input"] = stream
    return request, stream


def test_a_body_with_a_length_is_read_once_and_kept():
    request = RequestFactory().post("/x", data=b'{"a": 1}', content_type="text/plain")
    assert request_body(request, limit=8) == b'{"a": 1}'
    assert request_body(request, limit=8) == request.body == b'{"a": 1}'
    with pytest.raises(PayloadTooLarge):
        request_body(request, limit=7)  # what was read counts against a lower limit


def test_a_length_beyond_the_limit_is_refused_before_reading():
    request = RequestFactory().post("/x", data=b"x" * 100, content_type="text/plain")
    stream = Input(b"x" * 100)
    request.environ["wsgi.input"] = request._stream = stream
    with pytest.raises(PayloadTooLarge) as raised:
        request_body(request, limit=99)
    assert stream.taken == 0
    assert raised.value.status == 413 and raised.value.limit == 99
    assert "larger than 99 bytes" in raised.value.message


def test_a_chunked_body_is_read_to_its_end():
    request, _ = chunked(b"a=1&b=2", "application/x-www-form-urlencoded")
    assert request_body(request, limit=100) == b"a=1&b=2"
    # Django's own readers see it too, and its length.
    assert request.body == b"a=1&b=2"
    assert request.POST.dict() == {"a": "1", "b": "2"}
    assert request.META["CONTENT_LENGTH"] == "7"


def test_a_chunked_body_beyond_the_limit_reads_the_limit_and_one_byte():
    request, stream = chunked(b"x" * 1_000_000)
    with pytest.raises(PayloadTooLarge):
        request_body(request, limit=100_000)
    assert stream.taken == 100_001
    request, stream = chunked(b"x" * 100_000)
    assert len(request_body(request, limit=100_000)) == 100_000


def test_no_length_and_no_chunks_is_an_empty_body():
    request = RequestFactory().post("/x", data=b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    request.environ["wsgi.input"] = Input(b"not the body")
    assert request_body(request, limit=100) == b""


def test_a_length_that_is_not_a_number_is_a_400():
    request = RequestFactory().post("/x", data=b"{}", content_type="application/json")
    request.META["CONTENT_LENGTH"] = "lots"
    with pytest.raises(Exception) as raised:
        request_body(request, limit=100)
    assert raised.value.status == 400


# -- every face, through Django's handler ----------------------------------------------


def send(path: str, body: bytes, *, is_chunked: bool = False, **headers):
    """POST ``body`` to ``path`` through the whole stack; chunked: as a WSGI
    server hands over a chunked request (no Content-Length)."""
    extra = {}
    if is_chunked:  # Django's FakePayload refuses reads past its end: a real one
        extra = {
            "CONTENT_LENGTH": "",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(body),
        }
    content_type = headers.pop("content_type", "application/json")
    return Client().generic(
        "POST", path, data=body, content_type=content_type, headers=headers, **extra
    )


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()


def vendors(tenant):
    """Each ingestion endpoint: path, headers, a body that stores one event."""
    return {
        "segment": (
            "/v1/track",
            {"Authorization": basic(tenant.tracking_key)},
            {"userId": "u1", "event": "Chunked", "messageId": "chunked-1"},
        ),
        "vitally": (
            "/analytics/v1/batch",
            {"Authorization": f"Basic {tenant.api_key}"},
            [{"type": "track", "userId": "u1", "event": "Chunked", "messageId": "c1"}],
        ),
        "bucket": (
            "/event",
            {"Authorization": f"Bearer {tenant.tracking_key}"},
            {"userId": "u1", "event": "Chunked"},
        ),
        "gather": (
            "/events",
            {"Authorization": f"Token {tenant.api_key}"},
            {"user": "u1", "type": "Chunked"},
        ),
    }


LIMITS = {
    "segment": segment.BATCH_LIMIT,
    "vitally": vitally.BODY_LIMIT,
    "bucket": bucket.BODY_LIMIT,
    "gather": gather.BODY_LIMIT,
}


@pytest.mark.django_db
@pytest.mark.parametrize("vendor", LIMITS)
def test_a_chunked_body_is_ingested_on_every_endpoint(tenant_a, vendor):
    path, headers, body = vendors(tenant_a)[vendor]
    response = send(path, json.dumps(body).encode(), is_chunked=True, **headers)
    assert response.status_code == 200, response.content
    with in_tenant(tenant_a):
        assert list(Event.objects.values_list("name", flat=True)) == ["Chunked"]


@pytest.mark.django_db
@pytest.mark.parametrize("is_chunked", [False, True])
@pytest.mark.parametrize("vendor", LIMITS)
def test_beyond_its_limit_an_endpoint_answers_413_in_its_vendors_shape(
    tenant_a, vendor, is_chunked
):
    path, headers, _ = vendors(tenant_a)[vendor]
    limit = LIMITS[vendor]
    response = send(path, b" " * (limit + 1), is_chunked=is_chunked, **headers)
    assert response.status_code == 413, response.content
    answer = response.json()
    assert answer["code"] == "payload_too_large"
    assert f"({limit} bytes)" in answer["message"]
    if vendor == "bucket":  # its 400s name the body; its CORS is kept
        assert answer["details"] == [{"path": "body", "message": answer["message"]}]
        assert response["Access-Control-Allow-Origin"] == "*"
    # Exactly the limit is read, and parsed (blanks: not JSON).
    response = send(path, b" " * limit, is_chunked=is_chunked, **headers)
    assert response.status_code in {400, 415}, response.content


@pytest.mark.django_db
def test_vitallys_4_mb_are_reachable_without_gzip(tenant_a):
    # 100 messages (Vitally's most) of 38 KB: 3.8 MB, beyond Django's 2.5 MB.
    batch = [
        {
            "type": "track",
            "userId": "u1",
            "event": "Big",
            "messageId": f"big-{i}",
            "properties": {"text": "x" * 38_000},
        }
        for i in range(100)
    ]
    raw = json.dumps(batch).encode()
    assert 2.5 * 1024 * 1024 < len(raw) < vitally.BODY_LIMIT
    response = send(
        "/analytics/v1/batch", raw, Authorization=f"Basic {tenant_a.api_key}"
    )
    assert response.status_code == 200, response.content
    with in_tenant(tenant_a):
        assert Event.objects.count() == 100


@pytest.mark.django_db
@pytest.mark.parametrize("is_chunked", [False, True])
def test_rest_reads_chunked_bodies_and_answers_413_beyond_its_limit(
    tenant_a, is_chunked
):
    api = api_for(tenant_a, "admin")
    headers = api._headers("POST", "return=representation", {})
    body = json.dumps({"name": "Chunked thing"}).encode()
    response = send("/rest/v1/things", body, is_chunked=is_chunked, **headers)
    assert response.status_code == 201, response.content
    assert response.json()[0]["name"] == "Chunked thing"

    too_big = b" " * (REST_LIMIT + 1)
    response = send("/rest/v1/things", too_big, is_chunked=is_chunked, **headers)
    assert response.status_code == 413
    assert response.json() == {
        "code": "PGRST102",
        "details": None,
        "hint": "Send fewer rows per request.",
        "message": "The request body is larger than 10 MB (10485760 bytes), "
        "the limit of this endpoint.",
    }


@pytest.mark.django_db
@pytest.mark.parametrize("is_chunked", [False, True])
def test_auth_reads_chunked_bodies_and_answers_413_beyond_its_limit(
    tenant_a, is_chunked
):
    user = member_make(tenant_a.tenant, "viewer")
    path = "/auth/v1/token?grant_type=password"
    body = json.dumps({"email": user.email, "password": PASSWORD}).encode()
    response = send(path, body, is_chunked=is_chunked, apikey=tenant_a.api_key)
    assert response.status_code == 200, response.content
    assert response.json()["access_token"]

    too_big = b" " * (AUTH_LIMIT + 1)
    response = send(path, too_big, is_chunked=is_chunked, apikey=tenant_a.api_key)
    assert response.status_code == 413
    assert response.json() == {
        "code": "payload_too_large",
        "message": "The request body is larger than 64 KB (65536 bytes), "
        "the limit of this endpoint.",
    }
    assert response["X-Supabase-Api-Version"]
