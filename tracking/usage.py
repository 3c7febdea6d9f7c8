"""Sessions and daily account usage, maintained incrementally by the writer.

Sessions: a user's page views (``page.viewed``) with less than 30 minutes
between them. New page views are merged with the user's sessions that lie
within 30 minutes of them, so late events extend, split nothing, and may
join two sessions into one. Usage: per account and UTC day, counters are
added to: events, page views, feedback (count, count with a score, score
sum; feedback a later call updates is taken out as it was and added as it
is), active users (a user counts once per account and day, through
``account_day_users``) and sessions (+1 for each session written, -1 for
each one it replaced, on the day a session starts).

All of it rides in one of the writer's statements (``USAGE_CTES``), whatever
the number of events, with one upsert per account and day.
"""

from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from tracking.messages import PAGE_VIEWED, Kind, Message

SESSION_GAP = timedelta(minutes=30)

# The 30-minute rule, once for both statements that write sessions: ``spans``
# (user_id, account_id, started_at, ended_at, page_views: page views and the
# sessions they may join, of any number of users) become the sessions of
# ``made``: a user's spans at most the ``gap`` parameter (SESSION_GAP) apart
# are one session, with the account of its first span that has one.
SESSIONS_MERGE_CTES = """
starts AS (
  SELECT *, CASE WHEN started_at <= max(ended_at) OVER (PARTITION BY user_id
      ORDER BY started_at ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
      + %(gap)s::interval THEN 0 ELSE 1 END AS starts
  FROM spans
), numbered AS (
  SELECT *, sum(starts) OVER (PARTITION BY user_id ORDER BY started_at
    ROWS UNBOUNDED PRECEDING) AS session
  FROM starts
), made AS (
  INSERT INTO sessions (user_id, account_id, started_at, ended_at, page_views)
  SELECT user_id,
    (array_agg(account_id ORDER BY started_at)
      FILTER (WHERE account_id IS NOT NULL))[1],
    min(started_at), max(ended_at), sum(page_views)
  FROM numbered GROUP BY user_id, session
  RETURNING account_id, started_at
)"""

# Spliced into the writer's statement that follows its upserts (whose row
# locks on the users keep two requests from merging one user's sessions at
# once; the statement's snapshot then includes the sessions of whichever
# request held them before). ``a`` and ``u`` are the request's accounts and
# users (external id -> id); ``f`` and ``fo`` its feedback as written and, for
# feedback it updated, as it was. Parameters, by external id: page views (user,
# time, account), active users (account, day, user) and counters per
# (account, day). Sessions are found through their index on (user, end).
USAGE_CTES = (
    """
v AS (
  SELECT u.id AS user_id, r.at, a.id AS account_id
  FROM jsonb_to_recordset(%(views)s::jsonb)
    AS r(user_id text, at timestamptz, account_id text)
  JOIN u ON u.external_id = r.user_id
  LEFT JOIN a ON a.external_id = r.account_id
), w AS (
  SELECT user_id, min(at) - %(gap)s::interval AS lo,
    max(at) + %(gap)s::interval AS hi
  FROM v GROUP BY user_id
), gone AS (
  DELETE FROM sessions WHERE id = ANY(ARRAY(
    SELECT x.id FROM w CROSS JOIN LATERAL (
      SELECT id FROM sessions s WHERE s.user_id = w.user_id
        AND s.ended_at >= w.lo AND s.started_at <= w.hi OFFSET 0) x))
  RETURNING user_id, account_id, started_at, ended_at, page_views
), spans AS (
  SELECT user_id, account_id, at AS started_at, at AS ended_at, 1 AS page_views
  FROM v
  UNION ALL
  SELECT user_id, account_id, started_at, ended_at, page_views FROM gone
), """
    + SESSIONS_MERGE_CTES
    + """, d AS (
  INSERT INTO account_day_users (account_id, day, user_id)
  SELECT a.id, r.day, u.id
  FROM jsonb_to_recordset(%(active)s::jsonb)
    AS r(account_id text, day date, user_id text)
  JOIN a ON a.external_id = r.account_id
  JOIN u ON u.external_id = r.user_id
  ORDER BY 1, 2, 3
  ON CONFLICT DO NOTHING
  RETURNING account_id, day
), deltas (account_id, day, active_users, sessions, page_views, events,
    feedback_count, feedback_scored, feedback_score_sum) AS (
  SELECT a.id, r.day, 0, 0, r.page_views, r.events, 0, 0, 0
  FROM jsonb_to_recordset(%(counters)s::jsonb)
    AS r(account_id text, day date, page_views int, events int)
  JOIN a ON a.external_id = r.account_id
  UNION ALL
  SELECT account_id, day, 1, 0, 0, 0, 0, 0, 0 FROM d
  -- Sessions count on the day they start, for their account.
  UNION ALL
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, 0, 1, 0, 0, 0, 0, 0
  FROM made WHERE account_id IS NOT NULL
  UNION ALL
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, 0, -1, 0, 0, 0, 0, 0
  FROM gone WHERE account_id IS NOT NULL
  -- Feedback counts on the day it was given: as it is now, minus as it was
  -- (when a call updated it).
  UNION ALL
  SELECT account_id, (created_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, 1,
    (score IS NOT NULL)::int, COALESCE(score, 0)
  FROM f WHERE account_id IS NOT NULL
  UNION ALL
  SELECT account_id, (created_at AT TIME ZONE 'UTC')::date, 0, 0, 0, 0, -1,
    -(score IS NOT NULL)::int, -COALESCE(score, 0)
  FROM fo WHERE account_id IS NOT NULL
), g AS (
  INSERT INTO account_usage AS g (account_id, day, active_users, sessions,
    page_views, events, feedback_count, feedback_scored, feedback_score_sum)
  SELECT account_id, day, sum(active_users), sum(sessions), sum(page_views),
    sum(events), sum(feedback_count), sum(feedback_scored),
    sum(feedback_score_sum)
  FROM deltas GROUP BY account_id, day
  -- Sorted, like every upsert of the writer: no deadlock between requests.
  ORDER BY account_id, day
  ON CONFLICT (account_id, day) DO UPDATE SET
    active_users = g.active_users + EXCLUDED.active_users,
    sessions = g.sessions + EXCLUDED.sessions,
    page_views = g.page_views + EXCLUDED.page_views,
    events = g.events + EXCLUDED.events,
    feedback_count = g.feedback_count + EXCLUDED.feedback_count,
    feedback_scored = g.feedback_scored + EXCLUDED.feedback_scored,
    feedback_score_sum = g.feedback_score_sum + EXCLUDED.feedback_score_sum
  RETURNING 1
)"""
)


