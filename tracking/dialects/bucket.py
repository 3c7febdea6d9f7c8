"""The Bucket Tracking HTTP API dialect: payloads in, canonical messages out.

Bucket's reference (``bucket-tracking-api.txt``) has one JSON object per call,
``POST /{tracking_key}/{method}`` with ``method`` one of ``user``, ``company``,
``event`` (the reference also names it ``events``) and ``feedback``. Bucket's
official SDKs send the same bodies (see ``tracking/endpoints/bucket.py`` for
their URLs); ``@bucketco/node-sdk`` batches them: ``POST /bulk`` with a JSON
array of those objects, each with a ``type`` (``user``, ``company``,
``event``, and ``feature-flag-event``, which is flag telemetry, not tracking
data, and is skipped). Pure functions: no database, no HTTP. Every field is
checked before anything is returned, and every bad field is named in one
:class:`DialectError` (paths like ``userId`` or, in a bulk, ``[2].userId``);
for any JSON value :func:`translate` and :func:`translate_bulk` return
messages or raise that error, never anything else.

Mapping (``source="bucket"``):

- ``user`` -> ``USER``: ``user_id=userId``, ``traits=attributes``.
- ``company`` -> ``ACCOUNT``: ``account_id=companyId``, ``traits=attributes``
  and the optional ``userId`` (the user joins the company).
- ``event`` -> ``EVENT`` named ``event``: ``user_id=userId``,
  ``account_id=companyId``, ``properties=attributes``, ``context=context``.
- ``feedback`` -> ``FEEDBACK``: ``feature_id=featureId``, ``user_id=userId``,
  ``account_id=companyId``, ``score``, ``comment`` and ``question``.
- ``context.active`` exactly ``false`` -> ``active=False`` (last-seen untouched).

Required fields, as the reference has them: ``userId`` (user, event,
feedback), ``companyId`` (company), ``event`` (event), ``featureId`` (feedback)
and, for feedback, ``score`` or ``comment`` (or both).

Decisions where the reference is silent or loose:

- Ids (``userId``, ``companyId``, ``featureId``) are documented as strings
  but the reference's own examples send numbers (``"userId": 1234567890``):
  numbers become their text (``123`` and ``123.0`` -> ``"123"``, ``1.5`` ->
  ``"1.5"``); booleans, objects and lists are refused. JSON null and ``""``
  mean "not given". At most 255 characters (the store's column width); event
  names at most 500.
- ``featureId``: the newest browser SDK sends the flag's key as ``key``
  instead; ``key`` is taken when ``featureId`` is absent.
- ``score`` is an integer 1-5 (``4.0`` is 4; ``4.5``, ``0``, ``6``, ``"4"``
  and ``true`` are refused); null means "not given". ``comment`` is a string;
  ``""`` means "not given". ``question`` is the question the user answered,
  else the SDK's ``promptedQuestion``. ``feedbackId`` (a string or number,
  as ids are) names feedback given earlier, whose id our answer returned:
  the call updates it (the browser SDK's feedback widget sends the score,
  then the comment with the id it got back; what a call gives wins, the rest
  is kept). An id we do not know starts feedback with that id. Other SDK
  fields (``promptId``, ``source``) are accepted and not stored.
- ``attributes`` and ``context`` are objects (null = absent);
  ``context.active`` is a boolean (null = absent). ``context`` is accepted on
  every method (the reference lists it for user, company and event).
- ``timestamp`` is an ISO 8601 date-time string (``Z`` or an offset; naive
  means UTC; a date alone means midnight UTC); without it the call happened
  when it was received. Numbers are refused.
- Unknown fields are ignored (but count in the message id, below).
- Message ids: Bucket sends none, so the id is ``"hash:" + sha256`` of the
  sorted compact JSON of the method and the body (null fields and a bulk
  item's ``type`` dropped, so a call dedupes whether sent alone or in a bulk).
  With a ``timestamp`` that is all: the timestamp makes the call one
  occurrence, and a retry of it, however late, is a duplicate. Without one
  (what every official SDK sends), the minute it was received
  (``DEDUPE_WINDOW``) is hashed too, so an identical retry within that minute
  is a duplicate, while the same call a minute later (a user's next page
  load, the next click on a feature) counts again. The trade-off: two
  identical calls without timestamp received in the same minute are one
  (send a ``timestamp`` to keep them apart), and a retry that crosses a minute
  boundary is counted twice.
- Beyond the reference, values the store cannot hold are refused with their
  path rather than failing at write time: strings with NUL characters or
  unpaired surrogates, NaN/Infinity, nesting deeper than ``MAX_DEPTH``.
"""

import hashlib
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from tracking.dialects._common import (
    _INVALID,
    _Errors,
    _id,
    _name,
    _object,
    _quote,
    _scan_text,
    _utc,
)
from tracking.messages import DialectError, FieldError, Kind, Message

