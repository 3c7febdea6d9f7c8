"""The Segment dialect adapter: payloads in, canonical messages or named errors out."""

import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.tracking import made_ids_blanked
from tracking.dialects.segment import (
    MAX_DEPTH,
    MESSAGE_LIMIT,
    SCREEN_VIEWED,
    TYPES,
    translate_batch,
    translate_single,
    write_key,
)
from tracking.messages import PAGE_VIEWED, DialectError, FieldError, Kind, Message

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)

# The example payload of ../shared/reference/dreamdata-segment-batch-api.txt,
# copied exactly.
REFERENCE_EXAMPLE = {
    "messageId": "6f47f5a0-4118-42de-9e15-95cf9ed2a426",
    "sentAt": "2015-12-02T00:30:08.276Z",
    "batch": [
        {
            "type": "identify",
            "messageId": "6ad2be86-6d78-43bd-8a5b-846ddbc042c2",
            "userId": "019mr8mf4r",
            "traits": {"email": "jake@yahoo.com", "name": "Jake Peterson", "age": 26},
            "context": {
                "ip": "24.5.68.47",
                "library": {"name": "customer", "version": "v1"},
                "campaign": {
                    "name": "my_campaign",
                    "source": "demo",
                    "medium": "calendly",
                    "term": "",
                    "content": "",
                },
            },
            "timestamp": "2012-12-02T00:30:08.276Z",
        },
        {
            "type": "track",
            "messageId": "3f8236bc-c010-43bb-a341-cd30b5228e9d",
            "userId": "019mr8mf4r",
            "event": "Song Played",
            "properties": {"name": "Fallin for You", "artist": "Dierks Bentley"},
            "context": {
                "ip": "24.5.68.47",
                "page": {
                    "referrer": "http://localhost:3000/test",
                    "url": "http://localhost:3000/test/path?param=a088fb06-a208-4552-b4b7-28fb7f95aeaf",
                },
                "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36",  # noqa: E501
                "campaign": {
                    "name": "my_campaign",
                    "source": "demo",
                    "medium": "calendly",
                    "term": "",
                    "content": "",
                },
            },
            "timestamp": "2012-12-02T00:30:12.984Z",
        },
    ],
}


def batch(*messages, **top) -> list[Message]:
    return translate_batch({"batch": list(messages), **top}, received_at=RECEIVED)


def one(**fields) -> Message:
    (message,) = batch(fields)
    return message


def errors_of(body, *, single: str | None = None) -> list[FieldError]:
    with pytest.raises(DialectError) as caught:
        if single is None:
            translate_batch(body, received_at=RECEIVED)
        else:
            translate_single(single, body, received_at=RECEIVED)
    assert caught.value.status == 400
    return caught.value.errors


def paths(body, **kwargs) -> list[str]:
    return [error.path for error in errors_of(body, **kwargs)]


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# -- the reference's own example --------------------------------------------------


def test_reference_example_translates_to_an_identify_and_a_track():
    identify, track = translate_batch(REFERENCE_EXAMPLE, received_at=RECEIVED)

    assert identify.kind == Kind.USER
    assert identify.source == "segment"
    assert identify.message_id == "6ad2be86-6d78-43bd-8a5b-846ddbc042c2"
    assert identify.user_id == "019mr8mf4r"
    assert identify.anonymous_id is None
    assert identify.account_id is None
    assert identify.traits == {
        "email": "jake@yahoo.com",
        "name": "Jake Peterson",
        "age": 26,
    }
    assert identify.context == REFERENCE_EXAMPLE["batch"][0]["context"]
    assert identify.active is True

    assert track.kind == Kind.EVENT
    assert track.message_id == "3f8236bc-c010-43bb-a341-cd30b5228e9d"
    assert track.user_id == "019mr8mf4r"
    assert track.event == "Song Played"
    assert track.properties == {"name": "Fallin for You", "artist": "Dierks Bentley"}
    assert track.context["userAgent"].startswith("Mozilla/5.0")
    assert track.context["page"]["referrer"] == "http://localhost:3000/test"


def test_reference_example_timestamps_are_corrected_by_the_batch_sent_at():
    identify, track = translate_batch(REFERENCE_EXAMPLE, received_at=RECEIVED)
    # sentAt - timestamp: 2012-12-02 -> 2015-12-02 is exactly 1095 days for the
    # identify, 1095 days less 4.708 s for the track (sent 4.708 s later).
    assert identify.timestamp == RECEIVED - timedelta(days=1095)
    assert identify.timestamp == at("2023-11-02T12:00:00+00:00")
    assert track.timestamp == RECEIVED - (
        timedelta(days=1095) - timedelta(seconds=4.708)
    )
    assert track.timestamp == at("2023-11-02T12:00:04.708+00:00")
    assert track.timestamp.tzinfo is UTC


# -- timestamps -------------------------------------------------------------------


