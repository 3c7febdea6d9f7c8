"""Tracking screens in a real browser, with data sent the way a customer's
Segment SDK sends it: ``POST /v1/batch`` with the tracking key."""

import base64
import random
import re
import uuid
from datetime import UTC, datetime, timedelta

from tests.browser.conftest import screenshot
from tests.live import request

NOW = datetime.now(UTC).replace(microsecond=0)
FEATURES = ["Dashboard Viewed", "Report Exported", "Invite Sent", "Filter Saved"]
COMPANIES = [
    "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises",
    "Wonka", "Soylent", "Cyberdyne", "Tyrell", "Vandelay",
]  # fmt: skip


def at(days_ago: int, minutes: int = 0) -> datetime:
    """A time ``days_ago`` days before now, an hour back (never in the future)."""
    return NOW - timedelta(days=days_ago, hours=1) + timedelta(minutes=minutes)


def identify(user: str, account: str, name: str, when: datetime, **traits) -> list:
    return [
        {
            "type": "identify",
            "userId": user,
            "traits": {"name": user.title(), "email": f"{user}@{account}.example"},
            "timestamp": when.isoformat(),
        },
        {
            "type": "group",
            "userId": user,
            "groupId": account,
            "traits": {"name": name, **traits},
            "timestamp": when.isoformat(),
        },
    ]


def page(user: str, account: str, when: datetime, path: str = "/home") -> dict:
    return {
        "type": "page",
        "userId": user,
        "name": path,
        "properties": {"path": path},
        "context": {"groupId": account},
        "timestamp": when.isoformat(),
    }


def track(user: str, account: str, event: str, when: datetime, **props) -> dict:
    return {
        "type": "track",
        "userId": user,
        "event": event,
        "properties": props,
        "context": {"groupId": account},
        "timestamp": when.isoformat(),
    }


def send(base_url: str, key: str, messages: list[dict]) -> None:
    auth = base64.b64encode(f"{key}:".encode()).decode()
    for start in range(0, len(messages), 200):
        batch = [
            {"messageId": str(uuid.uuid4()), **m} for m in messages[start : start + 200]
        ]
        status, _, body = request(
            "POST", f"{base_url}/v1/batch", {"batch": batch},
            Authorization=f"Basic {auth}",
        )  # fmt: skip
        assert status == 200, body


def known_accounts() -> list[dict]:
    """Acme: ann (page views 0, 2 and 5 days ago), bob (an export 2 days ago),
    cid (identified 9 days ago, nothing since). Globex: dan (a page view 12
    days ago), eve (an export yesterday)."""
    return [
        *identify("ann", "acme", "Acme", at(20), plan="enterprise", seats=40),
        *identify("bob", "acme", "Acme", at(20)),
        *identify("cid", "acme", "Acme", at(9)),
        page("ann", "acme", at(5)),
        page("ann", "acme", at(2)),
        page("ann", "acme", at(0), "/reports"),
        track("bob", "acme", "Report Exported", at(2), format="csv"),
        *identify("dan", "globex", "Globex", at(15), plan="team", seats=8),
        *identify("eve", "globex", "Globex", at(15)),
        page("dan", "globex", at(12)),
        track("eve", "globex", "Report Exported", at(1), format="pdf"),
    ]


def realistic_accounts(rng: random.Random) -> list[dict]:
    """Ten more companies with a few weeks of page views and feature use."""
    messages: list[dict] = []
    for n, company in enumerate(COMPANIES):
        account = company.lower().replace(" ", "-")
        users = [f"{account}-{k}" for k in range(rng.randint(2, 6))]
        for user in users:
            messages += identify(
                user, account, company, at(27),
                plan=rng.choice(["free", "team", "pro", "enterprise"]),
                seats=rng.randint(3, 120), region=rng.choice(["eu", "us", "apac"]),
            )  # fmt: skip
            for day in range(26, -1, -1):
                if rng.random() < 0.25 + 0.04 * n:
                    for minute in sorted(rng.sample(range(0, 50), rng.randint(1, 3))):
                        messages.append(
                            page(user, account, at(day, minute),
                                 rng.choice(["/home", "/reports", "/settings"]))
                        )  # fmt: skip
                    if rng.random() < 0.6:
                        messages.append(
                            track(user, account, rng.choice(FEATURES), at(day, 55))
                        )
    return messages


def row_figures(page_, account: str) -> dict[str, str]:
    row = page_.locator(f'tr[data-account="{account}"]')
    return {
        col: row.locator(f'td[data-col="{col}"]').inner_text().strip()
        for col in ("users", "active_7", "active_30")
    }


def test_tracking_screens_show_what_the_segment_sdk_sent(page, ui_tenant, tracking_key):
    send(ui_tenant.base_url, tracking_key, known_accounts())
    send(ui_tenant.base_url, tracking_key, realistic_accounts(random.Random(5)))

    # Accounts table: both known accounts with the right figures.
    page.goto(ui_tenant.url("accounts/"))
    page.get_by_role("link", name="Accounts", exact=True).first.wait_for()
    assert page.locator("tr[data-account]").count() == 12
    assert row_figures(page, "acme") == {
        "users": "3",
        "active_7": "2",
        "active_30": "2",
    }
    assert row_figures(page, "globex") == {
        "users": "2", "active_7": "1", "active_30": "2",
    }  # fmt: skip
    screenshot(page, "accounts")

    # Sorting by 7-day actives through the column heading.
    page.get_by_role("link", name="Active 7d").click()
    page.wait_for_url("**sort=-active_7**")
    actives = [
        int(t) for t in page.locator('td[data-col="active_7"]').all_inner_texts()
    ]
    assert actives == sorted(actives, reverse=True)

    # The account page: a bar on each day someone was active, the timeline.
    page.goto(ui_tenant.url("accounts/"))
    page.get_by_role("link", name="Acme", exact=True).click()
    page.get_by_role("heading", name="Acme", level=1).wait_for()
    chart = page.locator('svg[role="img"]')
    assert "Active users per day" in chart.get_attribute("aria-label")
    days = set(
        chart.locator("rect.bar").evaluate_all("rs => rs.map(r => r.dataset.day)")
    )
    assert days == {at(d).date().isoformat() for d in (0, 2, 5)}
    timeline = page.locator("table.events tbody tr")
    assert timeline.count() == 4  # 3 page views and 1 export
    assert "Report Exported" in timeline.all_inner_texts()[2] or any(
        "Report Exported" in row for row in timeline.all_inner_texts()
    )
    assert "format: csv" in page.locator("table.events").inner_text()
    screenshot(page, "account")

    # Events explorer filtered by type: that type only, chart included.
    page.goto(ui_tenant.url("events/"))
    page.get_by_label("Type").fill("Report Exported")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**name=Report+Exported**")
    names = page.locator("table.events tbody tr td:nth-child(2)").all_inner_texts()
    assert names and set(names) == {"Report Exported"}
    assert page.locator('svg[role="img"] rect.bar').count() >= 1
    page.goto(ui_tenant.url("events/"))
    screenshot(page, "events")

    # A user page from the users list.
    page.goto(ui_tenant.url("users/?search=ann"))
    page.get_by_role("link", name="Ann", exact=True).click()
    page.get_by_role("heading", name="Ann", level=1).wait_for()
    assert page.locator("table.sessions tbody tr").count() == 3
    assert re.search(r"Acme", page.locator("main").inner_text())
