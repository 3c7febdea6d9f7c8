"""The Vitally HTTPS Analytics API dialect (batch): payloads in, canonical messages out.

``POST /analytics/v1/batch`` takes a JSON array of at most 100 messages, each
with a ``type``: ``organization``, ``account``, ``user``, ``track``,
``customobjectinstance`` or ``unlink`` (the fields of Vitally's one-message
endpoints ``/analytics/v1/<type>``, plus ``type``). Pure functions: no
database, no HTTP. Every field is checked before anything is returned, and
every bad field is named in one :class:`DialectError` (paths like
``[2].userId``); for any JSON value :func:`translate_batch` returns messages or
raises that error, never anything else.

Mapping (``source="vitally"``):

- ``organization`` -> ``ORGANIZATION``: ``organization_id=organizationId``,
  ``traits``.
- ``account`` -> ``ACCOUNT``: ``account_id=accountId``, ``organizationId``
  (the account joins the organization), ``traits``.
- ``user`` -> ``USER``: ``user_id=userId``, ``account_id=accountId``,
  ``organizationId``, ``traits``; one ``USER`` message per account (see
  ``accountIds`` below).
- ``track`` -> ``EVENT`` named ``event`` with ``properties``; ``userId``,
  ``accountId`` and ``organizationId`` attribute it.
- ``customobjectinstance`` -> ``CUSTOM_OBJECT``: ``custom_object_id=
  customObjectId``, ``external_id=externalId``, ``name``, ``accountId``,
  ``organizationId``, ``traits``.
- ``unlink`` -> ``UNLINK``: ``userId`` leaves ``accountId``.

Required, as Vitally documents: ``organizationId`` (organization),
``accountId`` (account, unlink), ``userId`` (user, unlink), ``event``
(track), ``externalId`` and ``customObjectId`` (customobjectinstance); a
user or custom object instance needs ``accountId`` or ``organizationId``; a
track needs ``userId``, ``accountId`` or ``organizationId``; every message
needs ``messageId`` or ``timestamp``.

Decisions where the spec is silent or loose:

- **Message ids are per type.** The dedupe key (``Message.message_id``) is
  ``"<type>:<messageId>"``. Vitally's reference batch reuses one messageId for
  its organization, account, user and track messages: each of Vitally's
  one-message endpoints dedupes on its own, so the same id under two types is
  two messages, and all of them land. Two messages of the *same* type and id
  are one (the first is kept). When ``"<type>:<messageId>"`` would exceed
  ``ID_MAX_LENGTH`` (the events table's column) it becomes
  ``"<type>:sha256:<hex of messageId>"``.
- **Only a ``messageId`` dedupes.** A message with only a ``timestamp``
  (Vitally requires one of the two) gets a fresh id and is never taken for
  another: a timestamp says when, not which, so two identical tracks at one
  timestamp (a batch import whose times are whole seconds or days) are two
  events, and trait messages are not skipped (name A, then B, then A again
  at one timestamp would otherwise leave B). A retry of such a message
  counts twice: send ``messageId`` to retry safely.
- **A user in several accounts.** Vitally documents one ``accountId`` per user
  message (a user joins each account by its own message); as a user's
  accounts are often a list (Census maps them as an array), a list
  ``accountIds`` is accepted too (after ``accountId``, repeats dropped).
  Each account gives one ``USER`` message carrying the full traits: the
  first keeps the message's id (so ``accountIds: ["a"]`` is exactly
  ``accountId: "a"``), each further one gets ``"hash:" + sha256`` of
  ``{"link": <first id>, "accountId": <account>}`` -- keyed by the account,
  not its position, so a retry in another order still dedupes.
- **Only ``track`` is activity.** Organization, account, user, custom object
  and unlink messages are descriptions pushed by servers (often whole nightly
  syncs), so they carry ``active=False``: they create and update rows but
  never move anyone's first/last-seen; track events do.
- ``traits`` and ``properties`` are documented as required-but-may-be-empty;
  an absent or null one is taken as ``{}`` (it carries nothing), anything but
  an object is refused.
- ``type`` is matched case-insensitively. Unknown fields are ignored (but
  must be storable, below). An empty batch is accepted and writes nothing.
- Ids (``userId``, ``accountId``, ``accountIds[i]``, ``organizationId``,
  ``customObjectId``, ``externalId``, ``messageId``) may be strings or
  numbers: integral numbers become their integer text (``123`` and ``123.0``
  -> ``"123"``), others their shortest repr; booleans are refused. JSON null
  and ``""`` both mean "not given". At most 255 characters; ``event`` and
  ``name`` at most 500.
- Timestamps are ISO 8601 date-times: ``Z`` or an offset, naive means UTC, a
  date alone means midnight UTC; fractions beyond microseconds are
  truncated. Numbers are refused. Without one the time is ``received_at``.
  Vitally has no ``sentAt``, so there is no clock-skew correction.
- Values the store cannot hold are refused with their path rather than failing
  at write time: strings with NUL characters or unpaired surrogates,
  NaN/Infinity, integers too long to print, nesting deeper than
  :data:`~tracking.dialects.checks.MAX_DEPTH` levels.
"""

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tracking.dialects.checks import (
    ID_MAX_LENGTH,
    INVALID,
    Errors,
    choice,
    hash_id,
    id_text,
    made_id,
    object_value,
    required_id,
    scan,
    sha256_hex,
    time_value,
    type_name,
    utc,
)
from tracking.messages import DialectError, FieldError, Kind, Message