def test_timestamp_is_received_at_minus_the_client_delay_when_sent_at_is_given():
    # The client's clock is 2 h 10 s behind: it stamped 10:00:00 and sent at
    # 10:00:10; we received it at 12:00:05, so it happened at 11:59:55.
    (message,) = translate_batch(
        {
            "sentAt": "2026-11-01T10:00:10Z",
            "batch": [
                {
                    "type": "track",
                    "userId": "u1",
                    "event": "Clicked",
                    "timestamp": "2026-11-01T10:00:00Z",
                }
            ],
        },
        received_at=at("2026-11-01T12:00:05+00:00"),
    )
    assert message.timestamp == at("2026-11-01T11:59:55+00:00")


def test_a_message_sent_at_overrides_the_batch_sent_at():
    message = batch(
        {
            "type": "track",
            "userId": "u1",
            "event": "Clicked",
            "timestamp": "2026-11-01T10:00:00Z",
            "sentAt": "2026-11-01T10:01:00Z",
        },
        sentAt="2026-11-01T10:00:10Z",
    )[0]
    assert message.timestamp == RECEIVED - timedelta(minutes=1)


def test_original_timestamp_is_corrected_by_sent_at():
    message = batch(
        {
            "type": "track",
            "userId": "u1",
            "event": "Clicked",
            "originalTimestamp": "2026-11-01T10:00:00Z",
        },
        sentAt="2026-11-01T10:00:30Z",
    )[0]
    assert message.timestamp == RECEIVED - timedelta(seconds=30)


def test_a_timestamp_beside_original_timestamp_is_the_callers_kept_as_given():
    # rudder-sdk-node stamps originalTimestamp on every call: a timestamp
    # beside it is the caller's (a backfill), kept as RudderStack keeps it.
    message = batch(
        {
            "type": "track",
            "userId": "u1",
            "event": "Imported",
            "timestamp": "2025-01-02T03:04:05.678Z",
            "originalTimestamp": "2026-11-01T10:00:00Z",
            "sentAt": "2026-11-01T10:00:30Z",
        },
    )[0]
    assert message.timestamp == at("2025-01-02T03:04:05.678+00:00")
    assert message.original_timestamp == at("2026-11-01T10:00:00+00:00")
    assert message.sent_at == at("2026-11-01T10:00:30+00:00")


def test_the_clients_own_times_are_kept_as_sent():
    # Segment's warehouses keep original_timestamp and sent_at beside the
    # corrected timestamp and received_at: so do we.
    stamped, original, own_sent, none = batch(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-11-01T09:00Z",
        },
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-11-01T09:00:00Z",
            "originalTimestamp": "2026-11-01T10:00:00+02:00",
        },
        {
            "type": "page",
            "userId": "u",
            "timestamp": "2026-11-01T09:00:00Z",
            "sentAt": "2026-11-01T09:01:00Z",
        },
        {"type": "identify", "userId": "u"},
        sentAt="2026-11-01T09:00:30Z",
    )
    assert (stamped.original_timestamp, stamped.sent_at) == (
        at("2026-11-01T09:00:00+00:00"),
        at("2026-11-01T09:00:30+00:00"),
    )
    assert stamped.timestamp == RECEIVED - timedelta(seconds=30)
    assert original.original_timestamp == at("2026-11-01T08:00:00+00:00")
    assert own_sent.sent_at == at("2026-11-01T09:01:00+00:00")
    assert (none.original_timestamp, none.sent_at) == (
        None,
        at("2026-11-01T09:00:30+00:00"),
    )
    (alone,) = translate_single(
        "track", {"userId": "u", "event": "E"}, received_at=RECEIVED
    )
    assert (alone.original_timestamp, alone.sent_at) == (None, None)


def test_timestamp_without_sent_at_is_taken_as_given_in_utc():
    offset, naive = batch(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-10-01T14:00:00+02:00",
        },
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "timestamp": "2026-10-01T14:00:00",
        },
    )
    assert offset.timestamp == at("2026-10-01T12:00:00+00:00")
    assert offset.timestamp.tzinfo is UTC
    assert naive.timestamp == at("2026-10-01T14:00:00+00:00")
    assert naive.timestamp.tzinfo is UTC


def test_a_message_without_timestamp_happened_when_received():
    plain, with_sent_at = batch(
        {"type": "track", "userId": "u", "event": "E"},
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "sentAt": "2001-01-01T00:00:00Z",
        },
    )
    assert plain.timestamp == RECEIVED
    assert with_sent_at.timestamp == RECEIVED


