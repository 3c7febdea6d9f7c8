"""The one writer of tracking data: canonical messages in, one transaction.

``messages_ingest`` dedupes by message id (per tenant, forever), merges traits
in SQL (no read-modify-write), creates the users and accounts that messages
only refer to, links users to accounts, and bulk-loads events with COPY.
Callers validate every message first (the dialect adapters do), so a request
is written whole or not at all.
"""

import hashlib
import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from tracking.messages import Kind, Message
from tracking.usage import usage_update


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # messages written
    duplicates: int  # messages already seen (now or in an earlier request)


def receipt_key(message: Message) -> uuid.UUID:
    digest = hashlib.md5(
        f"{message.source}:{message.message_id}".encode(), usedforsecurity=False
    ).digest()
    return uuid.UUID(bytes=digest)


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _new_messages(messages: list[Message], received_at: datetime) -> list[Message]:
    """The messages never seen before, recording them as seen (one statement)."""
    by_key: dict[uuid.UUID, Message] = {}
    for message in messages:
        by_key.setdefault(receipt_key(message), message)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO message_receipts (key, received_at) "
            "SELECT unnest(%s::uuid[]), %s ON CONFLICT DO NOTHING RETURNING key",
            # Sorted: concurrent requests take row locks in one order (no deadlock).
            [sorted(by_key), received_at],
        )
        fresh = {row[0] for row in cursor.fetchall()}
    return [message for key, message in by_key.items() if key in fresh]


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


def _entity(table: dict[str, _Entity], external_id: str | None) -> _Entity | None:
    if not external_id:
        return None
    return table.setdefault(external_id, _Entity(external_id))


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
            continue  # applied before the upserts (_aliases_apply)
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


