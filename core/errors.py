"""Domain errors, and their one mapping to each API face's error shape.

Services raise these; the edge (views, middleware) turns them into responses.
Each face has its own shape: PostgREST's ``{code, message, details, hint}`` on
``/rest/v1``, GoTrue's ``{code, message}`` on ``/auth/v1``, and the tracking
dialects' own shapes (their modules subclass :class:`ApplicationError`).
"""

from typing import Any

from django.http import JsonResponse


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
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}

    def as_response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


class PostgrestError(ApplicationError):
    """An error of ``/rest/v1``: all four PostgREST keys, strings or null."""

    code = "PGRST000"

    def body(self) -> dict[str, Any]:
        details = self.details
        if details is not None and not isinstance(details, str):
            details = str(details)
        return {
            "code": self.code,
            "details": details,
            "hint": self.hint,
            "message": self.message,
        }


# GoTrue answers with this header; supabase-js then reads `code` as the error code.
GOTRUE_API_VERSION = "2024-01-01"


class AuthApiError(ApplicationError):
    """An error of ``/auth/v1`` in GoTrue's shape ``{code, message}``."""

    code = "validation_failed"

    def as_response(self) -> JsonResponse:
        response = super().as_response()
        response["X-Supabase-Api-Version"] = GOTRUE_API_VERSION
        return response


class IngestError(ApplicationError):
    """An error of a tracking endpoint: ``{code, message}`` plus per-field details."""

    def body(self) -> dict[str, Any]:
        body = super().body()
        if self.details is not None:
            body["details"] = self.details
        return body


INGEST_PREFIXES = (
    "/v1/",
    "/analytics/v1/",
    # Bucket's key-less paths (its newer SDKs send the key as a Bearer token).
    "/user",
    "/company",
    "/event",
    "/feedback",
    "/bulk",
    "/models/",
    "/events",
    "/gg_pk_",
    "/gg_sk_",
)


def api_face(path: str) -> str | None:
    """The API a path belongs to: ``rest``, ``auth``, ``ingest`` or None (browser)."""
    if path.startswith("/rest/v1"):
        return "rest"
    if path.startswith("/auth/v1"):
        return "auth"
    # Bucket's SDKs put the tracking key first in the path: /<key>/event.
    if path.startswith(INGEST_PREFIXES):
        return "ingest"
    return None


ERROR_CLASS_BY_FACE: dict[str, type[ApplicationError]] = {
    "rest": PostgrestError,
    "auth": AuthApiError,
    "ingest": IngestError,
}


def error_for_path(
    path: str, message: str, *, status: int, code: str
) -> ApplicationError:
    """An error of the right shape for the API ``path`` belongs to."""
    error_class = ERROR_CLASS_BY_FACE.get(api_face(path) or "", ApplicationError)
    return error_class(message, code=code, status=status)