def test_a_naive_received_at_is_taken_as_utc():
    (message,) = translate_batch(
        {"batch": [{"type": "track", "userId": "u", "event": "E"}]},
        received_at=datetime(2026, 11, 1, 12, 0),
    )
    assert message.timestamp == RECEIVED
    assert message.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # analytics-python: isoformat(timespec="milliseconds"), local offsets too
        ("2026-11-01T13:00:00.123+01:00", "2026-11-01T12:00:00.123+00:00"),
        # rudder-sdk-python / the batch sentAt of both: microseconds
        ("2026-11-01T12:00:00.123456+00:00", "2026-11-01T12:00:00.123456+00:00"),
        # analytics.js: toISOString()
        ("2026-11-01T12:00:00.123Z", "2026-11-01T12:00:00.123+00:00"),
        # analytics-go: RFC 3339 with nanoseconds (truncated to microseconds)
        ("2026-11-01T12:00:00.123456789Z", "2026-11-01T12:00:00.123456+00:00"),
        ("2026-11-01T12:00:00z", "2026-11-01T12:00:00+00:00"),
        ("2026-11-01 12:00:00Z", "2026-11-01T12:00:00+00:00"),
        ("2026-11-01T17:30:00+0530", "2026-11-01T12:00:00+00:00"),
        ("2026-11-01T07:00-05", "2026-11-01T12:00:00+00:00"),
        ("2026-11-01", "2026-11-01T00:00:00+00:00"),
        # Segment's own batch example writes its month without a zero.
        ("2015-2-02T00:30:08.276Z", "2015-02-02T00:30:08.276+00:00"),
    ],
)
def test_iso_8601_timestamps_the_sdks_send_are_parsed(text, expected):
    message = one(type="track", userId="u", event="E", timestamp=text)
    assert message.timestamp == at(expected)
    assert message.timestamp.tzinfo is UTC


@pytest.mark.parametrize(
    "bad",
    [
        "yesterday",
        "2026-13-01T00:00:00Z",
        "2026-02-30",
        "2026-11-01T25:00:00Z",
        "2026-11-01T12:00:00+24:00",
        "2026-11-01T12:00:00+05:75",
        "2026-11-01T12:00:00Z trailing",
        "",
        1700000000,
        True,
        {"at": "2026-11-01"},
    ],
)
def test_an_unparseable_timestamp_is_an_error_naming_its_path(bad):
    assert paths(
        {"batch": [{"type": "track", "userId": "u", "event": "E", "timestamp": bad}]}
    ) == ["batch[0].timestamp"]


def test_unparseable_sent_at_is_named_at_batch_and_message_level():
    errors = errors_of(
        {
            "sentAt": "later",
            "batch": [
                {"type": "track", "userId": "u", "event": "E", "sentAt": "soon"},
                {"type": "track", "userId": "u", "event": "E", "originalTimestamp": 5},
            ],
        }
    )
    assert [e.path for e in errors] == [
        "sentAt",
        "batch[0].sentAt",
        "batch[1].originalTimestamp",
    ]
    assert "ISO 8601" in errors[0].message


def test_a_timestamp_out_of_range_after_skew_correction_is_an_error():
    body = {
        "sentAt": "9999-12-31T00:00:00Z",
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "timestamp": "0001-01-01T00:00:00Z",
            }
        ],
    }
    assert paths(body) == ["batch[0].timestamp"]


# -- each message type ----------------------------------------------------------


def test_identify_becomes_a_user_with_traits_and_its_context_group_as_account():
    message = one(
        type="identify",
        userId="u1",
        anonymousId="anon-1",
        traits={"email": "a@example.com", "plan": "pro"},
        context={"groupId": "acme", "ip": "10.0.0.1"},
    )
    assert message.kind == Kind.USER
    assert (message.user_id, message.anonymous_id) == ("u1", "anon-1")
    assert message.account_id == "acme"
    assert message.traits == {"email": "a@example.com", "plan": "pro"}
    assert message.context == {"groupId": "acme", "ip": "10.0.0.1"}


def test_identify_takes_rudderstack_context_traits_and_root_traits_win():
    message = one(
        type="identify",
        userId="u1",
        traits={"plan": "pro"},
        context={"traits": {"email": "a@example.com", "plan": "free"}},
    )
    assert message.traits == {"email": "a@example.com", "plan": "pro"}


def test_group_becomes_an_account_joined_by_the_caller():
    message = one(
        type="group",
        userId="u1",
        groupId="acme",
        traits={"name": "Acme", "employees": 420},
    )
    assert message.kind == Kind.ACCOUNT
    assert message.account_id == "acme"
    assert message.user_id == "u1"
    assert message.traits == {"name": "Acme", "employees": 420}


def test_group_with_a_numeric_group_id_uses_its_text():
    assert one(type="group", anonymousId="a", groupId=8675309).account_id == "8675309"


def test_group_without_group_id_is_an_error():
    assert paths({"batch": [{"type": "group", "userId": "u1"}]}) == ["batch[0].groupId"]
    assert paths({"batch": [{"type": "group", "userId": "u1", "groupId": ""}]}) == [
        "batch[0].groupId"
    ]


def test_track_becomes_an_event_attributed_to_its_context_group():
    message = one(
        type="track",
        anonymousId="anon-1",
        event="Report Exported",
        properties={"format": "csv"},
        context={"groupId": "acme"},
    )
    assert message.kind == Kind.EVENT
    assert message.event == "Report Exported"
    assert message.properties == {"format": "csv"}
    assert message.account_id == "acme"
    assert message.anonymous_id == "anon-1"
    assert message.user_id is None


