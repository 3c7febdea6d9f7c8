"""Seed a tenant's tracking store with many accounts, for the UI benchmark.

``seed_accounts`` writes, set-based in SQL (seconds, not the hours 1.5 million
ingested messages would take), what ingestion would have derived for
``accounts`` accounts of ``users_per_account`` users each over ``days`` days:
accounts (with traits and last-seen times spread over the period), users and
their links, ``account_day_users`` (each user active on about 40% of the days),
``account_usage`` consistent with it, and feedback for a third of the
accounts; then ``ANALYZE``. Run it with the tenant's schema active
(``with tenant:`` or ``connection.set_tenant``); it adds to what is there.

    from bench._ui_tracking_seed import seed_accounts
    seed_accounts(accounts=10_000, users_per_account=5, days=30)
"""

from django.db import connection

SEED_SQL = (
    """
INSERT INTO accounts (external_id, name, traits, first_seen_at, last_seen_at,
  created_at, updated_at)
SELECT 'acc-' || g, 'Account ' || g,
  jsonb_build_object(
    'plan', (ARRAY['free', 'team', 'pro', 'enterprise'])[1 + g %% 4],
    'seats', 1 + g %% 50,
    'region', (ARRAY['eu', 'us', 'apac'])[1 + g %% 3]),
  now() - make_interval(days => %(days)s + 30),
  now() - make_interval(mins => (g * 7919) %% (%(days)s * 1440)),
  now(), now()
FROM generate_series(1, %(accounts)s) g
""",
    """
INSERT INTO users (external_id, name, first_name, last_name, email, traits,
  first_seen_at, last_seen_at, created_at, updated_at)
SELECT 'u-' || a.id || '-' || k, 'User ' || a.id || '-' || k, 'User',
  a.id || '-' || k, 'u' || a.id || '-' || k || '@example.com', '{}',
  a.first_seen_at, a.last_seen_at, now(), now()
FROM accounts a CROSS JOIN generate_series(1, %(users_per_account)s) k
WHERE a.external_id LIKE 'acc-%%'
  AND NOT EXISTS (SELECT 1 FROM account_users x WHERE x.account_id = a.id)
""",
    """
INSERT INTO account_users (user_id, account_id, created_at)
SELECT u.id, split_part(u.external_id, '-', 2)::bigint, now()
FROM users u
WHERE u.external_id LIKE 'u-%%'
  AND NOT EXISTS (SELECT 1 FROM account_users x WHERE x.user_id = u.id)
""",
    """
INSERT INTO account_day_users (account_id, day, user_id)
SELECT au.account_id, (now() AT TIME ZONE 'UTC')::date - d, au.user_id
FROM account_users au CROSS JOIN generate_series(0, %(days)s - 1) d
WHERE abs(hashtext(au.user_id || ':' || d)) %% 10 < 4
ON CONFLICT DO NOTHING
""",
    """
INSERT INTO account_usage (account_id, day, active_users, sessions,
  page_views, events, feedback_count, feedback_scored, feedback_score_sum)
SELECT account_id, day, count(*), count(*) + count(*) / 2, count(*) * 4,
  count(*) * 9, 0, 0, 0
FROM account_day_users GROUP BY account_id, day
ON CONFLICT (account_id, day) DO NOTHING
""",
    """
INSERT INTO feedback (feature_id, user_id, account_id, score, comment,
  question, source, message_id, created_at)
SELECT 'feature-' || (au.user_id %% 7), au.user_id, au.account_id,
  1 + au.user_id %% 5, '', 'How useful is it?', 'bench',
  'bench-' || au.user_id, now()
FROM account_users au
WHERE au.account_id %% 3 = 0 AND au.user_id %% 2 = 0
""",
    "ANALYZE accounts, users, account_users, account_day_users, account_usage, "
    "feedback",
)


def seed_accounts(
    *, accounts: int = 10_000, users_per_account: int = 5, days: int = 30
) -> None:
    """Write the accounts, users, activity and feedback described above."""
    params = {
        "accounts": accounts,
        "users_per_account": users_per_account,
        "days": days,
    }
    with connection.cursor() as cursor:
        for sql in SEED_SQL:
            cursor.execute(sql, params)
