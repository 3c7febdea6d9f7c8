"""Sessions (30 minutes of inactivity) and daily account usage, kept up to date
incrementally as events arrive, late ones included."""

from datetime import UTC, datetime, timedelta

import pytest

from tracking.ingest import messages_ingest
from tracking.messages import PAGE_VIEWED, Kind, Message
from tracking.models import Account, AccountUsage, CustomerUser, Session

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
_ids = iter(range(1_000_000))


def view(at: datetime, user: str = "u1", account: str = "a1", **extra) -> Message:
    return Message(
        kind=Kind.EVENT,
        source="segment",
        message_id=f"v{next(_ids)}",
        timestamp=at,
        user_id=user,
        account_id=account,
        event=PAGE_VIEWED,
        **extra,
    )


def ingest(*messages: Message) -> None:
    messages_ingest(list(messages), received_at=T0)


@pytest.fixture
def in_a(tenant_a):
    with tenant_a.tenant:
        yield


def sessions() -> list[tuple[datetime, datetime, int]]:
    return list(
        Session.objects.order_by("started_at").values_list(
            "started_at", "ended_at", "page_views"
        )
    )


def test_views_within_30_minutes_form_one_session(in_a):
    ingest(view(T0), view(T0 + timedelta(minutes=10)), view(T0 + timedelta(minutes=39)))
    assert sessions() == [(T0, T0 + timedelta(minutes=39), 3)]


def test_a_gap_over_30_minutes_starts_a_new_session(in_a):
    ingest(view(T0), view(T0 + timedelta(minutes=31)))
    assert len(sessions()) == 2


def test_events_arriving_later_extend_the_session(in_a):
    ingest(view(T0))
    ingest(view(T0 + timedelta(minutes=20)))
    assert sessions() == [(T0, T0 + timedelta(minutes=20), 2)]


def test_a_late_event_joins_two_sessions(in_a):
    ingest(view(T0), view(T0 + timedelta(minutes=50)))
    assert len(sessions()) == 2
    ingest(view(T0 + timedelta(minutes=25)))  # arrives late, in between
    assert sessions() == [(T0, T0 + timedelta(minutes=50), 3)]


def test_sessions_are_per_user(in_a):
    ingest(view(T0, user="u1"), view(T0 + timedelta(minutes=1), user="u2"))
    assert len(sessions()) == 2


def test_daily_usage_counts(in_a):
    ingest(
        view(T0, user="u1"),
        view(T0 + timedelta(minutes=5), user="u2"),
        view(T0 + timedelta(hours=3), user="u1"),
        Message(
            kind=Kind.EVENT,
            source="segment",
            message_id="click",
            timestamp=T0,
            user_id="u1",
            account_id="a1",
            event="Clicked",
        ),
        Message(
            kind=Kind.FEEDBACK,
            source="segment",
            message_id="fb",
            timestamp=T0,
            user_id="u1",
            account_id="a1",
            feature_id="f",
            score=4,
        ),
    )
    ingest(view(T0 + timedelta(hours=4), user="u1"))  # a later request, same day
    usage = AccountUsage.objects.get()
    assert usage.day == T0.date()
    assert (usage.events, usage.page_views) == (5, 4)
    assert usage.active_users == 2
    assert usage.sessions == 4  # u1 09:00, u2 09:05, u1 12:00, u1 13:00
    assert (usage.feedback_count, usage.feedback_score_sum) == (1, 4)


def test_duplicates_do_not_count_twice(in_a):
    message = view(T0)
    ingest(message)
    ingest(message)
    usage = AccountUsage.objects.get()
    assert (usage.events, usage.page_views, usage.sessions) == (1, 1, 1)


def alias(previous: str, user: str) -> Message:
    return Message(
        kind=Kind.ALIAS,
        source="segment",
        message_id=f"al{next(_ids)}",
        timestamp=T0,
        user_id=user,
        previous_id=previous,
    )


def usage_of_the_day() -> tuple[int, int, int]:
    row = AccountUsage.objects.get()
    return row.active_users, row.sessions, row.page_views


def test_an_alias_merging_two_users_merges_their_sessions_and_active_days(in_a):
    # anon-1 browses, then u1 (the same person, signed in) 10 minutes later,
    # in one batch with the alias: one user, one session, one active user.
    ingest(
        view(T0, user="anon-1"),
        view(T0 + timedelta(minutes=5), user="anon-1"),
        view(T0 + timedelta(minutes=15), user="u1"),
        alias("anon-1", "u1"),
    )
    (user,) = CustomerUser.objects.all()
    assert user.external_id == "u1"
    assert sessions() == [(T0, T0 + timedelta(minutes=15), 3)]
    assert Session.objects.get().user_id == user.id
    assert usage_of_the_day() == (1, 1, 3)


def test_an_alias_across_requests_keeps_apart_sessions_apart(in_a):
    ingest(view(T0, user="anon-2"))
    ingest(view(T0 + timedelta(hours=2), user="u2"))
    assert usage_of_the_day() == (2, 2, 2)
    ingest(alias("anon-2", "u2"))  # was refused at COMMIT: sessions kept anon-2
    assert list(CustomerUser.objects.values_list("external_id", flat=True)) == ["u2"]
    assert len(sessions()) == 2
    assert set(Session.objects.values_list("user__external_id", flat=True)) == {"u2"}
    assert usage_of_the_day() == (1, 2, 2)  # one person active that day


def test_an_alias_across_requests_joins_sessions_within_30_minutes(in_a):
    ingest(view(T0, user="anon-3", account=None))
    ingest(view(T0 + timedelta(minutes=20), user="u3"))
    ingest(view(T0 + timedelta(hours=3), user="u3"))
    assert len(sessions()) == 3
    ingest(alias("anon-3", "u3"))
    (user,) = CustomerUser.objects.all()
    assert sessions() == [
        (T0, T0 + timedelta(minutes=20), 2),
        (T0 + timedelta(hours=3), T0 + timedelta(hours=3), 1),
    ]
    assert set(Session.objects.values_list("user_id", flat=True)) == {user.id}
    # The joined session takes the account of its first view that has one.
    a1 = Account.objects.get(external_id="a1").id
    assert list(Session.objects.values_list("account_id", flat=True)) == [a1, a1]
    assert usage_of_the_day() == (1, 2, 2)
