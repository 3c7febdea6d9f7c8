"""The checks every dialect shares (tracking/dialects/checks.py)."""

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone

import pytest

from tracking.dialects import bucket, checks, gather, segment, vitally
from tracking.dialects.checks import INVALID, MAX_DEPTH, Errors
from tracking.messages import DialectError, FieldError

RECEIVED = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def found(check, *args, **kwargs):
    """What ``check`` returned and the errors it reported, as (path, message)."""
    errors = Errors()
    result = check(*args, errors, **kwargs)
    try:
        errors.raise_if_any()
    except DialectError as error:
        return result, [(e.path, e.message) for e in error.errors]
    return result, []


# -- the error list ---------------------------------------------------------------


def test_errors_keep_their_order_and_name_each_fault_once():
    errors = Errors()
    errors.add("b", "is bad")
    errors.add("a", "is bad")
    errors.add("b", "is bad")
    errors.add("b", "is worse")
    assert len(errors) == 3
    with pytest.raises(DialectError) as raised:
        errors.raise_if_any()
    assert raised.value.errors == [
        FieldError("b", "is bad"),
        FieldError("a", "is bad"),
        FieldError("b", "is worse"),
    ]
    assert raised.value.status == 400


def test_no_errors_raise_nothing():
    Errors().raise_if_any()


# -- words and paths --------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "null"),
        (True, "a boolean"),
        (1, "a number"),
        (1.5, "a number"),
        ("x", "a string"),
        ([], "a list"),
        ({}, "an object"),
        (object(), "a non-JSON value"),
    ],
)
def test_type_names(value, name):
    assert checks.type_name(value) == name


def test_quote_cuts_long_values():
    assert checks.quote("abc") == '"abc"'
    assert checks.quote("x" * 50) == json.dumps("x" * 40 + "...")


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("", "userId", "userId"),
        ("batch[0]", "userId", "batch[0].userId"),
        ("a", "$set", "a.$set"),
        ("a", "_x1", "a._x1"),
        ("a", "b c", 'a["b c"]'),
        ("a", "1st", 'a["1st"]'),
        ("a", "é", 'a["\\u00e9"]'),
        ("", "b c", '["b c"]'),
    ],
)
def test_dotted_paths(path, key, expected):
    assert checks.dotted(path, key) == expected


def test_bracketed_paths():
    assert checks.bracketed("", "properties") == "properties"
    assert checks.bracketed("properties", "title") == "properties[title]"
    assert checks.bracketed("a[b]", "c d") == "a[b][c d]"


# -- storability ------------------------------------------------------------------


def scanned(value, path="", **kwargs):
    return found(checks.scan, value, path, **kwargs)[1]


def test_storable_values_pass():
    value = {"a": [1, 2.5, "x", None, True, {"b": {}}], "c": -(10**30)}
    assert scanned(value) == []


def test_scan_names_every_unstorable_value_by_path():
    value = {
        "nul": "a\x00b",
        "lone": "\ud800",
        "list": [1, float("nan"), float("inf")],
        "k\x00": 1,
        "deep": {"odd key": [object()]},
    }
    # An object's keys are checked before its values.
    assert scanned(value) == [
        ('["k\\u0000"]', "key contains a NUL character (\\u0000)"),
        ("nul", "text contains a NUL character (\\u0000)"),
        ("lone", "text contains an unpaired surrogate (invalid Unicode)"),
        ("list[1]", "must be a finite number"),
        ("list[2]", "must be a finite number"),
        ('deep["odd key"][0]', "is not a JSON value"),
    ]


def test_scan_reports_the_body_itself_as_body():
    assert scanned("\x00") == [("body", "text contains a NUL character (\\u0000)")]
    assert scanned({1: "x"}) == [("body", "has a key that is not a string")]
    assert scanned(float("nan")) == [("body", "must be a finite number")]
    assert scanned([{"a": float("nan")}]) == [("[0].a", "must be a finite number")]


def test_scan_refuses_integers_too_long_to_print():
    huge = 10**5000  # more digits than str() prints (no JSON parser makes one)
    assert scanned({"n": huge}) == [("n", "is a number with too many digits")]


