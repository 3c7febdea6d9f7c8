"""The official JavaScript tracking SDKs (tests/js, pinned by its lockfile),
unmodified, against the live service: only their host (and key) change. Each
test reads back through /rest/v1 exactly what landed: users, accounts, events
with their properties and times, each exactly once."""

import json
import urllib.parse
import uuid
from datetime import datetime, timedelta

import pytest

from tests.live import login, request
from tests.node import node_run

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(served):
    credentials = served.demo()
    session = login(
        served, credentials["api_key"], credentials["email"], credentials["password"]
    )
    return {
        **credentials,
        "tracking_key": served.banner("Tracking key"),
        "token": session["access_token"],
    }


@pytest.fixture
def prefix() -> str:
    return f"js-{uuid.uuid4().hex[:8]}-"


def rest(served, demo, path: str, **query: str) -> list[dict]:
    """``GET /rest/v1/<path>?<query>`` as the demo tenant's admin."""
    url = f"{served.url}/rest/v1/{path}?{urllib.parse.urlencode(query)}"
    status, _, body = request(
        "GET",
        url,
        apikey=demo["api_key"],
        Authorization=f"Bearer {demo['token']}",
        Accept_Profile="demo",
    )
    assert status == 200, body
    return json.loads(body)


def when(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text.replace("Z", "+00:00"))


def landed(served, demo, prefix: str) -> dict:
    """The users, accounts (with their users) and events of ``prefix``."""
    users = rest(
        served,
        demo,
        "users",
        external_id=f"like.{prefix}*",
        select="id,external_id,email,traits",
    )
    accounts = rest(
        served,
        demo,
        "accounts",
        external_id=f"like.{prefix}*",
        select="external_id,name,traits,account_users(users(external_id))",
    )
    ids = ",".join(str(user["id"]) for user in users) or "0"
    events = rest(
        served,
        demo,
        "events",
        user_id=f"in.({ids})",
        select="name,properties,event_time,received_at,original_timestamp,"
        "sent_at,message_id,source,users(external_id),accounts(external_id)",
        order="id",
    )
    return {"users": users, "accounts": accounts, "events": events}


def names_and_properties(events: list[dict]) -> list[tuple[str, dict]]:
    """What landed, in no particular order: batches may be written in any
    order (and an event of another month lands in another partition)."""
    pairs = [(e["name"], e["properties"]) for e in events]
    return sorted(pairs, key=lambda pair: (pair[0], json.dumps(pair[1])))


def without_ids(users: list[dict]) -> list[dict]:
    return [{k: v for k, v in user.items() if k != "id"} for user in users]


def assert_segment_times(event: dict, message: dict, batch: dict) -> None:
    """The client's times as sent, and the event time corrected for its clock:
    ``received_at - (sentAt - originalTimestamp, else timestamp)``."""
    client_time = when(message.get("originalTimestamp") or message["timestamp"])
    sent_at = when(message.get("sentAt") or batch["sentAt"])
    assert when(event["original_timestamp"]) == client_time
    assert when(event["sent_at"]) == sent_at
    if message.get("originalTimestamp") and message.get("timestamp"):
        # A timestamp the caller set (a backfill) wins over the SDK's own.
        assert when(event["event_time"]) == when(message["timestamp"])
    else:
        received = when(event["received_at"])
        assert when(event["event_time"]) == received - (sent_at - client_time)


ANALYTICS_NODE = """
import { Analytics } from '@segment/analytics-node'

const P = process.env.PREFIX
const errors = [], batches = [], statuses = []
const analytics = new Analytics({
  writeKey: process.env.KEY, host: process.env.HOST, flushAt: 3, maxRetries: 1,
})
analytics.on('error', (error) => errors.push(String(error.reason ?? error)))
analytics.on('http_request', (sent) => batches.push(JSON.parse(sent.body)))
analytics.on('http_response', (answer) => statuses.push(answer.status))

const user = P + 'user'
analytics.identify({ userId: user, traits: { email: 'ada@example.com', name: 'Ada' } })
analytics.group({ userId: user, groupId: P + 'account', traits: { name: 'Acme' } })
// The same click twice: two calls (each its own messageId), two events.
analytics.track({ userId: user, event: P + 'clicked', properties: { button: 'save' } })
analytics.track({ userId: user, event: P + 'clicked', properties: { button: 'save' } })
analytics.track({
  userId: user, event: P + 'imported', properties: { n: 1 },
  timestamp: new Date('2025-01-02T03:04:05.678Z'),
})
analytics.page({
  userId: user, category: 'Docs', name: 'Home',
  properties: { url: 'https://example.com/docs' },
})
await analytics.closeAndFlush()
console.log(JSON.stringify({ errors, batches, statuses }))
"""


