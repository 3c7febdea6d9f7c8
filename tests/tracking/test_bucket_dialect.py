"""The Bucket dialect adapter: payloads in, canonical messages or named errors out."""

import json
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tracking import made_ids_blanked
from tracking.dialects.bucket import (
    METHODS,
    method_name,
    translate,
    translate_bulk,
)
from tracking.dialects.checks import MAX_DEPTH
from tracking.messages import DialectError, FieldError, Kind, Message

RECEIVED = datetime(2026, 11, 1, 12, 0, 30, tzinfo=UTC)

# The four example bodies of ../shared/reference/bucket-tracking-api.txt,
# copied exactly as the reference prints them.
REFERENCE_USER = """{
"userId": 1234567890,
"attributes": {
"name": "Rasmus Makwarth",
"custom_property": true,
"some_number": 12
}
}"""
REFERENCE_COMPANY = """{
"companyId": 101112231415,
"attributes": {
"name": "Acme Corp",
"monthly_spend": 99,
"activated": true
},
"userId": 1234567890
}"""
REFERENCE_EVENT = """{
"event": "Sent message",
"userId": 1234567890,
"attributes": {
"position": "popover",
"version": 3
},
"companyId": "my_company_id"
}"""
REFERENCE_FEEDBACK = """{
"featureId": "my_feature_id",
"userId": 1234567890,
"companyId": 101112231415,
"score": 4,
"comment": "It's pretty nice, but I expect slightly more to be fully satisfied"
}"""


def one(method: str, body, received_at: datetime = RECEIVED) -> Message:
    messages = translate(method, body, received_at=received_at)
    assert len(messages) == 1
    return messages[0]


def errors_of(method: str, body) -> dict[str, str]:
    with pytest.raises(DialectError) as caught:
        translate(method, body, received_at=RECEIVED)
    assert caught.value.status == 400
    return {e.path: e.message for e in caught.value.errors}


# -- the reference's examples -----------------------------------------------------


def test_reference_user():
    message = one("user", json.loads(REFERENCE_USER))
    assert message.kind == Kind.USER and message.source == "bucket"
    assert message.user_id == "1234567890"
    assert message.traits == {
        "name": "Rasmus Makwarth",
        "custom_property": True,
        "some_number": 12,
    }
    assert message.timestamp == RECEIVED and message.active
    assert not message.deduplicate


def test_reference_company():
    message = one("company", json.loads(REFERENCE_COMPANY))
    assert message.kind == Kind.ACCOUNT
    assert message.account_id == "101112231415"
    assert message.user_id == "1234567890"
    assert message.traits == {
        "name": "Acme Corp",
        "monthly_spend": 99,
        "activated": True,
    }


def test_reference_event():
    message = one("event", json.loads(REFERENCE_EVENT))
    assert message.kind == Kind.EVENT
    assert message.event == "Sent message"
    assert message.user_id == "1234567890"
    assert message.account_id == "my_company_id"
    assert message.properties == {"position": "popover", "version": 3}
    assert message.context == {}


def test_reference_feedback():
    message = one("feedback", json.loads(REFERENCE_FEEDBACK))
    assert message.kind == Kind.FEEDBACK
    assert message.feature_id == "my_feature_id"
    assert message.user_id == "1234567890"
    assert message.account_id == "101112231415"
    assert message.score == 4
    assert message.comment.startswith("It's pretty nice")
    assert message.question is None


def test_events_is_event():
    body = json.loads(REFERENCE_EVENT)
    assert made_ids_blanked([one("events", body)]) == made_ids_blanked(
        [one("event", body)]
    )


def test_method_names():
    assert [method_name(m) for m in ("user", "Company", "EVENTS", "feedback")] == [
        "user",
        "company",
        "event",
        "feedback",
    ]
    assert method_name("bulk") is None and method_name(None) is None
    assert errors_of("track", {"userId": "u"}) == {
        "method": 'unknown method "track": expected one of '
        "user, company, event, feedback"
    }


# -- ids, attributes, context, timestamp ----------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [("u-1", "u-1"), (42, "42"), (42.0, "42"), (1.5, "1.5"), (10**20, "1" + "0" * 20)],
)
def test_ids_are_strings_or_numbers_as_text(value, text):
    message = one("event", {"event": "x", "userId": value, "companyId": value})
    assert message.user_id == text and message.account_id == text


@pytest.mark.parametrize("value", [True, [], {}, "x" * 256])
def test_bad_ids_are_named(value):
    assert set(errors_of("user", {"userId": value})) == {"userId"}


