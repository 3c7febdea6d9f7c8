"""The Gather dialect adapter: bracket-key forms and record/event bodies in,
canonical messages or named errors out."""

import itertools
import json
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qsl

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tracking.dialects.checks import MAX_DEPTH
from tracking.dialects.gather import (
    decode_form,
    translate_account,
    translate_event,
    translate_user,
)
from tracking.messages import PAGE_VIEWED, DialectError, FieldError, Kind, Message

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TRANSLATE = {
    "account": translate_account,
    "user": translate_user,
    "event": translate_event,
}


def ids():
    counter = itertools.count(1)
    return lambda: f"new-{next(counter)}"


def translate(kind: str, body) -> Message:
    (message,) = TRANSLATE[kind](body, received_at=RECEIVED, new_id=ids())
    return message


def errors(kind: str, body) -> list[FieldError]:
    with pytest.raises(DialectError) as caught:
        TRANSLATE[kind](body, received_at=RECEIVED)
    assert caught.value.status == 400
    return caught.value.errors


def paths(kind: str, body) -> list[str]:
    return [error.path for error in errors(kind, body)]


def form(query: str) -> dict:
    return decode_form(parse_qsl(query, keep_blank_values=True))


# -- decode_form ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", {}),
        ("a=1", {"a": "1"}),
        ("a=", {"a": ""}),
        ("a", {"a": ""}),
        ("a=1&b=2", {"a": "1", "b": "2"}),
        ("a[b]=1", {"a": {"b": "1"}}),
        ("a[b][c]=1&a[b][d]=2&a[e]=3", {"a": {"b": {"c": "1", "d": "2"}, "e": "3"}}),
        ("a=1&a=2&a=3", {"a": ["1", "2", "3"]}),
        ("a[]=1", {"a": ["1"]}),
        ("a[]=1&a[]=2", {"a": ["1", "2"]}),
        ("a=1&a[]=2", {"a": ["1", "2"]}),
        ("a[b]=1&a[b]=2", {"a": {"b": ["1", "2"]}}),
        ("a[b][]=1&a[b][]=2", {"a": {"b": ["1", "2"]}}),
        ("a[][x]=1&a[][y]=2", {"a": [{"x": "1", "y": "2"}]}),
        ("a[][x]=1&a[][x]=2", {"a": [{"x": "1"}, {"x": "2"}]}),
        (
            "a[][x]=1&a[][y]=2&a[][x]=3&a[][y]=4",
            {"a": [{"x": "1", "y": "2"}, {"x": "3", "y": "4"}]},
        ),
        ("a[][x][y]=1", {"a": [{"x": {"y": "1"}}]}),
        ("a[][]=1&a[][]=2", {"a": [["1"], ["2"]]}),
        ("a[0]=x&a[1]=y", {"a": {"0": "x", "1": "y"}}),
        # Conflicting shapes keep every value, as a list.
        ("a=1&a[b]=2", {"a": ["1", {"b": "2"}]}),
        ("a[b]=1&a=2", {"a": [{"b": "1"}, "2"]}),
        ("a[]=1&a[b]=2", {"a": ["1", {"b": "2"}]}),
        ("a[b]=1&a[]=2", {"a": [{"b": "1"}, "2"]}),
        # Keys that are not name[...]... exactly are literal.
        ("a[b=1", {"a[b": "1"}),
        ("a[b]c=1", {"a[b]c": "1"}),
        ("[a]=1", {"[a]": "1"}),
        ("a]=1", {"a]": "1"}),
        ("a[b[c]]=1", {"a[b[c]]": "1"}),
        ("=1", {"": "1"}),
        # Percent-encoding and + are decoded before brackets are read.
        ("a%5Bb%5D=x+y%21", {"a": {"b": "x y!"}}),
        ("a[b c]=1", {"a": {"b c": "1"}}),
    ],
)
def test_decode_form(query, expected):
    assert form(query) == expected


def test_decode_form_the_reference_event():
    pairs = [
        ("user", "4567"),
        ("type", "page.viewed"),
        ("properties[title]", "The Meaning of Life"),
        ("properties[url]", "https://meaning.life"),
    ]
    assert decode_form(pairs) == {
        "user": "4567",
        "type": "page.viewed",
        "properties": {"title": "The Meaning of Life", "url": "https://meaning.life"},
    }


