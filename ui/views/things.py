"""Things, their fields, and the entries grid."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


def things_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Things"})


urlpatterns = [path("things/", things_list, name="things")]