def test_null_and_empty_ids_mean_not_given():
    assert errors_of("user", {"userId": None}) == {
        "userId": "is required: the user's id"
    }
    assert errors_of("user", {"userId": ""}) == {"userId": "is required: the user's id"}
    assert (
        one("event", {"event": "x", "userId": "u", "companyId": None}).account_id
        is None
    )


def test_company_user_is_optional():
    message = one("company", {"companyId": "acme"})
    assert message.user_id is None and message.account_id == "acme"


@pytest.mark.parametrize(
    ("context", "active"),
    [
        (None, True),
        ({}, True),
        ({"active": True}, True),
        ({"active": None}, True),
        ({"active": False}, False),
    ],
)
def test_context_active_false_is_inactive(context, active):
    for method, body in [
        ("user", {"userId": "u"}),
        ("company", {"companyId": "c", "userId": "u"}),
        ("event", {"event": "e", "userId": "u"}),
    ]:
        assert one(method, {**body, "context": context}).active is active


def test_event_context_is_kept():
    message = one("event", {"event": "e", "userId": "u", "context": {"active": False}})
    assert message.context == {"active": False} and not message.active


@pytest.mark.parametrize("value", ["false", 0, [], {}])
def test_context_active_must_be_a_boolean(value):
    errors = errors_of("user", {"userId": "u", "context": {"active": value}})
    assert set(errors) == {"context.active"}


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("attributes", [], "a list"),
        ("attributes", "x", "a string"),
        ("context", 1, "a number"),
        ("context", [], "a list"),
    ],
)
def test_attributes_and_context_must_be_objects(field, value, name):
    errors = errors_of("event", {"event": "e", "userId": "u", field: value})
    assert errors == {field: f"must be an object, not {name}"}