SOURCE = "bucket"
METHODS = ("user", "company", "event", "feedback")
ALIASES = {"events": "event"}  # the reference's method list says `events`
BULK_SKIPPED = frozenset({"feature-flag-event"})  # node-sdk flag telemetry
DEDUPE_WINDOW = timedelta(minutes=1)
BODY_LIMIT = 512 * 1024  # bytes of one (decompressed) request body
MAX_DEPTH = 100
EVENT_MAX_LENGTH = 500
SCORES = range(1, 6)

_METHODS_TEXT = ", ".join(METHODS)


# -- public API ---------------------------------------------------------------


def method_name(method: Any) -> str | None:
    """``user``, ``company``, ``event`` or ``feedback`` (``events`` is
    ``event``), matched case-insensitively; None for anything else."""
    if not isinstance(method, str):
        return None
    name = method.lower()
    name = ALIASES.get(name, name)
    return name if name in METHODS else None


def translate(method: str, body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /{key}/{method}``: the one message of ``body``, or every bad field."""
    received_at = _utc(received_at)
    name = method_name(method)
    if name is None:
        raise DialectError(
            [
                FieldError(
                    "method",
                    f"unknown method {_quote(str(method))}: "
                    f"expected one of {_METHODS_TEXT}",
                )
            ]
        )
    errors = _Errors()
    message = _message(name, body, "", received_at, errors)
    errors.raise_if_any()
    return [message] if message is not None else []


def translate_bulk(body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /bulk`` (node-sdk): a list of calls, each with its ``type``."""
    received_at = _utc(received_at)
    if not isinstance(body, list):
        raise DialectError(
            [FieldError("body", f"must be a list of calls, not {_name(body)}")]
        )
    errors = _Errors()
    messages: list[Message] = []
    for index, item in enumerate(body):
        path = f"[{index}]"
        if not isinstance(item, dict):
            errors.add(path, f"must be an object (a call), not {_name(item)}")
            continue
        kind = item.get("type")
        if isinstance(kind, str) and kind in BULK_SKIPPED:
            continue
        name = method_name(kind)
        if name is None:
            errors.add(
                f"{path}.type",
                f"must be one of {_METHODS_TEXT}"
                + (f"; not {_quote(kind)}" if isinstance(kind, str) else ""),
            )
            continue
        message = _message(name, item, path, received_at, errors)
        if message is not None:
            messages.append(message)
    errors.raise_if_any()
    return messages


# -- errors and names -----------------------------------------------------------


def _child(path: str, key: str) -> str:
    if key.isidentifier() and key.isascii():
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


# -- storability: what PostgreSQL's jsonb and text columns cannot hold ----------


def _scan(value: Any, path: str, errors: _Errors) -> None:
    """Walk a value (no recursion) naming what the store could not hold."""
    stack: list[tuple[Any, str, int]] = [(value, path, 1)]
    while stack:
        item, where, depth = stack.pop()
        where = where or "body"
        if isinstance(item, str):
            _scan_text(item, where, "text", errors)
        elif item is None or isinstance(item, bool | int):
            continue
        elif isinstance(item, float):
            if not math.isfinite(item):
                errors.add(where, "must be a finite number")
        elif isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                errors.add(where, f"is nested more than {MAX_DEPTH} levels deep")
                continue
            if isinstance(item, list):
                children = [
                    (child, f"{where}[{index}]", depth + 1)
                    for index, child in enumerate(item)
                ]
            else:
                children = []
                for key, child in item.items():
                    if not isinstance(key, str):
                        errors.add(where, "has a key that is not a string")
                        continue
                    child_path = _child("" if where == "body" else where, key)
                    _scan_text(key, child_path, "key", errors)
                    children.append((child, child_path, depth + 1))
            stack.extend(reversed(children))
        else:
            errors.add(where, "is not a JSON value")


# -- fields ---------------------------------------------------------------------


def _required_id(value: Any, path: str, what: str, errors: _Errors) -> Any:
    result = _id(value, path, errors)
    if result is None:
        errors.add(path, f"is required: {what}")
        return _INVALID
    return result


def _text(value: Any, path: str, errors: _Errors) -> Any:
    """An optional string; None when null or empty; _INVALID if anything else."""
    if value is None or isinstance(value, str):
        return value or None
    errors.add(path, f"must be a string, not {_name(value)}")
    return _INVALID


def _time(value: Any, path: str, errors: _Errors) -> Any:
    """An ISO 8601 string as aware UTC; None when null; _INVALID if bad."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.add(path, f"must be an ISO 8601 date-time string, not {_name(value)}")
        return _INVALID
    try:
        return _utc(datetime.fromisoformat(value))
    except (ValueError, OverflowError):
        errors.add(
            path,
            f"{_quote(value)} is not an ISO 8601 date-time "
            "(like 2024-03-01T12:30:00.000Z)",
        )
        return _INVALID


def _event(value: Any, path: str, errors: _Errors) -> Any:
    if value is None or value == "":
        errors.add(path, "is required: the event's name")
    elif not isinstance(value, str):
        errors.add(path, f"must be a string (the event's name), not {_name(value)}")
    elif len(value) > EVENT_MAX_LENGTH:
        errors.add(path, f"is longer than {EVENT_MAX_LENGTH} characters")
    else:
        return value
    return _INVALID


def _score(value: Any, path: str, errors: _Errors) -> Any:
    """An integer 1-5; None when null; _INVALID if anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(path, f"must be an integer from 1 to 5, not {_name(value)}")
        return _INVALID
    if isinstance(value, float) and not value.is_integer():
        errors.add(path, "must be an integer from 1 to 5")
        return _INVALID
    if value not in SCORES:
        errors.add(path, "must be an integer from 1 to 5")
        return _INVALID
    return int(value)


# -- one call -------------------------------------------------------------------


def _message(
    method: str, item: Any, path: str, received_at: datetime, errors: _Errors
) -> Message | None:
    """One call's message, or None when any of its fields was reported."""
    before = len(errors)
    if not isinstance(item, dict):
        errors.add(path or "body", f"must be an object, not {_name(item)}")
        return None
    _scan(item, path, errors)
    if len(errors) > before:
        return None  # unstorable values: the field checks would only repeat them

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    attributes = _object(item.get("attributes"), at("attributes"), errors)
    context = _object(item.get("context"), at("context"), errors)
    active = True
    if context is not _INVALID:
        flag = context.get("active")
        if flag is not None and not isinstance(flag, bool):
            errors.add(at("context.active"), f"must be a boolean, not {_name(flag)}")
        active = flag is not False
    timestamp = _time(item.get("timestamp"), at("timestamp"), errors)
    fields: dict[str, Any] = {}
    if method == "company":
        fields["account_id"] = _required_id(
            item.get("companyId"), at("companyId"), "the company's id", errors
        )
        fields["user_id"] = _id(item.get("userId"), at("userId"), errors)
    else:
        fields["user_id"] = _required_id(
            item.get("userId"), at("userId"), "the user's id", errors
        )
        if method != "user":
            fields["account_id"] = _id(item.get("companyId"), at("companyId"), errors)
    if method == "event":
        fields["event"] = _event(item.get("event"), at("event"), errors)
    elif method == "feedback":
        fields.update(_feedback(item, at, errors))
    if len(errors) > before:
        return None

    common: dict[str, Any] = {
        "source": SOURCE,
        "message_id": _hash_id(method, item, timestamp, received_at),
        "timestamp": timestamp if timestamp is not None else received_at,
        "active": active,
        **fields,
    }
    if method == "user":
        return Message(kind=Kind.USER, traits=dict(attributes), **common)
    if method == "company":
        return Message(kind=Kind.ACCOUNT, traits=dict(attributes), **common)
    if method == "event":
        return Message(
            kind=Kind.EVENT,
            properties=dict(attributes),
            context=dict(context),
            **common,
        )
    return Message(kind=Kind.FEEDBACK, **common)


def _feedback(item: dict[str, Any], at, errors: _Errors) -> dict[str, Any]:
    if item.get("featureId") in (None, "") and item.get("key") not in (None, ""):
        feature_id = _required_id(
            item.get("key"), at("key"), "the feature's id (or key)", errors
        )
    else:
        feature_id = _required_id(
            item.get("featureId"), at("featureId"), "the feature's id", errors
        )
    score = _score(item.get("score"), at("score"), errors)
    comment = _text(item.get("comment"), at("comment"), errors)
    question = _text(item.get("question"), at("question"), errors)
    prompted = _text(item.get("promptedQuestion"), at("promptedQuestion"), errors)
    feedback_id = _id(item.get("feedbackId"), at("feedbackId"), errors)
    if score is None and comment is None:
        errors.add(at("score"), "score (1 to 5) or comment is required")
    return {
        "feature_id": feature_id,
        "score": score,
        "comment": comment,
        "question": question if question is not None else prompted,
        "external_id": feedback_id,
    }


def _hash_id(
    method: str,
    item: dict[str, Any],
    timestamp: datetime | None,
    received_at: datetime,
) -> str:
    """A stable id for a call (Bucket sends none): sha256 of what it says."""
    canonical: dict[str, Any] = {
        "method": method,
        "body": {
            key: value
            for key, value in item.items()
            if value is not None and key != "type"
        },
    }
    if timestamp is None:
        window = DEDUPE_WINDOW.total_seconds()
        start = math.floor(received_at.timestamp() / window) * window
        canonical["received"] = datetime.fromtimestamp(start, UTC).isoformat()
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
    return "hash:" + hashlib.sha256(text.encode()).hexdigest()
