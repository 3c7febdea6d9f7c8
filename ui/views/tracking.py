"""Tracking screens: accounts, users, events, feedback."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path


def accounts_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Accounts"})


def users_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Users"})


def events_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Events"})


def feedback_list(request: HttpRequest, schema: str) -> HttpResponse:
    return render(request, "ui/placeholder.html", {"title": "Feedback"})


urlpatterns = [
    path("accounts/", accounts_list, name="accounts"),
    path("users/", users_list, name="users"),
    path("events/", events_list, name="events"),
    path("feedback/", feedback_list, name="feedback"),
]
