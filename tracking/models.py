"""The tracking store, one copy per tenant schema.

External ids are the customer's own (from their SDK calls); internal ids are
ours. ``events`` is partitioned by event time (a default partition from the
start; monthly partitions can be attached as a tenant grows) and has no
foreign keys, so it can take hundreds of millions of rows per tenant.
"""

from django.db import models
from django.db.models import Q
from django.utils import timezone


class Organization(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=500, blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "organizations"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class Account(models.Model):
    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=500, blank=True, default="")
    traits = models.JSONField(default=dict, blank=True)
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="accounts",
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "accounts"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name or self.external_id


class CustomerUser(models.Model):
    """An end user of a tenant's customer (not a Gather Grid user)."""

    external_id = models.CharField(max_length=255, unique=True)
    name = models.CharField(max_length=500, blank=True, default="")
    first_name = models.CharField(max_length=255, blank=True, default="")
    last_name = models.CharField(max_length=255, blank=True, default="")
    email = models.CharField(max_length=320, blank=True, default="", db_index=True)
    traits = models.JSONField(default=dict, blank=True)
    accounts = models.ManyToManyField(
        Account, through="AccountUser", related_name="users", blank=True
    )
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "users"
        ordering = ["id"]
        verbose_name = "customer user"

    def __str__(self) -> str:
        return self.email or self.external_id


class AccountUser(models.Model):
    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE)
    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "account_users"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "account"], name="account_users_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.account_id}"


class Event(models.Model):
    """A tracked event. The table is created by migration SQL (partitioned)."""

    id = models.BigIntegerField(primary_key=True)
    # When it happened (corrected for the client's clock, see tracking.md)
    # and when it arrived; Segment's own times as the client sent them
    # (``originalTimestamp``, else ``timestamp``; ``sentAt``), null for
    # dialects without them.
    event_time = models.DateTimeField()
    received_at = models.DateTimeField()
    original_timestamp = models.DateTimeField(null=True)
    sent_at = models.DateTimeField(null=True)
    name = models.CharField(max_length=500)
    properties = models.JSONField(default=dict)
    context = models.JSONField(default=dict)
    user_id = models.BigIntegerField(null=True)
    account_id = models.BigIntegerField(null=True)
    anonymous_id = models.CharField(max_length=255, null=True)  # noqa: DJ001
    message_id = models.CharField(max_length=255)
    source = models.CharField(max_length=20)

    class Meta:
        db_table = "events"
        managed = False
        ordering = ["event_time", "id"]

    def __str__(self) -> str:
        return f"{self.name} at {self.event_time}"


class MessageReceipt(models.Model):
    """Every message ever accepted, by a hash of its source and message id.

    Dedupe has no time window: a retried batch is recognised however late.
    """

    key = models.UUIDField(primary_key=True)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "message_receipts"

    def __str__(self) -> str:
        return str(self.key)


class Feedback(models.Model):
    feature_id = models.CharField(max_length=255)
    user = models.ForeignKey(
        CustomerUser, null=True, blank=True, on_delete=models.SET_NULL
    )
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL
    )
    score = models.SmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True, default="")
    question = models.TextField(blank=True, default="")
    source = models.CharField(max_length=20)
    # The feedback's id: the message id of the call that created it (what
    # Bucket's answer calls ``feedbackId``; later calls naming it update it).
    message_id = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "feedback"
        ordering = ["id"]
        verbose_name_plural = "feedback"
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5),
                name="feedback_score_1_to_5",
            ),
            models.UniqueConstraint(
                fields=["source", "message_id"], name="feedback_source_message"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.feature_id}: {self.score}"


class CustomObject(models.Model):
    """A custom object type (Vitally's customObjectId)."""

    external_id = models.CharField(max_length=255, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "custom_objects"

    def __str__(self) -> str:
        return self.external_id


class CustomObjectInstance(models.Model):
    custom_object = models.ForeignKey(
        CustomObject, on_delete=models.CASCADE, related_name="instances"
    )
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=500, blank=True, default="")
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL
    )
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "custom_object_instances"
        constraints = [
            models.UniqueConstraint(
                fields=["custom_object", "external_id"],
                name="custom_object_instances_unique",
            )
        ]

    def __str__(self) -> str:
        return self.name or self.external_id


class Session(models.Model):
    """A user's visit: page views with less than 30 minutes between them."""

    user = models.ForeignKey(CustomerUser, on_delete=models.CASCADE)
    account_id = models.BigIntegerField(null=True, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField()
    page_views = models.IntegerField(default=0)

    class Meta:
        db_table = "sessions"
        ordering = ["started_at", "id"]
        indexes = [
            models.Index(fields=["user", "ended_at"], name="sessions_user_end"),
            models.Index(fields=["account_id", "started_at"], name="sessions_account"),
        ]

    def __str__(self) -> str:
        return f"session of {self.user_id} at {self.started_at}"


class AccountUsage(models.Model):
    """One account's activity on one day (UTC), maintained as data arrives."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE)
    day = models.DateField()
    active_users = models.IntegerField(default=0)
    sessions = models.IntegerField(default=0)
    page_views = models.IntegerField(default=0)
    events = models.IntegerField(default=0)
    feedback_count = models.IntegerField(default=0)
    feedback_scored = models.IntegerField(default=0)  # feedback with a score
    feedback_score_sum = models.IntegerField(default=0)

    class Meta:
        db_table = "account_usage"
        ordering = ["account_id", "day"]
        constraints = [
            models.UniqueConstraint(fields=["account", "day"], name="account_usage_day")
        ]

    def __str__(self) -> str:
        return f"{self.account_id} on {self.day}"


class AccountDayUser(models.Model):
    """That a user was active for an account on a day (counts active users)."""

    account_id = models.BigIntegerField()
    day = models.DateField()
    user_id = models.BigIntegerField()

    class Meta:
        db_table = "account_day_users"
        constraints = [
            models.UniqueConstraint(
                fields=["account_id", "day", "user_id"], name="account_day_users_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.account_id} on {self.day}"
