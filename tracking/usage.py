"""Sessions and daily account usage, maintained incrementally by the writer.

Sessions: a user's page views (``page.viewed``) with less than 30 minutes
between them. New page views are merged with the user's sessions that lie
within 30 minutes of them, so late events extend, split nothing, and may
join two sessions into one. Usage: per account and UTC day, counters are
added to (events, page views, feedback) and recomputed where they are not
additive (active users, sessions). Every step is a constant number of
statements per request, whatever the number of events.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db import connection

from tracking.messages import PAGE_VIEWED, Kind, Message

SESSION_GAP = timedelta(minutes=30)


@dataclass
class _Span:
    start: datetime
    end: datetime
    page_views: int
    account_id: int | None


def _json(value) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def sessions_update(views: dict[int, list[tuple[datetime, int | None]]]) -> set:
    """Merge new page views (user id -> [(time, account id)]) into sessions.

    Returns the (account id, day) pairs whose session counts may have changed.
    """
    if not views:
        return set()
    times = [t for points in views.values() for t, _ in points]
    touched: set[tuple[int, date]] = set()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, user_id, started_at, ended_at, page_views, account_id "
            "FROM sessions WHERE user_id = ANY(%s) AND ended_at >= %s "
            "AND started_at <= %s ORDER BY id FOR UPDATE",
            [list(views), min(times) - SESSION_GAP, max(times) + SESSION_GAP],
        )
        existing: dict[int, list[tuple[int, _Span]]] = defaultdict(list)
        for sid, user_id, start, end, page_views, account_id in cursor.fetchall():
            existing[user_id].append((sid, _Span(start, end, page_views, account_id)))
        replaced: list[int] = []
        merged_rows = []
        for user_id, points in views.items():
            spans = [_Span(t, t, 1, account) for t, account in points]
            window_start = min(t for t, _ in points) - SESSION_GAP
            window_end = max(t for t, _ in points) + SESSION_GAP
            for sid, span in existing.get(user_id, []):
                if span.end >= window_start and span.start <= window_end:
                    replaced.append(sid)
                    spans.append(span)
                    if span.account_id is not None:
                        touched.add((span.account_id, span.start.date()))
            spans.sort(key=lambda s: s.start)
            merged: list[_Span] = []
            for span in spans:
                last = merged[-1] if merged else None
                if last is not None and span.start <= last.end + SESSION_GAP:
                    last.end = max(last.end, span.end)
                    last.page_views += span.page_views
                    last.account_id = last.account_id or span.account_id
                else:
                    merged.append(
                        _Span(span.start, span.end, span.page_views, span.account_id)
                    )
            for span in merged:
                if span.account_id is not None:
                    touched.add((span.account_id, span.start.date()))
                merged_rows.append(
                    {
                        "user_id": user_id,
                        "account_id": span.account_id,
                        "started_at": span.start,
                        "ended_at": span.end,
                        "page_views": span.page_views,
                    }
                )
        if replaced:
            cursor.execute("DELETE FROM sessions WHERE id = ANY(%s)", [replaced])
        cursor.execute(
            "INSERT INTO sessions (user_id, account_id, started_at, ended_at, "
            "page_views) SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(user_id "
            "bigint, account_id bigint, started_at timestamptz, ended_at timestamptz, "
            "page_views integer)",
            [_json(merged_rows)],
        )
    return touched


def usage_update(
    events: list[Message],
    feedback: list[Message],
    user_ids: dict[str, int],
    account_ids: dict[str, int],
) -> None:
    """Maintain sessions and per-account daily usage for a request's new data."""
    counters: dict[tuple[int, date], dict[str, int]] = defaultdict(
        lambda: {
            "events": 0,
            "page_views": 0,
            "feedback_count": 0,
            "feedback_score_sum": 0,
        }
    )
    active: set[tuple[int, date, int]] = set()
    views: dict[int, list[tuple[datetime, int | None]]] = defaultdict(list)
    for m in events:
        account = account_ids.get(m.account_id)
        user = user_ids.get(m.user_id)
        day = m.timestamp.date()
        if account is not None:
            counters[(account, day)]["events"] += 1
            if m.event == PAGE_VIEWED:
                counters[(account, day)]["page_views"] += 1
            if user is not None and m.active:
                active.add((account, day, user))
        if m.event == PAGE_VIEWED and user is not None:
            views[user].append((m.timestamp, account))
    for m in feedback:
        account = account_ids.get(m.account_id)
        if account is not None and m.kind == Kind.FEEDBACK:
            row = counters[(account, m.timestamp.date())]
            row["feedback_count"] += 1
            row["feedback_score_sum"] += m.score or 0
    touched = sessions_update(dict(views))
    if not counters and not touched:
        return
    with connection.cursor() as cursor:
        new_active: dict[tuple[int, date], int] = defaultdict(int)
        if active:
            cursor.execute(
                "INSERT INTO account_day_users (account_id, day, user_id) "
                "SELECT * FROM jsonb_to_recordset(%s::jsonb) AS r(account_id bigint, "
                "day date, user_id bigint) ON CONFLICT DO NOTHING "
                "RETURNING account_id, day",
                [
                    _json(
                        [
                            {"account_id": a, "day": d, "user_id": u}
                            for a, d, u in sorted(active)
                        ]
                    )
                ],
            )
            for account, day in cursor.fetchall():
                new_active[(account, day)] += 1
        rows = [
            {
                "account_id": account,
                "day": day,
                "active_users": new_active[(account, day)],
                **values,
            }
            for (account, day), values in counters.items()
        ]
        rows += [
            {
                "account_id": a,
                "day": d,
                "active_users": 0,
                "events": 0,
                "page_views": 0,
                "feedback_count": 0,
                "feedback_score_sum": 0,
            }
            for a, d in touched
            if (a, d) not in counters
        ]
        # Sorted, like every upsert of the writer: no deadlock between requests.
        rows.sort(key=lambda row: (row["account_id"], row["day"]))
        cursor.execute(
            "INSERT INTO account_usage (account_id, day, active_users, sessions, "
            "page_views, events, feedback_count, feedback_score_sum) "
            "SELECT account_id, day, active_users, 0, page_views, events, "
            "feedback_count, feedback_score_sum FROM jsonb_to_recordset(%s::jsonb) AS "
            "r(account_id bigint, day date, active_users int, page_views int, "
            "events int, feedback_count int, feedback_score_sum int) "
            "ON CONFLICT (account_id, day) DO UPDATE SET "
            "active_users = account_usage.active_users + EXCLUDED.active_users, "
            "page_views = account_usage.page_views + EXCLUDED.page_views, "
            "events = account_usage.events + EXCLUDED.events, "
            "feedback_count = account_usage.feedback_count + EXCLUDED.feedback_count, "
            "feedback_score_sum = account_usage.feedback_score_sum "
            "+ EXCLUDED.feedback_score_sum",
            [_json(rows)],
        )
        if touched:
            # Sessions are counted on the day they start, for their account.
            cursor.execute(
                "UPDATE account_usage u SET sessions = "
                "(SELECT count(*) FROM sessions s WHERE s.account_id = u.account_id "
                "AND s.started_at >= u.day AND s.started_at < u.day + 1) "
                "FROM jsonb_to_recordset(%s::jsonb) AS r(account_id bigint, day date) "
                "WHERE u.account_id = r.account_id AND u.day = r.day",
                [_json([{"account_id": a, "day": d} for a, d in touched])],
            )