def test_decode_form_very_deep_keys_do_not_recurse():
    deep = decode_form([("a" + "[b]" * 50_000, "1"), ("c" + "[]" * 50_000, "2")])
    node, depth = deep["a"], 0
    while isinstance(node, dict):
        node, depth = node["b"], depth + 1
    assert (node, depth) == ("1", 50_000)
    with pytest.raises(DialectError) as caught:
        translate_account({"id": "1", "name": "n", **deep}, received_at=RECEIVED)
    assert {e.path for e in caught.value.errors} == {
        "a" + "[b]" * (MAX_DEPTH - 1),
        "c" + "[0]" * (MAX_DEPTH - 1),
    }


# -- accounts -------------------------------------------------------------------


def test_account_record():
    message = translate(
        "account", {"id": "1234", "name": "Lovelace, Inc", "size": "50-100"}
    )
    assert message == Message(
        kind=Kind.ACCOUNT,
        source="gather",
        message_id="new-1",
        deduplicate=False,
        timestamp=RECEIVED,
        account_id="1234",
        traits={"name": "Lovelace, Inc", "size": "50-100"},
        active=False,
    )


def test_records_get_a_fresh_id_each_time():
    body = {"id": "1", "name": "A"}
    first = translate_account(body, received_at=RECEIVED)[0].message_id
    second = translate_account(body, received_at=RECEIVED)[0].message_id
    assert first != second


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234, "1234"), (1234.0, "1234"), (1.5, "1.5"), (-7, "-7"), ("abc", "abc")],
)
def test_ids_may_be_strings_or_numbers(value, text):
    assert translate("account", {"id": value, "name": "n"}).account_id == text
    user = translate(
        "user",
        {"id": value, "account_id": value, "first_name": "A", "last_name": "L"}
        | {"email": "e"},
    )
    assert user.user_id == text and user.account_id == text
    event = translate("event", {"user": value, "account": value, "type": "t"})
    assert event.user_id == text and event.account_id == text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["id", "name"]),
        ({"id": None, "name": None}, ["id", "name"]),
        ({"id": "", "name": ""}, ["id", "name"]),
        ({"id": True, "name": "n"}, ["id"]),
        ({"id": [1], "name": "n"}, ["id"]),
        ({"id": {"a": 1}, "name": "n"}, ["id"]),
        ({"id": "x" * 256, "name": "n"}, ["id"]),
        ({"id": "1", "name": 5}, ["name"]),
        ({"id": "1", "name": ["a", "b"]}, ["name"]),
        ({"id": "1", "name": "n" * 501}, ["name"]),
    ],
)
def test_bad_account_fields_are_named(body, expected):
    assert paths("account", body) == expected


@pytest.mark.parametrize("body", [None, [], "x", 1, True, [{"id": "1", "name": "n"}]])
def test_a_body_that_is_not_an_object_is_refused(body):
    for kind in TRANSLATE:
        assert paths(kind, body) == ["body"]


# -- users ----------------------------------------------------------------------

ADA = {
    "id": "4567",
    "account_id": "1234",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@acme.com",
}


def test_user_record():
    message = translate("user", {**ADA, "role": {"admin": True}})
    assert message == Message(
        kind=Kind.USER,
        source="gather",
        message_id="new-1",
        deduplicate=False,
        timestamp=RECEIVED,
        user_id="4567",
        account_id="1234",
        traits={
            "first_name": "Ada",
            "last_name": "Lovelace",
            "email": "ada@acme.com",
            "role": {"admin": True},
        },
        active=False,
    )


def test_every_missing_user_field_is_named_at_once():
    assert paths("user", {}) == list(ADA)
    assert paths("user", {"traits": {}}) == list(ADA)
    for field in ADA:
        assert paths("user", {k: v for k, v in ADA.items() if k != field}) == [field]
        assert paths("user", {**ADA, field: None}) == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("first_name", "x" * 256),
        ("last_name", 1),
        ("email", "x" * 321),
        ("email", False),
        ("account_id", False),
    ],
)
def test_bad_user_fields_are_named(field, value):
    assert paths("user", {**ADA, field: value}) == [field]


# -- events ---------------------------------------------------------------------


def test_the_reference_page_view():
    message = translate(
        "event",
        {
            "user": "4567",
            "type": "page.viewed",
            "properties": {
                "title": "The Meaning of Life",
                "url": "https://meaning.life",
            },
        },
    )
    assert message == Message(
        kind=Kind.EVENT,
        source="gather",
        message_id="new-1",
        deduplicate=False,
        timestamp=RECEIVED,
        user_id="4567",
        event=PAGE_VIEWED,
        properties={"title": "The Meaning of Life", "url": "https://meaning.life"},
    )


