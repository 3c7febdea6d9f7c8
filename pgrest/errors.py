"""Errors on ``/rest/v1``: PostgREST's body ``{code, details, hint, message}``.

This module is the REST face's one mapping of errors: the engine's own
(:class:`PostgrestError`, PGRST codes), the domain's structured errors (their
codes become the SQLSTATE PostgreSQL would have raised: 23502, 23514, 22P02,
23503, 23505) and PostgreSQL errors (its documented status table).
"""

from typing import Any

from django.db import Error as DjangoDatabaseError
from django.http import JsonResponse

from core import errors
from core.errors import ApplicationError


class PostgrestError(ApplicationError):
    """An error of the engine itself, with PostgREST's own code."""

    code = "PGRST000"


# Domain and edge codes -> what PostgREST answers for the same failure.
POSTGREST_CODES = {
    errors.REQUIRED: "23502",
    errors.INVALID: "23514",
    errors.INVALID_TEXT: "22P02",
    errors.FOREIGN_KEY: "23503",
    errors.UNIQUE: "23505",
    "database_unavailable": "PGRST001",
    "no_api_key": "PGRST000",
    "invalid_api_key": "PGRST000",
    "anonymous": "PGRST302",
    "jwt_invalid": "PGRST301",
    "jwt_expired": "PGRST303",
    "session_ended": "PGRST303",
    "invalid_profile": "PGRST106",
    # PostgREST's code for a body it cannot take (with the 413 status).
    "payload_too_large": "PGRST102",
}


def postgrest_body(error: ApplicationError) -> dict[str, Any]:
    details = error.details
    if details is not None and not isinstance(details, str):
        details = str(details)
    return {
        "code": POSTGREST_CODES.get(error.code, error.code),
        "details": details,
        "hint": error.hint,
        "message": error.message,
    }


def error_response(error: ApplicationError) -> JsonResponse:
    """The REST face's renderer (registered with ``core.edge``)."""
    return JsonResponse(
        postgrest_body(error),
        status=error.status,
        content_type="application/json; charset=utf-8",
    )


_EXACT = {
    "23503": 409,
    "23505": 409,
    "25006": 405,
    "P0001": 400,
    "42883": 404,
    "42P01": 404,
    "42P17": 500,
    "42501": 403,
}
_BY_CLASS = {
    "08": 503,
    "09": 500,
    "0L": 403,
    "0P": 403,
    "25": 500,
    "28": 403,
    "2D": 500,
    "38": 500,
    "39": 500,
    "3B": 500,
    "40": 500,
    "53": 503,
    "54": 413,
    "55": 500,
    "57": 500,
    "58": 500,
    "F0": 500,
    "HV": 500,
    "P0": 500,
    "XX": 500,
}


def status_for_sqlstate(sqlstate: str) -> int:
    if sqlstate in _EXACT:
        return _EXACT[sqlstate]
    return _BY_CLASS.get(sqlstate[:2], 400)


def postgrest_error_from_database(error: DjangoDatabaseError) -> PostgrestError:
    """The PostgREST answer to a PostgreSQL error raised by a request."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or "XX000"
    diag = getattr(cause, "diag", None)
    message = (getattr(diag, "message_primary", None) or str(error)).strip()
    details = getattr(diag, "message_detail", None)
    hint = getattr(diag, "message_hint", None)
    status = status_for_sqlstate(sqlstate)
    if status >= 500:
        # Internal detail stays in the server log.
        details = hint = None
    return PostgrestError(
        message, code=sqlstate, status=status, details=details, hint=hint
    )
