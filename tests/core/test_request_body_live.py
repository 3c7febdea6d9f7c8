"""Chunked bodies and body limits over real HTTP, against the served app
(granian): every face reads a chunked body to its end, and answers 413 in its
shape beyond its limit without waiting for the rest."""

import json
import socket
import uuid
from urllib.parse import urlsplit

import pytest

from tests.live import login

pytestmark = pytest.mark.slow


def exchange(
    served,
    path: str,
    headers: dict[str, str],
    chunks: list[bytes] = (),
    *,
    length: int | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request on a raw socket: ``chunks`` sent as HTTP chunks (no
    Content-Length), or, with ``length``, headers declaring it and no body.
    The answer may come before the whole body is sent: then sending stops."""
    url = urlsplit(served.url)
    lines = [f"POST {path} HTTP/1.1", f"Host: {url.netloc}", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    if length is None:
        lines.append("Transfer-Encoding: chunked")
    else:
        lines.append(f"Content-Length: {length}")
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        if length is None:
            try:
                for chunk in chunks:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # answered (and closed) before the end: read the answer
        answer = b""
        try:
            while data := sock.recv(65536):
                answer += data
        except ConnectionResetError:
            pass
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    found = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        found[name.strip().lower()] = value.strip()
    if found.get("transfer-encoding") == "chunked":
        body = dechunk(body)
    return int(status_line.split()[1]), found, body


def dechunk(raw: bytes) -> bytes:
    out = b""
    while raw:
        size, _, raw = raw.partition(b"\r\n")
        if not int(size, 16):
            break
        out, raw = out + raw[: int(size, 16)], raw[int(size, 16) + 2 :]
    return out


def pieces(data: bytes, size: int = 1000) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.fixture(scope="module")
def demo(served):
    credentials = served.demo()
    session = login(
        served, credentials["api_key"], credentials["email"], credentials["password"]
    )
    return {
        **credentials,
        "tracking_key": served.banner("Tracking key"),
        "rest": {
            "apikey": credentials["api_key"],
            "Authorization": f"Bearer {session['access_token']}",
            "Content-Profile": "demo",
            "Accept-Profile": "demo",
            "Content-Type": "application/json",
        },
    }


def test_a_chunked_batch_is_ingested(served, demo):
    name = f"chunked-{uuid.uuid4().hex[:8]}"
    batch = {
        "writeKey": demo["tracking_key"],
        "batch": [
            {"type": "track", "userId": "u", "event": name, "messageId": f"{name}-{i}"}
            for i in range(50)
        ],
    }
    status, _, body = exchange(
        served,
        "/v1/batch",
        {"Content-Type": "application/json"},
        pieces(json.dumps(batch).encode()),
    )
    assert (status, json.loads(body)) == (200, {"success": True})
    output = served.manage(
        "shell",
        "-c",
        "from django.db import connection; connection.set_schema('demo'); "
        "from tracking.models import Event; "
        f"print(Event.objects.filter(name={name!r}).count())",
    )
    assert output.strip().splitlines()[-1] == "50"


def test_a_chunked_rest_insert_and_a_chunked_sign_in(served, demo):
    name = f"chunked-{uuid.uuid4().hex[:8]}"
    headers = {**demo["rest"], "Prefer": "return=representation"}
    raw = json.dumps({"name": name}).encode()
    status, _, body = exchange(served, "/rest/v1/things", headers, pieces(raw, 3))
    assert status == 201, body
    assert json.loads(body)[0]["name"] == name

    raw = json.dumps({"email": demo["email"], "password": demo["password"]}).encode()
    status, _, body = exchange(
        served,
        "/auth/v1/token?grant_type=password",
        {"apikey": demo["api_key"], "Content-Type": "application/json"},
        pieces(raw, 5),
    )
    assert status == 200, body
    assert json.loads(body)["access_token"]


@pytest.mark.parametrize("is_chunked", [True, False])
@pytest.mark.parametrize(
    ("path", "limit", "code", "keys"),
    [
        ("/v1/batch", 500 * 1024, "payload_too_large", {"code", "message"}),
        (
            "/analytics/v1/batch",
            4 * 1024 * 1024,
            "payload_too_large",
            {"code", "message"},
        ),
        (
            "/rest/v1/things",
            10 * 1024 * 1024,
            "PGRST102",
            {"code", "details", "hint", "message"},
        ),
        (
            "/auth/v1/token?grant_type=password",
            64 * 1024,
            "payload_too_large",
            {"code", "message"},
        ),
    ],
)
def test_beyond_a_faces_limit_is_a_413_in_its_shape(
    served, demo, path, limit, code, keys, is_chunked
):
    headers = {
        "/v1/batch": {"Authorization": f"Bearer {demo['tracking_key']}"},
        "/analytics/v1/batch": {"Authorization": f"Basic {demo['api_key']}"},
        "/rest/v1/things": demo["rest"],
    }.get(path, {"apikey": demo["api_key"]})
    headers = {"Content-Type": "application/json", **headers}
    if is_chunked:  # the limit and some more, 64 KB a chunk
        chunks = pieces(b" " * (limit + 200_000), 64 * 1024)
        status, found, body = exchange(served, path, headers, chunks)
    else:  # a length beyond the limit is refused before any of it is sent
        status, found, body = exchange(served, path, headers, length=limit + 1)
    assert status == 413, body
    answer = json.loads(body)
    assert set(answer) == keys and answer["code"] == code
    assert f"({limit} bytes)" in answer["message"]
    if path.startswith("/auth/"):
        assert found["x-supabase-api-version"]