@pytest.mark.parametrize("event", [None, "", 42, ["E"], "x" * 501])
def test_track_without_a_valid_event_name_is_an_error(event):
    body = {"batch": [{"type": "track", "userId": "u", "event": event}]}
    assert paths(body) == ["batch[0].event"]


def test_page_becomes_a_page_view_keeping_name_and_category_in_properties():
    message = one(
        type="page",
        userId="u1",
        name="Pricing",
        category="Marketing",
        properties={"url": "https://example.com/pricing", "name": "old"},
    )
    assert message.kind == Kind.EVENT
    assert message.event == PAGE_VIEWED
    assert message.properties == {
        "url": "https://example.com/pricing",
        "name": "Pricing",
        "category": "Marketing",
    }


def test_page_with_null_name_and_category_as_analytics_python_sends_keeps_properties():
    message = one(
        type="page", userId="u1", name=None, category=None, properties={"a": 1}
    )
    assert message.properties == {"a": 1}


def test_page_with_a_non_string_name_is_an_error():
    body = {"batch": [{"type": "page", "userId": "u1", "name": 5, "category": {}}]}
    assert paths(body) == ["batch[0].name", "batch[0].category"]


def test_screen_becomes_a_screen_view_event():
    message = one(type="screen", userId="u1", name="Settings", properties={"tab": 2})
    assert message.kind == Kind.EVENT
    assert message.event == SCREEN_VIEWED == "screen.viewed"
    assert message.properties == {"tab": 2, "name": "Settings"}


def test_alias_becomes_an_alias_from_previous_id_to_user_id():
    message = one(type="alias", userId="u1", previousId="anon-7")
    assert message.kind == Kind.ALIAS
    assert (message.user_id, message.previous_id) == ("u1", "anon-7")


def test_alias_needs_user_id_and_previous_id():
    errors = errors_of({"batch": [{"type": "alias", "anonymousId": "a"}]})
    assert [e.path for e in errors] == ["batch[0].userId", "batch[0].previousId"]
    assert all("alias" in e.message for e in errors)


def test_context_active_false_leaves_last_seen_untouched():
    quiet, loud, absent = batch(
        {"type": "track", "userId": "u", "event": "E", "context": {"active": False}},
        {"type": "track", "userId": "u", "event": "E", "context": {"active": True}},
        {"type": "track", "userId": "u", "event": "E"},
    )
    assert quiet.active is False
    assert loud.active is True
    assert absent.active is True


def test_type_is_matched_case_insensitively():
    assert one(type="Track", userId="u", event="E").kind == Kind.EVENT
    assert one(type="IDENTIFY", userId="u").kind == Kind.USER


@pytest.mark.parametrize("bad_type", [None, "batch", "", 7, ["track"]])
def test_a_missing_or_unknown_type_is_an_error_naming_its_path(bad_type):
    item = {"userId": "u", "event": "E"}
    if bad_type is not None:
        item["type"] = bad_type
    errors = errors_of(
        {"batch": [{"type": "track", "userId": "u", "event": "E"}, item]}
    )
    assert [e.path for e in errors] == ["batch[1].type"]
    assert "identify, track, page, screen, group, alias" in errors[0].message


# -- ids ------------------------------------------------------------------------


def test_a_null_user_id_is_allowed_when_anonymous_id_is_set_and_vice_versa():
    anonymous, known = batch(
        {"type": "track", "userId": None, "anonymousId": "anon-1", "event": "E"},
        {"type": "track", "userId": "u1", "anonymousId": None, "event": "E"},
    )
    assert (anonymous.user_id, anonymous.anonymous_id) == (None, "anon-1")
    assert (known.user_id, known.anonymous_id) == ("u1", None)


@pytest.mark.parametrize("call", ["identify", "track", "page", "screen", "group"])
def test_a_message_without_user_id_or_anonymous_id_is_an_error(call):
    item = {
        "type": call,
        "userId": None,
        "anonymousId": "",
        "event": "E",
        "groupId": "g",
    }
    errors = errors_of({"batch": [item]})
    assert errors == [
        FieldError("batch[0].userId", "userId or anonymousId is required")
    ]


@pytest.mark.parametrize(
    ("raw", "text"),
    [(123, "123"), (123.0, "123"), (-7, "-7"), (1.5, "1.5"), (2**70, str(2**70))],
)
def test_numeric_ids_become_their_text(raw, text):
    message = one(type="track", userId=raw, anonymousId=raw, event="E", messageId=raw)
    assert (message.user_id, message.anonymous_id, message.message_id) == (text,) * 3
    assert one(type="identify", userId="u", context={"groupId": raw}).account_id == text
    assert one(type="alias", userId=raw, previousId=raw).previous_id == text