def test_null_attributes_are_empty():
    assert one("user", {"userId": "u", "attributes": None}).traits == {}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:30:00.123Z", datetime(2024, 3, 1, 12, 30, 0, 123000, UTC)),
        ("2024-03-01T14:30:00+02:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T12:30:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_timestamps_are_iso_8601_in_utc(text, expected):
    message = one("event", {"event": "e", "userId": "u", "timestamp": text})
    assert message.timestamp == expected and message.timestamp.tzinfo is UTC


@pytest.mark.parametrize("value", [1700000000000, "yesterday", "2024-13-01", True])
def test_bad_timestamps_are_named(value):
    assert set(errors_of("user", {"userId": "u", "timestamp": value})) == {"timestamp"}


def test_out_of_range_timestamp_is_refused():
    body = {"userId": "u", "timestamp": "0001-01-01T00:00:00+01:00"}
    assert set(errors_of("user", body)) == {"timestamp"}


# -- required fields per method ---------------------------------------------------


@pytest.mark.parametrize(
    ("method", "body", "paths"),
    [
        ("user", {}, {"userId"}),
        ("user", {"attributes": {"a": 1}}, {"userId"}),
        ("company", {"userId": "u"}, {"companyId"}),
        ("event", {"userId": "u"}, {"event"}),
        ("event", {"event": "e"}, {"userId"}),
        ("event", {"event": "", "userId": "u"}, {"event"}),
        ("event", {"event": 7, "userId": "u"}, {"event"}),
        ("event", {"event": "e" * 501, "userId": "u"}, {"event"}),
        ("feedback", {"userId": "u", "score": 3}, {"featureId"}),
        ("feedback", {"featureId": "f", "score": 3}, {"userId"}),
        ("feedback", {"featureId": "f", "userId": "u"}, {"score"}),
        ("feedback", {"featureId": "f", "userId": "u", "comment": ""}, {"score"}),
    ],
)
def test_missing_required_fields_are_named(method, body, paths):
    assert set(errors_of(method, body)) == paths


def test_every_bad_field_is_named_at_once():
    errors = errors_of(
        "feedback",
        {
            "featureId": [],
            "userId": True,
            "companyId": {},
            "score": 9,
            "comment": 3,
            "timestamp": "nope",
            "context": "x",
        },
    )
    assert set(errors) == {
        "featureId",
        "userId",
        "companyId",
        "score",
        "comment",
        "timestamp",
        "context",
    }


@pytest.mark.parametrize("body", [None, [], "user", 3, True])
def test_a_body_that_is_not_an_object_is_named(body):
    assert set(errors_of("user", body)) == {"body"}


# -- feedback ---------------------------------------------------------------------


@pytest.mark.parametrize("score", [1, 2, 3, 4, 5, 4.0])
def test_scores_one_to_five(score):
    body = {"featureId": "f", "userId": "u", "score": score}
    message = one("feedback", body)
    assert message.score == int(score) and isinstance(message.score, int)
    assert message.comment is None


@pytest.mark.parametrize("score", [0, 6, -1, 4.5, "4", True, [], {}])
def test_bad_scores_are_named(score):
    body = {"featureId": "f", "userId": "u", "score": score, "comment": "ok"}
    assert set(errors_of("feedback", body)) == {"score"}


def test_a_comment_alone_is_feedback():
    message = one("feedback", {"featureId": "f", "userId": "u", "comment": "Nice"})
    assert message.score is None and message.comment == "Nice"


def test_the_newest_sdks_flag_key_is_the_feature_id():
    # @bucketco/browser-sdk 3: `featureKey` is sent as `key` (featureId undefined).
    body = {"userId": "u", "score": 5, "key": "huddle", "source": "sdk"}
    assert one("feedback", body).feature_id == "huddle"
    assert one("feedback", {**body, "featureId": "f1"}).feature_id == "f1"


def test_question_or_prompted_question():
    body = {"featureId": "f", "userId": "u", "score": 2}
    assert one("feedback", {**body, "question": "How?"}).question == "How?"
    assert one("feedback", {**body, "promptedQuestion": "P?"}).question == "P?"
    both = {**body, "question": "Q?", "promptedQuestion": "P?"}
    assert one("feedback", both).question == "Q?"
    assert set(errors_of("feedback", {**body, "question": 5})) == {"question"}


def test_feedback_timestamp_is_when_it_was_given():
    body = {"featureId": "f", "userId": "u", "score": 2, "timestamp": "2024-01-02"}
    assert one("feedback", body).timestamp == datetime(2024, 1, 2, tzinfo=UTC)


# -- message ids ------------------------------------------------------------------


def test_identical_calls_are_never_taken_for_one_another():
    # Bucket sends no ids: the same click twice within a minute is two events,
    # with or without a timestamp; only ids a client sends deduplicate.
    body = json.loads(REFERENCE_EVENT)
    timed = {**body, "timestamp": "2024-03-01T12:30:00Z"}
    calls = [one("event", body), one("event", body), one("event", timed)]
    calls += [
        one("event", timed),
        *translate_bulk([{"type": "event", **body}] * 2, received_at=RECEIVED),
    ]
    assert len({message.message_id for message in calls}) == len(calls)
    assert not any(message.deduplicate for message in calls)


def test_message_id_fits_the_store():
    assert len(one("user", {"userId": "u" * 255}).message_id) <= 255


# -- unstorable values --------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "path"),
    [
        ({"a": "x\x00y"}, "attributes.a"),
        ({"a\x00": 1}, 'attributes["a\\u0000"]'),
        ({"a": "\ud800"}, "attributes.a"),
        ({"a": float("nan")}, "attributes.a"),
        ({"a": [float("inf")]}, "attributes.a[0]"),
    ],
)
def test_values_the_store_cannot_hold_are_named(attributes, path):
    assert set(errors_of("user", {"userId": "u", "attributes": attributes})) == {path}


def test_nul_in_an_id_is_named():
    assert set(errors_of("user", {"userId": "a\x00b"})) == {"userId"}


def test_nesting_deeper_than_the_limit_is_refused():
    deep: dict = {}
    level = deep
    for _ in range(MAX_DEPTH + 5):
        level["x"] = {}
        level = level["x"]
    errors = errors_of("user", {"userId": "u", "attributes": deep})
    assert len(errors) == 1
    assert "nested more than" in next(iter(errors.values()))
    shallow = {"x": {"y": [1, {"z": 2}]}}
    assert one("user", {"userId": "u", "attributes": shallow}).traits == shallow


# -- bulk (node-sdk) ----------------------------------------------------------------


NODE_SDK_BULK = [
    {"type": "user", "userId": "u1", "attributes": {"name": "Ann"}},
    {
        "type": "company",
        "companyId": "c1",
        "userId": "u1",
        "attributes": {"name": "Acme"},
        "context": {"active": False},
    },
    {"type": "event", "event": "huddle", "companyId": "c1", "userId": "u1"},
    {
        "type": "feature-flag-event",
        "action": "check",
        "key": "huddle",
        "targetingVersion": 3,
        "evalContext": {"user": {"id": "u1"}},
        "evalResult": True,
    },
]


def test_bulk_translates_each_call_and_skips_flag_events():
    messages = translate_bulk(NODE_SDK_BULK, received_at=RECEIVED)
    assert [m.kind for m in messages] == [Kind.USER, Kind.ACCOUNT, Kind.EVENT]
    assert messages[1].active is False and messages[2].event == "huddle"


