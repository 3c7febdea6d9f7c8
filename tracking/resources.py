"""The tracking store as read-only REST resources (``/rest/v1/accounts`` ...).

Writes go through the tracking endpoints (one writer, exactly once); through
``/rest/v1`` these tables are read with the full PostgREST grammar.
"""

from pgrest.registry import ColumnSpec, Resource, register, to_many, to_one


def _columns(*specs: tuple[str, str]) -> dict[str, ColumnSpec]:
    return {name: ColumnSpec(name, pg_type, readonly=True) for name, pg_type in specs}


TIMESTAMPTZ = "timestamp with time zone"
SEEN = (("first_seen_at", TIMESTAMPTZ), ("last_seen_at", TIMESTAMPTZ))
STAMPS = (("created_at", TIMESTAMPTZ), ("updated_at", TIMESTAMPTZ))

register(
    Resource(
        name="organizations",
        table="organizations",
        description="Organizations (groups of accounts).",
        columns=_columns(
            ("id", "bigint"),
            ("external_id", "text"),
            ("name", "text"),
            ("traits", "jsonb"),
            *SEEN,
            *STAMPS,
        ),
        relations={
            "accounts": to_many("accounts", "organization_id"),
        },
    )
)
register(
    Resource(
        name="accounts",
        table="accounts",
        description="Customer accounts (companies, groups).",
        columns=_columns(
            ("id", "bigint"),
            ("external_id", "text"),
            ("name", "text"),
            ("traits", "jsonb"),
            ("organization_id", "bigint"),
            *SEEN,
            *STAMPS,
        ),
        relations={
            "organizations": to_one("organizations", "organization_id"),
            "account_users": to_many("account_users", "account_id"),
            "events": to_many("events", "account_id"),
            "feedback": to_many("feedback", "account_id"),
            "account_usage": to_many("account_usage", "account_id"),
            "sessions": to_many("sessions", "account_id"),
        },
    )
)
register(
    Resource(
        name="users",
        table="users",
        description="The customers' users.",
        columns=_columns(
            ("id", "bigint"),
            ("external_id", "text"),
            ("name", "text"),
            ("first_name", "text"),
            ("last_name", "text"),
            ("email", "text"),
            ("traits", "jsonb"),
            *SEEN,
            *STAMPS,
        ),
        relations={
            "account_users": to_many("account_users", "user_id"),
            "events": to_many("events", "user_id"),
            "feedback": to_many("feedback", "user_id"),
        },
    )
)
register(
    Resource(
        name="account_users",
        table="account_users",
        description="Which users belong to which accounts.",
        columns=_columns(
            ("id", "bigint"),
            ("user_id", "bigint"),
            ("account_id", "bigint"),
            ("created_at", TIMESTAMPTZ),
        ),
        relations={
            "users": to_one("users", "user_id"),
            "accounts": to_one("accounts", "account_id"),
        },
    )
)
register(
    Resource(
        name="events",
        table="events",
        description="Tracked events (partitioned by event_time).",
        columns=_columns(
            ("id", "bigint"),
            ("event_time", TIMESTAMPTZ),
            ("received_at", TIMESTAMPTZ),
            # Segment's times as the client sent them (null elsewhere).
            ("original_timestamp", TIMESTAMPTZ),
            ("sent_at", TIMESTAMPTZ),
            ("name", "text"),
            ("properties", "jsonb"),
            ("context", "jsonb"),
            ("user_id", "bigint"),
            ("account_id", "bigint"),
            ("anonymous_id", "text"),
            ("message_id", "text"),
            ("source", "text"),
        ),
        relations={
            "users": to_one("users", "user_id"),
            "accounts": to_one("accounts", "account_id"),
        },
        default_order=("event_time", "id"),
    )
)
register(
    Resource(
        name="feedback",
        table="feedback",
        description="Feedback on features: a 1-5 score and/or a comment.",
        columns=_columns(
            ("id", "bigint"),
            ("feature_id", "text"),
            ("user_id", "bigint"),
            ("account_id", "bigint"),
            ("score", "smallint"),
            ("comment", "text"),
            ("question", "text"),
            ("source", "text"),
            ("message_id", "text"),
            ("created_at", TIMESTAMPTZ),
        ),
        relations={
            "users": to_one("users", "user_id"),
            "accounts": to_one("accounts", "account_id"),
        },
    )
)
register(
    Resource(
        name="custom_object_instances",
        table="custom_object_instances",
        description="Instances of custom objects (Vitally).",
        columns=_columns(
            ("id", "bigint"),
            ("custom_object_id", "bigint"),
            ("external_id", "text"),
            ("name", "text"),
            ("account_id", "bigint"),
            ("traits", "jsonb"),
            *STAMPS,
        ),
        relations={
            "accounts": to_one("accounts", "account_id"),
        },
    )
)
register(
    Resource(
        name="sessions",
        table="sessions",
        description="Users' visits: page views less than 30 minutes apart.",
        columns=_columns(
            ("id", "bigint"),
            ("user_id", "bigint"),
            ("account_id", "bigint"),
            ("started_at", TIMESTAMPTZ),
            ("ended_at", TIMESTAMPTZ),
            ("page_views", "integer"),
        ),
        relations={
            "users": to_one("users", "user_id"),
            "accounts": to_one("accounts", "account_id"),
        },
        default_order=("started_at", "id"),
    )
)
register(
    Resource(
        name="account_usage",
        table="account_usage",
        description="Per account and UTC day: active users, sessions, page views, "
        "events and feedback (count, count with a score, score sum).",
        columns=_columns(
            ("id", "bigint"),
            ("account_id", "bigint"),
            ("day", "date"),
            ("active_users", "integer"),
            ("sessions", "integer"),
            ("page_views", "integer"),
            ("events", "integer"),
            ("feedback_count", "integer"),
            ("feedback_scored", "integer"),
            ("feedback_score_sum", "integer"),
        ),
        relations={
            "accounts": to_one("accounts", "account_id"),
        },
        default_order=("account_id", "day"),
    )
)
