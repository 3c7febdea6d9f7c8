"""Reads of the tracking store for the browser UI.

Events can number hundreds of millions per tenant, so every events query here
is bounded by an index prefix (account, user, name) or by a time range, and
lists page by keyset on ``(event_time, id)``, newest first: no ``OFFSET`` and
no ``COUNT(*)`` over events. Per-account figures (active users, sessions,
feedback) come from the small derived tables (``account_day_users``,
``account_usage``, ``feedback``), computed only for the accounts on the page
unless a list is sorted by one of them.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Avg,
    Count,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    TextField,
    Value,
)
from django.db.models.functions import Cast, Coalesce
from django.utils import timezone

from tracking.models import (
    Account,
    AccountDayUser,
    AccountUsage,
    AccountUser,
    CustomerUser,
    Event,
    Feedback,
    Session,
)

# -- accounts -----------------------------------------------------------------

# The per-account figures the accounts table shows, by column name.
ACCOUNT_STATS = ("users", "active_7", "active_30", "sessions_30", "feedback_avg")
ACCOUNT_SORTS = {
    "name": ("name", "id"),
    "external_id": ("external_id",),
    "organization": ("organization__name", "id"),
    "last_seen": ("last_seen_at", "id"),
    "first_seen": ("first_seen_at", "id"),
    **{stat: () for stat in ACCOUNT_STATS},  # see RankedAccounts
}


def utc_today() -> date:
    return timezone.now().astimezone(UTC).date()


def _count(queryset: QuerySet, column: str, *, distinct: bool = False) -> Subquery:
    """A correlated ``count(column)`` per account, 0 when there is none."""
    counted = (
        queryset.order_by()
        .values("account_id")
        .annotate(n=Count(column, distinct=distinct))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def _account_stat(name: str, *, today: date) -> Any:
    """The expression of one figure of :data:`ACCOUNT_STATS` for ``OuterRef('pk')``.

    Each is an index range scan on its table's ``(account_id, ...)`` index."""
    mine = {"account_id": OuterRef("pk")}
    if name == "users":
        return _count(AccountUser.objects.filter(**mine), "user_id")
    if name in ("active_7", "active_30"):
        since = today - timedelta(days=int(name.split("_")[1]) - 1)
        days = AccountDayUser.objects.filter(**mine, day__gte=since)
        return _count(days, "user_id", distinct=True)
    if name == "sessions_30":
        usage = AccountUsage.objects.filter(**mine, day__gte=today - timedelta(29))
        summed = usage.order_by().values("account_id").annotate(n=Sum("sessions"))
        return Coalesce(
            Subquery(summed.values("n"), output_field=IntegerField()), Value(0)
        )
    if name == "feedback_avg":
        scores = Feedback.objects.filter(**mine, score__isnull=False).order_by()
        average = scores.values("account_id").annotate(n=Avg("score")).values("n")
        return Subquery(average, output_field=FloatField())
    raise ValueError(name)


def _trait_filter(trait: str) -> Q:
    """``key=value``: the trait equals the value, as text or as the JSON value it
    spells (``seats=10`` finds 10 and "10"); ``key`` alone: the trait is set."""
    key, sep, raw = trait.partition("=")
    key = key.strip()
    if not key:
        return Q()
    if not sep:
        return Q(traits__has_key=key)
    raw = raw.strip()
    condition = Q(traits__contains={key: raw})
    try:
        parsed = json.loads(raw)
    except ValueError:
        return condition
    if parsed != raw:
        condition |= Q(traits__contains={key: parsed})
    return condition


def accounts_list(
    *,
    search: str = "",
    organization: str = "",
    seen_from: date | None = None,
    seen_to: date | None = None,
    trait: str = "",
    sort: str = "-last_seen",
    today: date | None = None,
) -> "QuerySet[Account] | RankedAccounts":
    """Accounts matching the filters, in ``sort`` order (a key of
    :data:`ACCOUNT_SORTS`, ``-`` for descending; unknown keys sort by last
    seen): a queryset, or for a sort by a figure a :class:`RankedAccounts`.
    Either pages with Django's paginator; no figure is computed here except
    the one sorted by: see :func:`account_stats` for a page's."""
    accounts = Account.objects.select_related("organization")
    if search:
        accounts = accounts.filter(
            Q(name__icontains=search) | Q(external_id__icontains=search)
        )
    if organization:
        accounts = accounts.filter(
            Q(organization__name__icontains=organization)
            | Q(organization__external_id=organization)
        )
    if seen_from:
        accounts = accounts.filter(
            last_seen_at__gte=datetime.combine(seen_from, time.min, tzinfo=UTC)
        )
    if seen_to:
        accounts = accounts.filter(
            last_seen_at__lt=datetime.combine(
                seen_to + timedelta(days=1), time.min, tzinfo=UTC
            )
        )
    if trait:
        accounts = accounts.filter(_trait_filter(trait))
    descending = sort.startswith("-")
    key = sort.lstrip("-")
    if key not in ACCOUNT_SORTS:
        key, descending = "last_seen", True
    if key in ACCOUNT_STATS:
        return RankedAccounts(
            accounts, stat=key, descending=descending, today=today or utc_today()
        )
    columns = ACCOUNT_SORTS[key]
    order = []
    for column in columns:
        expression = F(column)
        order.append(
            expression.desc(nulls_last=True)
            if descending
            else expression.asc(nulls_last=True)
        )
    return accounts.order_by(*order)


