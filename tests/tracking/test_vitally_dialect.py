"""The Vitally dialect adapter: batch payloads in, canonical messages or named
errors out."""

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tracking import made_ids_blanked
from tracking.dialects.checks import MAX_DEPTH
from tracking.dialects.vitally import (
    BATCH_MAX_MESSAGES,
    TYPES,
    translate_batch,
)
from tracking.messages import DialectError, FieldError, Kind, Message

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
AT = "2018-05-15T12:31:12.123Z"
AT_UTC = datetime(2018, 5, 15, 12, 31, 12, 123000, tzinfo=UTC)

# The example batch of ../shared/reference/vitally-batch-api.txt, the curl
# body copied exactly as written (note the messageId shared by four messages).
REFERENCE_BODY = """\
[
{
"type": "organization",
"organizationId": "abcdefg",
"traits": {
"name": "World Cup",
"sport": "futbol"
},
"messageId": "7ac1c682-a54b-4d0d-9f56-d6d3618f4915",
"timestamp": "2018-05-15T12:31:12.123Z"
},
{
"type": "account",
"accountId": "123456",
"organizationId": "abcdefg",
"traits": {
"name": "Argentina",
"group": "D"
},
"messageId": "7ac1c682-a54b-4d0d-9f56-d6d3618f4915",
"timestamp": "2018-05-15T12:31:12.123Z"
},
{
"type": "user",
"userId": "32",
"accountId": "123456",
"organizationId": "abcdefg",
"traits": {
"name": "Lionel Messi",
"position": "Forward",
"number": 10,
"email": "messi@barcelona.sp"
},
"messageId": "7ac1c682-a54b-4d0d-9f56-d6d3618f4915",
"timestamp": "2018-05-15T12:31:12.123Z"
},
{
"type": "track",
"userId": "32",
"event": "scored-goal",
"properties": {
"minute": 14,
"opponentId": 421243,
"matchId": 9
},
"messageId": "7ac1c682-a54b-4d0d-9f56-d6d3618f4915",
"timestamp": "2018-05-15T12:31:12.123Z"
},
{
"type": "customobjectinstance",
"externalId": "coi-789xyz",
"customObjectId": "2a3a47e7-459e-440e-b9d3-9fc1b11f233e",
"name": "Q1 Renewal - Argentina",
"accountId": "123456",
"traits": {
"vitally.custom.stage": "Negotiation",
"vitally.custom.dealValue": 50000,
"vitally.custom.closeDate": "2018-06-30T00:00:00.000Z"
},
"messageId": "7ac1c682-a54b-4d0d-9f56-d6d3618f4916",
"timestamp": "2018-05-15T12:31:12.123Z"
}
]
"""
REFERENCE = json.loads(REFERENCE_BODY)
SHARED_ID = "7ac1c682-a54b-4d0d-9f56-d6d3618f4915"


def batch(*messages) -> list[Message]:
    return translate_batch(list(messages), received_at=RECEIVED)


def one(**fields) -> Message:
    [message] = batch(fields)
    return message


def errors_of(body) -> list[FieldError]:
    with pytest.raises(DialectError) as caught:
        translate_batch(body, received_at=RECEIVED)
    assert caught.value.status == 400
    return caught.value.errors


def paths_of(body) -> list[str]:
    return [error.path for error in errors_of(body)]


# -- the reference example -------------------------------------------------------


