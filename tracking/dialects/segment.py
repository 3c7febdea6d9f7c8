"""The Segment HTTP Tracking API dialect: payloads in, canonical messages out.

Segment's, RudderStack's and Dreamdata's SDKs speak it: ``POST /v1/batch``
(``{"batch": [...], "context"?, "integrations"?, "sentAt"?, "writeKey"?}``)
and ``POST /v1/identify|track|page|screen|group|alias`` (one message, the path
decides its type). Pure functions: no database, no HTTP. Every field is checked
before anything is returned, and every bad field is named in one
:class:`DialectError` (paths like ``batch[2].userId``); for any JSON value the
translate functions return messages or raise that error, never anything else.

Mapping (``source="segment"``):

- ``identify`` -> ``USER``: ``traits`` (over RudderStack's ``context.traits``,
  where its SDK puts them), ``context.groupId`` -> ``account_id``.
- ``group`` -> ``ACCOUNT``: ``account_id=groupId``, ``traits``, and the caller's
  ``userId``/``anonymousId`` (the user joins the account).
- ``track`` -> ``EVENT`` named ``event``; ``page`` -> ``EVENT`` ``page.viewed``
  and ``screen`` -> ``EVENT`` ``screen.viewed``, with the call's ``name`` and
  ``category`` kept in ``properties`` under those keys (they win over
  same-named properties). ``context.groupId`` -> ``account_id``.
- ``alias`` -> ``ALIAS``: ``user_id=userId``, ``previous_id=previousId``.
- ``context.active`` exactly ``false`` -> ``active=False`` (last-seen untouched).

Decisions where the spec is silent or loose:

- An empty ``batch`` is accepted and yields no messages: Segment answers 200
  to any well-formed request within the limits, and there is nothing to write.
- ``type`` is matched case-insensitively (``"Track"`` is a track). For the
  single-message paths the path decides and a ``type`` in the body is ignored.
- Batch ``context`` and ``integrations`` merge *shallowly* into each message's
  own: top-level keys only, the message's keys win (a message's
  ``context.library`` replaces the batch's whole ``context.library``).
- ``integrations`` (destination routing, meaningless here) is checked, merged,
  and kept on the message as ``context["integrations"]`` only when non-empty
  and the context has no key of that name.
- Ids (``userId``, ``anonymousId``, ``groupId``, ``previousId``,
  ``messageId``, ``context.groupId``) may be strings or numbers: integral
  numbers become their integer text (``123`` and ``123.0`` -> ``"123"``),
  others their shortest repr (``1.5`` -> ``"1.5"``); booleans are rejected.
  JSON null and ``""`` both mean "not given". At most 255 characters (the
  store's column width), event names at most 500.
- Timestamps are ISO 8601 date-times: ``Z`` or an offset, naive means UTC; a
  date alone means midnight UTC; one-digit months, days and hours are accepted
  (Segment's own batch example sends ``2015-2-02T00:30:08.276Z``); fractions
  beyond microseconds are truncated. Numbers are rejected. The occurrence
  time is ``originalTimestamp`` if given, else ``timestamp``; when a
  ``sentAt`` is known (the message's own, else the batch's) it is corrected to
  ``received_at - (sentAt - original)``; without a ``sentAt`` it is taken as
  given; without either timestamp it is ``received_at``. With both, the
  ``timestamp`` is taken as given: RudderStack's SDKs stamp
  ``originalTimestamp`` on every call, so a ``timestamp`` beside it is the
  caller's own (a backfill of past events), which RudderStack's server keeps
  too. The client's own
  times are kept as sent, as Segment's warehouses keep them:
  ``original_timestamp`` (``originalTimestamp``, else ``timestamp``; None
  without either) and ``sent_at`` (the message's, else the batch's).
- Only a ``messageId`` dedupes (every official SDK sends one): a message
  retried with its ``messageId`` is stored once, however late. A message
  without one (``null`` or ``""`` too) gets a fresh id and is never taken for
  another: two identical calls are two calls (a content hash would drop a
  real repeat, and hashed forever), while a retry of it counts twice.
- Size of one message: its compact JSON re-serialisation in UTF-8 (non-ASCII
  text counted as UTF-8 bytes, not ``\\uXXXX`` escapes, so nothing that
  analytics-node or analytics-python accepts is refused), at most
  ``MESSAGE_LIMIT`` bytes; for a single-message path the whole body counts.
  The whole body's size (``BATCH_LIMIT``, as sent and decompressed) is the
  endpoint's (a 413, ``tracking.capture.read_body``).
- Beyond the spec, values the store cannot hold are refused with their path
  rather than failing at write time: strings with NUL characters or unpaired
  surrogates, NaN/Infinity, integers too long to print, nesting deeper than
  :data:`~tracking.dialects.checks.MAX_DEPTH` levels.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from tracking.dialects.checks import (
    INVALID,
    MAX_DEPTH,
    Errors,
    choice,
    id_text,
    made_id,
    object_value,
    scan,
    time_value,
    type_name,
    utc,
)
from tracking.messages import PAGE_VIEWED, DialectError, FieldError, Kind, Message

MESSAGE_LIMIT = 32 * 1024  # bytes of one message's JSON
BATCH_LIMIT = 500 * 1024  # bytes of the whole (decompressed) batch body
EVENT_MAX_LENGTH = 500
TIME_EXAMPLE = "2012-12-02T00:30:08.276Z"

SOURCE = "segment"
SCREEN_VIEWED = "screen.viewed"
TYPES = ("identify", "track", "page", "screen", "group", "alias")
_TYPES_TEXT = ", ".join(TYPES)
_NEEDS_ID = frozenset({"identify", "track", "page", "screen", "group"})


# -- public API ---------------------------------------------------------------


def write_key(body: Any) -> str | None:
    """The ``writeKey`` of a batch or single body, if a non-empty string."""
    if isinstance(body, dict):
        key = body.get("writeKey")
        if isinstance(key, str) and key:
            return key
    return None


def translate_batch(body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /v1/batch``: every message of ``body["batch"]``, or every bad field."""
    received_at = utc(received_at)
    if not isinstance(body, dict):
        problem = f"must be an object with a batch list, not {type_name(body)}"
        raise DialectError([FieldError("body", problem)])
    errors = Errors()
    batch = body.get("batch")
    if not isinstance(batch, list):
        if batch is None:
            errors.add("batch", "is required: a list of messages")
        else:
            errors.add("batch", f"must be a list of messages, not {type_name(batch)}")
        batch = []
    shared = _shared(body, errors)
    messages = [
        _message(item, f"batch[{index}]", None, shared, received_at, errors)
        for index, item in enumerate(batch)
    ]
    errors.raise_if_any()
    return [message for message in messages if message is not None]