def test_event_for_an_account_with_an_id_a_time_and_extra_fields():
    message = translate(
        "event",
        {
            "account": "1234",
            "type": "invoice.paid",
            "id": 99,
            "timestamp": "2024-05-06T07:08:09+02:00",
            "properties": None,
            "channel": "billing",
            "meta": {"x": [1]},
        },
    )
    assert message.user_id is None and message.account_id == "1234"
    assert message.message_id == "99" and message.deduplicate
    assert message.timestamp == datetime(2024, 5, 6, 5, 8, 9, tzinfo=UTC)
    assert message.properties == {}
    assert message.context == {"channel": "billing", "meta": {"x": [1]}}
    assert message.active is True


def test_events_without_an_id_are_never_deduped():
    body = {"user": "1", "type": "page.viewed"}
    first, second = (translate_event(body, received_at=RECEIVED)[0] for _ in "ab")
    assert first.message_id != second.message_id
    assert not first.deduplicate and not second.deduplicate


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2012-12-02T00:30:08.276Z", datetime(2012, 12, 2, 0, 30, 8, 276000, UTC)),
        ("2012-12-02T00:30:08", datetime(2012, 12, 2, 0, 30, 8, tzinfo=UTC)),
        ("2012-12-02", datetime(2012, 12, 2, tzinfo=UTC)),
        ("2012-12-02T01:30:08-01:00", datetime(2012, 12, 2, 2, 30, 8, tzinfo=UTC)),
        (
            "2012-12-02 00:30:08.1234567+00:00",
            datetime(2012, 12, 2, 0, 30, 8, 123456, UTC),
        ),
    ],
)
def test_event_timestamps(text, expected):
    at = translate("event", {"user": "1", "type": "t", "timestamp": text}).timestamp
    assert at == expected and at.tzinfo is UTC


@pytest.mark.parametrize(
    "value", ["yesterday", "2012-13-01", "0001-01-01T00:00:00+01:00", 1700000000, {}]
)
def test_bad_timestamps_are_named(value):
    assert paths("event", {"user": "1", "type": "t", "timestamp": value}) == [
        "timestamp"
    ]


def test_received_at_is_used_in_utc():
    local = RECEIVED.astimezone(timezone(timedelta(hours=5)))
    (message,) = translate_event({"user": "1", "type": "t"}, received_at=local)
    assert message.timestamp == RECEIVED and message.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({}, ["user", "type"]),
        ({"user": None, "account": "", "type": None}, ["user", "type"]),
        ({"user": "1", "type": ""}, ["type"]),
        ({"user": "1", "type": 5}, ["type"]),
        ({"user": "1", "type": "t" * 501}, ["type"]),
        ({"user": "1", "type": "t", "properties": "x"}, ["properties"]),
        ({"user": "1", "type": "t", "properties": ["x"]}, ["properties"]),
        ({"user": False, "account": "a", "type": "t"}, ["user"]),
        ({"user": "1", "type": "t", "id": True}, ["id"]),
        ({"user": "1", "type": "t", "properties": {"a": "\x00"}}, ["properties[a]"]),
        ({"user": "1", "type": "t", "properties": {"\x00": 1}}, ["properties[\x00]"]),
        (
            {"user": "1", "type": "t", "properties": {"a": ["\ud800"]}},
            ["properties[a][0]"],
        ),
        (
            {"user": "1", "type": "t", "properties": {"n": float("nan")}},
            ["properties[n]"],
        ),
        ({"user": "1", "type": "t", "x": float("inf")}, ["x"]),
        ({"user": 10**5000, "type": "t"}, ["user"]),
    ],
)
def test_bad_event_fields_are_named(body, expected):
    assert paths("event", body) == expected


def test_nesting_up_to_the_limit_is_accepted():
    deep: dict = {}
    node = deep
    for _ in range(MAX_DEPTH - 2):  # the body is level 1, properties level 2
        node["a"] = {}
        node = node["a"]
    translate("event", {"user": "1", "type": "t", "properties": deep})
    node["a"] = {}
    assert paths("event", {"user": "1", "type": "t", "properties": deep}) == [
        "properties" + "[a]" * (MAX_DEPTH - 1)
    ]


# -- properties -------------------------------------------------------------------

FAST = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FIELDS = ("id", "name", "account_id", "first_name", "last_name", "email", "user")
keys = st.sampled_from(
    [*FIELDS, "account", "type", "properties", "timestamp", "size"]
) | st.text(max_size=5)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["", "2012-12-02T00:30:08Z", "page.viewed", "\x00", "\ud800"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=4)
    ),
    max_leaves=12,
)
bodies = st.dictionaries(keys, json_values, max_size=8) | json_values
form_keys = st.lists(
    st.sampled_from(["a", "b", "[", "]", "[]", "[a]", "[b]", "properties", "id", ""]),
    max_size=6,
).map("".join) | st.text(max_size=8)
form_pairs = st.lists(st.tuples(form_keys, st.text(max_size=6)), max_size=10)