def test_the_reference_example_gives_all_five_messages():
    org, account, user, track, instance = translate_batch(
        REFERENCE, received_at=RECEIVED
    )
    assert org == Message(
        kind=Kind.ORGANIZATION,
        source="vitally",
        message_id=f"organization:{SHARED_ID}",
        timestamp=AT_UTC,
        organization_id="abcdefg",
        traits={"name": "World Cup", "sport": "futbol"},
        active=False,
    )
    assert account == Message(
        kind=Kind.ACCOUNT,
        source="vitally",
        message_id=f"account:{SHARED_ID}",
        timestamp=AT_UTC,
        account_id="123456",
        organization_id="abcdefg",
        traits={"name": "Argentina", "group": "D"},
        active=False,
    )
    assert user == Message(
        kind=Kind.USER,
        source="vitally",
        message_id=f"user:{SHARED_ID}",
        timestamp=AT_UTC,
        user_id="32",
        account_id="123456",
        organization_id="abcdefg",
        traits={
            "name": "Lionel Messi",
            "position": "Forward",
            "number": 10,
            "email": "messi@barcelona.sp",
        },
        active=False,
    )
    assert track == Message(
        kind=Kind.EVENT,
        source="vitally",
        message_id=f"track:{SHARED_ID}",
        timestamp=AT_UTC,
        user_id="32",
        event="scored-goal",
        properties={"minute": 14, "opponentId": 421243, "matchId": 9},
    )
    assert instance == Message(
        kind=Kind.CUSTOM_OBJECT,
        source="vitally",
        message_id="customobjectinstance:7ac1c682-a54b-4d0d-9f56-d6d3618f4916",
        timestamp=AT_UTC,
        custom_object_id="2a3a47e7-459e-440e-b9d3-9fc1b11f233e",
        external_id="coi-789xyz",
        name="Q1 Renewal - Argentina",
        account_id="123456",
        traits={
            "vitally.custom.stage": "Negotiation",
            "vitally.custom.dealValue": 50000,
            "vitally.custom.closeDate": "2018-06-30T00:00:00.000Z",
        },
        active=False,
    )


def test_a_message_id_shared_across_types_gives_distinct_dedupe_keys():
    ids = [m.message_id for m in translate_batch(REFERENCE, received_at=RECEIVED)]
    assert len(set(ids)) == len(ids) == 5


def test_the_same_message_id_and_type_twice_is_one_message_id():
    a = {"type": "track", "userId": "u", "event": "x", "messageId": "m1"}
    first, second = batch(a, {**a, "event": "y"})
    assert first.message_id == second.message_id == "track:m1"


# -- each type ---------------------------------------------------------------------


def test_organization():
    message = one(type="organization", organizationId="o1", messageId="m")
    assert message.kind == Kind.ORGANIZATION
    assert message.organization_id == "o1" and message.traits == {}


def test_account_without_organization():
    message = one(type="account", accountId=7, traits={"name": "A"}, messageId="m")
    assert message.kind == Kind.ACCOUNT
    assert (message.account_id, message.organization_id) == ("7", None)
    assert message.traits == {"name": "A"}


def test_user_in_an_organization_only():
    message = one(type="user", userId="u", organizationId="o", messageId="m")
    assert message.kind == Kind.USER
    assert (message.account_id, message.organization_id) == (None, "o")


def test_track_attributed_to_an_account_only():
    message = one(
        type="track", accountId="a", event="Paid", properties={"usd": 5}, timestamp=AT
    )
    assert message.kind == Kind.EVENT and message.active
    assert (message.user_id, message.account_id) == (None, "a")
    assert message.event == "Paid" and message.properties == {"usd": 5}


def test_track_attributed_to_an_organization_only():
    message = one(type="track", organizationId="o", event="Paid", messageId="m")
    assert (message.user_id, message.account_id, message.organization_id) == (
        None,
        None,
        "o",
    )


def test_custom_object_instance_of_an_organization():
    message = one(
        type="customobjectinstance",
        externalId=5,
        customObjectId="deal",
        organizationId="o",
        messageId="m",
    )
    assert message.kind == Kind.CUSTOM_OBJECT
    assert (message.custom_object_id, message.external_id) == ("deal", "5")
    assert message.name is None and message.account_id is None
    assert message.organization_id == "o"


def test_unlink():
    message = one(type="unlink", userId=32, accountId=123456, messageId="m")
    assert message.kind == Kind.UNLINK
    assert (message.user_id, message.account_id) == ("32", "123456")
    assert message.message_id == "unlink:m" and not message.active