# Each figure for every account at once: one GROUP BY over its table (%s: the
# first day of the window), hash-joined to the accounts. Per account
# (correlated subqueries) it took twice as long over 10,000 accounts.
_FIGURES_GROUPED = {
    "users": "SELECT account_id, count(*) AS n FROM account_users GROUP BY 1",
    "active_7": (
        "SELECT account_id, count(*) AS n FROM (SELECT DISTINCT account_id, "
        "user_id FROM account_day_users WHERE day >= %s) d GROUP BY 1"
    ),
    "sessions_30": (
        "SELECT account_id, sum(sessions) AS n FROM account_usage "
        "WHERE day >= %s GROUP BY 1"
    ),
    "feedback_avg": (
        "SELECT account_id, avg(score) AS n FROM feedback "
        "WHERE score IS NOT NULL AND account_id IS NOT NULL GROUP BY 1"
    ),
}
_FIGURES_GROUPED["active_30"] = _FIGURES_GROUPED["active_7"]
_WINDOW_DAYS = {"active_7": 7, "active_30": 30, "sessions_30": 30}


class RankedAccounts:
    """Filtered accounts in the order of one figure of :data:`ACCOUNT_STATS`,
    sliceable and countable as Django's paginator needs: a slice costs one
    ranking query (ids) and one for the accounts."""

    def __init__(
        self, accounts: QuerySet[Account], *, stat: str, descending: bool, today: date
    ) -> None:
        self.accounts = accounts
        self.stat = stat
        self.descending = descending
        self.today = today

    def count(self) -> int:
        return self.accounts.count()

    def __getitem__(self, window: slice) -> list[Account]:
        ids_sql, params = self.accounts.order_by().values("id").query.sql_with_params()
        grouped = _FIGURES_GROUPED[self.stat]
        grouped_params: list[Any] = []
        if self.stat in _WINDOW_DAYS:
            days = _WINDOW_DAYS[self.stat]
            grouped_params = [self.today - timedelta(days=days - 1)]
        # Accounts without a row count 0, except for the average (no score).
        value = "s.n" if self.stat == "feedback_avg" else "COALESCE(s.n, 0)"
        direction = "DESC" if self.descending else "ASC"
        start = window.start or 0
        sql = (
            f"SELECT a.id FROM ({ids_sql}) AS a LEFT JOIN ({grouped}) AS s "
            f"ON s.account_id = a.id ORDER BY {value} {direction} NULLS LAST, "
            "a.id LIMIT %s OFFSET %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *grouped_params, window.stop - start, start])
            ids = [row[0] for row in cursor.fetchall()]
        by_id = Account.objects.select_related("organization").in_bulk(ids)
        return [by_id[pk] for pk in ids]


@dataclass(frozen=True)
class AccountStats:
    users: int = 0
    active_7: int = 0
    active_30: int = 0
    sessions_30: int = 0
    feedback_avg: float | None = None


def account_stats(
    *, account_ids: Iterable[int], today: date | None = None
) -> dict[int, AccountStats]:
    """:class:`AccountStats` of the given accounts, in one query."""
    ids = list(account_ids)
    if not ids:
        return {}
    today = today or utc_today()
    rows = (
        Account.objects.filter(pk__in=ids)
        .order_by()
        .annotate(**{f"stat_{n}": _account_stat(n, today=today) for n in ACCOUNT_STATS})
        .values_list("pk", *(f"stat_{n}" for n in ACCOUNT_STATS))
    )
    return {pk: AccountStats(*figures) for pk, *figures in rows}


def account_get(*, account_id: int) -> Account | None:
    return Account.objects.select_related("organization").filter(pk=account_id).first()


@dataclass(frozen=True)
class AccountTotals:
    """An account's figures over a window of days (account page)."""

    users: int
    active_7: int
    active_30: int
    sessions: int
    page_views: int
    events: int
    feedback_count: int
    feedback_avg: float | None


def account_totals(
    *, account_id: int, days: int = 30, today: date | None = None
) -> AccountTotals:
    """Active users over 7 and 30 days, and the usage sums over ``days`` days."""
    today = today or utc_today()
    stats = account_stats(account_ids=[account_id], today=today).get(
        account_id, AccountStats()
    )
    sums = AccountUsage.objects.filter(
        account_id=account_id, day__gte=today - timedelta(days=days - 1)
    ).aggregate(
        sessions=Coalesce(Sum("sessions"), 0),
        page_views=Coalesce(Sum("page_views"), 0),
        events=Coalesce(Sum("events"), 0),
    )
    feedback = Feedback.objects.filter(account_id=account_id).aggregate(
        count=Count("id"), avg=Avg("score")
    )
    return AccountTotals(
        users=stats.users,
        active_7=stats.active_7,
        active_30=stats.active_30,
        feedback_count=feedback["count"],
        feedback_avg=feedback["avg"],
        **sums,
    )


USAGE_MEASURES = {
    "active_users": "active users",
    "events": "events",
    "sessions": "sessions",
    "page_views": "page views",
}


def account_activity(
    *,
    account_id: int,
    days: int = 30,
    measure: str = "active_users",
    today: date | None = None,
) -> dict[date, int]:
    """``{day: value}`` of one ``account_usage`` column over the last ``days``
    days (today included); days without a row are absent (zero-fill them)."""
    if measure not in USAGE_MEASURES:
        raise ValueError(measure)
    today = today or utc_today()
    rows = AccountUsage.objects.filter(
        account_id=account_id, day__gte=today - timedelta(days=days - 1), day__lte=today
    ).values_list("day", measure)
    return dict(rows)


def account_users(*, account_id: int, limit: int) -> list[CustomerUser]:
    """The account's users, most recently seen first, at most ``limit``."""
    return list(
        CustomerUser.objects.filter(accountuser__account_id=account_id).order_by(
            F("last_seen_at").desc(nulls_last=True), "id"
        )[:limit]
    )


# -- users ----------------------------------------------------------------------


def users_list(*, search: str = "", account: str = "") -> QuerySet[CustomerUser]:
    """Customer users matching ``search`` (name, email or external id) and
    ``account`` (an account's external id or part of its name), most recently
    seen first; their accounts prefetched (one query for a page)."""
    users = CustomerUser.objects.all()
    if search:
        users = users.filter(
            Q(name__icontains=search)
            | Q(email__icontains=search)
            | Q(external_id__icontains=search)
            | Q(first_name__icontains=search)
            | Q(last_name__icontains=search)
        )
    if account:
        users = users.filter(
            Q(accounts__external_id=account) | Q(accounts__name__icontains=account)
        ).distinct()
    return users.prefetch_related(
        Prefetch("accounts", queryset=Account.objects.order_by("name", "id"))
    ).order_by(F("last_seen_at").desc(nulls_last=True), "id")


def user_get(*, user_id: int) -> CustomerUser | None:
    return (
        CustomerUser.objects.prefetch_related(
            Prefetch("accounts", queryset=Account.objects.order_by("name", "id"))
        )
        .filter(pk=user_id)
        .first()
    )


def user_sessions(*, user_id: int, limit: int) -> list[Session]:
    """The user's latest sessions (by the ``(user, ended_at)`` index)."""
    return list(Session.objects.filter(user_id=user_id).order_by("-ended_at")[:limit])


# -- events -------------------------------------------------------------------


@dataclass(frozen=True)
class EventCursor:
    """A keyset position: the events strictly older than this one."""

    event_time: datetime
    id: int

    def token(self) -> str:
        return f"{self.event_time.isoformat()}~{self.id}"

    @classmethod
    def parse(cls, token: str | None) -> "EventCursor | None":
        """The cursor a :meth:`token` spelled, or None for anything else."""
        if not token:
            return None
        at, _, ident = token.rpartition("~")
        try:
            moment = datetime.fromisoformat(at)
            number = int(ident)
        except ValueError:
            return None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return cls(moment, number)


@dataclass
class EventPage:
    events: list[Event]
    older: EventCursor | None  # where the next page starts, None at the end


def _events_filtered(
    *,
    name: str = "",
    user_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    properties: str = "",
) -> QuerySet[Event]:
    events = Event.objects.all()
    if name:
        events = events.filter(name=name)
    if user_ids is not None:
        events = events.filter(user_id__in=user_ids)
    if account_ids is not None:
        events = events.filter(account_id__in=account_ids)
    if since is not None:
        events = events.filter(event_time__gte=since)
    if until is not None:
        events = events.filter(event_time__lt=until)
    if properties:
        # Bounded by the time range (the explorer always has one): a scan of
        # that range's rows, never of the whole table.
        events = events.annotate(properties_text=Cast("properties", TextField()))
        events = events.filter(properties_text__icontains=properties)
    return events


def events_list(
    *,
    limit: int,
    before: EventCursor | None = None,
    name: str = "",
    user_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    properties: str = "",
) -> EventPage:
    """Up to ``limit`` events, newest first, older than ``before``; filters as
    given (``user_ids``/``account_ids`` None: any). Callers bound the query by
    an account or user (their ``(…, event_time)`` indexes) or a time range."""
    events = _events_filtered(
        name=name,
        user_ids=user_ids,
        account_ids=account_ids,
        since=since,
        until=until,
        properties=properties,
    )
    if before is not None:
        # The plain bound lets the (event_time, id) index start at the cursor
        # (the OR alone is only a filter: deep pages re-read newer rows).
        events = events.filter(event_time__lte=before.event_time).filter(
            Q(event_time__lt=before.event_time)
            | Q(event_time=before.event_time, id__lt=before.id)
        )
    rows = list(events.order_by("-event_time", "-id")[: limit + 1])
    older = None
    if len(rows) > limit:
        rows = rows[:limit]
        older = EventCursor(rows[-1].event_time, rows[-1].id)
    return EventPage(events=rows, older=older)


def events_per_day(
    *,
    since: datetime,
    until: datetime,
    name: str = "",
    user_ids: list[int] | None = None,
    account_ids: list[int] | None = None,
    properties: str = "",
) -> dict[date, int]:
    """``{day (UTC): number of events}`` in ``[since, until)``, one GROUP BY."""
    events = _events_filtered(
        name=name,
        user_ids=user_ids,
        account_ids=account_ids,
        since=since,
        until=until,
        properties=properties,
    )
    try:
        sql, params = (
            events.order_by()
            .values_list("event_time", flat=True)
            .query.sql_with_params()
        )
    except EmptyResultSet:  # a filter that matches nothing (no such user)
        return {}
    # The day in SQL, not per row in Python: one row per day comes back.
    grouped = (
        "SELECT (e.event_time AT TIME ZONE 'UTC')::date AS day, count(*) "
        f"FROM ({sql}) AS e(event_time) GROUP BY 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(grouped, params)
        return dict(cursor.fetchall())


def events_people(
    *, events: list[Event]
) -> tuple[dict[int, CustomerUser], dict[int, Account]]:
    """The users and accounts the events name (events have no foreign keys):
    two queries, whatever the number of events."""
    user_ids = {e.user_id for e in events if e.user_id is not None}
    account_ids = {e.account_id for e in events if e.account_id is not None}
    users = CustomerUser.objects.in_bulk(user_ids) if user_ids else {}
    accounts = Account.objects.in_bulk(account_ids) if account_ids else {}
    return users, accounts


def user_ids_matching(*, text: str, limit: int = 500) -> list[int]:
    """Users whose external id or email is ``text`` (case-insensitive email)."""
    return list(
        CustomerUser.objects.filter(Q(external_id=text) | Q(email__iexact=text))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def account_ids_matching(*, text: str, limit: int = 500) -> list[int]:
    """Accounts whose external id is ``text`` or whose name contains it."""
    return list(
        Account.objects.filter(Q(external_id=text) | Q(name__icontains=text))
        .order_by("id")
        .values_list("id", flat=True)[:limit]
    )


def tracking_is_empty() -> bool:
    """No account, user or event yet: the tenant has not connected a client."""
    return not (
        Account.objects.exists()
        or CustomerUser.objects.exists()
        or Event.objects.exists()
    )


# -- feedback -----------------------------------------------------------------


def feedback_list(
    *,
    score: int | None = None,
    feature: str = "",
    account_ids: list[int] | None = None,
) -> QuerySet[Feedback]:
    """Feedback matching the filters, newest first, user and account joined."""
    feedback = Feedback.objects.select_related("user", "account")
    if score is not None:
        feedback = feedback.filter(score=score)
    if feature:
        feedback = feedback.filter(feature_id=feature)
    if account_ids is not None:
        feedback = feedback.filter(account_id__in=account_ids)
    return feedback.order_by("-created_at", "-id")


def feedback_per_feature(*, feedback: QuerySet[Feedback], limit: int = 20) -> list:
    """Per feature of ``feedback``: count, scored count and average score, the
    most answered first (one GROUP BY)."""
    return list(
        feedback.order_by()
        .values("feature_id")
        .annotate(count=Count("id"), scored=Count("score"), average=Avg("score"))
        .order_by("-count", "feature_id")[:limit]
    )
