"""The edge: which face a request came through, and its errors in that face's shape.

A face is chosen by URL namespace: ``rest`` (``/rest/v1``), ``auth``
(``/auth/v1``), ``ingest`` (the tracking dialects' paths) or the browser (any
other path). Each API face registers the one function that renders an
:class:`~core.errors.ApplicationError` in its shape (``config.apps`` wires them
at start-up, since only the project may import every face); the browser gets a
page in words.
"""

import logging
from collections.abc import Callable

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string

from core.errors import ApplicationError

logger = logging.getLogger(__name__)

REST = "rest"
AUTH = "auth"
INGEST = "ingest"

INGEST_PREFIXES = (
    "/v1/",
    "/analytics/v1/",
    # Bucket's key-less paths (its newer SDKs send the key as a Bearer token).
    "/user",
    "/company",
    "/event",
    "/feedback",
    "/bulk",
    "/features",
    "/models/",
    "/events",
    # Bucket's SDKs put the tracking key first in the path: /<key>/event.
    "/gg_pk_",
    "/gg_sk_",
)

BROWSER_PAGE_PREFIXES = ("/t/", "/admin/", "/account/")
BROWSER_PAGES = frozenset({"/", "/login/", "/logout/"})

Renderer = Callable[[ApplicationError], HttpResponse]


def api_face(path: str) -> str | None:
    """The API a path belongs to: ``rest``, ``auth``, ``ingest`` or None (browser)."""
    if path.startswith("/rest/v1"):
        return REST
    if path.startswith("/auth/v1"):
        return AUTH
    if path.startswith(INGEST_PREFIXES):
        return INGEST
    return None


def plain_json(error: ApplicationError) -> JsonResponse:
    """``{code, message}``: the shape of a face that registered none."""
    return JsonResponse({"code": error.code, "message": error.message})


_renderers: dict[str, Renderer] = {}


def face_register(face: str, renderer: Renderer) -> None:
    """Make ``renderer`` the one that shapes errors on ``face``'s paths."""
    _renderers[face] = renderer


def error_response(path: str, error: ApplicationError) -> HttpResponse:
    """``error`` as the face of ``path`` answers it (status and headers included)."""
    renderer = _renderers.get(api_face(path) or "", plain_json)
    response = renderer(error)
    response.status_code = error.status
    for name, value in error.headers.items():
        response[name] = value
    return response


def error_for_path(path: str, message: str, *, status: int, code: str) -> HttpResponse:
    return error_response(path, ApplicationError(message, code=code, status=status))


def database_unavailable(path: str) -> HttpResponse:
    return error_response(
        path,
        ApplicationError(
            "Could not connect to the database",
            code="database_unavailable",
            status=503,
            headers={"Retry-After": "5"},
        ),
    )


def is_browser_page(path: str) -> bool:
    """The browser UI and the Django admin (other unlisted paths, such as
    Bucket's ``/<key>/user``, keep their JSON errors)."""
    return path.startswith(BROWSER_PAGE_PREFIXES) or path in BROWSER_PAGES


def browser_error_page(error: ApplicationError) -> HttpResponse:
    page = render_to_string(
        "application_error.html",
        {"status": error.status, "message": error.message, "hint": error.hint},
    )
    return HttpResponse(page, status=error.status)


class ErrorMiddleware:
    """Render exceptions raised by views in their face's shape; API paths never
    answer HTML."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and api_face(request.path) is not None
            and not response.get("Content-Type", "").startswith("application/json")
        ):
            # Django's own error responses (405, CSRF 403, ...) are HTML.
            headers = (
                {"Allow": response["Allow"]} if response.has_header("Allow") else {}
            )
            error = ApplicationError(
                response.reason_phrase,
                status=response.status_code,
                code=response.reason_phrase.lower().replace(" ", "_"),
                headers=headers,
            )
            return error_response(request.path, error)
        return response

    def process_exception(
        self, request: HttpRequest, exception: Exception
    ) -> HttpResponse | None:
        path = request.path
        if isinstance(exception, ApplicationError):
            if api_face(path) is None and is_browser_page(request.path_info):
                return browser_error_page(exception)
            return error_response(path, exception)
        if api_face(path) is None:
            return None
        if isinstance(
            exception, Http404 | PermissionDenied | BadRequest | SuspiciousOperation
        ):
            return None  # the JSON-aware handler404/403/400 answer these
        if isinstance(exception, OperationalError | InterfaceError):
            logger.exception("database unavailable")
            return database_unavailable(path)
        if isinstance(exception, DatabaseError):
            logger.exception("database error on %s", path)
        else:
            logger.exception("unexpected error on %s", path)
        return error_for_path(
            path, "Internal server error", status=500, code="unexpected_failure"
        )