def test_type_is_case_insensitive():
    assert one(type="Organization", organizationId="o", messageId="m").message_id == (
        "organization:m"
    )


def test_only_track_moves_last_seen():
    messages = translate_batch(REFERENCE, received_at=RECEIVED)
    assert [m.active for m in messages] == [False, False, False, True, False]


def test_an_empty_batch_is_nothing():
    assert translate_batch([], received_at=RECEIVED) == []


# -- users in several accounts ------------------------------------------------------


def test_account_ids_give_one_user_message_per_account():
    messages = batch(
        {
            "type": "user",
            "userId": "u",
            "accountId": "a",
            "accountIds": ["b", "a", 3, "b"],
            "traits": {"name": "N"},
            "messageId": "m",
        }
    )
    assert [m.account_id for m in messages] == ["a", "b", "3"]
    assert all(m.kind == Kind.USER and m.user_id == "u" for m in messages)
    assert all(m.traits == {"name": "N"} for m in messages)
    assert messages[0].message_id == "user:m"
    assert all(m.message_id.startswith("hash:") for m in messages[1:])
    assert len({m.message_id for m in messages}) == 3


def test_a_one_account_list_is_the_same_as_account_id():
    listed = one(type="user", userId="u", accountIds=["a"], messageId="m")
    single = one(type="user", userId="u", accountId="a", messageId="m")
    assert listed == single


def test_link_ids_follow_the_account_not_its_position():
    def ids(accounts):
        messages = batch(
            {"type": "user", "userId": "u", "accountIds": accounts, "messageId": "m"}
        )
        return {m.account_id: m.message_id for m in messages[1:]}

    assert ids(["a", "b", "c"]) == ids(["a", "c", "b"])


def test_bad_account_ids_are_named():
    assert paths_of(
        [
            {
                "type": "user",
                "userId": "u",
                "accountIds": ["a", None, True, ""],
                "messageId": "m",
            },
            {"type": "user", "userId": "u", "accountIds": "a", "messageId": "m"},
        ]
    ) == [
        "[0].accountIds[1]",
        "[0].accountIds[2]",
        "[0].accountIds[3]",
        "[1].accountIds",
    ]


# -- message ids and timestamps -------------------------------------------------------


def test_message_id_or_timestamp_is_required():
    errors = errors_of([{"type": "organization", "organizationId": "o"}])
    assert errors == [FieldError("[0].messageId", "messageId or timestamp is required")]


def test_a_timestamp_without_message_id_is_never_taken_for_another():
    # A timestamp says when, not which: identical messages at one timestamp
    # are each kept (a fresh id each), traits as tracks; only messageId dedupes.
    user = {"type": "user", "userId": "u", "accountIds": ["a", "b"], "timestamp": AT}
    messages = [
        *batch(
            {"type": "track", "userId": "32", "event": "e", "timestamp": AT},
            {"type": "track", "userId": "32", "event": "e", "timestamp": AT},
        ),
        *batch(user),
        *batch(user),
    ]
    assert len({m.message_id for m in messages}) == len(messages)
    assert not any(m.deduplicate for m in messages)
    assert one(type="track", userId="32", event="e", messageId="m").deduplicate


def test_a_long_message_id_is_shortened_to_fit():
    long_id = "m" * 255
    message = one(
        type="customobjectinstance",
        externalId="x",
        customObjectId="o",
        accountId="a",
        messageId=long_id,
    )
    digest = hashlib.sha256(long_id.encode()).hexdigest()
    assert message.message_id == f"customobjectinstance:sha256:{digest}"
    assert one(type="track", userId="u", event="e", messageId="m" * 249).message_id == (
        "track:" + "m" * 249
    )


def test_numeric_message_ids_are_text():
    assert one(type="track", userId=1, event="e", messageId=42.0).message_id == (
        "track:42"
    )


