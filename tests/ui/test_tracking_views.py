"""Tracking screens: accounts, account page, users, events explorer, feedback.

Data is written through the real ingestion path (Segment and Bucket payloads
translated by their dialects, then ``messages_ingest``), so sessions, usage
and active users are derived as in production.
"""

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tracking.dialects import bucket, segment
from tracking.ingest import messages_ingest
from tracking.models import Account, CustomerUser
from ui.views import tracking as tracking_views

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY_NOON = NOW.replace(hour=12, minute=0, second=0)


def days_ago(n: int, minutes: int = 0) -> str:
    """A time ``n`` days before today's noon (UTC), ISO formatted."""
    at = TODAY_NOON - timedelta(days=n) + timedelta(minutes=minutes)
    return min(at, NOW - timedelta(seconds=1)).isoformat()


def ingest_segment(created, *messages: dict) -> None:
    """Send Segment messages to a tenant through the dialect and the writer."""
    batch = [{"messageId": str(uuid.uuid4()), **m} for m in messages]
    with created.tenant:
        messages_ingest(
            segment.translate_batch({"batch": batch}, received_at=NOW),
            received_at=NOW,
        )


def ingest_feedback(created, **body) -> None:
    with created.tenant:
        messages_ingest(
            bucket.translate("feedback", body, received_at=NOW), received_at=NOW
        )


def identify(user: str, account: str, *, day: int = 0, **traits) -> list[dict]:
    """A user identified into an account (identify + group)."""
    return [
        {
            "type": "identify",
            "userId": user,
            "traits": {"email": f"{user}@example.com", "name": user.title(), **traits},
            "timestamp": days_ago(day),
        },
        {
            "type": "group",
            "userId": user,
            "groupId": account,
            "traits": {"name": account.title(), "plan": "pro"},
            "timestamp": days_ago(day),
        },
    ]


def page_view(user: str, account: str, *, day: int, minutes: int = 0) -> dict:
    return {
        "type": "page",
        "userId": user,
        "name": "Home",
        "context": {"groupId": account},
        "timestamp": days_ago(day, minutes),
    }


def track(user: str, account: str, event: str, *, day: int, **properties) -> dict:
    return {
        "type": "track",
        "userId": user,
        "event": event,
        "properties": properties,
        "context": {"groupId": account},
        "timestamp": days_ago(day),
    }


def account_id(created, external_id: str) -> int:
    with created.tenant:
        return Account.objects.get(external_id=external_id).pk


def user_id(created, external_id: str) -> int:
    with created.tenant:
        return CustomerUser.objects.get(external_id=external_id).pk


