"""One error, each face's shape: the edge renders core errors once per face."""

import json

import pytest

from core.edge import error_response
from core.errors import (
    FOREIGN_KEY,
    REQUIRED,
    UNIQUE,
    ApplicationError,
    Conflict,
    Unauthenticated,
    ValidationFailed,
)


def body(response) -> dict:
    return json.loads(response.content)


@pytest.mark.parametrize(
    ("error", "sqlstate", "status"),
    [
        (ValidationFailed("name", "is required", code=REQUIRED), "23502", 400),
        (ValidationFailed("name", "may not be blank"), "23514", 400),
        (Conflict("violates foreign key", code=FOREIGN_KEY), "23503", 409),
        (Conflict("duplicate key value", code=UNIQUE, field="name"), "23505", 409),
        (ApplicationError("Invalid schema: x", code="invalid_profile", status=406),
         "PGRST106", 406),
        (Unauthenticated("JWT expired", code="jwt_expired"), "PGRST303", 401),
    ],
)  # fmt: skip
def test_rest_answers_the_code_postgrest_would(error, sqlstate, status):
    response = error_response("/rest/v1/things", error)
    assert response.status_code == status
    assert body(response)["code"] == sqlstate
    assert set(body(response)) == {"code", "details", "hint", "message"}


def test_rest_keeps_the_row_and_field_in_message_and_details():
    error = ValidationFailed("entered_value", "not a number", row=2)
    assert body(error_response("/rest/v1/field_entries", error)) == {
        "code": "23514",
        "details": "Invalid value for 'entered_value' in row 2",
        "hint": None,
        "message": "row 2: entered_value: not a number",
    }


def test_auth_answers_gotrue_shape_with_its_version_header():
    error = Unauthenticated("JWT expired", code="jwt_expired", headers={"X-A": "1"})
    response = error_response("/auth/v1/user", error)
    assert response.status_code == 401
    assert body(response) == {"code": "bad_jwt", "message": "invalid JWT: JWT expired"}
    assert response["X-Supabase-Api-Version"]
    assert response["X-A"] == "1"


def test_ingestion_keeps_details_naming_the_bad_message():
    error = ApplicationError("bad", code="invalid_message", details=[{"index": 3}])
    response = error_response("/v1/batch", error)
    assert body(response) == {
        "code": "invalid_message",
        "message": "bad",
        "details": [{"index": 3}],
    }


def test_a_path_of_no_api_gets_code_and_message():
    response = error_response("/somewhere", ApplicationError("no", code="x"))
    assert body(response) == {"code": "x", "message": "no"}
