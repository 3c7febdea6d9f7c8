"""Sign in and out of the browser UI (Django sessions, CSRF-protected)."""

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from core.http import next_url
from tenants.services import SignInError, browser_sign_in


def _safe_next(request: HttpRequest) -> str:
    return next_url(request, default="/")


@never_cache
@csrf_protect
@require_http_methods(["GET", "HEAD", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    error = ""
    email = ""
    if request.method == "POST":
        email = request.POST.get("email", "")
        try:
            user = browser_sign_in(
                email=email,
                password=request.POST.get("password", ""),
                ip=request.META.get("REMOTE_ADDR"),
            )
        except SignInError as failure:
            error = str(failure)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect(_safe_next(request))
    elif request.user.is_authenticated:
        return redirect(_safe_next(request))
    return render(
        request,
        "registration/login.html",
        {"error": error, "email": email, "next": _safe_next(request)},
        status=400 if error else 200,
    )


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("ui:login")