def test_segment_analytics_node(served, demo, prefix):
    out = node_run(
        ANALYTICS_NODE,
        env={"PREFIX": prefix, "KEY": demo["tracking_key"], "HOST": served.url},
    )
    assert out["errors"] == [] and set(out["statuses"]) == {200}
    sent = {m["messageId"]: (m, b) for b in out["batches"] for m in b["batch"]}
    assert len(sent) == 6
    got = landed(served, demo, prefix)
    assert without_ids(got["users"]) == [
        {
            "external_id": f"{prefix}user",
            "email": "ada@example.com",
            "traits": {"email": "ada@example.com", "name": "Ada"},
        }
    ]
    assert got["accounts"] == [
        {
            "external_id": f"{prefix}account",
            "name": "Acme",
            "traits": {"name": "Acme"},
            "account_users": [{"users": {"external_id": f"{prefix}user"}}],
        }
    ]
    events = got["events"]
    assert names_and_properties(events) == names_and_properties(
        [
            {"name": f"{prefix}clicked", "properties": {"button": "save"}},
            {"name": f"{prefix}clicked", "properties": {"button": "save"}},
            {"name": f"{prefix}imported", "properties": {"n": 1}},
            {
                "name": "page.viewed",
                "properties": {
                    "url": "https://example.com/docs",
                    "name": "Home",
                    "category": "Docs",
                },
            },
        ]
    )
    # Exactly once: every event is one message the SDK sent, each once.
    assert sorted(e["message_id"] for e in events) == sorted(
        m["messageId"] for m, _ in sent.values() if m["type"] in {"track", "page"}
    )
    for event in events:
        assert event["source"] == "segment"
        assert event["users"] == {"external_id": f"{prefix}user"}
        assert_segment_times(event, *sent[event["message_id"]])
    imported = next(e for e in events if e["name"] == f"{prefix}imported")
    # analytics-node sends the caller's timestamp and the batch's sentAt, both
    # by its clock: the event keeps the time it says, to within the delay.
    assert imported["original_timestamp"] == "2025-01-02T03:04:05.678+00:00"
    assert abs(
        when(imported["event_time"]) - when(imported["original_timestamp"])
    ) < timedelta(seconds=30)


RUDDER_NODE = """
import Analytics from '@rudderstack/rudder-sdk-node'
import zlib from 'node:zlib'

const P = process.env.PREFIX
const errors = [], batches = []
const client = new Analytics(process.env.KEY, {
  dataPlaneUrl: process.env.HOST, flushAt: 3, flushInterval: 60000,
  retryCount: 0, logLevel: 'error',
  errorHandler: (error) => errors.push(String(error)),
})
// Each call's callback gets its batch as sent (gzipped, the SDK's default),
// once that batch was answered; all six calls' answered means all were sent.
let unanswered = 6, allAnswered
const answered = new Promise((resolve) => { allAnswered = resolve })
const sent = (error, data) => {
  if (error) errors.push(String(error))
  else batches.push(JSON.parse(zlib.gunzipSync(data).toString()))
  if (--unanswered === 0) allAnswered()
}
const user = P + 'user'
const click = { userId: user, event: P + 'clicked', properties: { button: 'save' } }
const traits = { email: 'ada@example.com', name: 'Ada' }
client.identify({ userId: user, traits }, sent)
client.group({ userId: user, groupId: P + 'account', traits: { name: 'Acme' } }, sent)
client.track(click, sent)
client.track(click, sent)
client.track({
  userId: user, event: P + 'imported', properties: { n: 1 },
  timestamp: new Date('2025-01-02T03:04:05.678Z'),
}, sent)
client.page({
  userId: user, category: 'Docs', name: 'Home',
  properties: { url: 'https://example.com/docs' },
}, sent)
await client.flush()
await answered
console.log(JSON.stringify({ errors, batches }))
process.exit(0)  // its flush timer would keep node alive
"""