def translate_single(kind: str, body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /v1/<kind>``: the one message of ``body``, or every bad field.

    ``kind`` (the path's last segment, any case) decides the type; an unknown
    one is a 400 naming ``type``.
    """
    received_at = utc(received_at)
    call = kind.lower() if isinstance(kind, str) else None
    if call not in TYPES:
        raise DialectError(
            [
                FieldError(
                    "type",
                    f"unknown call {json.dumps(str(kind)[:40])}: "
                    f"expected one of {_TYPES_TEXT}",
                )
            ]
        )
    errors = Errors()
    message = _message(body, "", call, _NOTHING_SHARED, received_at, errors)
    errors.raise_if_any()
    return [message] if message is not None else []


# -- whole-message checks: size, depth, storable text and numbers ---------------


# What json would refuse, orjson must refuse too (and leave to json).
_ONLY_JSON = (
    orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _inspect(value: Any, path: str, errors: Errors, *, limit: int | None) -> None:
    """Size (compact UTF-8 JSON) and storability of one message or object.

    One orjson call does the common case. json does it when orjson refuses
    the value or writes ``null`` (maybe a NaN, which orjson would not refuse);
    the value is walked only when the text hints at a problem (a NUL, a
    surrogate, many brackets, a failure).
    """
    where = path or "body"
    suspicious = False
    try:
        data = orjson.dumps(value, option=_ONLY_JSON)
    except TypeError:  # orjson.JSONEncodeError
        data = None
    if data is None or b"null" in data:
        try:
            text = json.dumps(
                value, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            )
        except (TypeError, ValueError, RecursionError):
            before = len(errors)
            scan(value, path, errors)
            if len(errors) == before:
                errors.add(where, "is not serialisable as JSON")
            return
        try:
            data = text.encode()
        except UnicodeEncodeError:
            suspicious = True
            data = text.encode("utf-8", "surrogatepass")
    size = len(data)
    if limit is not None and size > limit:
        what = "message" if path else "the message"
        errors.add(
            where,
            f"{what} is larger than 32 KB ({size} bytes of JSON; the limit is {limit})",
        )
    if (
        suspicious
        or b"\\u0000" in data
        or data.count(b"{") + data.count(b"[") > MAX_DEPTH
    ):
        scan(value, path, errors)


# -- fields ---------------------------------------------------------------------


def _text(value: Any, path: str, errors: Errors) -> Any:
    """An optional string (null = absent); INVALID if anything else."""
    if value is None or isinstance(value, str):
        return value
    errors.add(path, f"must be a string, not {type_name(value)}")
    return INVALID


def _time(value: Any, path: str, errors: Errors) -> Any:
    return time_value(value, path, errors, example=TIME_EXAMPLE)


# -- batch-level fields ---------------------------------------------------------


@dataclass(frozen=True)
class _Shared:
    """What a batch gives every message: context, integrations and sentAt."""

    context: dict[str, Any]
    integrations: dict[str, Any]
    sent_at: datetime | None
    group_id: str | None  # the batch context's groupId, checked once
    traits: dict[str, Any]  # the batch context's traits, checked once


_NOTHING_SHARED = _Shared({}, {}, None, None, {})


def _context_fields(context: dict[str, Any], path: str, errors: Errors):
    """``context.groupId`` (an id) and ``context.traits`` (an object)."""
    group_id = id_text(context.get("groupId"), f"{path}.groupId", errors)
    traits = object_value(context.get("traits"), f"{path}.traits", errors)
    return group_id, traits


def _shared(body: dict[str, Any], errors: Errors) -> _Shared:
    context = object_value(body.get("context"), "context", errors)
    integrations = object_value(body.get("integrations"), "integrations", errors)
    sent_at = _time(body.get("sentAt"), "sentAt", errors)
    group_id, traits = None, {}
    if context is not INVALID:
        _inspect(context, "context", errors, limit=None)
        group_id, traits = _context_fields(context, "context", errors)
    if integrations is not INVALID:
        _inspect(integrations, "integrations", errors, limit=None)

    def valid(value: Any, default: Any) -> Any:
        return default if value is INVALID else value

    return _Shared(
        context=valid(context, {}),
        integrations=valid(integrations, {}),
        sent_at=valid(sent_at, None),
        group_id=valid(group_id, None),
        traits=valid(traits, {}),
    )


# -- one message ----------------------------------------------------------------


def _message(
    item: Any,
    path: str,
    call: str | None,
    shared: _Shared,
    received_at: datetime,
    errors: Errors,
) -> Message | None:
    """One message (``call`` given for the single paths), or None if reported."""
    before = len(errors)
    if not isinstance(item, dict):
        errors.add(
            path or "body", f"must be an object (a message), not {type_name(item)}"
        )
        return None
    _inspect(item, path, errors, limit=MESSAGE_LIMIT)

    def at(key: str) -> str:  # the path of one of this message's own fields
        return f"{path}.{key}" if path else key

    if call is None:
        call = choice(item.get("type"), at("type"), errors, choices=TYPES)
    user_id = id_text(item.get("userId"), at("userId"), errors)
    anonymous_id = id_text(item.get("anonymousId"), at("anonymousId"), errors)
    message_id = id_text(item.get("messageId"), at("messageId"), errors)
    own_context = object_value(item.get("context"), at("context"), errors)
    own_integrations = object_value(
        item.get("integrations"), at("integrations"), errors
    )
    traits = object_value(item.get("traits"), at("traits"), errors)
    properties = object_value(item.get("properties"), at("properties"), errors)
    timestamp = _time(item.get("timestamp"), at("timestamp"), errors)
    original = _time(item.get("originalTimestamp"), at("originalTimestamp"), errors)
    sent_at = _time(item.get("sentAt"), at("sentAt"), errors)

    context: dict[str, Any] = dict(shared.context)
    group_id, context_traits = shared.group_id, shared.traits
    if own_context is not INVALID:
        context.update(own_context)
        own_group_id, own_traits = _context_fields(own_context, at("context"), errors)
        if "groupId" in own_context:
            group_id = own_group_id
        if "traits" in own_context:
            context_traits = own_traits
    integrations: dict[str, Any] = dict(shared.integrations)
    if own_integrations is not INVALID:
        integrations.update(own_integrations)

    if call in _NEEDS_ID and user_id is None and anonymous_id is None:
        errors.add(at("userId"), "userId or anonymousId is required")
    event = name = category = account_id = previous_id = None
    if call == "track":
        event = _event(item.get("event"), at("event"), errors)
    elif call in ("page", "screen"):
        name = _text(item.get("name"), at("name"), errors)
        category = _text(item.get("category"), at("category"), errors)
    elif call == "group":
        account_id = id_text(item.get("groupId"), at("groupId"), errors)
        if account_id is None:
            errors.add(at("groupId"), "is required for group")
    elif call == "alias":
        if user_id is None:
            errors.add(at("userId"), "is required for alias")
        previous_id = id_text(item.get("previousId"), at("previousId"), errors)
        if previous_id is None:
            errors.add(at("previousId"), "is required for alias")

    client_time = original if original is not None else timestamp
    if sent_at is None:
        sent_at = shared.sent_at
    if original is not None and timestamp is not None:
        # RudderStack's SDKs stamp originalTimestamp themselves: a timestamp
        # beside it is the caller's (a backfill), kept as given, as
        # RudderStack's server keeps it.
        happened_at = timestamp if timestamp is not INVALID else received_at
    else:
        happened_at = _occurred(
            client_time,
            at("originalTimestamp") if original is not None else at("timestamp"),
            sent_at,
            received_at,
            errors,
        )
    if len(errors) > before or call is None:
        return None

    if integrations and "integrations" not in context:
        context["integrations"] = integrations
    common: dict[str, Any] = {
        "source": SOURCE,
        "message_id": message_id or made_id(),
        "deduplicate": bool(message_id),
        "timestamp": happened_at,
        "original_timestamp": client_time,
        "sent_at": sent_at,
        "user_id": user_id,
        "anonymous_id": anonymous_id,
        "context": context,
        "active": context.get("active") is not False,
    }
    if call == "identify":
        return Message(
            kind=Kind.USER,
            account_id=group_id,
            traits={**context_traits, **traits},
            **common,
        )
    if call == "group":
        return Message(
            kind=Kind.ACCOUNT, account_id=account_id, traits=dict(traits), **common
        )
    if call == "alias":
        return Message(kind=Kind.ALIAS, previous_id=previous_id, **common)
    if call in ("page", "screen"):
        properties = dict(properties)
        if name is not None:
            properties["name"] = name
        if category is not None:
            properties["category"] = category
        event = PAGE_VIEWED if call == "page" else SCREEN_VIEWED
    return Message(
        kind=Kind.EVENT,
        event=event,
        properties=dict(properties),
        account_id=group_id,
        **common,
    )


def _event(value: Any, path: str, errors: Errors) -> str | None:
    if value is None or value == "":
        errors.add(path, "is required for track: the event's name")
    elif not isinstance(value, str):
        errors.add(path, f"must be a string (the event's name), not {type_name(value)}")
    elif len(value) > EVENT_MAX_LENGTH:
        errors.add(path, f"is longer than {EVENT_MAX_LENGTH} characters")
    else:
        return value
    return None


def _occurred(
    original: Any,
    original_path: str,
    sent_at: Any,
    received_at: datetime,
    errors: Errors,
) -> datetime:
    """``received_at - (sent_at - original)``, clock skew corrected."""
    if original is INVALID or sent_at is INVALID:
        return received_at  # already reported
    if original is None:
        return received_at
    if sent_at is None:
        return original
    try:
        return received_at - (sent_at - original)
    except OverflowError:
        errors.add(original_path, "is out of range once corrected by sentAt")
        return received_at
