"""The one writer of tracking data: canonical messages in, one transaction.

``messages_ingest`` dedupes by the message ids clients sent (per tenant,
forever; a message sent without one is always new), merges traits
in SQL (no read-modify-write), creates the users and accounts that messages
only refer to, links users to accounts, inserts events, and maintains sessions
and daily usage (``tracking/usage.py``). Callers validate every message first
(the dialect adapters do), so a request is written whole or not at all.
``requests_ingest`` writes several requests in one transaction (group commit,
``tracking/group_commit.py``), counting each one's result apart.

A transaction costs three round trips to PostgreSQL, whatever its size: the
receipts (which messages are new), then one pipeline of the statements that
write (the entity upserts; then links, events, feedback, sessions and usage),
then COMMIT.
The statements are prepared once per connection; their rows travel as one
JSON document each.
"""

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg
from django.db import connection, transaction
from django_tenants.utils import quote_schema_name

from tenants.schemas import search_path_due
from tracking.messages import Kind, Message
from tracking.usage import (
    SESSION_GAP,
    USAGE_CTES,
    USERS_MERGE_USAGE_SQL,
    usage_params,
)


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # messages written
    duplicates: int  # messages already seen (now or in an earlier request)


def receipt_key(message: Message) -> str:
    """The message's receipt key: a UUID (as 32 hex digits) of its source and id."""
    return hashlib.md5(
        f"{message.source}:{message.message_id}".encode(), usedforsecurity=False
    ).hexdigest()


def json_text(value: Any) -> str:
    """Compact JSON for a statement parameter (orjson; json for what it refuses)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError: an integer beyond 64 bits
        return json.dumps(value, separators=(",", ":"), default=str)


@dataclass
class _Entity:
    """Everything a request says about one user, account or organization."""

    external_id: str
    name: str = ""
    traits: dict[str, Any] | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    organization: str | None = None
    first_name: str = ""
    last_name: str = ""
    email: str = ""

    def saw(self, message: Message) -> None:
        if not message.active:
            return
        at = message.timestamp
        self.first_seen = at if self.first_seen is None else min(self.first_seen, at)
        self.last_seen = at if self.last_seen is None else max(self.last_seen, at)

    def merge(self, traits: dict[str, Any]) -> None:
        self.traits = {**(self.traits or {}), **traits}

    def row(self) -> dict[str, Any]:
        return {
            "external_id": self.external_id,
            "name": self.name,
            "traits": self.traits or {},
            "first_seen_at": self.first_seen,
            "last_seen_at": self.last_seen,
        }


def _entity(table: dict[str, _Entity], external_id: str | None) -> _Entity | None:
    if not external_id:
        return None
    entity = table.get(external_id)
    if entity is None:
        entity = table[external_id] = _Entity(external_id)
    return entity


USER_NAME_TRAITS = {
    "first_name": ("first_name", "firstName"),
    "last_name": ("last_name", "lastName"),
    "email": ("email",),
}


def _collect(messages: Iterable[Message]):
    users: dict[str, _Entity] = {}
    accounts: dict[str, _Entity] = {}
    organizations: dict[str, _Entity] = {}
    links: set[tuple[str, str]] = set()
    unlinks: set[tuple[str, str]] = set()
    for message in messages:
        if message.kind == Kind.ALIAS:
            continue  # applied on their own, in order (_aliases_apply)
        user = _entity(users, message.user_id)
        account = _entity(accounts, message.account_id)
        organization = _entity(organizations, message.organization_id)
        for entity in (user, account, organization):
            if entity is not None:
                entity.saw(message)
        if message.kind == Kind.USER and user is not None:
            user.merge(message.traits)
            if isinstance(message.traits.get("name"), str):
                user.name = message.traits["name"]
            for column, keys in USER_NAME_TRAITS.items():
                for key in keys:
                    if isinstance(message.traits.get(key), str):
                        setattr(user, column, message.traits[key])
        elif message.kind == Kind.ACCOUNT and account is not None:
            account.merge(message.traits)
            if isinstance(message.traits.get("name"), str):
                account.name = message.traits["name"]
        elif message.kind == Kind.ORGANIZATION and organization is not None:
            organization.merge(message.traits)
            if isinstance(message.traits.get("name"), str):
                organization.name = message.traits["name"]
        if account is not None and organization is not None:
            account.organization = organization.external_id
        if user is not None and account is not None:
            if message.kind == Kind.UNLINK:
                unlinks.add((user.external_id, account.external_id))
                links.discard((user.external_id, account.external_id))
            else:
                links.add((user.external_id, account.external_id))
    return users, accounts, organizations, links, unlinks


# Entities merge by external id: traits in SQL (``old || new``: the request
# wins), names only change when given, first/last seen only widen. A row is
# rewritten only when one of these changes it; a message that merely refers
# to a known user (most events) leaves it alone. Every row is upserted in
# external id order, so concurrent requests lock the rows they share in one
# order and cannot deadlock.
def _merge(table: str, *names: str) -> str:
    sets = [
        f"traits = {table}.traits || EXCLUDED.traits",
        f"first_seen_at = LEAST({table}.first_seen_at, EXCLUDED.first_seen_at)",
        f"last_seen_at = GREATEST({table}.last_seen_at, EXCLUDED.last_seen_at)",
        "updated_at = now()",
    ]
    sets += [
        f"{n} = CASE WHEN EXCLUDED.{n} <> '' THEN EXCLUDED.{n} ELSE {table}.{n} END"
        for n in names
    ]
    changes = [
        "EXCLUDED.traits <> '{}'::jsonb",
        f"EXCLUDED.first_seen_at < COALESCE({table}.first_seen_at, 'infinity')",
        f"EXCLUDED.last_seen_at > COALESCE({table}.last_seen_at, '-infinity')",
    ]
    changes += [f"EXCLUDED.{n} <> ''" for n in names]
    return f"SET {', '.join(sets)} WHERE {' OR '.join(changes)}"


_ENTITY_COLUMNS = (
    "external_id text, name text, traits jsonb, first_seen_at timestamptz, "
    "last_seen_at timestamptz"
)

# Only sent when a request names organizations (Vitally): before the accounts,
# whose statement then sees them.
ORGANIZATIONS_SQL = f"""
INSERT INTO organizations AS t (external_id, name, traits, first_seen_at,
  last_seen_at, created_at, updated_at)