@pytest.mark.parametrize("bad", [True, False, {"id": 1}, ["u1"], "x" * 256])
def test_an_id_of_the_wrong_type_or_too_long_is_an_error_naming_its_path(bad):
    body = {
        "batch": [
            {"type": "track", "userId": "u", "event": "E"},
            {"type": "track", "userId": bad, "anonymousId": bad, "event": "E"},
            {"type": "group", "userId": "u", "groupId": bad, "messageId": bad},
            {"type": "alias", "userId": "u", "previousId": bad},
            {"type": "track", "userId": "u", "event": "E", "context": {"groupId": bad}},
        ]
    }
    assert paths(body) == [
        "batch[1].userId",
        "batch[1].anonymousId",
        "batch[2].messageId",
        "batch[2].groupId",
        "batch[3].previousId",
        "batch[4].context.groupId",
    ]


# -- shapes and sizes -----------------------------------------------------------


def test_fields_that_must_be_objects_are_named_when_they_are_not():
    body = {
        "batch": [
            {
                "type": "identify",
                "userId": "u",
                "traits": ["email"],
                "properties": "x",
                "context": 5,
                "integrations": [],
            },
            {"type": "track", "userId": "u", "event": "E", "context": {"traits": "t"}},
        ]
    }
    errors = errors_of(body)
    assert [e.path for e in errors] == [
        "batch[0].context",
        "batch[0].integrations",
        "batch[0].traits",
        "batch[0].properties",
        "batch[1].context.traits",
    ]
    assert errors[2].message == "must be an object, not a list"


def test_every_bad_message_is_named_in_one_error():
    body = {
        "batch": [
            {"type": "track", "event": "E"},
            {"type": "track", "userId": "u", "event": "E"},
            {"type": "track", "userId": "u", "timestamp": "never"},
            "not a message",
        ]
    }
    assert paths(body) == [
        "batch[0].userId",
        "batch[2].timestamp",
        "batch[2].event",
        "batch[3]",
    ]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ([], "body"),
        ("batch", "body"),
        (None, "body"),
        ({}, "batch"),
        ({"batch": None}, "batch"),
        ({"batch": {"type": "track"}}, "batch"),
        ({"batch": [], "context": []}, "context"),
        ({"batch": [], "integrations": "all"}, "integrations"),
        ({"batch": [], "sentAt": 1}, "sentAt"),
        ({"batch": [], "context": {"groupId": {}}}, "context.groupId"),
    ],
)
def test_a_malformed_batch_body_is_named(body, path):
    assert paths(body) == [path]


def test_an_empty_batch_yields_no_messages():
    assert translate_batch({"batch": []}, received_at=RECEIVED) == []


def padded(size: int) -> dict:
    """A track message whose compact JSON is exactly ``size`` bytes."""
    message = {"type": "track", "userId": "u", "event": "E", "properties": {"pad": ""}}
    base = len(json.dumps(message, separators=(",", ":")).encode())
    message["properties"]["pad"] = "x" * (size - base)
    return message


def test_a_message_of_exactly_32_kb_is_accepted():
    assert len(batch(padded(MESSAGE_LIMIT))) == 1


def test_a_message_larger_than_32_kb_is_an_error_naming_its_index():
    body = {"batch": [padded(100), padded(MESSAGE_LIMIT + 1)]}
    (error,) = errors_of(body)
    assert error.path == "batch[1]"
    assert "larger than 32 KB" in error.message
    assert str(MESSAGE_LIMIT + 1) in error.message


def test_message_size_counts_non_ascii_text_as_utf8_bytes():
    # 12,000 "é" are 24,000 UTF-8 bytes (fine) but 72,000 as \u00e9 escapes.
    message = one(type="track", userId="u", event="E", properties={"t": "é" * 12000})
    assert message.properties["t"] == "é" * 12000


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ("a\x00b", "batch[0].properties.note", "NUL"),
        ("\ud800", "batch[0].properties.note", "surrogate"),
        (float("nan"), "batch[0].properties.note", "finite"),
        (float("inf"), "batch[0].properties.note", "finite"),
        (10**5000, "batch[0].properties.note", "digits"),
    ],
    ids=["nul", "surrogate", "nan", "infinity", "huge-integer"],
)
def test_values_the_store_cannot_hold_are_errors_naming_their_path(value, path, words):
    body = {
        "batch": [
            {
                "type": "track",
                "userId": "u",
                "event": "E",
                "properties": {"note": value},
            }
        ]
    }
    (error,) = errors_of(body)
    assert error.path == path
    assert words in error.message


def test_keys_with_a_nul_character_are_named_in_brackets():
    body = {"batch": [{"type": "identify", "userId": "u", "traits": {"a\x00.b": 1}}]}
    (error,) = errors_of(body)
    assert error.path == 'batch[0].traits["a\\u0000.b"]'
    assert "key" in error.message


def test_nesting_deeper_than_the_limit_is_an_error_not_a_crash():
    for depth in (MAX_DEPTH + 5, 5000):
        deep: list = []
        for _ in range(depth):
            deep = [deep]
        body = {
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "E",
                    "properties": {"d": deep},
                }
            ]
        }
        (error,) = errors_of(body)
        assert error.path.startswith("batch[0].properties.d[0]")
        assert f"more than {MAX_DEPTH} levels" in error.message