def test_rudderstack_rudder_sdk_node(served, demo, prefix):
    out = node_run(
        RUDDER_NODE,
        env={"PREFIX": prefix, "KEY": demo["tracking_key"], "HOST": served.url},
    )
    assert out["errors"] == []
    sent = {m["messageId"]: (m, b) for b in out["batches"] for m in b["batch"]}
    assert len(sent) == 6
    got = landed(served, demo, prefix)
    assert without_ids(got["users"]) == [
        {
            "external_id": f"{prefix}user",
            "email": "ada@example.com",
            "traits": {"email": "ada@example.com", "name": "Ada"},
        }
    ]
    assert [(a["external_id"], a["name"]) for a in got["accounts"]] == [
        (f"{prefix}account", "Acme")
    ]
    assert got["accounts"][0]["account_users"] == [
        {"users": {"external_id": f"{prefix}user"}}
    ]
    events = got["events"]

    def shown(name: str, properties: dict) -> tuple[str, str]:
        return name, json.dumps(properties, sort_keys=True)

    assert sorted(shown(e["name"], e["properties"]) for e in events) == sorted(
        [
            shown(f"{prefix}clicked", {"button": "save"}),
            shown(f"{prefix}clicked", {"button": "save"}),
            shown(f"{prefix}imported", {"n": 1}),
            shown(
                "page.viewed",
                {"url": "https://example.com/docs", "name": "Home", "category": "Docs"},
            ),
        ]
    )
    assert sorted(e["message_id"] for e in events) == sorted(
        m["messageId"] for m, _ in sent.values() if m["type"] in {"track", "page"}
    )
    for event in events:
        assert event["source"] == "segment"
        assert_segment_times(event, *sent[event["message_id"]])
    # Its SDK stamps originalTimestamp itself: the caller's timestamp (a
    # backfill) is when it happened, as RudderStack's own server takes it.
    (imported,) = (e for e in events if e["name"] == f"{prefix}imported")
    assert imported["event_time"] == "2025-01-02T03:04:05.678+00:00"


BUCKET_NODE = """
import { BucketClient } from '@bucketco/node-sdk'

const P = process.env.PREFIX
const warnings = [], errors = []
const client = new BucketClient({
  secretKey: process.env.KEY, apiBaseUrl: process.env.HOST, offline: false,
  logger: {
    debug() {}, info() {},
    warn: (...args) => warnings.push(args.map(String).join(' ')),
    error: (...args) => errors.push(args.map(String).join(' ')),
  },
  batchOptions: { flushOnExit: false },
})
const started = Date.now()
await client.initialize()
const initializeMs = Date.now() - started
const user = P + 'user', company = P + 'company'
const click = { attributes: { button: 'save' }, companyId: company }
await client.updateUser(user, { attributes: { name: 'Ada', email: 'ada@example.com' } })
await client.updateCompany(company, {
  attributes: { name: 'Acme', plan: 'pro' }, userId: user,
})
// The same click twice within a second: two events (Bucket sends no ids).
await client.track(user, P + 'clicked', click)
await client.track(user, P + 'clicked', click)
await client.flush()
console.log(JSON.stringify({
  warnings, errors, initializeMs, features: client.getFeatureDefinitions(),
  flags: client.getFeatures({ user: { id: user } }),
}))
process.exit(0)  // its features refresh timer would keep node alive
"""


def test_bucket_node_sdk(served, demo, prefix):
    out = node_run(
        BUCKET_NODE,
        env={"PREFIX": prefix, "KEY": demo["api_key"], "HOST": served.url},
    )
    # initialize() fetched GET /features: no flag, no retry, no complaint.
    assert out["errors"] == [] and out["warnings"] == []
    assert out["features"] == [] and out["flags"] == {}
    assert out["initializeMs"] < 2000
    got = landed(served, demo, prefix)
    assert without_ids(got["users"]) == [
        {
            "external_id": f"{prefix}user",
            "email": "ada@example.com",
            "traits": {"name": "Ada", "email": "ada@example.com"},
        }
    ]
    assert got["accounts"] == [
        {
            "external_id": f"{prefix}company",
            "name": "Acme",
            "traits": {"name": "Acme", "plan": "pro"},
            "account_users": [{"users": {"external_id": f"{prefix}user"}}],
        }
    ]
    events = got["events"]
    assert [(e["name"], e["properties"]) for e in events] == [
        (f"{prefix}clicked", {"button": "save"}),
        (f"{prefix}clicked", {"button": "save"}),
    ]
    assert len({e["message_id"] for e in events}) == 2
    for event in events:
        assert event["source"] == "bucket"
        assert event["accounts"] == {"external_id": f"{prefix}company"}
        # Bucket sends no times: it happened when it arrived.
        assert event["event_time"] == event["received_at"]
        assert event["original_timestamp"] is None and event["sent_at"] is None
