"""The signed-in user's own account: changing one's password (any role; a
member added with a temporary password is sent here after signing in)."""

from django.contrib import messages
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from core.errors import ValidationFailed
from core.http import next_url
from tenants.services import user_password_change


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Old password once, the new one twice (Django's validators judge it)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    back = next_url(request, default="/")
    if request.method == "POST" and form.is_valid():
        try:
            user_password_change(
                user=request.user, password=form.cleaned_data["new_password1"]
            )
        except ValidationFailed as refused:
            form.add_error("new_password1", refused.reason)
        else:
            update_session_auth_hash(request, request.user)  # stay signed in
            messages.success(request, "Your password has been changed.")
            return redirect(back)
    return render(
        request,
        "ui/account/password.html",
        {"form": form, "next": back},
        status=400 if form.errors else 200,
    )


urlpatterns = [
    path("account/password/", password_change, name="password_change"),
]