@pytest.mark.parametrize(
    ("given_at", "expected"),
    [
        (AT, AT_UTC),
        ("2018-05-15T12:31:12.123", AT_UTC),
        ("2018-05-15T14:31:12.123+02:00", AT_UTC),
        ("2018-05-15", datetime(2018, 5, 15, tzinfo=UTC)),
        ("2018-05-15T12:31:12.1234567Z", AT_UTC + timedelta(microseconds=456)),
    ],
)
def test_timestamps_are_utc(given_at, expected):
    message = one(type="organization", organizationId="o", timestamp=given_at)
    assert message.timestamp == expected and message.timestamp.tzinfo is UTC


def test_without_timestamp_the_time_is_when_received():
    assert one(type="organization", organizationId="o", messageId="m").timestamp == (
        RECEIVED
    )


def test_naive_received_at_is_taken_as_utc_and_aware_is_converted():
    naive = translate_batch(
        [{"type": "organization", "organizationId": "o", "messageId": "m"}],
        received_at=datetime(2026, 1, 1, 12),
    )
    assert naive[0].timestamp == datetime(2026, 1, 1, 12, tzinfo=UTC)
    aware = translate_batch(
        [{"type": "organization", "organizationId": "o", "messageId": "m"}],
        received_at=datetime(2026, 1, 1, 14, tzinfo=timezone(timedelta(hours=2))),
    )
    assert aware[0].timestamp == datetime(2026, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize("bad", ["yesterday", "2018-13-01", 1526387472, True, {}])
def test_bad_timestamps_are_named(bad):
    body = [{"type": "organization", "organizationId": "o", "timestamp": bad}]
    assert paths_of(body) == ["[0].timestamp"]


# -- ids ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given_id", "text"),
    [("abc", "abc"), (32, "32"), (32.0, "32"), (1.5, "1.5"), (-7, "-7")],
)
def test_ids_may_be_strings_or_numbers(given_id, text):
    message = one(type="unlink", userId=given_id, accountId=given_id, messageId="m")
    assert message.user_id == message.account_id == text


@pytest.mark.parametrize("bad", [True, [], {}, "x" * 256, float("inf")])
def test_bad_ids_are_named(bad):
    assert "[0].userId" in paths_of(
        [{"type": "unlink", "userId": bad, "accountId": "a", "messageId": "m"}]
    )


# -- bad input ---------------------------------------------------------------------


@pytest.mark.parametrize("body", [{}, {"batch": []}, "[]", None, 3])
def test_the_body_must_be_an_array(body):
    assert paths_of(body) == ["body"]


def test_at_most_100_messages():
    message = {"type": "organization", "organizationId": "o", "messageId": "m"}
    assert len(translate_batch([message] * BATCH_MAX_MESSAGES, received_at=RECEIVED))
    [error] = errors_of([message] * (BATCH_MAX_MESSAGES + 1))
    assert error.path == "body" and "at most 100" in error.message