def test_scan_starts_at_the_given_path_in_the_given_syntax():
    value = {"title": "\x00", "tags": ["\x00"]}
    assert [p for p, _ in scanned(value, "[3]")] == ["[3].title", "[3].tags[0]"]
    assert [p for p, _ in scanned(value, "", child=checks.bracketed)] == [
        "title",
        "tags[0]",
    ]


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth - 1):
        value = [value]
    return value


def test_scan_allows_max_depth_and_refuses_one_more_once():
    assert scanned(nested(MAX_DEPTH)) == []
    assert scanned(nested(MAX_DEPTH + 1)) == [
        ("[0]" * MAX_DEPTH, f"is nested more than {MAX_DEPTH} levels deep")
    ]
    assert scanned(nested(4), max_depth=3) == [
        ("[0][0][0]", "is nested more than 3 levels deep")
    ]


def test_scan_walks_any_depth_without_recursion():
    deep: dict = {}
    node = deep
    for _ in range(100_000):
        node["a"] = {}
        node = node["a"]
    assert len(scanned(deep)) == 1


# -- fields -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        (123, "123"),
        (123.0, "123"),
        (1.5, "1.5"),
        (-0.0, "0"),
        (None, None),
        ("", None),
        ("x" * 255, "x" * 255),
    ],
)
def test_ids_as_text(value, expected):
    assert found(checks.id_text, value, "userId") == (expected, [])


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "must be a string or a number, not a boolean"),
        ([], "must be a string or a number, not a list"),
        ({}, "must be a string or a number, not an object"),
        (float("nan"), "must be a finite number"),
        (float("-inf"), "must be a finite number"),
        pytest.param(10**5000, "is a number with too many digits", id="huge"),
        ("x" * 256, "is longer than 255 characters"),
    ],
)
def test_bad_ids(value, message):
    assert found(checks.id_text, value, "userId") == (INVALID, [("userId", message)])


def test_required_ids():
    assert found(checks.required_id, "u", "userId", "the user's id") == ("u", [])
    for missing in (None, ""):
        assert found(checks.required_id, missing, "userId", "the user's id") == (
            INVALID,
            [("userId", "is required: the user's id")],
        )
    assert found(checks.required_id, True, "userId", "the user's id")[1] == [
        ("userId", "must be a string or a number, not a boolean")
    ]


def test_objects():
    assert found(checks.object_value, None, "traits") == ({}, [])
    assert found(checks.object_value, {"a": 1}, "traits") == ({"a": 1}, [])
    assert found(checks.object_value, [1], "traits") == (
        INVALID,
        [("traits", "must be an object, not a list")],
    )


def test_choices_are_case_insensitive():
    choices = ("track", "page")
    assert found(checks.choice, "Track", "type", choices=choices) == ("track", [])
    assert found(checks.choice, None, "type", choices=choices) == (
        None,
        [("type", "is required: one of track, page")],
    )
    assert found(checks.choice, 3, "type", choices=choices) == (
        None,
        [("type", "must be a string, one of track, page; not a number")],
    )
    assert found(checks.choice, "nope", "type", choices=choices) == (
        None,
        [("type", 'unknown type "nope": expected one of track, page')],
    )


# -- times ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01T12:30:00.123Z", datetime(2024, 3, 1, 12, 30, 0, 123000, UTC)),
        ("2024-03-01T14:30:00+02:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T14:30:00+0200", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T14:30:00+02", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T11:30:00-01:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T12:30:00", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01 12:30", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01t12:30:00z", datetime(2024, 3, 1, 12, 30, tzinfo=UTC)),
        ("2024-03-01T12:30:00,5Z", datetime(2024, 3, 1, 12, 30, 0, 500000, UTC)),
        ("2024-03-01T12:30:00.1234567Z", datetime(2024, 3, 1, 12, 30, 0, 123456, UTC)),
        ("2015-2-02T00:30:08.276Z", datetime(2015, 2, 2, 0, 30, 8, 276000, UTC)),
        ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
    ],
)
def test_iso_8601_times_in_utc(text, expected):
    at = checks.parse_time(text)
    assert at == expected and at.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "",
        " 2024-03-01",
        "2024-13-01",
        "2024-02-30",
        "2024-03-01T24:00:00",
        "2024-03-01T12:30:60",
        "2024-03-01T12:30:00+02:60",
        "2024-03-01T12",
        "20240301T123000Z",
        "2024-W10-5",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-01:00",
        "\uff12\uff10\uff12\uff14-03-01",  # full-width digits
    ],
)
def test_not_iso_8601_times(text):
    assert checks.parse_time(text) is None