def nested(lists: int) -> dict:
    """A track message nesting ``lists`` lists under properties.d."""
    deep: list = []
    for _ in range(lists - 1):
        deep = [deep]
    return {"type": "track", "userId": "u", "event": "E", "properties": {"d": deep}}


def test_nesting_is_accepted_up_to_exactly_the_limit():
    # The message is level 1 and properties level 2: lists fill levels 3 and on.
    assert batch(nested(MAX_DEPTH - 2))
    assert paths({"batch": [nested(MAX_DEPTH - 1)]}) == [
        "batch[0].properties.d" + "[0]" * (MAX_DEPTH - 2)
    ]


# -- message ids ----------------------------------------------------------------


def test_an_explicit_message_id_is_kept():
    assert one(type="track", userId="u", event="E", messageId="m-1").message_id == "m-1"


def test_only_a_message_id_dedupes_and_without_one_every_message_is_new():
    # Two identical calls without messageId (or with ""), timed or not, sent
    # alone or in a batch, are two calls: each gets a fresh id of its own.
    item = {"type": "track", "userId": "u", "event": "E"}
    timed = {**item, "timestamp": "2026-11-01T10:00:00Z"}
    messages = [
        *batch(dict(item), dict(item), dict(timed), dict(timed)),
        one(**item, messageId=""),
        *translate_single("track", {"userId": "u", "event": "E"}, received_at=RECEIVED),
    ]
    assert len({m.message_id for m in messages}) == len(messages)
    assert not any(m.deduplicate for m in messages)
    kept = one(**item, messageId="m-1")
    assert kept.message_id == "m-1" and kept.deduplicate


# -- batch context and integrations -------------------------------------------


def test_batch_context_merges_into_every_message_and_message_keys_win():
    first, second = batch(
        {"type": "track", "userId": "u", "event": "E", "context": {"ip": "1.1.1.1"}},
        {"type": "identify", "userId": "u", "context": {"device": {"type": "tablet"}}},
        context={"ip": "9.9.9.9", "device": {"type": "phone", "name": "iPhone"}},
    )
    assert first.context == {
        "ip": "1.1.1.1",
        "device": {"type": "phone", "name": "iPhone"},
    }
    # Shallow: the message's device replaces the batch's whole device.
    assert second.context == {"ip": "9.9.9.9", "device": {"type": "tablet"}}


def test_batch_context_group_and_active_apply_to_every_message():
    track, identify, own = batch(
        {"type": "track", "userId": "u", "event": "E"},
        {"type": "identify", "userId": "u"},
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "context": {"groupId": "globex", "active": True},
        },
        context={"groupId": "acme", "active": False},
    )
    assert (track.account_id, track.active) == ("acme", False)
    assert (identify.account_id, identify.active) == ("acme", False)
    assert (own.account_id, own.active) == ("globex", True)


def test_integrations_merge_and_are_kept_in_the_context_when_not_empty():
    routed, plain = batch(
        {
            "type": "track",
            "userId": "u",
            "event": "E",
            "integrations": {"Mixpanel": False},
        },
        {"type": "track", "userId": "u", "event": "E", "integrations": {}},
        integrations={"All": True, "Mixpanel": True},
    )
    assert routed.context == {"integrations": {"All": True, "Mixpanel": False}}
    assert plain.context == {"integrations": {"All": True, "Mixpanel": True}}
    assert one(type="track", userId="u", event="E", integrations={}).context == {}


# -- what the official SDKs send -----------------------------------------------


def test_an_analytics_python_batch_translates():
    """The shape segment-analytics-python posts: nulls kept, ids stringified."""
    body = {
        "batch": [
            {
                "integrations": {},
                "anonymousId": None,
                "properties": {},
                "timestamp": "2026-11-01T12:59:59.500+01:00",
                "category": None,
                "context": {
                    "library": {"name": "analytics-python", "version": "2.3.4"}
                },
                "userId": "42",
                "type": "page",
                "name": None,
                "messageId": "6f0c9a0e-1b0e-4e4c-9a49-3b8f9f6c2c11",
            },
            {
                "integrations": {},
                "anonymousId": None,
                "timestamp": "2026-11-01T11:59:59.750+00:00",
                "groupId": "acme",
                "context": {
                    "library": {"name": "analytics-python", "version": "2.3.4"}
                },
                "userId": "42",
                "traits": {"name": "Acme"},
                "type": "group",
                "messageId": "f3b2bd80-7a1b-4a6d-a3a4-9a0d0ad2c2b9",
            },
        ],
        "sentAt": "2026-11-01T12:00:00.000000+00:00",
        "writeKey": "wk_live",
    }
    page, group = translate_batch(body, received_at=RECEIVED + timedelta(seconds=2))
    assert (page.kind, page.event, page.user_id) == (Kind.EVENT, PAGE_VIEWED, "42")
    assert page.properties == {}
    assert page.timestamp == RECEIVED + timedelta(seconds=1.5)
    assert (group.kind, group.account_id, group.user_id) == (Kind.ACCOUNT, "acme", "42")
    assert group.timestamp == RECEIVED + timedelta(seconds=1.75)
    assert write_key(body) == "wk_live"


