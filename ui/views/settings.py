"""Tenant settings: id, keys, members, connection snippets."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


def settings_page(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Settings"})


urlpatterns = [path("settings/", settings_page, name="settings")]
