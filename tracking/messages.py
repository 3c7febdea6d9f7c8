"""Canonical tracking messages: what every dialect adapter produces.

Adapters (``tracking/dialects/<vendor>.py``) are pure functions from a vendor
payload to a list of :class:`Message` or a :class:`DialectError` naming every
bad field; they decide nothing else. ``tracking/ingest.py`` is the one writer.
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    USER = "user"  # identify a customer user (traits, accounts)
    ACCOUNT = "account"  # identify an account / company / group
    ORGANIZATION = "organization"  # identify an organization (Vitally)
    EVENT = "event"  # track / page / screen
    FEEDBACK = "feedback"  # a 1-5 score and/or a comment about a feature
    CUSTOM_OBJECT = "custom_object"  # a custom object instance (Vitally)
    UNLINK = "unlink"  # remove a user from an account (Vitally)
    ALIAS = "alias"  # a user's previous id becomes this user (Segment)


# The event name every dialect's page view becomes; sessions are built from it.
PAGE_VIEWED = "page.viewed"


@dataclass(frozen=True)
class Message:
    """One canonical message. Ids are the customer's (external) ids, as text."""

    kind: Kind
    source: str  # "segment", "vitally", "bucket" or "gather"
    # The message's id: the one the client sent (Segment's and Vitally's
    # messageId, Gather's event id), its dedupe key, unique per tenant
    # forever; or, when it sent none, one made for it (``deduplicate=False``).
    message_id: str
    timestamp: datetime  # when it happened (aware, UTC), clock skew corrected
    # Segment's times as the client sent them, before that correction: its
    # ``originalTimestamp`` (else ``timestamp``) and ``sentAt``; None when
    # not sent (and in dialects without them).
    original_timestamp: datetime | None = None
    sent_at: datetime | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    account_id: str | None = None
    organization_id: str | None = None
    # USER / ACCOUNT / ORGANIZATION / CUSTOM_OBJECT: traits to merge (request wins).
    traits: dict[str, Any] = field(default_factory=dict)
    # EVENT: its name (`page.viewed` for page views), properties and context.
    event: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    # False: this message must not move anyone's last-seen (Bucket's
    # context.active=false, Segment's context.active=false).
    active: bool = True
    # FEEDBACK
    feature_id: str | None = None
    score: int | None = None
    comment: str | None = None
    question: str | None = None
    # CUSTOM_OBJECT: the object type's id, the instance's id and name.
    # FEEDBACK: ``external_id`` is the id of earlier feedback this call
    # updates (Bucket's ``feedbackId``); without it the call is new feedback
    # whose id is its message id.
    custom_object_id: str | None = None
    external_id: str | None = None
    name: str | None = None
    # ALIAS: the previous id of the user now known as `user_id`.
    previous_id: str | None = None
    # False when ``message_id`` was made here, the client having sent none:
    # such a message is never a duplicate (two identical calls are two
    # calls), and no receipt of it is kept.
    deduplicate: bool = True


@dataclass(frozen=True)
class FieldError:
    """One bad field: ``path`` like ``batch[3].userId``, and why, in words."""

    path: str
    message: str


class DialectError(Exception):
    """A payload the dialect rejects: every bad field, so one 400 names them all."""

    def __init__(self, errors: list[FieldError], *, status: int = 400) -> None:
        super().__init__("; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors
        self.status = status