def test_a_rudder_sdk_python_identify_translates():
    """rudder-sdk-python puts identify traits in context.traits, adds channel."""
    body = {
        "batch": [
            {
                "integrations": {"All": True},
                "anonymousId": None,
                "timestamp": "2026-11-01T11:59:58.123456+00:00",
                "context": {
                    "traits": {"email": "ada@example.com"},
                    "library": {"name": "analytics-python", "version": "2.1.0"},
                },
                "type": "identify",
                "userId": "ada",
                "messageId": "0d9f1d4e-5a86-4fd1-8a45-8f1f8f4b7f21",
                "channel": "server",
            }
        ],
        "sentAt": "2026-11-01T11:59:58.123456+00:00",
    }
    (identify,) = translate_batch(body, received_at=RECEIVED)
    assert identify.kind == Kind.USER
    assert identify.traits == {"email": "ada@example.com"}
    assert identify.timestamp == RECEIVED
    assert identify.context["integrations"] == {"All": True}
    assert write_key(body) is None


# -- the single-message paths --------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "body", "expected"),
    [
        ("identify", {"userId": "u", "traits": {"a": 1}}, Kind.USER),
        ("track", {"userId": "u", "event": "E"}, Kind.EVENT),
        ("page", {"userId": "u", "name": "Home"}, Kind.EVENT),
        ("screen", {"userId": "u", "name": "Home"}, Kind.EVENT),
        ("group", {"userId": "u", "groupId": "g"}, Kind.ACCOUNT),
        ("alias", {"userId": "u", "previousId": "p"}, Kind.ALIAS),
    ],
)
def test_a_single_message_path_decides_the_type(kind, body, expected):
    (message,) = translate_single(kind, body, received_at=RECEIVED)
    assert message.kind == expected
    assert message.source == "segment"


def test_the_single_path_wins_over_a_type_in_the_body():
    (message,) = translate_single(
        "track", {"type": "identify", "userId": "u", "event": "E"}, received_at=RECEIVED
    )
    assert (message.kind, message.event) == (Kind.EVENT, "E")


def test_the_segment_docs_single_track_example_translates():
    body = {
        "userId": "019mr8mf4r",
        "event": "Item Purchased",
        "properties": {"name": "Leap to Conclusions Mat", "revenue": 14.99},
        "context": {"ip": "24.5.68.47"},
        "timestamp": "2012-12-02T00:30:12.984Z",
        "writeKey": "YOUR_WRITE_KEY",
    }
    (message,) = translate_single("track", body, received_at=RECEIVED)
    assert message.timestamp == at("2012-12-02T00:30:12.984+00:00")
    assert message.properties == {"name": "Leap to Conclusions Mat", "revenue": 14.99}
    assert message.context == {"ip": "24.5.68.47"}


def test_a_single_message_sent_at_corrects_its_timestamp():
    (message,) = translate_single(
        "page",
        {
            "anonymousId": "a",
            "timestamp": "2026-11-01T08:00:00Z",
            "sentAt": "2026-11-01T08:00:20Z",
        },
        received_at=RECEIVED,
    )
    assert message.timestamp == RECEIVED - timedelta(seconds=20)


def test_single_message_errors_name_bare_field_paths():
    assert paths({"event": 3, "traits": []}, single="track") == [
        "traits",
        "userId",
        "event",
    ]
    assert paths(["not", "an", "object"], single="identify") == ["body"]


def test_a_single_message_larger_than_32_kb_is_an_error_on_the_body():
    body = padded(MESSAGE_LIMIT + 1)
    (error,) = errors_of(body, single="track")
    assert error.path == "body"
    assert "larger than 32 KB" in error.message


def test_an_unknown_single_path_is_an_error():
    (error,) = errors_of({"userId": "u"}, single="purchase")
    assert error.path == "type"


# -- write keys -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ({"batch": [], "writeKey": "wk_1"}, "wk_1"),
        ({"userId": "u", "event": "E", "writeKey": "wk_2"}, "wk_2"),
        ({"batch": []}, None),
        ({"writeKey": ""}, None),
        ({"writeKey": 123}, None),
        ({"writeKey": None}, None),
        (["writeKey"], None),
        ("writeKey", None),
        (None, None),
    ],
)
def test_write_key_is_the_body_write_key_when_a_non_empty_string(body, key):
    assert write_key(body) == key