def _upsert(table: str, rows: list[dict[str, Any]], extra: str = "") -> dict[str, int]:
    """Insert or merge rows by external id; returns external id -> internal id.

    Traits merge in SQL (``old || new``: the request wins), names only change
    when given, first/last seen only widen.
    """
    if not rows:
        return {}
    # Concurrent requests lock the rows they upsert in the same (sorted) order,
    # so two batches touching the same users cannot deadlock.
    rows = sorted(rows, key=lambda row: row["external_id"])
    columns = (
        "external_id text, name text, traits jsonb, first_seen_at timestamptz, "
        "last_seen_at timestamptz" + extra
    )
    names = [c.split()[0] for c in columns.split(", ")]
    updates = [
        f"traits = {table}.traits || EXCLUDED.traits",
        f"first_seen_at = LEAST({table}.first_seen_at, EXCLUDED.first_seen_at)",
        f"last_seen_at = GREATEST({table}.last_seen_at, EXCLUDED.last_seen_at)",
        "updated_at = now()",
    ]
    for name in names:
        if name in {"name", "first_name", "last_name", "email"}:
            updates.append(
                f"{name} = CASE WHEN EXCLUDED.{name} <> '' THEN EXCLUDED.{name} "
                f"ELSE {table}.{name} END"
            )
        elif name == "organization_id":
            updates.append(
                f"organization_id = COALESCE(EXCLUDED.organization_id, "
                f"{table}.organization_id)"
            )
    sql = (
        f"INSERT INTO {table} ({', '.join(names)}, created_at, updated_at) "
        f"SELECT {', '.join(names)}, now(), now() "
        f"FROM jsonb_to_recordset(%s::jsonb) AS r({columns}) "
        f"ON CONFLICT (external_id) DO UPDATE SET {', '.join(updates)} "
        "RETURNING external_id, id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json(rows)])
        return dict(cursor.fetchall())


def _base_row(entity: _Entity) -> dict[str, Any]:
    return {
        "external_id": entity.external_id,
        "name": entity.name,
        "traits": entity.traits or {},
        "first_seen_at": entity.first_seen,
        "last_seen_at": entity.last_seen,
    }


def _aliases_apply(messages: list[Message]) -> None:
    """``alias``: the user known as ``previous_id`` is now ``user_id``.

    When only the previous id exists it is renamed; when both exist, the
    previous user's traits, accounts, events and feedback move to the new one.
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
            # Database foreign keys do not cascade (Django's do, in Python).
            cursor.execute("DELETE FROM account_users WHERE user_id = %s", [old])
            cursor.execute("DELETE FROM users WHERE id = %s", [old])


def _custom_objects_write(messages: list[Message], account_ids: dict[str, int]) -> None:
    rows = [m for m in messages if m.kind == Kind.CUSTOM_OBJECT]
    if not rows:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO custom_objects (external_id, created_at) "
            "SELECT unnest(%s::text[]), now() ON CONFLICT DO NOTHING",
            [sorted({m.custom_object_id for m in rows})],
        )
        latest: dict[tuple[str, str], Message] = {}
        for m in rows:
            latest[(m.custom_object_id, m.external_id)] = m
        cursor.execute(
            "INSERT INTO custom_object_instances (custom_object_id, external_id, name, "
            "account_id, traits, created_at, updated_at) "
            "SELECT o.id, r.external_id, r.name, r.account_id, r.traits, now(), now() "
            "FROM jsonb_to_recordset(%s::jsonb) AS r(object text, external_id text, "
            "name text, account_id bigint, traits jsonb) "
            "JOIN custom_objects o ON o.external_id = r.object "
            "ON CONFLICT (custom_object_id, external_id) DO UPDATE SET "
            "name = CASE WHEN EXCLUDED.name <> '' THEN EXCLUDED.name "
            "ELSE custom_object_instances.name END, "
            "account_id = COALESCE(EXCLUDED.account_id, "
            "custom_object_instances.account_id), "
            "traits = custom_object_instances.traits || EXCLUDED.traits, "
            "updated_at = now()",
            [
                _json(
                    [
                        {
                            "object": m.custom_object_id,
                            "external_id": m.external_id,
                            "name": m.name or "",
                            "account_id": account_ids.get(m.account_id),
                            "traits": m.traits,
                        }
                        for _, m in sorted(latest.items())
                    ]
                )
            ],
        )


@transaction.atomic
def messages_ingest(messages: list[Message], *, received_at: datetime) -> IngestResult:
    """Write validated messages; duplicates (by message id) are skipped."""
    fresh = _new_messages(messages, received_at)
    _aliases_apply(fresh)
    users, accounts, organizations, links, unlinks = _collect(fresh)
    organization_ids = _upsert(
        "organizations", [_base_row(o) for o in organizations.values()]
    )
    account_ids = _upsert(
        "accounts",
        [
            {**_base_row(a), "organization_id": organization_ids.get(a.organization)}
            for a in accounts.values()
        ],
        extra=", organization_id bigint",
    )
    user_ids = _upsert(
        "users",
        [
            {
                **_base_row(u),
                "first_name": u.first_name,
                "last_name": u.last_name,
                "email": u.email,
            }
            for u in users.values()
        ],
        extra=", first_name text, last_name text, email text",
    )
    with connection.cursor() as cursor:
        if links:
            links = sorted((user_ids[u], account_ids[a]) for u, a in links)
            cursor.execute(
                "INSERT INTO account_users (user_id, account_id, created_at) "
                "SELECT u, a, now() FROM unnest(%s::bigint[], %s::bigint[]) AS x(u, a) "
                "ON CONFLICT DO NOTHING",
                [[u for u, _ in links], [a for _, a in links]],
            )
        if unlinks:
            cursor.execute(
                "DELETE FROM account_users WHERE (user_id, account_id) IN "
                "(SELECT * FROM unnest(%s::bigint[], %s::bigint[]))",
                [
                    [user_ids[u] for u, _ in unlinks],
                    [account_ids[a] for _, a in unlinks],
                ],
            )
        events = [m for m in fresh if m.kind == Kind.EVENT]
        if events:
            copy_sql = (
                "COPY events (event_time, received_at, name, properties, context, "
                "user_id, account_id, anonymous_id, message_id, source) FROM STDIN"
            )
            with connection.wrap_database_errors, cursor.cursor.copy(copy_sql) as copy:
                for m in events:
                    copy.write_row(
                        (
                            m.timestamp,
                            received_at,
                            m.event,
                            _json(m.properties),
                            _json(m.context),
                            user_ids.get(m.user_id),
                            account_ids.get(m.account_id),
                            m.anonymous_id,
                            m.message_id,
                            m.source,
                        )
                    )
        feedback = [m for m in fresh if m.kind == Kind.FEEDBACK]
        if feedback:
            cursor.execute(
                "INSERT INTO feedback (feature_id, user_id, account_id, score, "
                "comment, question, source, message_id, created_at) "
                "SELECT feature_id, user_id, account_id, score, comment, question, "
                "source, message_id, created_at FROM jsonb_to_recordset(%s::jsonb) AS "
                "r(feature_id text, user_id bigint, account_id bigint, score smallint, "
                "comment text, question text, source text, message_id text, "
                "created_at timestamptz)",
                [
                    _json(
                        [
                            {
                                "feature_id": m.feature_id,
                                "user_id": user_ids.get(m.user_id),
                                "account_id": account_ids.get(m.account_id),
                                "score": m.score,
                                "comment": m.comment or "",
                                "question": m.question or "",
                                "source": m.source,
                                "message_id": m.message_id,
                                "created_at": m.timestamp,
                            }
                            for m in feedback
                        ]
                    )
                ],
            )
    _custom_objects_write(fresh, account_ids)
    usage_update(
        [m for m in fresh if m.kind == Kind.EVENT],
        [m for m in fresh if m.kind == Kind.FEEDBACK],
        user_ids,
        account_ids,
    )
    return IngestResult(accepted=len(fresh), duplicates=len(messages) - len(fresh))
