"""The tracking store as read-only REST resources (``/rest/v1/accounts`` ...).

Writes go through the tracking endpoints (one writer, exactly once); through
``/rest/v1`` these tables are read with the full PostgREST grammar.
"""

from pgrest.registry import (
    ColumnSpec,
    Resource,
    column_from_model,
    register,
    to_many,
    to_one,
)
from tracking.models import (
    Account,
    AccountUsage,
    AccountUser,
    CustomerUser,
    CustomObjectInstance,
    Event,
    Feedback,
    Organization,
    Session,
)


def _columns(model, *names: str) -> dict[str, ColumnSpec]:
    """Read-only columns as the model declares them (type, null, length)."""
    return {
        name: column_from_model(model, name, readonly=True, required=False)
        for name in names
    }


SEEN = ("first_seen_at", "last_seen_at")
STAMPS = ("created_at", "updated_at")

register(
    Resource(
        name="organizations",
        table="organizations",
        description="Organizations (groups of accounts).",
        columns=_columns(
            Organization,
            "id",
            "external_id",
            "name",
            "traits",
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
            Account,
            "id",
            "external_id",
            "name",
            "traits",
            "organization_id",
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
            CustomerUser,
            "id",
            "external_id",
            "name",
            "first_name",
            "last_name",
            "email",
            "traits",
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
            AccountUser,
            "id",
            "user_id",
            "account_id",
            "created_at",
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
            Event,
            "id",
            "event_time",
            "received_at",
            # Segment's times as the client sent them (null elsewhere).
            "original_timestamp",
            "sent_at",
            "name",
            "properties",
            "context",
            "user_id",
            "account_id",
            "anonymous_id",
            "message_id",
            "source",
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
            Feedback,
            "id",
            "feature_id",
            "user_id",
            "account_id",
            "score",
            "comment",
            "question",
            "source",
            "message_id",
            "created_at",
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
            CustomObjectInstance,
            "id",
            "custom_object_id",
            "external_id",
            "name",
            "account_id",
            "traits",
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
            Session,
            "id",
            "user_id",
            "account_id",
            "started_at",
            "ended_at",
            "page_views",
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
            AccountUsage,
            "id",
            "account_id",
            "day",
            "active_users",
            "sessions",
            "page_views",
            "events",
            "feedback_count",
            "feedback_scored",
            "feedback_score_sum",
        ),
        relations={
            "accounts": to_one("accounts", "account_id"),
        },
        default_order=("account_id", "day"),
    )
)
