"""The official Segment and RudderStack Python SDKs, unmodified, pointed at the
live service: only their host and key change, and every event lands once."""

import json

import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

pytestmark = pytest.mark.slow

COUNT_SQL = (
    "from django.db import connection; "
    "connection.set_schema('demo'); "
    "from tracking.models import Event, CustomerUser, Account; "
    "import json; "
    "print(json.dumps({{'events': Event.objects.filter(name__startswith={prefix!r})"
    ".count(), 'users': CustomerUser.objects.filter(external_id__startswith={prefix!r})"
    ".count(), 'accounts': Account.objects.filter(external_id__startswith={prefix!r})"
    ".count()}}))"
)


def stored(served, prefix: str) -> dict[str, int]:
    output = served.manage("shell", "-c", COUNT_SQL.format(prefix=prefix))
    return json.loads(output.strip().splitlines()[-1])


@pytest.mark.parametrize(
    ("name", "client_class", "gzip"),
    [
        ("segment", SegmentClient, False),
        ("segment-gz", SegmentClient, True),
        ("rudder", RudderClient, False),
        ("rudder-gz", RudderClient, True),
    ],
)
def test_sdk_events_land_exactly_once(served, name, client_class, gzip):
    errors = []
    client = client_class(
        write_key=served.banner("Tracking key"),
        host=served.url,
        gzip=gzip,
        sync_mode=True,
        on_error=lambda error, batch: errors.append(error),
        max_retries=1,
    )
    prefix = f"{name}-"
    client.identify(f"{prefix}user", {"email": "ada@example.com", "name": "Ada"})
    client.group(f"{prefix}user", f"{prefix}account", {"name": "Acme"})
    for i in range(25):
        client.track(f"{prefix}user", f"{prefix}clicked", {"i": i})
    client.page(f"{prefix}user", "Docs", "Home", {"url": "https://example.com"})
    client.flush()
    assert errors == []
    assert stored(served, prefix) == {"events": 25, "users": 1, "accounts": 1}