@pytest.mark.parametrize(
    ("message", "paths"),
    [
        ({"messageId": "m"}, ["[0].type"]),
        ({"type": "group", "messageId": "m"}, ["[0].type"]),
        ({"type": 3, "messageId": "m"}, ["[0].type"]),
        ({"type": "organization", "messageId": "m"}, ["[0].organizationId"]),
        (
            {"type": "account", "organizationId": "o", "messageId": "m"},
            ["[0].accountId"],
        ),
        ({"type": "user", "accountId": "a", "messageId": "m"}, ["[0].userId"]),
        ({"type": "user", "userId": "u", "messageId": "m"}, ["[0].accountId"]),
        ({"type": "track", "userId": "u", "messageId": "m"}, ["[0].event"]),
        ({"type": "track", "event": "e", "messageId": "m"}, ["[0].userId"]),
        ({"type": "track", "userId": "u", "event": 5, "messageId": "m"}, ["[0].event"]),
        (
            {"type": "track", "userId": "u", "event": "e" * 501, "messageId": "m"},
            ["[0].event"],
        ),
        (
            {
                "type": "track",
                "userId": "u",
                "event": "e",
                "properties": [],
                "messageId": "m",
            },
            ["[0].properties"],
        ),
        (
            {"type": "customobjectinstance", "accountId": "a", "messageId": "m"},
            ["[0].customObjectId", "[0].externalId"],
        ),
        (
            {
                "type": "customobjectinstance",
                "customObjectId": "o",
                "externalId": "x",
                "messageId": "m",
            },
            ["[0].accountId"],
        ),
        (
            {
                "type": "customobjectinstance",
                "customObjectId": "o",
                "externalId": "x",
                "accountId": "a",
                "name": 5,
                "messageId": "m",
            },
            ["[0].name"],
        ),
        ({"type": "unlink", "messageId": "m"}, ["[0].userId", "[0].accountId"]),
        (
            {
                "type": "organization",
                "organizationId": "o",
                "traits": "x",
                "messageId": "m",
            },
            ["[0].traits"],
        ),
    ],
)
def test_missing_and_mistyped_fields_are_named(message, paths):
    assert paths_of([message]) == paths


def test_every_bad_field_of_every_message_is_named_at_once():
    good = {"type": "organization", "organizationId": "o", "messageId": "m"}
    body = [
        good,
        "not a message",
        {"type": "user", "userId": True, "accountId": "a", "messageId": "m"},
        {"type": "track", "userId": "u", "traits": 5},
        good,
        {"type": "unlink", "userId": "u", "accountId": [], "timestamp": "nope"},
    ]
    assert paths_of(body) == [
        "[1]",
        "[2].userId",
        "[3].messageId",
        "[3].event",
        "[5].timestamp",
        "[5].accountId",
    ]


def test_null_fields_are_absent():
    message = one(
        type="account",
        accountId="a",
        organizationId=None,
        traits=None,
        messageId="m",
        timestamp=None,
    )
    assert message.organization_id is None and message.traits == {}


def test_unknown_fields_are_ignored():
    message = one(type="organization", organizationId="o", messageId="m", extra=[1])
    assert message.organization_id == "o"


@pytest.mark.parametrize(
    ("traits", "path"),
    [
        ({"a": "x\x00y"}, "[0].traits.a"),
        ({"a\x00": 1}, '[0].traits["a\\u0000"]'),
        ({"a": "\ud800"}, "[0].traits.a"),
        ({"a": float("nan")}, "[0].traits.a"),
        ({"a": [float("inf")]}, "[0].traits.a[0]"),
    ],
)
def test_values_the_store_cannot_hold_are_named(traits, path):
    body = [
        {
            "type": "organization",
            "organizationId": "o",
            "traits": traits,
            "messageId": "m",
        }
    ]
    assert path in paths_of(body)


def test_nesting_is_limited():
    deep: dict = {}
    inner = deep
    for _ in range(MAX_DEPTH):
        inner["x"] = {}
        inner = inner["x"]
    body = [
        {
            "type": "organization",
            "organizationId": "o",
            "traits": deep,
            "messageId": "m",
        }
    ]
    errors = errors_of(body)
    assert errors and "nested more than" in errors[0].message


def test_nesting_just_within_the_limit_is_accepted():
    deep: dict = {}
    inner = deep
    for _ in range(MAX_DEPTH - 3):
        inner["x"] = {}
        inner = inner["x"]
    one(type="organization", organizationId="o", traits=deep, messageId="m")


# -- properties ----------------------------------------------------------------------

