"""The entries grid of a thing, its trash, and an entry's history."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from gathergrid.models import Thing


def entries_grid(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    return render(request, "ui/placeholder.html", {"title": "Entries", "thing": thing})


def trash(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    return render(request, "ui/placeholder.html", {"title": "Trash", "thing": thing})


def entry_history(
    request: HttpRequest, schema: str, thing_id: int, entry_id: int
) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    return render(request, "ui/placeholder.html", {"title": "History", "thing": thing})


urlpatterns = [
    path("things/<int:thing_id>/", entries_grid, name="entries"),
    path("things/<int:thing_id>/trash/", trash, name="trash"),
    path(
        "things/<int:thing_id>/entries/<int:entry_id>/history/",
        entry_history,
        name="entry_history",
    ),
]