# -- properties over arbitrary input --------------------------------------------

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
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
    st.none()
    | st.sampled_from(
        [
            "2026-11-01T10:00:00Z",
            "2026-11-01T10:00:00.5+02:00",
            "2026-1-1",
            "nope",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
        ]
    )
    | json_scalars
)
messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([*TYPES, "Track", "other"]) | json_scalars,
        "userId": ids,
        "anonymousId": ids,
        "groupId": ids,
        "previousId": ids,
        "messageId": ids,
        "event": st.none() | st.text(max_size=6) | json_scalars,
        "name": st.none() | st.text(max_size=6) | json_scalars,
        "category": st.none() | st.text(max_size=6),
        "traits": json_values,
        "properties": json_values,
        "context": st.fixed_dictionaries(
            {},
            optional={
                "groupId": ids,
                "active": json_scalars,
                "traits": json_values,
                "ip": json_scalars,
            },
        )
        | json_values,
        "integrations": json_values,
        "timestamp": times,
        "originalTimestamp": times,
        "sentAt": times,
    },
)
batch_bodies = st.fixed_dictionaries(
    {"batch": st.lists(messages | json_values, max_size=4)},
    optional={
        "context": json_values,
        "integrations": json_values,
        "sentAt": times,
        "writeKey": json_scalars,
    },
)
FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def assert_messages(result: list[Message]) -> None:
    assert isinstance(result, list)
    for message in result:
        assert isinstance(message, Message)
        assert message.source == "segment"
        assert message.timestamp.tzinfo is UTC
        assert message.message_id and len(message.message_id) <= 255
        for text in (
            message.user_id,
            message.anonymous_id,
            message.account_id,
            message.previous_id,
        ):
            assert text is None or (isinstance(text, str) and 0 < len(text) <= 255)
        json.dumps(
            [message.traits, message.properties, message.context], allow_nan=False
        )


def outcome(translate):
    try:
        result = translate()
    except DialectError as error:
        assert error.errors and all(isinstance(e, FieldError) for e in error.errors)
        assert error.status == 400
        return None
    assert_messages(result)
    return made_ids_blanked(result)


@FAST
@given(json_values | batch_bodies)
def test_any_json_batch_body_gives_messages_or_a_dialect_error(body):
    first = outcome(lambda: translate_batch(body, received_at=RECEIVED))
    assert outcome(lambda: translate_batch(body, received_at=RECEIVED)) == first
    write_key(body)


@FAST
@given(st.sampled_from([*TYPES, "Page", "nope"]), messages | json_values)
def test_any_json_single_body_gives_messages_or_a_dialect_error(kind, body):
    outcome(lambda: translate_single(kind, body, received_at=RECEIVED))
    write_key(body)


@FAST
@given(st.lists(messages, min_size=1, max_size=3))
def test_a_batch_is_accepted_only_when_each_message_is_accepted_alone(items):
    whole = outcome(lambda: translate_batch({"batch": items}, received_at=RECEIVED))
    alone = [
        outcome(
            lambda item=item: translate_batch({"batch": [item]}, received_at=RECEIVED)
        )
        for item in items
    ]
    if whole is None:
        assert None in alone
    else:
        assert whole == [result[0] for result in alone]


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
free_objects = st.dictionaries(
    clean_text.filter(lambda key: key not in ("groupId", "traits")),
    clean_values,
    max_size=3,
)
good_ids = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    min_size=1,
    max_size=12,
) | st.integers(-(10**12), 10**12)
good_times = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(2100, 1, 1)
).map(lambda at: at.isoformat() + "Z")
good_messages = st.sampled_from(TYPES).flatmap(
    lambda call: st.fixed_dictionaries(
        {
            "type": st.just(call),
            "userId": good_ids,
            "event": clean_text.filter(bool),
            "groupId": good_ids,
            "previousId": good_ids,
        },
        optional={
            "anonymousId": good_ids | st.none(),
            "messageId": good_ids,
            "name": clean_text | st.none(),
            "category": clean_text | st.none(),
            "traits": free_objects,
            "properties": free_objects,
            "context": free_objects,
            "integrations": free_objects,
            "timestamp": good_times,
            "originalTimestamp": good_times,
            "sentAt": good_times,
            "channel": st.just("server"),
        },
    )
)


@FAST
@given(
    st.lists(good_messages, min_size=1, max_size=4),
    free_objects,
    st.none() | good_times,
)
def test_well_formed_messages_are_always_accepted_whatever_their_key_order(
    items, context, sent_at
):
    body = {"batch": items, "context": context, "sentAt": sent_at}
    result = translate_batch(body, received_at=RECEIVED)
    assert_messages(result)
    assert len(result) == len(items)
    for item, message in zip(items, result, strict=True):
        assert message.user_id == str(item["userId"])
        if "messageId" in item:
            assert message.message_id == str(item["messageId"])
        assert message.deduplicate == ("messageId" in item)
    reordered = {
        "sentAt": sent_at,
        "context": dict(reversed(context.items())),
        "batch": [dict(reversed(item.items())) for item in items],
    }
    assert made_ids_blanked(
        translate_batch(reordered, received_at=RECEIVED)
    ) == made_ids_blanked(result)
