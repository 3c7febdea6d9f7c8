"""Where to go after an action: the ``next`` parameter, when it is safe."""

from django.http import HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme


def next_url(request: HttpRequest, *, default: str) -> str:
    """``next`` (POST, then query string) if it is a path on this site, else
    ``default``. Only paths: ``redirect()`` would take a bare word for a URL
    name (a 500 when none matches) and another host is an open redirect."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