def test_a_bad_time_is_named_with_the_vendors_example():
    example = "2012-12-02T00:30:08.276Z"
    assert found(checks.time_value, "nope", "sentAt", example=example) == (
        INVALID,
        [("sentAt", f'"nope" is not an ISO 8601 date-time (like {example})')],
    )
    assert found(checks.time_value, "nope", "at", example=example, echo=False) == (
        INVALID,
        [("at", f"is not an ISO 8601 date-time (like {example})")],
    )
    assert found(checks.time_value, 1700000000, "at", example=example) == (
        INVALID,
        [("at", "must be an ISO 8601 date-time string, not a number")],
    )
    assert found(checks.time_value, None, "at", example=example) == (None, [])


def test_utc():
    naive = datetime(2024, 3, 1, 12, 30)
    assert checks.utc(naive) == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
    local = datetime(2024, 3, 1, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    assert checks.utc(local).tzinfo is UTC and checks.utc(local) == local


def one_time(dialect: str, text: str):
    """The timestamp each dialect reads from ``text`` (None if it refuses it)."""
    try:
        if dialect == "segment":
            body = {"userId": "u", "event": "e", "timestamp": text}
            (message,) = segment.translate_single("track", body, received_at=RECEIVED)
        elif dialect == "vitally":
            body = [{"type": "track", "userId": "u", "event": "e", "timestamp": text}]
            (message,) = vitally.translate_batch(body, received_at=RECEIVED)
        elif dialect == "bucket":
            body = {"userId": "u", "event": "e", "timestamp": text}
            (message,) = bucket.translate("event", body, received_at=RECEIVED)
        else:
            body = {"user": "u", "type": "e", "timestamp": text}
            (message,) = gather.translate_event(body, received_at=RECEIVED)
    except DialectError as error:
        assert [e.path for e in error.errors] == [
            "[0].timestamp" if dialect == "vitally" else "timestamp"
        ]
        return None
    return message.timestamp


@pytest.mark.parametrize("dialect", ["segment", "vitally", "bucket", "gather"])
@pytest.mark.parametrize(
    "text",
    [
        "2015-2-02T00:30:08.276Z",
        "2024-03-01t12:30:00z",
        "2024-03-01T12",
        "20240301T123000Z",
        "2024-03-01T12:30:00+02:60",
    ],
)
def test_every_dialect_reads_times_alike(dialect, text):
    assert one_time(dialect, text) == checks.parse_time(text)


# -- message ids ------------------------------------------------------------------


def test_hash_ids_are_the_sha256_of_sorted_compact_json():
    value = {"b": [1, {"d": None, "c": "é"}], "a": 1}
    text = '{"a":1,"b":[1,{"c":"\\u00e9","d":null}]}'
    assert checks.canonical_json(value) == text
    assert checks.hash_id(value) == "hash:" + hashlib.sha256(text.encode()).hexdigest()
    assert checks.hash_id({"a": 1, "b": 2}) == checks.hash_id({"b": 2, "a": 1})
    assert checks.hash_id({"a": 1}) != checks.hash_id({"a": "1"})


# -- purity -----------------------------------------------------------------------


def test_dialects_import_neither_django_nor_the_database():
    modules = ["checks", "segment", "vitally", "bucket", "gather"]
    code = (
        "import sys\n"
        + "".join(f"import tracking.dialects.{m}\n" for m in modules)
        + "print(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'django', 'psycopg', 'tenants', 'pgrest'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
