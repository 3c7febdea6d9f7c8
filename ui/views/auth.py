"""Sign in and out of the browser UI (Django sessions, CSRF-protected)."""

from urllib.parse import urlencode

from django.contrib.auth import login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from core.http import next_url
from tenants.services import SignInError, browser_sign_in


def _wants_json(request: HttpRequest) -> bool:
    return request.headers.get("Accept", "").startswith("application/json")


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
            if _wants_json(request):
                # Signing in again in place: the page needs the new CSRF token.
                return JsonResponse({"csrf_token": get_token(request)})
            if user.password_temporary:
                # A password an admin passed on: choose one's own first.
                return redirect(
                    f"{reverse('ui:password_change')}?"
                    + urlencode({"next": _safe_next(request)})
                )
            return redirect(_safe_next(request))
        if _wants_json(request):
            return JsonResponse(
                {"code": "sign_in_failed", "message": error}, status=400
            )
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
