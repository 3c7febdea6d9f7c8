"""Tracking screens: accounts, users, events, feedback (read-only for all roles).

Views parse the filters (``ui/filters_tracking.py``), call the selectors
(``tracking/selectors.py``) and render. Lists of accounts, users and feedback
page by number (their tables are small); event lists page by keyset (newest
first, ``?before=<cursor>``), since events are too many to count or offset.
"""

import json
from collections.abc import Mapping
from datetime import date
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_safe

from tracking import selectors
from tracking.selectors import USAGE_MEASURES, EventCursor
from ui.charts import bar_chart, days_filled
from ui.filters_tracking import (
    AccountFilter,
    EventFilter,
    FeedbackFilter,
    UserFilter,
    day_bounds,
)
from ui.paging import page_of

TIMELINE_SIZE = 50
ACTIVITY_DAYS = (30, 90)
# The accounts table's columns: (sort key, heading, numeric).
ACCOUNT_COLUMNS = [
    ("name", "Name", False),
    ("external_id", "External id", False),
    ("organization", "Organization", False),
    (None, "Traits", False),
    ("users", "Users", True),
    ("last_seen", "Last seen", False),
    ("active_7", "Active 7d", True),
    ("active_30", "Active 30d", True),
    ("sessions_30", "Sessions 30d", True),
    ("feedback_avg", "Feedback", True),
]


def compact(
    values: Mapping[str, Any] | None, *, limit: int = 3, skip: tuple = ()
) -> str:
    """``key: value`` pairs of a traits/properties object, the first ``limit``
    (leaving out the keys in ``skip``), values shortened: a one-line summary
    for a table cell."""
    values = {k: v for k, v in (values or {}).items() if k not in skip}
    if not values:
        return ""
    parts = []
    for key, value in list(values.items())[:limit]:
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        if len(text) > 24:
            text = text[:23] + "…"
        parts.append(f"{key}: {text}")
    more = len(values) - limit
    return " · ".join(parts) + (f" · +{more}" if more > 0 else "")