def test_a_bulk_call_is_the_same_call_sent_alone():
    alone = one("event", {k: v for k, v in NODE_SDK_BULK[2].items() if k != "type"})
    bulk = translate_bulk([NODE_SDK_BULK[2]], received_at=RECEIVED)
    assert made_ids_blanked(bulk) == made_ids_blanked([alone])


def test_bulk_errors_name_the_item():
    with pytest.raises(DialectError) as caught:
        translate_bulk(
            [
                NODE_SDK_BULK[0],
                {"type": "event", "userId": "u"},
                {"type": "identify", "userId": "u"},
                {"userId": "u"},
                "x",
            ],
            received_at=RECEIVED,
        )
    assert [e.path for e in caught.value.errors] == [
        "[1].event",
        "[2].type",
        "[3].type",
        "[4]",
    ]


@pytest.mark.parametrize("body", [{}, None, "x", 3])
def test_bulk_body_must_be_a_list(body):
    with pytest.raises(DialectError) as caught:
        translate_bulk(body, received_at=RECEIVED)
    assert caught.value.errors == [FieldError("body", caught.value.errors[0].message)]


def test_empty_bulk_is_nothing():
    assert translate_bulk([], received_at=RECEIVED) == []


# -- properties: any JSON gives messages or a DialectError ----------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=8,
)
ids = st.none() | st.text(max_size=6) | st.integers() | st.floats() | json_scalars
times = (
    st.none()
    | st.sampled_from(["2024-03-01T12:30:00Z", "2024-03-01", "nope", "2024-02-30", ""])
    | json_scalars
)
calls = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*METHODS, "events", "feature-flag-event", "x"])
        | json_scalars,
        "userId": ids,
        "companyId": ids,
        "featureId": ids,
        "key": ids,
        "event": st.none() | st.text(max_size=6) | json_scalars,
        "score": st.none() | st.integers(min_value=-1, max_value=7) | json_scalars,
        "comment": st.none() | st.text(max_size=6) | json_scalars,
        "question": st.none() | st.text(max_size=6) | json_scalars,
        "attributes": json_values,
        "context": st.fixed_dictionaries({}, optional={"active": json_scalars})
        | json_values,
        "timestamp": times,
    },
)
FAST = settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_messages(result) -> None:
    assert isinstance(result, list)
    for message in result:
        assert isinstance(message, Message)
        assert message.source == "bucket"
        assert message.message_id and not message.deduplicate
        assert message.timestamp.tzinfo is UTC
        for text in (message.user_id, message.account_id, message.feature_id):
            assert text is None or (isinstance(text, str) and 0 < len(text) <= 255)
        assert message.score is None or message.score in range(1, 6)
        json.dumps(
            [message.traits, message.properties, message.context], allow_nan=False
        )
        if message.kind == Kind.FEEDBACK:
            assert message.feature_id and message.user_id
            assert message.score is not None or message.comment


def outcome(translate_call):
    try:
        result = translate_call()
    except DialectError as error:
        assert error.errors and all(isinstance(e, FieldError) for e in error.errors)
        assert error.status == 400
        return None
    assert_messages(result)
    return made_ids_blanked(result)


@FAST
@given(
    st.sampled_from([*METHODS, "events", "Event", "bulk", ""]) | st.text(max_size=5),
    calls | json_values,
)
def test_any_json_call_gives_messages_or_a_dialect_error(method, body):
    first = outcome(lambda: translate(method, body, received_at=RECEIVED))
    assert outcome(lambda: translate(method, body, received_at=RECEIVED)) == first
    if first is not None:
        assert len(first) == 1


@FAST
@given(st.lists(calls | json_values, max_size=4) | json_values)
def test_any_json_bulk_gives_messages_or_a_dialect_error(body):
    first = outcome(lambda: translate_bulk(body, received_at=RECEIVED))
    assert outcome(lambda: translate_bulk(body, received_at=RECEIVED)) == first


@FAST
@given(st.lists(calls, min_size=1, max_size=3))
def test_a_bulk_is_accepted_only_when_each_call_is_accepted_alone(items):
    whole = outcome(lambda: translate_bulk(items, received_at=RECEIVED))
    alone = [
        outcome(lambda item=item: translate_bulk([item], received_at=RECEIVED))
        for item in items
    ]
    if whole is None:
        assert any(result is None for result in alone)
    else:
        assert whole == [m for result in alone for m in result]
