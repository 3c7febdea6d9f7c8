"""Health check and the error handlers that keep API paths JSON-only."""

import logging
import threading
import time

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from django.views.decorators.http import require_http_methods

from core.edge import api_face, error_for_path, error_response
from core.errors import PayloadTooLarge

logger = logging.getLogger(__name__)


# A fresh connection is tried at most this often per process (load balancers
# poll /healthz many times a second; a new connection costs milliseconds).
PROBE_EVERY = 1.0
_probe_lock = threading.Lock()
_probe: dict = {"at": -PROBE_EVERY, "error": None}


def _new_connections_refused() -> str | None:
    """Why the database refuses a new connection (None: it accepts them).

    A pooled connection keeps working through a smart shutdown, while the
    server refuses every new one for as long as the old ones stay open: only
    a new connection says the database is going away."""
    now = time.monotonic()
    with _probe_lock:
        if now - _probe["at"] < PROBE_EVERY:
            return _probe["error"]
        _probe["at"] = now
    error = None
    try:
        params = dict(connection.get_connection_params())
        params.setdefault("connect_timeout", 2)
        probe = connection.get_new_connection(params)
        probe.close()
    except Exception as refused:  # any failure means "not healthy"
        error = str(refused).strip() or type(refused).__name__
    with _probe_lock:
        _probe["error"] = error
    return error


@require_http_methods(["GET", "HEAD"])
def healthz(request: HttpRequest) -> JsonResponse:
    """200 when this process and the database answer and the database takes
    new connections, 503 otherwise (a smart shutdown is a 503 at once)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        refused = _new_connections_refused()
    except Exception as error:  # any failure means "not healthy", never a 500
        refused = str(error)
    if refused is not None:
        logger.warning("health check failed: %s", refused)
        return JsonResponse({"status": "unavailable", "database": "down"}, status=503)
    return JsonResponse({"status": "ok", "database": "up"})


def _api_or_default(request, status, code, message, default, **kwargs) -> HttpResponse:
    if api_face(request.path) is None:
        return default(request, **kwargs)
    return error_for_path(request.path, message, status=status, code=code)


def bad_request(request, exception=None):
    if isinstance(exception, RequestDataTooBig) and api_face(request.path):
        # A body read by Django itself, not core.http.request_body: its limit.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return error_response(request.path, PayloadTooLarge(limit))
    return _api_or_default(
        request,
        400,
        "bad_request",
        "Bad request",
        defaults.bad_request,
        exception=exception,
    )


def permission_denied(request, exception=None):
    return _api_or_default(
        request,
        403,
        "forbidden",
        "Forbidden",
        defaults.permission_denied,
        exception=exception,
    )


def page_not_found(request, exception=None):
    return _api_or_default(
        request,
        404,
        "not_found",
        f"No such endpoint: {request.path}",
        defaults.page_not_found,
        exception=exception,
    )


def server_error(request):
    return _api_or_default(
        request,
        500,
        "unexpected_failure",
        "Internal server error",
        defaults.server_error,
    )