def cells(html: str, account: str) -> dict[str, str]:
    """The figures of one account's row in the accounts table."""
    row = re.search(rf'<tr data-account="{account}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {account}"
    return dict(re.findall(r'data-col="(\w+)">([^<]*)', row.group(1)))


@pytest.fixture
def acme(tenant_a):
    """Acme in tenant A: ann (active today, 3 and 20 days ago), bob (10 days
    ago), cid (linked, never active); 2 feedback answers (4 and 2)."""
    ingest_segment(
        tenant_a,
        *identify("ann", "acme", day=20, seats=10),
        *identify("bob", "acme", day=10),
        *identify("cid", "acme", day=10),
        page_view("ann", "acme", day=20),
        page_view("ann", "acme", day=3),
        page_view("ann", "acme", day=3, minutes=5),  # same session
        page_view("ann", "acme", day=0),
        page_view("bob", "acme", day=10),
        track("ann", "acme", "Report Exported", day=3, format="csv"),
    )
    ingest_feedback(
        tenant_a, featureId="export", userId="ann", companyId="acme", score=4
    )
    ingest_feedback(
        tenant_a,
        featureId="export",
        userId="bob",
        companyId="acme",
        score=2,
        comment="slow",
    )
    return tenant_a


@pytest.fixture
def globex(tenant_b):
    """Globex, in tenant B only."""
    ingest_segment(
        tenant_b,
        *identify("zed", "globex", day=1),
        page_view("zed", "globex", day=1),
        track("zed", "globex", "Secret Thing", day=1),
    )
    return tenant_b


# -- accounts -----------------------------------------------------------------


def test_accounts_table_shows_users_actives_sessions_and_feedback(client_a, acme):
    response = client_a.get("/t/tenant_a/accounts/")
    assert response.status_code == 200
    html = response.content.decode()
    assert cells(html, "acme") == {
        "users": "3",
        "active_7": "1",  # ann (today, 3 days ago)
        "active_30": "2",  # ann and bob
        "sessions_30": "4",  # ann: 20d, 3d, today; bob: 10d
        "feedback_avg": "3.0 ★",
    }
    assert "Acme" in html and "plan: pro" in html


def test_accounts_of_another_tenant_never_appear(client_a, acme, globex):
    html = client_a.get("/t/tenant_a/accounts/").content.decode()
    assert 'data-account="acme"' in html
    assert "globex" not in html.lower()


def test_accounts_sort_by_active_users_and_by_name(client_a, tenant_a):
    ingest_segment(
        tenant_a,
        *identify("u1", "few", day=1),
        *identify("u2", "many", day=1),
        *identify("u3", "many", day=1),
        page_view("u1", "few", day=1),
        page_view("u2", "many", day=1),
        page_view("u3", "many", day=2),
    )

    def order(query: str) -> list[str]:
        html = client_a.get(f"/t/tenant_a/accounts/?{query}").content.decode()
        return re.findall(r'<tr data-account="(\w+)">', html)

    assert order("sort=-active_7") == ["many", "few"]
    assert order("sort=active_7") == ["few", "many"]
    assert order("sort=name") == ["few", "many"]
    assert order("sort=-name") == ["many", "few"]
    assert order("sort=-users") == ["many", "few"]
    assert order("sort=-sessions_30") == ["many", "few"]
    assert order("sort=sessions_30") == ["few", "many"]
    ingest_feedback(tenant_a, featureId="f", userId="u1", companyId="few", score=5)
    assert order("sort=-feedback_avg") == ["few", "many"]
    assert order("sort=feedback_avg") == ["few", "many"]  # no score: always last
    # An unknown sort falls back to the default (last seen) instead of failing.
    assert client_a.get("/t/tenant_a/accounts/?sort=bogus").status_code == 200


def test_accounts_filter_by_search_trait_and_last_seen(client_a, tenant_a):
    ingest_segment(
        tenant_a,
        *identify("u1", "old-co", day=40),
        *identify("u2", "new-co", day=1),
        {
            "type": "group",
            "userId": "u2",
            "groupId": "new-co",
            "traits": {"seats": 12, "tier": "gold"},
            "timestamp": days_ago(1),
        },
    )

    def shown(query: str) -> set[str]:
        html = client_a.get(f"/t/tenant_a/accounts/?{query}").content.decode()
        return set(re.findall(r'<tr data-account="([\w-]+)">', html))

    assert shown("search=old") == {"old-co"}
    assert shown("search=NEW-C") == {"new-co"}
    assert shown("trait=tier%3Dgold") == {"new-co"}
    assert shown("trait=seats%3D12") == {"new-co"}  # numbers match as numbers
    assert shown("trait=seats") == {"new-co"}  # a key alone: the trait is set
    assert shown("trait=tier%3Dsilver") == set()
    since = (NOW - timedelta(days=7)).date().isoformat()
    assert shown(f"seen_from={since}") == {"new-co"}
    assert shown(f"seen_to={since}") == {"old-co"}
    bad = client_a.get("/t/tenant_a/accounts/?seen_from=notadate")
    assert bad.status_code == 200
    assert "Enter a valid date" in bad.content.decode()


def test_accounts_page_query_count_is_constant(
    client_a, tenant_a, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u0", "acc0"), page_view("u0", "acc0", day=0))
    # 6 for the session, user, membership, schema and tenant switcher; then
    # the count, the page and the page's figures (sorted by a figure: one
    # more, the ranking then the page's accounts).
    limits = {"": 9, "?sort=-active_30": 10, "?sort=feedback_avg": 10}
    for query, limit in limits.items():
        with django_assert_max_num_queries(limit):
            assert client_a.get(f"/t/tenant_a/accounts/{query}").status_code == 200
    messages = []
    for n in range(1, 30):
        messages += [
            *identify(f"u{n}", f"acc{n}"),
            page_view(f"u{n}", f"acc{n}", day=0),
        ]
    ingest_segment(tenant_a, *messages)
    for query, limit in limits.items():
        with django_assert_max_num_queries(limit):
            html = client_a.get(f"/t/tenant_a/accounts/{query}").content.decode()
        assert html.count("<tr data-account=") == 30


def test_accounts_are_paginated(client_a, tenant_a, settings):
    settings.UI_PAGE_SIZE = 2
    ingest_segment(tenant_a, *[m for n in range(5) for m in identify(f"u{n}", f"a{n}")])
    html = client_a.get("/t/tenant_a/accounts/?sort=name&page=3").content.decode()
    assert re.findall(r'<tr data-account="(\w+)">', html) == ["a4"]
    assert "Page 3 of 3" in html


def test_empty_tenant_shows_how_to_connect_a_client(client_a, tenant_a):
    for path in ("accounts/", "users/", "events/", "feedback/"):
        html = client_a.get(f"/t/tenant_a/{path}").content.decode()
        assert "No tracking data yet" in html, path
        assert 'href="/t/tenant_a/settings/#connect"' in html


# -- account page -----------------------------------------------------------------


def test_account_page_shows_figures_users_traits_chart_and_timeline(client_a, acme):
    response = client_a.get(f"/t/tenant_a/accounts/{account_id(acme, 'acme')}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>Acme</h1>" in html
    for name in ("Ann", "Bob", "Cid"):
        assert name in html
    assert '<th scope="row">plan</th>' in html  # every trait
    # Active users per day over 30 days: bars on the 3 days ann or bob came.
    svg = re.search(r'<svg[^>]*role="img".*?</svg>', html, re.S).group(0)
    bar_days = re.findall(r'<rect class="bar"[^>]*data-day="([\d-]+)"', svg)
    expected = {
        (TODAY_NOON - timedelta(days=d)).date().isoformat() for d in (0, 3, 10, 20)
    }
    assert set(bar_days) == expected
    assert 'aria-label="Active users per day' in svg
    # Timeline: newest first, with the user and the properties.
    timeline = html[html.index('id="timeline"') :]
    names = re.findall(r"<td><code>([\w. ]+)</code></td>", timeline)
    assert names[0] == "page.viewed" and "Report Exported" in names
    assert "format: csv" in timeline


def test_account_chart_can_show_events_over_90_days(client_a, acme):
    url = f"/t/tenant_a/accounts/{account_id(acme, 'acme')}/?measure=events&days=90"
    html = client_a.get(url).content.decode()
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert svg.count("<rect") == 4
    assert re.search(r'data-day="[\d-]+" data-value="3"', svg)  # 2 views, 1 track
    assert html.count("<tr><td><time") == 90  # the data table: every day


def test_account_timeline_pages_older_events_by_keyset(client_a, acme, monkeypatch):
    monkeypatch.setattr(tracking_views, "TIMELINE_SIZE", 2)
    url = f"/t/tenant_a/accounts/{account_id(acme, 'acme')}/"
    seen = []
    for _ in range(10):
        html = client_a.get(url).content.decode()
        timeline = html[html.index('id="timeline"') :]
        seen += re.findall(r'<time datetime="([^"]+)"', timeline)
        older = re.search(r'href="([^"]+)" rel="next">Older', timeline)
        if not older:
            break
        url = older.group(1).replace("&amp;", "&")
        assert url.startswith("?before=")
        url = f"/t/tenant_a/accounts/{account_id(acme, 'acme')}/" + url
    assert len(seen) == 6  # the account's 6 events, each once
    assert seen == sorted(seen, reverse=True)


def test_another_tenants_account_and_user_are_not_found(client_a, acme, globex):
    assert (
        client_a.get(
            f"/t/tenant_a/accounts/{account_id(globex, 'globex')}/"
        ).status_code
        == 404
    )
    assert (
        client_a.get(f"/t/tenant_a/users/{user_id(globex, 'zed')}/").status_code == 404
    )


def test_non_members_get_404_on_every_tracking_page(client_b, acme):
    for path in (
        "accounts/",
        "users/",
        "events/",
        "feedback/",
        f"accounts/{account_id(acme, 'acme')}/",
    ):
        assert client_b.get(f"/t/tenant_a/{path}").status_code == 404


def test_viewers_read_every_tracking_page(viewer_client_a, acme):
    paths = [
        "accounts/",
        "users/",
        "events/",
        "feedback/",
        f"accounts/{account_id(acme, 'acme')}/",
        f"users/{user_id(acme, 'ann')}/",
    ]
    for path in paths:
        assert viewer_client_a.get(f"/t/tenant_a/{path}").status_code == 200, path


def test_account_page_query_count_is_constant(
    client_a, tenant_a, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u0", "big"), page_view("u0", "big", day=0))
    url = f"/t/tenant_a/accounts/{account_id(tenant_a, 'big')}/"
    with django_assert_max_num_queries(15):
        assert client_a.get(url).status_code == 200
    messages = []
    for n in range(1, 30):
        messages += [*identify(f"u{n}", "big"), page_view(f"u{n}", "big", day=n % 20)]
    ingest_segment(tenant_a, *messages)
    with django_assert_max_num_queries(15):
        html = client_a.get(url).content.decode()
    assert html.count("/users/") >= 30


# -- users --------------------------------------------------------------------


def test_users_list_searches_and_links_accounts(client_a, acme, globex):
    html = client_a.get("/t/tenant_a/users/").content.decode()
    for name in ("ann@example.com", "bob@example.com", "cid@example.com"):
        assert name in html
    assert "zed" not in html
    html = client_a.get("/t/tenant_a/users/?search=BOB").content.decode()
    assert "bob@example.com" in html and "ann@example.com" not in html
    assert f'href="/t/tenant_a/accounts/{account_id(acme, "acme")}/"' in html


def test_user_page_shows_accounts_sessions_and_events(client_a, acme):
    html = client_a.get(f"/t/tenant_a/users/{user_id(acme, 'ann')}/").content.decode()
    assert "ann@example.com" in html
    assert f'href="/t/tenant_a/accounts/{account_id(acme, "acme")}/"' in html
    sessions = html[html.index('id="sessions-h"') : html.index('id="timeline"')]
    assert sessions.count("<tr>") == 1 + 3  # heading + 3 sessions
    assert "Report Exported" in html


def test_users_list_query_count_is_constant(
    client_a, tenant_a, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u0", "a0"))
    with django_assert_max_num_queries(9):
        client_a.get("/t/tenant_a/users/")
    ingest_segment(
        tenant_a, *[m for n in range(30) for m in identify(f"u{n}", f"a{n}")]
    )
    with django_assert_max_num_queries(9):
        html = client_a.get("/t/tenant_a/users/").content.decode()
    assert len(re.findall(r'href="/t/tenant_a/users/\d+/"', html)) == 30


# -- events -------------------------------------------------------------------


def test_events_explorer_filters_by_type_user_and_account(client_a, acme, globex):
    def names(query: str) -> list[str]:
        html = client_a.get(f"/t/tenant_a/events/?{query}").content.decode()
        return re.findall(r"<td><code>([\w. ]+)</code></td>", html)

    # The last 7 days by default.
    assert sorted(names("")) == ["Report Exported"] + ["page.viewed"] * 3
    assert names("name=Report+Exported") == ["Report Exported"]
    assert names("user=ann%40example.com&name=page.viewed") == ["page.viewed"] * 3
    assert names("user=bob") == []  # bob's only event is 10 days old
    since = (NOW - timedelta(days=30)).date().isoformat()
    assert names(f"user=bob&since={since}") == ["page.viewed"]
    assert names("account=acme&properties=csv") == ["Report Exported"]
    assert names("account=nobody") == []
    assert "Secret Thing" not in names(f"since={since}")


def test_events_chart_counts_events_per_day_of_the_range(client_a, acme):
    since = (NOW - timedelta(days=29)).date()
    html = client_a.get(f"/t/tenant_a/events/?since={since}").content.decode()
    bars = dict(re.findall(r'data-day="([\d-]+)" data-value="(\d+)"', html))
    day = lambda n: (TODAY_NOON - timedelta(days=n)).date().isoformat()  # noqa: E731
    assert bars == {day(0): "1", day(3): "3", day(10): "1", day(20): "1"}
    assert html.count("<tr><td><time") == 30  # the table: every day, zero-filled


def test_events_explorer_pages_by_keyset_and_query_count_is_constant(
    client_a, tenant_a, settings, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u", "acc"), track("u", "acc", "E0", day=0))
    with django_assert_max_num_queries(10):
        client_a.get("/t/tenant_a/events/")
    ingest_segment(tenant_a, *[track("u", "acc", f"E{n}", day=0) for n in range(1, 30)])
    with django_assert_max_num_queries(10):
        html = client_a.get("/t/tenant_a/events/").content.decode()
    assert html.count("<td><code>E") == 30
    settings.UI_PAGE_SIZE = 20
    first = client_a.get("/t/tenant_a/events/").content.decode()
    older = re.search(r'href="([^"]+)" rel="next">Older', first).group(1)
    second = client_a.get("/t/tenant_a/events/" + older.replace("&amp;", "&"))
    names = re.findall(r"<td><code>(E\d+)</code></td>", first)
    names += re.findall(r"<td><code>(E\d+)</code></td>", second.content.decode())
    assert sorted(names) == sorted(f"E{n}" for n in range(30))


# -- feedback -------------------------------------------------------------------


def test_feedback_lists_answers_filters_and_averages_per_feature(client_a, acme):
    ingest_feedback(acme, featureId="search", userId="ann", companyId="acme", score=5)
    html = client_a.get("/t/tenant_a/feedback/").content.decode()
    assert "slow" in html
    features = html[html.index('id="features-h"') : html.index("<h2>Answers")]
    assert re.search(
        r"export</code></a></td>\s*<td class=\"num\">2</td>.*?3\.00 ★", features, re.S
    )
    assert "5.00 ★" in features
    html = client_a.get("/t/tenant_a/feedback/?score=2").content.decode()
    answers = html[html.index("<h2>Answers") :]
    assert "slow" in answers and answers.count("★</span>") == 1
    html = client_a.get("/t/tenant_a/feedback/?feature=search").content.decode()
    assert "slow" not in html
    html = client_a.get("/t/tenant_a/feedback/?account=nomatch").content.decode()
    assert "No feedback matches" in html


def test_feedback_query_count_is_constant(
    client_a, tenant_a, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u", "acc"))
    ingest_feedback(tenant_a, featureId="f0", userId="u", companyId="acc", score=3)
    with django_assert_max_num_queries(9):
        client_a.get("/t/tenant_a/feedback/")
    for n in range(1, 30):
        ingest_feedback(
            tenant_a, featureId=f"f{n}", userId="u", companyId="acc", score=1 + n % 5
        )
    with django_assert_max_num_queries(9):
        html = client_a.get("/t/tenant_a/feedback/").content.decode()
    assert html.count('<td><span class="badge">bucket') == 30


def test_user_page_query_count_is_constant(
    client_a, tenant_a, django_assert_max_num_queries
):
    ingest_segment(tenant_a, *identify("u", "a0"), page_view("u", "a0", day=0))
    url = f"/t/tenant_a/users/{user_id(tenant_a, 'u')}/"
    with django_assert_max_num_queries(12):
        assert client_a.get(url).status_code == 200
    messages = [m for n in range(1, 30) for m in identify("u", f"a{n}")]
    messages += [page_view("u", f"a{n}", day=n % 20) for n in range(1, 30)]
    messages += [track("u", "a1", f"E{n}", day=0) for n in range(30)]
    ingest_segment(tenant_a, *messages)
    with django_assert_max_num_queries(12):
        html = client_a.get(url).content.decode()
    assert html.count('href="/t/tenant_a/accounts/') >= 30
    assert html.count("<td><code>E") == 30
