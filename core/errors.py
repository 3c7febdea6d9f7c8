"""The errors every layer raises, in no face's shape.

Services and selectors raise these; the edge (:mod:`core.edge`) renders each
one once, in the shape of the face the request came through: PostgREST's
``{code, message, details, hint}`` on ``/rest/v1`` (``pgrest.errors`` maps the
codes below to SQLSTATEs), GoTrue's ``{code, message}`` on ``/auth/v1``, the
tracking dialects' ``{code, message, details}`` on ingestion paths, and a page
in words in the browser. Callers that show an error themselves (the UI's forms,
CSV import) read the structured attributes, never the message text.
"""

from typing import Any


class ApplicationError(Exception):
    """An error a client caused or must know about; never a bare 500."""

    status: int = 400
    code: str = "bad_request"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status: int | None = None,
        details: Any = None,
        hint: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.details = details
        self.hint = hint
        self.headers = dict(headers or {})


class ValidationFailed(ApplicationError):
    """A value breaks a rule: which ``field``, which ``row`` of a bulk write
    (None for a single write), why (``reason``, words for a person) and a
    ``code`` from :data:`VALIDATION_CODES`.

    ``message`` is the whole sentence, ``row 2: name: is required``.
    """

    code = "invalid"

    def __init__(
        self,
        field: str,
        reason: str,
        *,
        row: int | None = None,
        code: str = "invalid",
        status: int = 400,
    ) -> None:
        where = f"row {row}: " if row is not None else ""
        super().__init__(
            f"{where}{field}: {reason}",
            code=code,
            status=status,
            details=f"Invalid value for '{field}'"
            + (f" in row {row}" if row is not None else ""),
        )
        self.field = field
        self.row = row
        self.reason = reason


# The codes of :class:`ValidationFailed` and :class:`Conflict`.
REQUIRED = "required"  # a value that must be given is missing or null
INVALID = "invalid"  # a value breaks a rule of its field
INVALID_TEXT = "invalid_text"  # a value is not of its column's type at all
FOREIGN_KEY = "foreign_key"  # a row it points at does not exist
UNIQUE = "unique"  # another row already has it
STALE = "stale"  # changed by someone else since the caller read it
VALIDATION_CODES = frozenset({REQUIRED, INVALID, INVALID_TEXT})


class NotFound(ApplicationError):
    """What the request names does not exist (or is not the caller's)."""

    status = 404
    code = "not_found"


class Conflict(ApplicationError):
    """The request contradicts stored data: a missing target, a duplicate.

    ``field`` and ``reason``, when known, name the input at fault and say why in
    words (a face with a form shows them there)."""

    status = 409
    code = "conflict"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        reason: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.field = field
        self.reason = reason or message


class InvalidCells(ApplicationError):
    """Cells of a range (a paste, a bulk change) that cannot be written, each
    ``{"row": i, "col": j, "message": words}`` (0-based in the range sent);
    nothing was written. ``details`` is ``{"cells": [...]}``."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, cells: list[dict[str, Any]]) -> None:
        super().__init__(message, details={"cells": cells})
        self.cells = cells


class Forbidden(ApplicationError):
    """The caller is known but may not do this."""

    status = 403
    code = "forbidden"


def size_text(size: int) -> str:
    """Bytes in words: ``500 KB``, ``4 MB`` (binary units, as the limits are)."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if size >= unit and size % unit == 0:
            return f"{size // unit} {name}"
    return f"{size} bytes"


class PayloadTooLarge(ApplicationError):
    """The request body is larger than the ``limit`` (bytes) of where it was
    sent: a 413 whose message names the limit."""

    status = 413
    code = "payload_too_large"

    def __init__(
        self, limit: int, *, message: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(
            message
            or f"The request body is larger than {size_text(limit)} "
            f"({limit} bytes), the limit of this endpoint.",
            hint=hint,
        )
        self.limit = limit


class Unauthenticated(ApplicationError):
    """The caller could not be identified (no key, a bad key or token)."""

    status = 401
    code = "unauthenticated"
