"""Gather's own API dialect: records and events in, canonical messages out.

``POST /models/account/records``, ``POST /models/user/records`` and
``POST /events`` (``../shared/reference/gather-tracking-api.txt``), with the
body either form-encoded with bracket keys, exactly as the reference's curl
examples send it (``-d properties[title]="The Meaning of Life"``), or JSON.
The endpoint turns a form body into pairs and :func:`decode_form` turns the
pairs into the dict a JSON body would have given; from there both are one
dialect. Pure functions: no database, no HTTP. Every field is checked before
anything is returned, and every bad field is named in one
:class:`DialectError`; for any JSON value the translate functions return
messages or raise that error, never anything else, and :func:`decode_form`
never raises.

Mapping (``source="gather"``, one message per request):

- account record -> ``ACCOUNT``: ``account_id=id``; ``traits`` = every other
  field, ``name`` included (the writer takes the account's name from it).
- user record -> ``USER``: ``user_id=id``, ``account_id`` (the user joins the
  account, which is created when unknown); ``traits`` = every field but ``id``
  and ``account_id``, so ``first_name``, ``last_name`` and ``email`` (the
  writer fills the user's columns of those names from them).
- event -> ``EVENT``: ``event=type`` (``page.viewed`` is the built-in page
  view, :data:`~tracking.messages.PAGE_VIEWED`; any other name is a custom
  event), ``user_id=user``, ``account_id=account`` (both given: the user joins
  the account), ``properties``; any other top-level field is kept, as given,
  in the event's ``context`` (nothing is silently dropped).

Decisions where the reference is silent or loose:

- Required: account ``id``, ``name``; user ``id``, ``account_id``,
  ``first_name``, ``last_name``, ``email``; event ``type`` and ``user`` or
  ``account``. ``null`` and ``""`` count as missing. Names and email must be
  strings; ids may be strings or numbers (integral numbers become their integer
  text, ``1234`` and ``1234.0`` -> ``"1234"``; booleans are refused). Lengths
  are the store's columns: ids 255, names 500 (first/last 255), email 320,
  event types 500 characters. ``email`` is not checked for shape.
- Message ids. Gather's API has none, so:

  - Records get a fresh uuid4 each time
    (:func:`~tracking.dialects.checks.made_id`, never deduplicated, as every
    message sent without a client id): an upsert is idempotent by nature (a
    repeat re-applies the same merge), and deduping by a hash of its content
    would be *wrong*: name A, then B, then A again - the third upsert would
    hash like the first and be skipped forever, leaving B.
  - Events get a fresh uuid4 unless they carry an ``id`` (string or number),
    which is then their message id: a client that retries sends the same
    ``id`` and the event is stored once. Without one, two identical page views
    a second apart are two events, as they should be (a content hash would
    drop the second).

- Record syncs are not activity: account and user messages have
  ``active=False``, so a nightly sync does not move anyone's first/last seen;
  events do (their ``timestamp``).
- Event time: ``timestamp`` (ISO 8601 date-time, ``Z`` or an offset, naive
  means UTC, a date alone midnight UTC, read as every dialect reads one:
  :func:`~tracking.dialects.checks.parse_time`), else the time the request
  was received. Epoch numbers are refused. On records ``timestamp`` is just
  a trait.
- ``properties`` must be an object (``{}`` when absent or null).
- Form values are text: ``size=50`` is the string ``"50"``; send JSON for
  numbers, booleans and null.
- Beyond the reference, values the store cannot hold are refused with their
  path rather than failing at write time: text with NUL characters or unpaired
  surrogates, NaN/Infinity, integers too long to print, nesting deeper than
  :data:`~tracking.dialects.checks.MAX_DEPTH` levels. Paths use the form's
  own bracket syntax: ``properties[title]``, ``tags[0]``.

Form decoding (:func:`decode_form`), as Rack/PHP/``qs`` do, with one rule for
everything they disagree on: *a key given twice becomes a list*.

- ``a=1`` -> ``{"a": "1"}``; ``a[b][c]=1`` -> ``{"a": {"b": {"c": "1"}}}``.
- ``a[]=1&a[]=2`` and ``a=1&a=2`` -> ``{"a": ["1", "2"]}``; ``a[]=1`` alone
  -> ``["1"]``; ``a[b]=1&a[b]=2`` -> ``{"a": {"b": ["1", "2"]}}``.
- ``a[][x]=1&a[][y]=2&a[][x]=3`` -> ``[{"x": "1", "y": "2"}, {"x": "3"}]``: a
  new element starts when its first key repeats (Rack's rule).
- ``a[0]=x`` is the object ``{"0": "x"}`` (no index arithmetic).
- Conflicting shapes keep everything, as a list: ``a=1&a[b]=2`` ->
  ``{"a": ["1", {"b": "2"}]}`` (then refused where an object is expected,
  naming the field, rather than silently losing one of the values).
- A key that is not ``name[...]...`` exactly (``a[b``, ``a[b]c``, ``[a]``) is
  taken literally.
"""

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from tracking.dialects.checks import (
    Errors,
    bracketed,
    id_text,
    made_id,
    object_value,
    required_id,
    scan,
    time_value,
    type_name,
    utc,
)
from tracking.messages import DialectError, FieldError, Kind, Message

