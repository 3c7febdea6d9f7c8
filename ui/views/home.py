"""The tenant switcher: where a signed-in user lands."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_safe

from tenants.selectors import user_memberships


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    """One tenant: go straight to it. Several: list them. None: say so."""
    memberships = user_memberships(user_id=str(request.user.pk))
    if len(memberships) == 1 and not request.GET.get("all"):
        return redirect("ui:tenant_home", schema=memberships[0].tenant.schema_name)
    return render(request, "ui/home.html", {"memberships": memberships})


@require_safe
def tenant_home(request: HttpRequest, schema: str) -> HttpResponse:
    return redirect("ui:things", schema=schema)
