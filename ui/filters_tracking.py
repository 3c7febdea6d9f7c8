"""Filters of the tracking lists (django-filter).

The filter sets declare, label and validate each list's filters (their forms
render in the templates); the queries themselves are the selectors'
(``tracking/selectors.py``), which keep every events query bounded by an index
or a time range. :meth:`TrackingFilterSet.params` gives the selector its
keyword arguments from the valid form.
"""

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import django_filters as filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from tracking.models import Account, CustomerUser, Event, Feedback

SEARCH = forms.TextInput(attrs={"type": "search", "placeholder": "Search"})
DATE = forms.DateInput(attrs={"type": "date"})
# Dates a filter takes: ranges are widened by days on either side, which must
# stay within the dates Python can hold.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(9998, 12, 31)
EVENTS_DEFAULT_DAYS = 7
# The widest range the events explorer scans, so one request stays bounded.
EVENTS_MAX_DAYS = 366


class DayFilter(filters.DateFilter):
    """A day between :data:`FIRST_DAY` and :data:`LAST_DAY`."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.extra["validators"] = [
            MinValueValidator(FIRST_DAY),
            MaxValueValidator(LAST_DAY),
        ]


class TrackingFilterSet(filters.FilterSet):
    def params(self) -> dict[str, Any]:
        """The valid filters as selector keyword arguments (blank ones left
        out); an invalid form contributes nothing (its errors are shown)."""
        if not self.form.is_valid():
            return {}
        return {
            name: value
            for name, value in self.form.cleaned_data.items()
            if value not in (None, "")
        }


class AccountFilter(TrackingFilterSet):
    search = filters.CharFilter(label="Name or external id", widget=SEARCH)
    organization = filters.CharFilter(label="Organization")
    seen_from = DayFilter(label="Last seen from", widget=DATE)
    seen_to = DayFilter(label="Last seen to", widget=DATE)
    trait = filters.CharFilter(
        label="Trait",
        widget=forms.TextInput(attrs={"placeholder": "plan=pro"}),
        help_text="key=value, or a key alone for accounts that have it",
    )

    class Meta:
        model = Account
        fields: list[str] = []


class UserFilter(TrackingFilterSet):
    search = filters.CharFilter(label="Name, email or external id", widget=SEARCH)
    account = filters.CharFilter(label="Account")

    class Meta:
        model = CustomerUser
        fields: list[str] = []


class EventFilter(TrackingFilterSet):
    name = filters.CharFilter(
        label="Type",
        widget=forms.TextInput(attrs={"placeholder": "page.viewed", "list": "names"}),
    )
    user = filters.CharFilter(
        label="User", widget=forms.TextInput(attrs={"placeholder": "id or email"})
    )
    account = filters.CharFilter(
        label="Account", widget=forms.TextInput(attrs={"placeholder": "id or name"})
    )
    since = DayFilter(label="From", widget=DATE)
    until = DayFilter(label="To", widget=DATE)
    properties = filters.CharFilter(label="Properties contain")

    class Meta:
        model = Event
        fields: list[str] = []

    def days(self, *, today: date) -> tuple[date, date]:
        """The first and last day (UTC) to show: the last week by default, at
        most :data:`EVENTS_MAX_DAYS` days."""
        params = self.params()
        last = params.get("until") or today
        first = params.get("since") or last - timedelta(days=EVENTS_DEFAULT_DAYS - 1)
        if first > last:
            first, last = last, first
        if (last - first).days >= EVENTS_MAX_DAYS:
            first = last - timedelta(days=EVENTS_MAX_DAYS - 1)
        return first, last


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """``[first 00:00, last+1 00:00)`` in UTC."""
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


class FeedbackFilter(TrackingFilterSet):
    score = filters.ChoiceFilter(
        label="Score",
        choices=[(n, f"{n} ★") for n in range(5, 0, -1)],
        empty_label="Any",
    )
    feature = filters.CharFilter(label="Feature")
    account = filters.CharFilter(
        label="Account", widget=forms.TextInput(attrs={"placeholder": "id or name"})
    )

    class Meta:
        model = Feedback
        fields: list[str] = []

    def params(self) -> dict[str, Any]:
        params = super().params()
        if "score" in params:
            params["score"] = int(params["score"])
        return params
