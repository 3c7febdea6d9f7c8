"""Role rules of the browser UI: the same as the API's (viewers read only)."""

from collections.abc import Callable
from functools import wraps

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from tenants.models import Role


def can_write(request: HttpRequest) -> bool:
    return request.membership.can_write


def write_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse (403) a non-GET request from a viewer."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.method not in ("GET", "HEAD") and not can_write(request):
            raise PermissionDenied("Viewers cannot change data.")
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse (403) anyone but the tenant's admins, for any method."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.membership.role != Role.ADMIN:
            raise PermissionDenied("Only the tenant's admins can do this.")
        return view(request, *args, **kwargs)

    return wrapped