SOURCE = "gather"
BODY_LIMIT = 500 * 1024  # bytes of one (decompressed) request body
NAME_MAX_LENGTH = 500
PERSON_NAME_MAX_LENGTH = 255
EMAIL_MAX_LENGTH = 320
TYPE_MAX_LENGTH = 500
TIME_EXAMPLE = "2012-12-02T00:30:08.276Z"

EVENT_FIELDS = frozenset({"id", "user", "account", "type", "properties", "timestamp"})

_MISSING: Any = object()  # a key not (yet) in a dict


# -- form decoding ----------------------------------------------------------------

_BRACKET_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Form pairs with bracket keys as the object they mean (see the module doc).

    Total: any list of string pairs gives a dict of strings, lists and dicts.
    """
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _BRACKET_KEY.fullmatch(key)
        if match is None:
            head, segments = key, []
        else:
            head, segments = match[1], _SEGMENT.findall(match[2])
        _insert(root, head, segments, value)
    return root


def _insert(root: dict[str, Any], head: str, segments: list[str], value: str) -> None:
    """Put ``value`` at ``root[head]`` followed by ``segments`` (no recursion).

    ``holder[slot]`` is where the next segment applies: a dict and its key, or
    a list and the index of the element chosen for the following segments.
    """
    holder: Any = root
    slot: Any = head
    for position, segment in enumerate(segments):
        existing = (
            holder.get(slot, _MISSING) if isinstance(holder, dict) else holder[slot]
        )
        if segment == "":  # slot[]: a list
            if existing is _MISSING:
                existing = holder[slot] = []
            elif not isinstance(existing, list):
                existing = holder[slot] = [existing]
            following = segments[position + 1] if position + 1 < len(segments) else None
            if following is None:
                existing.append(value)
                return
            last = existing[-1] if existing else None
            if following == "":  # slot[][]: a new inner list each time
                existing.append([])
            elif not isinstance(last, dict) or following in last:
                existing.append({})  # a new element starts when its key repeats
            holder, slot = existing, len(existing) - 1
        else:  # slot[name]: an object
            if existing is _MISSING:
                existing = holder[slot] = {}
            elif isinstance(existing, list):
                existing.append({})
                existing = existing[-1]
            elif not isinstance(existing, dict):
                holder[slot] = [existing, {}]
                existing = holder[slot][1]
            holder, slot = existing, segment
    existing = holder.get(slot, _MISSING)
    if existing is _MISSING:
        holder[slot] = value
    elif isinstance(existing, list):
        existing.append(value)
    else:
        holder[slot] = [existing, value]


# -- public API -------------------------------------------------------------------


def translate_account(
    body: Any, *, received_at: datetime, new_id: Callable[[], str] = made_id
) -> list[Message]:
    """``POST /models/account/records``: one ``ACCOUNT`` message, or every bad field."""
    errors, body = _start(body)
    account_id = _required_id(body, "id", errors)
    _required_text(body, "name", NAME_MAX_LENGTH, errors)
    errors.raise_if_any()
    traits = {key: value for key, value in body.items() if key != "id"}
    return [
        Message(
            kind=Kind.ACCOUNT,
            source=SOURCE,
            message_id=new_id(),
            deduplicate=False,
            timestamp=utc(received_at),
            account_id=account_id,
            traits=traits,
            active=False,
        )
    ]


def translate_user(
    body: Any, *, received_at: datetime, new_id: Callable[[], str] = made_id
) -> list[Message]:
    """``POST /models/user/records``: one ``USER`` message, or every bad field."""
    errors, body = _start(body)
    user_id = _required_id(body, "id", errors)
    account_id = _required_id(body, "account_id", errors)
    _required_text(body, "first_name", PERSON_NAME_MAX_LENGTH, errors)
    _required_text(body, "last_name", PERSON_NAME_MAX_LENGTH, errors)
    _required_text(body, "email", EMAIL_MAX_LENGTH, errors)
    errors.raise_if_any()
    traits = {
        key: value for key, value in body.items() if key not in ("id", "account_id")
    }
    return [
        Message(
            kind=Kind.USER,
            source=SOURCE,
            message_id=new_id(),
            deduplicate=False,
            timestamp=utc(received_at),
            user_id=user_id,
            account_id=account_id,
            traits=traits,
            active=False,
        )
    ]


def translate_event(
    body: Any, *, received_at: datetime, new_id: Callable[[], str] = made_id
) -> list[Message]:
    """``POST /events``: one ``EVENT`` message, or every bad field."""
    errors, body = _start(body)
    user_id = id_text(body.get("user"), "user", errors)
    account_id = id_text(body.get("account"), "account", errors)
    if user_id is None and account_id is None:
        errors.add("user", "user or account is required: the id of who it concerns")
    event = _type(body.get("type"), errors)
    properties = object_value(body.get("properties"), "properties", errors)
    timestamp = time_value(
        body.get("timestamp"), "timestamp", errors, example=TIME_EXAMPLE, echo=False
    )
    message_id = id_text(body.get("id"), "id", errors)
    errors.raise_if_any()
    context = {key: value for key, value in body.items() if key not in EVENT_FIELDS}
    return [
        Message(
            kind=Kind.EVENT,
            source=SOURCE,
            message_id=message_id or new_id(),
            deduplicate=message_id is not None,
            timestamp=timestamp or utc(received_at),
            user_id=user_id,
            account_id=account_id,
            event=event,
            properties=dict(properties),
            context=context,
        )
    ]


TRANSLATORS: dict[str, Callable[..., list[Message]]] = {
    "account": translate_account,
    "user": translate_user,
}


# -- errors and paths ---------------------------------------------------------------


def _start(body: Any) -> tuple[Errors, dict[str, Any]]:
    """The body as an object, its storability checked; refused if not an object."""
    if not isinstance(body, dict):
        raise DialectError(
            [FieldError("body", f"must be an object of fields, not {type_name(body)}")]
        )
    errors = Errors()
    scan(body, "", errors, child=bracketed)
    return errors, body


# -- fields ---------------------------------------------------------------------------


def _required_id(body: dict[str, Any], key: str, errors: Errors) -> Any:
    return required_id(body.get(key), key, "a string or a number", errors)


def _required_text(body: dict[str, Any], key: str, limit: int, errors: Errors) -> None:
    value = body.get(key)
    if value is None or value == "":
        errors.add(key, "is required: a non-empty string")
    elif not isinstance(value, str):
        errors.add(key, f"must be a string, not {type_name(value)}")
    elif len(value) > limit:
        errors.add(key, f"is longer than {limit} characters")


def _type(value: Any, errors: Errors) -> str | None:
    if value is None or value == "":
        errors.add("type", "is required: the event's type, like page.viewed")
    elif not isinstance(value, str):
        errors.add(
            "type", f"must be a string (the event's type), not {type_name(value)}"
        )
    elif len(value) > TYPE_MAX_LENGTH:
        errors.add("type", f"is longer than {TYPE_MAX_LENGTH} characters")
    else:
        return value
    return None
