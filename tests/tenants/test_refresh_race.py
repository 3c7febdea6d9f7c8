"""Two refreshes with the same refresh token at the same moment, over HTTP,
against the real server (two worker processes, each its own database
connection): within the reuse interval both succeed with the same session."""

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.live import login, request

pytestmark = pytest.mark.slow

PASSWORD = "refresh race battery staple"


@pytest.fixture(scope="module")
def member(served):
    """A member of the demo tenant of its own (no other test signs it out)."""
    demo = served.demo()
    email = f"race-{uuid.uuid4().hex[:10]}@example.com"
    served.manage(
        "create_tenant_admin", email, "--tenant", "demo", "--password", PASSWORD
    )
    return {**demo, "email": email}


def refresh(served, api_key: str, token: str):
    status, _, body = request(
        "POST",
        served.url + "/auth/v1/token?grant_type=refresh_token",
        {"refresh_token": token},
        apikey=api_key,
    )
    return status, json.loads(body)


def things(served, api_key: str, access_token: str) -> int:
    status, _, _ = request(
        "GET",
        served.url + "/rest/v1/things?select=id&limit=1",
        apikey=api_key,
        Authorization=f"Bearer {access_token}",
        Accept_Profile="demo",
    )
    return status


@pytest.mark.parametrize("attempt", range(8))
def test_two_simultaneous_refreshes_both_succeed(served, member, attempt):
    session = login(served, member["api_key"], member["email"], PASSWORD)
    start = threading.Barrier(2)

    def one(_):
        start.wait()
        return refresh(served, member["api_key"], session["refresh_token"])

    with ThreadPoolExecutor(2) as pool:
        (status_a, a), (status_b, b) = pool.map(one, range(2))
    assert (status_a, status_b) == (200, 200), (a, b)
    assert a["refresh_token"] == b["refresh_token"] != session["refresh_token"]
    assert things(served, member["api_key"], a["access_token"]) == 200
    assert things(served, member["api_key"], b["access_token"]) == 200
    # The one current token refreshes on; the session never forked.
    status, onwards = refresh(served, member["api_key"], a["refresh_token"])
    assert status == 200
    assert onwards["refresh_token"] not in {a["refresh_token"], b["refresh_token"]}