def usage_params(messages: list[Message]) -> dict[str, Any]:
    """``USAGE_CTES``' parameters for a request's new messages (rows as lists).

    Feedback is counted in SQL, from what the writer's feedback upsert
    returns (a call may update earlier feedback).
    """
    counters: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    active: set[tuple[str, date, str]] = set()
    views: list[dict[str, Any]] = []
    for m in messages:
        if m.kind == Kind.EVENT:
            day = m.timestamp.date()
            page = m.event == PAGE_VIEWED
            if m.account_id:
                row = counters[(m.account_id, day)]
                row[1] += 1
                if page:
                    row[0] += 1
                if m.user_id and m.active:
                    active.add((m.account_id, day, m.user_id))
            if page and m.user_id:
                views.append(
                    {
                        "user_id": m.user_id,
                        "at": m.timestamp,
                        "account_id": m.account_id,
                    }
                )
    return {
        "views": views,
        "active": [
            {"account_id": a, "day": d, "user_id": u} for a, d, u in sorted(active)
        ],
        "counters": [
            {"account_id": a, "day": d, "page_views": p, "events": e}
            for (a, d), (p, e) in counters.items()
        ],
        "gap": SESSION_GAP,
    }


# When an alias merges user ``old`` into user ``new``: both users' sessions are
# merged again as one user's (30-minute rule), and the sessions counters of
# their accounts' days follow (-1 for each session replaced, +1 for each one
# written, on the day it starts); ``old``'s active days become ``new``'s, a
# day both were active on counting one active user, not two.
USERS_MERGE_USAGE_SQL = (
    """
WITH gone AS (
  DELETE FROM sessions WHERE user_id IN (%(old)s, %(new)s)
  RETURNING account_id, started_at, ended_at, page_views
), spans AS (
  SELECT %(new)s::bigint AS user_id, account_id, started_at, ended_at, page_views
  FROM gone
), """
    + SESSIONS_MERGE_CTES
    + """, twice AS (
  DELETE FROM account_day_users o USING account_day_users n
  WHERE o.user_id = %(old)s AND n.user_id = %(new)s
    AND n.account_id = o.account_id AND n.day = o.day
  RETURNING o.account_id, o.day
), moved AS (
  UPDATE account_day_users SET user_id = %(new)s
  WHERE user_id = %(old)s AND (account_id, day) NOT IN (
    SELECT account_id, day FROM twice)
  RETURNING 1
), deltas (account_id, day, active_users, sessions) AS (
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, 0, 1
  FROM made WHERE account_id IS NOT NULL
  UNION ALL
  SELECT account_id, (started_at AT TIME ZONE 'UTC')::date, 0, -1
  FROM gone WHERE account_id IS NOT NULL
  UNION ALL
  SELECT account_id, day, -1, 0 FROM twice
), g AS (
  UPDATE account_usage g SET active_users = g.active_users + x.active_users,
    sessions = g.sessions + x.sessions
  FROM (
    SELECT account_id, day, sum(active_users) AS active_users,
      sum(sessions) AS sessions
    FROM deltas GROUP BY account_id, day
  ) x
  WHERE g.account_id = x.account_id AND g.day = x.day
  RETURNING 1
)
SELECT (SELECT count(*) FROM made), (SELECT count(*) FROM moved),
  (SELECT count(*) FROM g)
"""
)