BATCH_MAX_MESSAGES = 100  # Vitally's documented limit
BODY_LIMIT = 4 * 1024 * 1024  # bytes of the whole (decompressed) request body
TEXT_MAX_LENGTH = 500  # event names, custom object instance names
TIME_EXAMPLE = "2018-05-15T12:31:12.123Z"

SOURCE = "vitally"
TYPES = ("organization", "account", "user", "track", "customobjectinstance", "unlink")


# -- public API ---------------------------------------------------------------


def translate_batch(body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /analytics/v1/batch``: every message of the array, or every bad field."""
    received_at = utc(received_at)
    if not isinstance(body, list):
        raise DialectError(
            [
                FieldError(
                    "body", f"must be a JSON array of messages, not {type_name(body)}"
                )
            ]
        )
    if len(body) > BATCH_MAX_MESSAGES:
        raise DialectError(
            [
                FieldError(
                    "body",
                    f"holds {len(body)} messages; a batch holds at most "
                    f"{BATCH_MAX_MESSAGES}",
                )
            ]
        )
    errors = Errors()
    translated = [
        _message(item, f"[{index}]", received_at, errors)
        for index, item in enumerate(body)
    ]
    errors.raise_if_any()
    return [message for messages in translated for message in messages]


# -- fields ---------------------------------------------------------------------


def _id_list(value: Any, path: str, errors: Errors) -> Any:
    """A list of ids as text (repeats dropped); [] when null; INVALID if bad."""
    if value is None:
        return []
    if not isinstance(value, list):
        errors.add(path, f"must be a list of ids, not {type_name(value)}")
        return INVALID
    ids: list[str] = []
    bad = False
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        text = id_text(item, where, errors)
        if text is None:
            errors.add(where, "must be an id (a non-empty string or a number)")
            bad = True
        elif text is INVALID:
            bad = True
        elif text not in ids:
            ids.append(text)
    return INVALID if bad else ids


def _text(value: Any, path: str, errors: Errors, *, required: str = "") -> Any:
    """A string of at most TEXT_MAX_LENGTH characters; None if absent or empty."""
    if value is None or value == "":
        if required:
            errors.add(path, f"is required: {required}")
            return INVALID
        return None
    if not isinstance(value, str):
        errors.add(path, f"must be a string, not {type_name(value)}")
        return INVALID
    if len(value) > TEXT_MAX_LENGTH:
        errors.add(path, f"is longer than {TEXT_MAX_LENGTH} characters")
        return INVALID
    return value


def _time(value: Any, path: str, errors: Errors) -> Any:
    return time_value(value, path, errors, example=TIME_EXAMPLE)


# -- one message ----------------------------------------------------------------


def _message(
    item: Any, path: str, received_at: datetime, errors: Errors
) -> list[Message]:
    """One batch element's messages ([] when it has errors, all reported)."""
    if not isinstance(item, dict):
        errors.add(path, f"must be an object (a message), not {type_name(item)}")
        return []
    before = len(errors)
    scan(item, path, errors)

    def at(key: str) -> str:
        return f"{path}.{key}"

    kind = choice(item.get("type"), at("type"), errors, choices=TYPES)
    message_id = id_text(item.get("messageId"), at("messageId"), errors)
    timestamp = _time(item.get("timestamp"), at("timestamp"), errors)
    if message_id is None and timestamp is None:
        errors.add(at("messageId"), "messageId or timestamp is required")
    if kind is None:
        return []
    fields = _FIELDS[kind](item, at, errors)
    if len(errors) > before:
        return []

    base_id = _message_id(kind, message_id) if message_id else made_id()
    common: dict[str, Any] = {
        "source": SOURCE,
        "deduplicate": message_id is not None,
        "timestamp": timestamp or received_at,
        "active": kind == "track",
    }
    organization_id = fields.get("organizationId")
    if kind == "organization":
        return [
            Message(
                kind=Kind.ORGANIZATION,
                message_id=base_id,
                organization_id=organization_id,
                traits=dict(fields["traits"]),
                **common,
            )
        ]
    if kind == "account":
        return [
            Message(
                kind=Kind.ACCOUNT,
                message_id=base_id,
                account_id=fields["accountId"],
                organization_id=organization_id,
                traits=dict(fields["traits"]),
                **common,
            )
        ]
    if kind == "user":
        accounts: list[str | None] = fields["accountIds"] or [None]
        return [
            Message(
                kind=Kind.USER,
                message_id=base_id if index == 0 else _link_id(base_id, account_id),
                user_id=fields["userId"],
                account_id=account_id,
                organization_id=organization_id,
                traits=dict(fields["traits"]),
                **common,
            )
            for index, account_id in enumerate(accounts)
        ]
    if kind == "track":
        return [
            Message(
                kind=Kind.EVENT,
                message_id=base_id,
                user_id=fields["userId"],
                account_id=fields["accountId"],
                organization_id=organization_id,
                event=fields["event"],
                properties=dict(fields["properties"]),
                **common,
            )
        ]
    if kind == "customobjectinstance":
        return [
            Message(
                kind=Kind.CUSTOM_OBJECT,
                message_id=base_id,
                custom_object_id=fields["customObjectId"],
                external_id=fields["externalId"],
                name=fields["name"],
                account_id=fields["accountId"],
                organization_id=organization_id,
                traits=dict(fields["traits"]),
                **common,
            )
        ]
    return [
        Message(
            kind=Kind.UNLINK,
            message_id=base_id,
            user_id=fields["userId"],
            account_id=fields["accountId"],
            **common,
        )
    ]


_At = Callable[[str], str]


def _organization(item: dict[str, Any], at: _At, errors: Errors) -> dict[str, Any]:
    return {
        "organizationId": required_id(
            item.get("organizationId"),
            at("organizationId"),
            "the organization's id",
            errors,
        ),
        "traits": object_value(item.get("traits"), at("traits"), errors),
    }


def _account(item: dict[str, Any], at: _At, errors: Errors) -> dict[str, Any]:
    return {
        "accountId": required_id(
            item.get("accountId"), at("accountId"), "the account's id", errors
        ),
        "organizationId": id_text(
            item.get("organizationId"), at("organizationId"), errors
        ),
        "traits": object_value(item.get("traits"), at("traits"), errors),
    }


def _user(item: dict[str, Any], at: _At, errors: Errors) -> dict[str, Any]:
    user_id = required_id(item.get("userId"), at("userId"), "the user's id", errors)
    account_id = id_text(item.get("accountId"), at("accountId"), errors)
    account_ids = _id_list(item.get("accountIds"), at("accountIds"), errors)
    organization_id = id_text(item.get("organizationId"), at("organizationId"), errors)
    accounts: list[str] = []
    if account_id not in (None, INVALID):
        accounts.append(account_id)
    if account_ids is not INVALID:
        accounts.extend(a for a in account_ids if a not in accounts)
    if (
        not accounts
        and organization_id is None
        and INVALID
        not in (
            account_id,
            account_ids,
        )
    ):
        errors.add(at("accountId"), "accountId or organizationId is required")
    return {
        "userId": user_id,
        "accountIds": accounts,
        "organizationId": organization_id,
        "traits": object_value(item.get("traits"), at("traits"), errors),
    }


def _track(item: dict[str, Any], at: _At, errors: Errors) -> dict[str, Any]:
    user_id = id_text(item.get("userId"), at("userId"), errors)
    account_id = id_text(item.get("accountId"), at("accountId"), errors)
    organization_id = id_text(item.get("organizationId"), at("organizationId"), errors)
    if user_id is None and account_id is None and organization_id is None:
        errors.add(at("userId"), "userId, accountId or organizationId is required")
    return {
        "userId": user_id,
        "accountId": account_id,
        "organizationId": organization_id,
        "event": _text(
            item.get("event"), at("event"), errors, required="the event's name"
        ),
        "properties": object_value(item.get("properties"), at("properties"), errors),
    }


def _custom_object_instance(
    item: dict[str, Any], at: _At, errors: Errors
) -> dict[str, Any]:
    account_id = id_text(item.get("accountId"), at("accountId"), errors)
    organization_id = id_text(item.get("organizationId"), at("organizationId"), errors)
    if account_id is None and organization_id is None:
        errors.add(at("accountId"), "accountId or organizationId is required")
    return {
        "customObjectId": required_id(
            item.get("customObjectId"),
            at("customObjectId"),
            "the id of the custom object this instance belongs to",
            errors,
        ),
        "externalId": required_id(
            item.get("externalId"), at("externalId"), "the instance's id", errors
        ),
        "name": _text(item.get("name"), at("name"), errors),
        "accountId": account_id,
        "organizationId": organization_id,
        "traits": object_value(item.get("traits"), at("traits"), errors),
    }


def _unlink(item: dict[str, Any], at: _At, errors: Errors) -> dict[str, Any]:
    return {
        "userId": required_id(
            item.get("userId"), at("userId"), "the user's id", errors
        ),
        "accountId": required_id(
            item.get("accountId"), at("accountId"), "the account's id", errors
        ),
    }


_FIELDS: dict[str, Callable[[dict[str, Any], _At, Errors], dict[str, Any]]] = {
    "organization": _organization,
    "account": _account,
    "user": _user,
    "track": _track,
    "customobjectinstance": _custom_object_instance,
    "unlink": _unlink,
}


# -- message ids ----------------------------------------------------------------


def _message_id(kind: str, message_id: str) -> str:
    """``<type>:<messageId>``: Vitally's ids are unique per message type."""
    emitted = f"{kind}:{message_id}"
    if len(emitted) > ID_MAX_LENGTH:
        emitted = f"{kind}:sha256:{sha256_hex(message_id)}"
    return emitted


def _link_id(base_id: str, account_id: str | None) -> str:
    """The id of a user's further account link: keyed by the account."""
    return hash_id({"link": base_id, "accountId": account_id})
