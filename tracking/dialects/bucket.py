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
  means UTC; a date alone means midnight UTC), read as every dialect reads
  one (:func:`~tracking.dialects.checks.parse_time`); without it the call
  happened when it was received. Numbers are refused.
- Unknown fields are ignored (but count in the message id, below).
- Message ids: Bucket sends none, so every call gets a fresh id and is never
  taken for another: two identical calls are two calls (a user's two clicks
  within a minute are two events), whether or not they carry a
  ``timestamp``. Bucket's reference accepts the price of a retry ("This can
  technically result in duplicate entries, but is increasingly rare"): a
  call retried after a 5xx may count twice.
- Beyond the reference, values the store cannot hold are refused with their
  path rather than failing at write time: strings with NUL characters or
  unpaired surrogates, NaN/Infinity, integers too long to print, nesting
  deeper than :data:`~tracking.dialects.checks.MAX_DEPTH` levels.
"""

from datetime import datetime
from typing import Any

from tracking.dialects.checks import (
    INVALID,
    Errors,
    id_text,
    made_id,
    object_value,
    quote,
    required_id,
    scan,
    time_value,
    type_name,
    utc,
)
from tracking.messages import DialectError, FieldError, Kind, Message

SOURCE = "bucket"
METHODS = ("user", "company", "event", "feedback")
ALIASES = {"events": "event"}  # the reference's method list says `events`
BULK_SKIPPED = frozenset({"feature-flag-event"})  # node-sdk flag telemetry
BODY_LIMIT = 512 * 1024  # bytes of one (decompressed) request body
EVENT_MAX_LENGTH = 500
SCORES = range(1, 6)
TIME_EXAMPLE = "2024-03-01T12:30:00.000Z"

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
    received_at = utc(received_at)
    name = method_name(method)
    if name is None:
        raise DialectError(
            [
                FieldError(
                    "method",
                    f"unknown method {quote(str(method))}: "
                    f"expected one of {_METHODS_TEXT}",
                )
            ]
        )
    errors = Errors()
    message = _message(name, body, "", received_at, errors)
    errors.raise_if_any()
    return [message] if message is not None else []


def translate_bulk(body: Any, *, received_at: datetime) -> list[Message]:
    """``POST /bulk`` (node-sdk): a list of calls, each with its ``type``."""
    received_at = utc(received_at)
    if not isinstance(body, list):
        raise DialectError(
            [FieldError("body", f"must be a list of calls, not {type_name(body)}")]
        )
    errors = Errors()
    messages: list[Message] = []
    for index, item in enumerate(body):
        path = f"[{index}]"
        if not isinstance(item, dict):
            errors.add(path, f"must be an object (a call), not {type_name(item)}")
            continue
        kind = item.get("type")
        if isinstance(kind, str) and kind in BULK_SKIPPED:
            continue
        name = method_name(kind)
        if name is None:
            errors.add(
                f"{path}.type",
                f"must be one of {_METHODS_TEXT}"
                + (f"; not {quote(kind)}" if isinstance(kind, str) else ""),
            )
            continue
        message = _message(name, item, path, received_at, errors)
        if message is not None:
            messages.append(message)
    errors.raise_if_any()
    return messages


# -- fields ---------------------------------------------------------------------


def _text(value: Any, path: str, errors: Errors) -> Any:
    """An optional string; None when null or empty; INVALID if anything else."""
    if value is None or isinstance(value, str):
        return value or None
    errors.add(path, f"must be a string, not {type_name(value)}")
    return INVALID


def _time(value: Any, path: str, errors: Errors) -> Any:
    return time_value(value, path, errors, example=TIME_EXAMPLE)


def _event(value: Any, path: str, errors: Errors) -> Any:
    if value is None or value == "":
        errors.add(path, "is required: the event's name")
    elif not isinstance(value, str):
        errors.add(path, f"must be a string (the event's name), not {type_name(value)}")
    elif len(value) > EVENT_MAX_LENGTH:
        errors.add(path, f"is longer than {EVENT_MAX_LENGTH} characters")
    else:
        return value
    return INVALID


def _score(value: Any, path: str, errors: Errors) -> Any:
    """An integer 1-5; None when null; INVALID if anything else."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        errors.add(path, f"must be an integer from 1 to 5, not {type_name(value)}")
        return INVALID
    if isinstance(value, float) and not value.is_integer():
        errors.add(path, "must be an integer from 1 to 5")
        return INVALID
    if value not in SCORES:
        errors.add(path, "must be an integer from 1 to 5")
        return INVALID
    return int(value)


# -- one call -------------------------------------------------------------------


def _message(
    method: str, item: Any, path: str, received_at: datetime, errors: Errors
) -> Message | None:
    """One call's message, or None when any of its fields was reported."""
    before = len(errors)
    if not isinstance(item, dict):
        errors.add(path or "body", f"must be an object, not {type_name(item)}")
        return None
    scan(item, path, errors)
    if len(errors) > before:
        return None  # unstorable values: the field checks would only repeat them

    def at(key: str) -> str:
        return f"{path}.{key}" if path else key

    attributes = object_value(item.get("attributes"), at("attributes"), errors)
    context = object_value(item.get("context"), at("context"), errors)
    active = True
    if context is not INVALID:
        flag = context.get("active")
        if flag is not None and not isinstance(flag, bool):
            errors.add(
                at("context.active"), f"must be a boolean, not {type_name(flag)}"
            )
        active = flag is not False
    timestamp = _time(item.get("timestamp"), at("timestamp"), errors)
    fields: dict[str, Any] = {}
    if method == "company":
        fields["account_id"] = required_id(
            item.get("companyId"), at("companyId"), "the company's id", errors
        )
        fields["user_id"] = id_text(item.get("userId"), at("userId"), errors)
    else:
        fields["user_id"] = required_id(
            item.get("userId"), at("userId"), "the user's id", errors
        )
        if method != "user":
            fields["account_id"] = id_text(
                item.get("companyId"), at("companyId"), errors
            )
    if method == "event":
        fields["event"] = _event(item.get("event"), at("event"), errors)
    elif method == "feedback":
        fields.update(_feedback(item, at, errors))
    if len(errors) > before:
        return None

    common: dict[str, Any] = {
        "source": SOURCE,
        "message_id": made_id(),
        "deduplicate": False,
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


def _feedback(item: dict[str, Any], at, errors: Errors) -> dict[str, Any]:
    if item.get("featureId") in (None, "") and item.get("key") not in (None, ""):
        feature_id = required_id(
            item.get("key"), at("key"), "the feature's id (or key)", errors
        )
    else:
        feature_id = required_id(
            item.get("featureId"), at("featureId"), "the feature's id", errors
        )
    score = _score(item.get("score"), at("score"), errors)
    comment = _text(item.get("comment"), at("comment"), errors)
    question = _text(item.get("question"), at("question"), errors)
    prompted = _text(item.get("promptedQuestion"), at("promptedQuestion"), errors)
    feedback_id = id_text(item.get("feedbackId"), at("feedbackId"), errors)
    if score is None and comment is None:
        errors.add(at("score"), "score (1 to 5) or comment is required")
    return {
        "feature_id": feature_id,
        "score": score,
        "comment": comment,
        "question": question if question is not None else prompted,
        "external_id": feedback_id,
    }