def check_outcome(kind: str, body) -> None:
    try:
        result = TRANSLATE[kind](body, received_at=RECEIVED)
    except DialectError as error:
        assert error.status == 400
        assert error.errors and all(isinstance(e, FieldError) for e in error.errors)
        return
    (message,) = result
    assert isinstance(message, Message) and message.source == "gather"
    assert message.timestamp.tzinfo is UTC
    assert message.message_id and len(message.message_id) <= 255
    for text in (message.user_id, message.account_id):
        assert text is None or (isinstance(text, str) and 0 < len(text) <= 255)
    assert message.user_id or message.account_id
    # What the writer will store serialises as strict JSON.
    json.dumps(
        [message.traits, message.properties, message.context], allow_nan=False
    ).encode()


@FAST
@given(st.sampled_from(sorted(TRANSLATE)), bodies)
def test_any_json_body_gives_a_message_or_a_dialect_error(kind, body):
    check_outcome(kind, body)


@FAST
@given(form_pairs)
def test_decode_form_never_raises_and_gives_form_values(pairs):
    decoded = decode_form(pairs)
    assert isinstance(decoded, dict)
    stack = [decoded]
    while stack:
        node = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            assert isinstance(child, str | list | dict)
            if not isinstance(child, str):
                stack.append(child)
    for kind in TRANSLATE:
        check_outcome(kind, decoded)


form_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="[]"),
    min_size=1,
    max_size=6,
)
form_objects = st.recursive(
    st.dictionaries(form_text, st.text(max_size=6), min_size=1, max_size=3),
    lambda children: st.dictionaries(
        form_text,
        st.text(max_size=6)
        | children
        | st.lists(st.text(max_size=6), min_size=1, max_size=3),
        min_size=1,
        max_size=3,
    ),
    max_leaves=10,
)


def encode(value, prefix: str = "") -> list[tuple[str, str]]:
    """Bracket-key pairs, as a form library (qs, Rack, PHP) would write them."""
    if isinstance(value, str):
        return [(prefix, value)]
    if isinstance(value, list):
        return [(f"{prefix}[]", item) for item in value]
    return [
        pair
        for key, child in value.items()
        for pair in encode(child, f"{prefix}[{key}]" if prefix else key)
    ]


@FAST
@given(form_objects)
def test_decode_form_inverts_bracket_encoding(value):
    assert decode_form(encode(value)) == value


clean_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=8,
)
clean_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | clean_text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(clean_text, children, max_size=3)
    ),
    max_leaves=8,
)
good_ids = clean_text.filter(bool) | st.integers(-(10**12), 10**12)
good_text = clean_text.filter(bool)
extras = st.dictionaries(
    clean_text.filter(lambda key: key not in {*FIELDS, "account", "type", "id"}),
    clean_values,
    max_size=3,
)


@FAST
@given(good_ids, good_text, extras)
def test_well_formed_accounts_are_accepted_with_every_field_as_a_trait(
    account_id, name, extra
):
    body = {**extra, "id": account_id, "name": name}
    message = translate("account", body)
    assert message.account_id == str(account_id)
    assert message.traits == {**extra, "name": name}


@FAST
@given(good_ids, good_ids, good_text, good_text, good_text, extras)
def test_well_formed_users_are_accepted_with_every_field_as_a_trait(
    user_id, account_id, first_name, last_name, email, extra
):
    names = {"first_name": first_name, "last_name": last_name, "email": email}
    body = {**extra, "id": user_id, "account_id": account_id, **names}
    message = translate("user", body)
    assert (message.user_id, message.account_id) == (str(user_id), str(account_id))
    assert message.traits == {**extra, **names}


@FAST
@given(
    st.none() | good_ids,
    st.none() | good_ids,
    good_text,
    st.none() | st.dictionaries(clean_text, clean_values, max_size=3),
    extras.map(lambda d: {k: v for k, v in d.items() if k not in {"timestamp"}}),
)
def test_well_formed_events_are_accepted(user, account, event_type, properties, extra):
    body = {**extra, "user": user, "account": account, "type": event_type}
    body["properties"] = properties
    if user is None and account is None:
        assert paths("event", body) == ["user"]
        return
    message = translate("event", body)
    assert message.user_id == (None if user is None else str(user))
    assert message.account_id == (None if account is None else str(account))
    assert message.event == event_type
    assert message.properties == (properties or {})
    assert message.context == {
        k: v for k, v in extra.items() if k not in {"properties", "timestamp"}
    }
