"""Database errors -> PostgREST's error body and status (its documented table)."""

from django.db import Error as DjangoDatabaseError

from core.errors import PostgrestError

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
