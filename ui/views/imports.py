"""CSV import into a thing and CSV export of an entries view."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import path

from gathergrid.models import Thing


def import_start(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    thing = get_object_or_404(Thing, pk=thing_id)
    return render(request, "ui/placeholder.html", {"title": "Import", "thing": thing})


def export_csv(request: HttpRequest, schema: str, thing_id: int) -> HttpResponse:
    get_object_or_404(Thing, pk=thing_id)
    return HttpResponse("", content_type="text/csv")


urlpatterns = [
    path("things/<int:thing_id>/import/", import_start, name="import"),
    path("things/<int:thing_id>/export.csv", export_csv, name="export"),
]