json_scalars = (
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=12,
)
ids = st.none() | st.text(max_size=6) | st.integers() | st.floats() | st.booleans()
times = (
    st.sampled_from(
        [AT, "2018-05-15", "nope", "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59Z"]
    )
    | json_scalars
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*TYPES, "User", "group"]) | json_scalars,
        "userId": ids,
        "accountId": ids,
        "accountIds": st.lists(ids, max_size=3) | json_scalars,
        "organizationId": ids,
        "customObjectId": ids,
        "externalId": ids,
        "messageId": ids,
        "event": json_scalars,
        "name": json_scalars,
        "traits": json_values,
        "properties": json_values,
        "timestamp": times,
    },
)
FAST = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def outcome(body):
    try:
        result = translate_batch(body, received_at=RECEIVED)
    except DialectError as error:
        assert error.errors and all(isinstance(e, FieldError) for e in error.errors)
        assert error.status == 400
        return None
    assert isinstance(result, list)
    for message in result:
        assert isinstance(message, Message) and message.source == "vitally"
        assert message.timestamp.tzinfo is UTC
        assert message.message_id and len(message.message_id) <= 255
        for text in (
            message.user_id,
            message.account_id,
            message.organization_id,
            message.custom_object_id,
            message.external_id,
        ):
            assert text is None or (isinstance(text, str) and 0 < len(text) <= 255)
        json.dumps([message.traits, message.properties], allow_nan=False)
    return made_ids_blanked(result)


@FAST
@given(json_values | st.lists(messages | json_values, max_size=4))
def test_any_json_gives_messages_or_a_dialect_error(body):
    assert outcome(body) == outcome(body)


@FAST
@given(st.lists(messages, min_size=1, max_size=3))
def test_a_batch_is_accepted_only_when_each_message_is_accepted_alone(items):
    whole = outcome(items)
    alone = [outcome([item]) for item in items]
    if whole is None:
        assert None in alone
    else:
        assert None not in alone
        assert whole == [message for result in alone for message in result]


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
free_objects = st.dictionaries(clean_text, clean_values, max_size=3)
good_ids = clean_text.filter(bool) | st.integers(-(10**12), 10**12)
good_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)
).map(lambda at: at.isoformat() + "Z")
good_messages = st.sampled_from(TYPES).flatmap(
    lambda kind: st.fixed_dictionaries(
        {
            "type": st.just(kind),
            "userId": good_ids,
            "accountId": good_ids,
            "organizationId": good_ids,
            "customObjectId": good_ids,
            "externalId": good_ids,
            "event": clean_text.filter(bool),
        },
        optional={
            "accountIds": st.lists(good_ids, max_size=3),
            "name": clean_text | st.none(),
            "traits": free_objects,
            "properties": free_objects,
            "timestamp": good_times,
            "extra": clean_values,
        },
    ).flatmap(
        lambda message: st.one_of(
            st.just(message),
            st.just({**message, "messageId": "m"}),
            good_ids.map(lambda mid: {**message, "messageId": mid}),
        ).filter(lambda m: "messageId" in m or "timestamp" in m)
    )
)


KINDS = {
    "organization": Kind.ORGANIZATION,
    "account": Kind.ACCOUNT,
    "user": Kind.USER,
    "track": Kind.EVENT,
    "customobjectinstance": Kind.CUSTOM_OBJECT,
    "unlink": Kind.UNLINK,
}


@FAST
@given(st.lists(good_messages, min_size=1, max_size=4))
def test_well_formed_messages_are_always_accepted_whatever_their_key_order(items):
    result = translate_batch(items, received_at=RECEIVED)
    assert outcome(items) == made_ids_blanked(result)
    reordered = [dict(reversed(item.items())) for item in items]
    assert made_ids_blanked(
        translate_batch(reordered, received_at=RECEIVED)
    ) == made_ids_blanked(result)
    remaining = iter(result)
    for item in items:
        count = 1
        if item["type"] == "user":
            listed = [item["accountId"], *item.get("accountIds", [])]
            count = len(dict.fromkeys(str(a) for a in listed))
        produced = [next(remaining) for _ in range(count)]
        assert all(m.kind == KINDS[item["type"]] for m in produced)
        if "messageId" in item:
            assert produced[0].message_id == f"{item['type']}:{item['messageId']}"
        assert all(m.deduplicate == ("messageId" in item) for m in produced)
    assert next(remaining, None) is None