SELECT external_id, name, traits, first_seen_at, last_seen_at, now(), now()
FROM jsonb_to_recordset(%(organizations)s::jsonb) AS r({_ENTITY_COLUMNS})
ORDER BY external_id
ON CONFLICT (external_id) DO UPDATE {_merge("t", "name")}
"""

# Accounts, then users (the scalar subqueries of the final SELECT run the
# upserts in that order).
ENTITIES_SQL = f"""
WITH a AS (
  INSERT INTO accounts AS t (external_id, name, traits, first_seen_at,
    last_seen_at, organization_id, created_at, updated_at)
  SELECT r.external_id, r.name, r.traits, r.first_seen_at, r.last_seen_at,
    (SELECT id FROM organizations WHERE external_id = r.organization), now(),
    now()
  FROM jsonb_to_recordset(%(accounts)s::jsonb)
    AS r({_ENTITY_COLUMNS}, organization text)
  ORDER BY r.external_id
  ON CONFLICT (external_id) DO UPDATE {_merge("t", "name")}
    OR EXCLUDED.organization_id <> t.organization_id
    OR (t.organization_id IS NULL AND EXCLUDED.organization_id IS NOT NULL)
  RETURNING 1
), u AS (
  INSERT INTO users AS t (external_id, name, traits, first_seen_at,
    last_seen_at, first_name, last_name, email, created_at, updated_at)
  SELECT external_id, name, traits, first_seen_at, last_seen_at, first_name,
    last_name, email, now(), now()
  FROM jsonb_to_recordset(%(users)s::jsonb)
    AS r({_ENTITY_COLUMNS}, first_name text, last_name text, email text)
  ORDER BY external_id
  ON CONFLICT (external_id) DO UPDATE
    {_merge("t", "name", "first_name", "last_name", "email")}
  RETURNING 1
)
SELECT (SELECT count(*) FROM a), (SELECT count(*) FROM u)
"""

# Links, events, feedback, sessions and usage, in a statement after the
# upserts: its snapshot sees every account and user they made or found (even
# one another request made meanwhile), looked up by index.
EVENTS_SQL = f"""
WITH a AS (
  SELECT external_id::text, id FROM accounts
  WHERE external_id = ANY(%(account_ids)s::text[])
), u AS (
  SELECT external_id::text, id FROM users
  WHERE external_id = ANY(%(user_ids)s::text[])
), l AS (
  INSERT INTO account_users (user_id, account_id, created_at)
  SELECT u.id, a.id, now()
  FROM jsonb_to_recordset(%(links)s::jsonb) AS r(u text, a text)
  JOIN u ON u.external_id = r.u JOIN a ON a.external_id = r.a
  ORDER BY u.id, a.id
  ON CONFLICT DO NOTHING
  RETURNING 1
), e AS (
  INSERT INTO events (event_time, received_at, original_timestamp, sent_at,
    name, properties, context, user_id, account_id, anonymous_id, message_id,
    source)
  SELECT r.event_time, r.received_at, r.original_timestamp, r.sent_at, r.name,
    r.properties, r.context, u.id, a.id, r.anonymous_id, r.message_id, r.source
  FROM jsonb_to_recordset(%(events)s::jsonb)
    AS r(event_time timestamptz, received_at timestamptz,
      original_timestamp timestamptz, sent_at timestamptz, name text,
      properties jsonb, context jsonb, user_id text, account_id text,
      anonymous_id text, message_id text, source text, n int)
  LEFT JOIN u ON u.external_id = r.user_id
  LEFT JOIN a ON a.external_id = r.account_id
  ORDER BY r.n
  RETURNING 1
), fo AS (
  -- Feedback these calls update (Bucket's feedbackId), as it was: usage
  -- takes it back out before adding it as it is now.
  SELECT t.id, t.account_id, t.created_at, t.score
  FROM jsonb_to_recordset(%(feedback)s::jsonb) AS r(source text, key text)
  JOIN feedback t ON t.source = r.source AND t.message_id = r.key
), f AS (
  INSERT INTO feedback AS t (feature_id, user_id, account_id, score, comment,
    question, source, message_id, created_at)
  SELECT r.feature_id, u.id, a.id, r.score, r.comment, r.question, r.source,
    r.key, r.created_at
  FROM jsonb_to_recordset(%(feedback)s::jsonb)
    AS r(feature_id text, user_id text, account_id text, score smallint,
      comment text, question text, source text, key text,
      created_at timestamptz, n int)
  LEFT JOIN u ON u.external_id = r.user_id
  LEFT JOIN a ON a.external_id = r.account_id
  ORDER BY r.n
  -- A later call about the same feedback: what it gives wins, the rest stays.
  ON CONFLICT (source, message_id) DO UPDATE SET
    feature_id = EXCLUDED.feature_id,
    user_id = COALESCE(EXCLUDED.user_id, t.user_id),
    account_id = COALESCE(EXCLUDED.account_id, t.account_id),
    score = COALESCE(EXCLUDED.score, t.score),
    comment = CASE WHEN EXCLUDED.comment <> '' THEN EXCLUDED.comment
      ELSE t.comment END,
    question = CASE WHEN EXCLUDED.question <> '' THEN EXCLUDED.question
      ELSE t.question END
  RETURNING id, account_id, created_at, score
), {USAGE_CTES}
SELECT (SELECT count(*) FROM l), (SELECT count(*) FROM e),
  (SELECT count(*) FROM f), (SELECT count(*) FROM g)
"""

# Sorted, so that two requests locking the same keys cannot deadlock.
FEEDBACK_LOCKS_SQL = (
    "SELECT count(pg_advisory_xact_lock(hashtextextended(k, 0))) "
    "FROM (SELECT DISTINCT k FROM unnest(%s::text[]) AS k ORDER BY k) AS s"
)

RECEIPTS_SQL = (
    "INSERT INTO message_receipts (key, received_at) "
    "SELECT k::uuid, r FROM unnest(%s::text[], %s::timestamptz[]) AS x(k, r) "
    "ON CONFLICT DO NOTHING RETURNING key"
)

UNLINKS_SQL = """
DELETE FROM account_users x USING users u, accounts a,
  jsonb_to_recordset(%s::jsonb) AS r(u text, a text)
WHERE u.external_id = r.u AND a.external_id = r.a
  AND x.user_id = u.id AND x.account_id = a.id
"""

CUSTOM_OBJECTS_SQL = (
    """
INSERT INTO custom_objects (external_id, created_at)
SELECT DISTINCT object, now() FROM jsonb_to_recordset(%(rows)s::jsonb)
  AS r(object text)
ORDER BY 1
ON CONFLICT DO NOTHING
""",
    # A statement of its own: it sees the object types the first one made.
    """
INSERT INTO custom_object_instances AS t (custom_object_id, external_id, name,
  account_id, traits, created_at, updated_at)
SELECT o.id, r.external_id, r.name, a.id, r.traits, now(), now()
FROM jsonb_to_recordset(%(rows)s::jsonb) AS r(object text, external_id text,
  name text, account_id text, traits jsonb)
JOIN custom_objects o ON o.external_id = r.object
LEFT JOIN accounts a ON a.external_id = r.account_id
ORDER BY o.id, r.external_id
ON CONFLICT (custom_object_id, external_id) DO UPDATE SET
  name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name ELSE t.name END,
  account_id = COALESCE(EXCLUDED.account_id, t.account_id),
  traits = t.traits || EXCLUDED.traits,
  updated_at = now()
""",
)


def _aliases_apply(messages: list[Message]) -> None:
    """``alias``: the user known as ``previous_id`` is now ``user_id``.

    When only the previous id exists it is renamed; when both exist, the
    previous user's traits, accounts, events, feedback, sessions and active
    days move to the new one (sessions merged again, usage counters kept
    right: ``USERS_MERGE_USAGE_SQL``).
    """
    with connection.cursor() as cursor:
        for m in messages:
            if m.kind != Kind.ALIAS or not m.previous_id or m.previous_id == m.user_id:
                continue
            cursor.execute(
                "SELECT external_id, id FROM users WHERE external_id IN (%s, %s)",
                [m.previous_id, m.user_id],
            )
            found = dict(cursor.fetchall())
            old, new = found.get(m.previous_id), found.get(m.user_id)
            if old is None:
                continue
            if new is None:
                cursor.execute(
                    "UPDATE users SET external_id = %s, updated_at = now() "
                    "WHERE id = %s",
                    [m.user_id, old],
                )
                continue
            cursor.execute(
                "UPDATE users n SET traits = o.traits || n.traits, "
                "first_seen_at = LEAST(n.first_seen_at, o.first_seen_at), "
                "last_seen_at = GREATEST(n.last_seen_at, o.last_seen_at), "
                "updated_at = now() FROM users o WHERE n.id = %s AND o.id = %s",
                [new, old],
            )
            cursor.execute(
                "INSERT INTO account_users (user_id, account_id, created_at) "
                "SELECT %s, account_id, created_at FROM account_users "
                "WHERE user_id = %s ON CONFLICT DO NOTHING",
                [new, old],
            )
            cursor.execute(
                "UPDATE events SET user_id = %s WHERE user_id = %s", [new, old]
            )
            cursor.execute(
                "UPDATE feedback SET user_id = %s WHERE user_id = %s", [new, old]
            )
            cursor.execute(
                USERS_MERGE_USAGE_SQL, {"old": old, "new": new, "gap": SESSION_GAP}
            )
            # Database foreign keys do not cascade (Django's do, in Python).
            cursor.execute("DELETE FROM account_users WHERE user_id = %s", [old])
            cursor.execute("DELETE FROM users WHERE id = %s", [old])


def _entities_and_events_params(
    messages: list[tuple[Message, datetime]],
) -> tuple[dict[str, Any], set[tuple[str, str]]]:
    users, accounts, organizations, links, unlinks = _collect(m for m, _ in messages)
    events: list[dict[str, Any]] = []
    feedback: dict[tuple[str, str], dict[str, Any]] = {}
    for m, received_at in messages:
        if m.kind == Kind.EVENT:
            events.append(
                {
                    "event_time": m.timestamp,
                    "received_at": received_at,
                    "original_timestamp": m.original_timestamp,
                    "sent_at": m.sent_at,
                    "name": m.event,
                    "properties": m.properties,
                    "context": m.context,
                    "user_id": m.user_id,
                    "account_id": m.account_id,
                    "anonymous_id": m.anonymous_id,
                    "message_id": m.message_id,
                    "source": m.source,
                    "n": len(events),
                }
            )
        elif m.kind == Kind.FEEDBACK:
            # One row per feedback: calls naming the same one (Bucket's
            # feedbackId) merge in order, the later call's fields winning.
            key = m.external_id or m.message_id
            row = feedback.get((m.source, key))
            if row is None:
                feedback[(m.source, key)] = {
                    "feature_id": m.feature_id,
                    "user_id": m.user_id,
                    "account_id": m.account_id,
                    "score": m.score,
                    "comment": m.comment or "",
                    "question": m.question or "",
                    "source": m.source,
                    "key": key,
                    "created_at": m.timestamp,
                    "n": len(feedback),
                }
                continue
            row["feature_id"] = m.feature_id
            for name in ("user_id", "account_id", "score"):
                if getattr(m, name) is not None:
                    row[name] = getattr(m, name)
            for name in ("comment", "question"):
                if getattr(m, name):
                    row[name] = getattr(m, name)
    params = {
        "organizations": json_text([o.row() for o in organizations.values()]),
        "accounts": json_text(
            [{**a.row(), "organization": a.organization} for a in accounts.values()]
        ),
        "users": json_text(
            [
                {
                    **u.row(),
                    "first_name": u.first_name,
                    "last_name": u.last_name,
                    "email": u.email,
                }
                for u in users.values()
            ]
        ),
        "account_ids": list(accounts),
        "user_ids": list(users),
        "links": json_text([{"u": u, "a": a} for u, a in sorted(links)]),
        "events": json_text(events),
        "feedback": json_text(list(feedback.values())),
    }
    return params, unlinks


def _custom_objects_params(messages: list[Message]) -> dict[str, str] | None:
    latest: dict[tuple[str, str], Message] = {}
    for m in messages:
        if m.kind == Kind.CUSTOM_OBJECT:
            latest[(m.custom_object_id, m.external_id)] = m
    if not latest:
        return None
    rows = [
        {
            "object": m.custom_object_id,
            "external_id": m.external_id,
            "name": m.name or "",
            "account_id": m.account_id,
            "traits": m.traits,
        }
        for _, m in sorted(latest.items())
    ]
    return {"rows": json_text(rows)}


def _search_path_sql() -> str | None:
    """The ``SET search_path`` django-tenants would send first, if it is due.

    Sent in the first pipeline instead of as a round trip of its own.
    """
    schemas = search_path_due()
    if schemas is None:
        return None
    return "SET search_path = " + ",".join(quote_schema_name(s) for s in schemas)


def _alias_runs(
    messages: list[tuple[Message, datetime]],
) -> list[list[tuple[Message, datetime]]]:
    """``messages`` cut into runs, each either aliases only or none (in order)."""
    runs: list[list[tuple[Message, datetime]]] = []
    for pair in messages:
        alias = pair[0].kind == Kind.ALIAS
        if runs and (runs[-1][0][0].kind == Kind.ALIAS) == alias:
            runs[-1].append(pair)
        else:
            runs.append([pair])
    return runs


def _messages_write(
    pg: psycopg.Connection,
    cursor: psycopg.Cursor,
    fresh: list[tuple[Message, datetime]],
) -> None:
    """The entity, event, feedback, session and usage writes of new messages
    (no aliases): one pipeline of statements."""
    fresh_messages = [message for message, _ in fresh]
    params, unlinks = _entities_and_events_params(fresh)
    params.update(
        (name, json_text(value) if isinstance(value, list) else value)
        for name, value in usage_params(fresh_messages).items()
    )
    custom_objects = _custom_objects_params(fresh_messages)
    # Calls updating feedback by its id (Bucket's feedbackId): one request at a
    # time per feedback, so each reads the feedback as the previous one left it.
    feedback_keys = sorted(
        f"feedback:{m.source}:{m.external_id}"
        for m in fresh_messages
        if m.kind == Kind.FEEDBACK and m.external_id
    )
    with pg.pipeline():
        if feedback_keys:
            cursor.execute(FEEDBACK_LOCKS_SQL, [feedback_keys])
        if params["organizations"] != "[]":
            cursor.execute(ORGANIZATIONS_SQL, params)
        cursor.execute(ENTITIES_SQL, params, prepare=True)
        cursor.execute(EVENTS_SQL, params, prepare=True)
        if unlinks:
            links = [{"u": u, "a": a} for u, a in sorted(unlinks)]
            cursor.execute(UNLINKS_SQL, [json_text(links)])
        if custom_objects:
            for sql in CUSTOM_OBJECTS_SQL:
                cursor.execute(sql, custom_objects)


def messages_ingest(messages: list[Message], *, received_at: datetime) -> IngestResult:
    """Write one request's validated messages; duplicates (by message id) are
    skipped."""
    return requests_ingest([(messages, received_at)])[0]


@transaction.atomic
def requests_ingest(
    requests: list[tuple[list[Message], datetime]],
) -> list[IngestResult]:
    """Write several requests' validated messages in one transaction.

    Each request is ``(messages, received_at)``; the result of each is counted
    apart. A message id sent twice (in one request or in two) is written once,
    for the first request that sent it.
    """
    by_key: dict[str, tuple[Message, datetime, int]] = {}
    made_ids: set[str] = set()  # messages without a client id: always new
    for index, (messages, received_at) in enumerate(requests):
        for n, message in enumerate(messages):
            if message.deduplicate:
                key = receipt_key(message)
            else:
                key = f"made:{index}:{n}"
                made_ids.add(key)
            by_key.setdefault(key, (message, received_at, index))
    keys = sorted(by_key.keys() - made_ids)  # hex sorts as the uuids do
    pg = connection.connection
    with connection.wrap_database_errors, psycopg.Cursor(pg) as cursor:
        set_path = _search_path_sql()
        with pg.pipeline():
            if set_path:
                cursor.execute(set_path)
            # The statements' plans do not depend on their parameters (JSON
            # documents), yet PostgreSQL chose to plan them anew per request,
            # which cost more than running some of them.
            cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            # Sorted: concurrent requests take row locks in one order.
            cursor.execute(
                RECEIPTS_SQL,
                [keys, [by_key[key][1] for key in keys]],
                prepare=True,
            )
        fresh_keys = {row[0].hex for row in cursor.fetchall()} | made_ids
        fresh = [
            (message, received_at)
            for key, (message, received_at, _) in by_key.items()
            if key in fresh_keys
        ]
        # In order: an alias applies between what came before it and after
        # it (identify the anonymous user, alias it, track the known one).
        for run in _alias_runs(fresh):
            if run[0][0].kind == Kind.ALIAS:
                _aliases_apply([message for message, _ in run])
            else:
                _messages_write(pg, cursor, run)
    accepted = [0] * len(requests)
    for key in fresh_keys:
        accepted[by_key[key][2]] += 1
    return [
        IngestResult(accepted=n, duplicates=len(messages) - n)
        for n, (messages, _) in zip(accepted, requests, strict=True)
    ]