def pretty(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every key of a traits object with its value as readable text."""
    return [
        (key, value if isinstance(value, str) else json.dumps(value, indent=1))
        for key, value in sorted(values.items())
    ]


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with ``changes`` (None removes a key)."""
    params = request.GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value is not None:
            params[key] = value
    return "?" + urlencode(list(params.lists()), doseq=True) if params else "?"


def _newest(request: HttpRequest, *, anchor: str = "") -> str | None:
    """The link back to the newest events, when showing older ones."""
    return _query(request, before=None) + anchor if "before" in request.GET else None


def _timeline(events: list) -> list[dict[str, Any]]:
    """Events with their user and account (two queries for any number)."""
    users, accounts = selectors.events_people(events=events)
    return [
        {
            "event": event,
            "user": users.get(event.user_id),
            "account": accounts.get(event.account_id),
            "summary": compact(event.properties),
        }
        for event in events
    ]


def _empty_tracking(items) -> bool:
    """True when a list shows nothing because the tenant has no data yet (one
    more query, only for an empty list)."""
    return not items and selectors.tracking_is_empty()


# -- accounts -----------------------------------------------------------------


@require_safe
def accounts_list(request: HttpRequest, schema: str) -> HttpResponse:
    filterset = AccountFilter(request.GET)
    sort = request.GET.get("sort", "-last_seen")
    page = page_of(request, selectors.accounts_list(**filterset.params(), sort=sort))
    stats = selectors.account_stats(account_ids=[a.pk for a in page])
    rows = [
        {
            "account": a,
            "stats": stats.get(a.pk),
            "traits": compact(a.traits, skip=("name",)),
        }
        for a in page
    ]
    key, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for column, label, numeric in ACCOUNT_COLUMNS:
        current = column == key
        # Figures and dates read best largest/latest first.
        first_desc = numeric or column == "last_seen"
        if current:
            next_sort = column if descending else f"-{column}"
        else:
            next_sort = f"-{column}" if first_desc else column
        columns.append(
            {
                "label": label,
                "numeric": numeric,
                "href": _query(request, sort=next_sort, page=None) if column else None,
                "aria_sort": (
                    ("descending" if descending else "ascending") if current else None
                ),
            }
        )
    return render(
        request,
        "ui/tracking/accounts.html",
        {
            "filter": filterset,
            "page": page,
            "rows": rows,
            "columns": columns,
            "empty_tracking": _empty_tracking(rows) and not filterset.params(),
            "query": _query(request, page=None),
        },
    )


@require_safe
def account_detail(request: HttpRequest, schema: str, account_id: int) -> HttpResponse:
    account = selectors.account_get(account_id=account_id)
    if account is None:
        raise Http404("No such account.")
    days = _choice(request, "days", ACTIVITY_DAYS, int)
    measure = _choice(request, "measure", tuple(USAGE_MEASURES), str)
    today = selectors.utc_today()
    activity = selectors.account_activity(
        account_id=account.pk, days=days, measure=measure, today=today
    )
    start = date.fromordinal(today.toordinal() - days + 1)
    chart = bar_chart(
        days_filled(activity, start=start, end=today),
        title=f"{USAGE_MEASURES[measure].capitalize()} per day",
        unit=USAGE_MEASURES[measure],
        additive=measure != "active_users",
    )
    timeline = selectors.events_list(
        account_ids=[account.pk],
        before=EventCursor.parse(request.GET.get("before")),
        limit=TIMELINE_SIZE,
    )
    return render(
        request,
        "ui/tracking/account.html",
        {
            "account": account,
            "traits": pretty(account.traits),
            "totals": selectors.account_totals(
                account_id=account.pk, days=days, today=today
            ),
            "users": selectors.account_users(
                account_id=account.pk, limit=settings.UI_PAGE_SIZE
            ),
            "chart": chart,
            "days": days,
            "day_choices": ACTIVITY_DAYS,
            "measure": measure,
            "measures": USAGE_MEASURES.items(),
            "timeline": _timeline(timeline.events),
            "older": timeline.older,
            "newest_href": _newest(request, anchor="#timeline"),
            "older_href": (
                _query(request, before=timeline.older.token()) + "#timeline"
                if timeline.older
                else None
            ),
        },
    )


def _choice(request: HttpRequest, name: str, choices: tuple, kind):
    """A query parameter among ``choices``, the first one when absent or wrong."""
    try:
        value = kind(request.GET.get(name, choices[0]))
    except ValueError:
        return choices[0]
    return value if value in choices else choices[0]


# -- users ----------------------------------------------------------------------


@require_safe
def users_list(request: HttpRequest, schema: str) -> HttpResponse:
    filterset = UserFilter(request.GET)
    page = page_of(request, selectors.users_list(**filterset.params()))
    return render(
        request,
        "ui/tracking/users.html",
        {
            "filter": filterset,
            "page": page,
            "empty_tracking": _empty_tracking(page.object_list)
            and not filterset.params(),
            "query": _query(request, page=None),
        },
    )


@require_safe
def user_detail(request: HttpRequest, schema: str, user_id: int) -> HttpResponse:
    user = selectors.user_get(user_id=user_id)
    if user is None:
        raise Http404("No such user.")
    timeline = selectors.events_list(
        user_ids=[user.pk],
        before=EventCursor.parse(request.GET.get("before")),
        limit=TIMELINE_SIZE,
    )
    return render(
        request,
        "ui/tracking/user.html",
        {
            "person": user,
            "traits": pretty(user.traits),
            "sessions": selectors.user_sessions(
                user_id=user.pk, limit=settings.UI_PAGE_SIZE
            ),
            "timeline": _timeline(timeline.events),
            "newest_href": _newest(request, anchor="#timeline"),
            "older_href": (
                _query(request, before=timeline.older.token()) + "#timeline"
                if timeline.older
                else None
            ),
        },
    )


# -- events -------------------------------------------------------------------


@require_safe
def events_list(request: HttpRequest, schema: str) -> HttpResponse:
    filterset = EventFilter(request.GET)
    params = filterset.params()
    first, last = filterset.days(today=selectors.utc_today())
    since, until = day_bounds(first, last)
    query: dict[str, Any] = {
        "name": params.get("name", ""),
        "properties": params.get("properties", ""),
        "since": since,
        "until": until,
    }
    if params.get("user"):
        query["user_ids"] = selectors.user_ids_matching(text=params["user"])
    if params.get("account"):
        query["account_ids"] = selectors.account_ids_matching(text=params["account"])
    page = selectors.events_list(
        **query,
        before=EventCursor.parse(request.GET.get("before")),
        limit=settings.UI_PAGE_SIZE,
    )
    per_day = selectors.events_per_day(**query)
    chart = bar_chart(
        days_filled(per_day, start=first, end=last),
        title="Events per day",
        unit="events",
    )
    return render(
        request,
        "ui/tracking/events.html",
        {
            "filter": filterset,
            "first": first,
            "last": last,
            "chart": chart,
            "timeline": _timeline(page.events),
            "empty_tracking": not page.events
            and not request.GET
            and selectors.tracking_is_empty(),
            "newest_href": _newest(request),
            "older_href": (
                _query(request, before=page.older.token()) if page.older else None
            ),
        },
    )


# -- feedback -------------------------------------------------------------------


@require_safe
def feedback_list(request: HttpRequest, schema: str) -> HttpResponse:
    filterset = FeedbackFilter(request.GET)
    params = filterset.params()
    if params.get("account"):
        params["account_ids"] = selectors.account_ids_matching(
            text=params.pop("account")
        )
    feedback = selectors.feedback_list(**params)
    page = page_of(request, feedback)
    return render(
        request,
        "ui/tracking/feedback.html",
        {
            "filter": filterset,
            "page": page,
            "features": selectors.feedback_per_feature(feedback=feedback),
            "empty_tracking": _empty_tracking(page.object_list) and not params,
            "query": _query(request, page=None),
        },
    )


urlpatterns = [
    path("accounts/", accounts_list, name="accounts"),
    path("accounts/<int:account_id>/", account_detail, name="account"),
    path("users/", users_list, name="users"),
    path("users/<int:user_id>/", user_detail, name="user"),
    path("events/", events_list, name="events"),
    path("feedback/", feedback_list, name="feedback"),
]
