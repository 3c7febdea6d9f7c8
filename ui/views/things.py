"""Things and their fields."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from gathergrid.models import Thing


def things_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Things"})


def fields_page(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    return render(request, "ui/placeholder.html", {"title": "Fields", "thing": thing})


urlpatterns = [
    path("things/", things_list, name="things"),
    path("things/<int:thing_id>/fields/", fields_page, name="fields"),
]
