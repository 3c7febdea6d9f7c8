"""The JSON face of the browser UI (the grid's endpoints): errors as
``{"code", "message", "details"}`` with their status, mapped here once.

A view wrapped in :func:`json_view` answers JSON for everything it refuses:
404 (``not_found``), 403 (``forbidden``: viewers cannot write), the domain's
:class:`~core.errors.ApplicationError` (its code and status) and a body that is
not a JSON object (400 ``bad_json``). A signed-out caller never gets here:
``tenants.middleware.BrowserTenantMiddleware`` answers 401 ``signed_out``.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse

from core.errors import ApplicationError
from core.http import json_has_nul, request_body

# A grid write is a few cells; a paste of thousands of cells is well below this.
JSON_BODY_LIMIT = 4 * 1024 * 1024


class BadJson(ApplicationError):
    status = 400
    code = "bad_json"


def json_error(
    code: str, message: str, *, status: int, details: dict[str, Any] | None = None
) -> JsonResponse:
    return JsonResponse(
        {"code": code, "message": message, "details": details or {}}, status=status
    )


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's body as a JSON object; :class:`BadJson` otherwise."""
    body = request_body(request, limit=JSON_BODY_LIMIT)
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        raise BadJson("The body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise BadJson("The body must be a JSON object.")
    if json_has_nul(body, data):
        raise BadJson("A value cannot contain a NUL character.")
    return data


def json_view(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Answer the view's refusals in JSON (see the module docstring)."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except Http404 as missing:
            return json_error("not_found", str(missing) or "Not found.", status=404)
        except PermissionDenied as refused:
            message = str(refused) or "You may not do this."
            return json_error("forbidden", message, status=403)
        except ApplicationError as error:
            details = error.details if isinstance(error.details, dict) else {}
            return json_error(
                error.code, error.message, status=error.status, details=details
            )

    return wrapped
