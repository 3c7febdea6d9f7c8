"""Admin of the tracking store (tenant schemas).

What ingestion derives — events, receipts, sessions, usage, feedback (counted in
usage) — is read-only here: a fix there would disagree with the rows it was
derived from. Organizations, accounts and users can be corrected (names,
traits) but not deleted: the next message about them would re-create them,
and their events keep their ids. ``events`` may hold hundreds of millions of
rows: its list never counts them all, is ordered by its primary key (an index
scan), and searches and filters only on indexed columns.
"""

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter

from tenants.admin_site import IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin
from tracking.dialects import bucket, gather, segment, vitally
from tracking.models import (
    Account,
    AccountDayUser,
    AccountUsage,
    AccountUser,
    CustomerUser,
    CustomObject,
    CustomObjectInstance,
    Event,
    Feedback,
    MessageReceipt,
    Organization,
    Session,
)

SOURCES = (segment.SOURCE, vitally.SOURCE, bucket.SOURCE, gather.SOURCE)


class SourceFilter(admin.SimpleListFilter):
    """The SDK a row came from, from the known list (no SELECT DISTINCT scan)."""

    title = "source"
    parameter_name = "source"

    def lookups(self, request, model_admin):
        return [(source, source) for source in SOURCES]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(source=self.value())
        return queryset


class NoDeleteAdmin(TenantModelAdmin):
    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Organization)
class OrganizationAdmin(IdSearchMixin, NoDeleteAdmin):
    list_display = ["id", "external_id", "name", "first_seen_at", "last_seen_at"]
    list_display_links = ["id", "external_id"]
    search_fields = ["external_id", "name"]
    list_filter = [("last_seen_at", DateFieldListFilter)]
    readonly_fields = ["first_seen_at", "last_seen_at", "created_at", "updated_at"]


class AccountUserInline(admin.TabularInline):
    model = AccountUser
    raw_id_fields = ["user", "account"]
    extra = 0


@admin.register(Account)
class AccountAdmin(IdSearchMixin, NoDeleteAdmin):
    list_display = [
        "id",
        "external_id",
        "name",
        "organization",
        "first_seen_at",
        "last_seen_at",
    ]
    list_display_links = ["id", "external_id"]
    list_select_related = ["organization"]
    search_fields = ["external_id", "name"]
    list_filter = [
        ("last_seen_at", DateFieldListFilter),
        ("organization", admin.EmptyFieldListFilter),
    ]
    raw_id_fields = ["organization"]
    readonly_fields = ["first_seen_at", "last_seen_at", "created_at", "updated_at"]


@admin.register(CustomerUser)
class CustomerUserAdmin(IdSearchMixin, NoDeleteAdmin):
    list_display = ["id", "external_id", "email", "name", "last_seen_at"]
    list_display_links = ["id", "external_id"]
    search_fields = ["external_id", "email", "name"]
    list_filter = [("last_seen_at", DateFieldListFilter)]
    readonly_fields = ["first_seen_at", "last_seen_at", "created_at", "updated_at"]
    inlines = [AccountUserInline]


@admin.register(AccountUser)
class AccountUserAdmin(TenantModelAdmin):
    """Who belongs to which account; deleting a row unlinks a user."""

    list_display = ["id", "user", "account", "created_at"]
    list_select_related = ["user", "account"]
    search_fields = ["user__external_id", "user__email", "account__external_id"]
    raw_id_fields = ["user", "account"]


@admin.register(Event)
class EventAdmin(IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin):
    # Numbers: an event id, user id or account id (each indexed); words: an
    # event name, exactly (the (name, event_time) index).
    id_lookups = ("pk", "user_id", "account_id")
    ids_only = True
    list_display = ["id", "event_time", "name", "user_id", "account_id", "source"]
    # The primary key (id, event_time) index serves this order; there is no
    # index on event_time alone, so no other column sorts the list.
    ordering = ["-id"]
    sortable_by = ["id"]
    search_fields = ["=name"]
    search_help_text = "An event name (exact), or an event, user or account id."
    list_filter = [("event_time", DateFieldListFilter), SourceFilter]

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if term and not term.isdigit():
            # `=name` would be iexact, UPPER(name): no index; exact uses one.
            return queryset.filter(name=term), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(MessageReceipt)
class MessageReceiptAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["key", "received_at"]
    sortable_by = ["key"]
    list_filter = [("received_at", DateFieldListFilter)]


@admin.register(Feedback)
class FeedbackAdmin(IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["id", "feature_id", "score", "user", "account", "created_at"]
    list_select_related = ["user", "account"]
    search_fields = ["feature_id", "comment"]
    list_filter = ["score", SourceFilter]
    date_hierarchy = "created_at"
    raw_id_fields = ["user", "account"]


@admin.register(CustomObject)
class CustomObjectAdmin(TenantModelAdmin):
    list_display = ["id", "external_id", "created_at"]
    search_fields = ["external_id"]


@admin.register(CustomObjectInstance)
class CustomObjectInstanceAdmin(IdSearchMixin, TenantModelAdmin):
    list_display = ["id", "custom_object", "external_id", "name", "account"]
    list_select_related = ["custom_object", "account"]
    search_fields = ["external_id", "name"]
    list_filter = ["custom_object"]
    raw_id_fields = ["custom_object", "account"]


@admin.register(Session)
class SessionAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = ["id", "user", "account_id", "started_at", "ended_at", "page_views"]
    sortable_by = ["id"]
    list_select_related = ["user"]
    search_fields = ["=user__external_id"]
    search_help_text = "A user's external id."
    list_filter = [("started_at", DateFieldListFilter)]
    raw_id_fields = ["user"]


@admin.register(AccountUsage)
class AccountUsageAdmin(ReadOnlyAdminMixin, TenantModelAdmin):
    list_display = [
        "account",
        "day",
        "active_users",
        "sessions",
        "page_views",
        "events",
        "feedback_count",
    ]
    list_select_related = ["account"]
    search_fields = ["=account__external_id"]
    search_help_text = "An account's external id."
    list_filter = [("day", DateFieldListFilter)]
    raw_id_fields = ["account"]


@admin.register(AccountDayUser)
class AccountDayUserAdmin(IdSearchMixin, ReadOnlyAdminMixin, TenantModelAdmin):
    id_lookups = ("account_id", "user_id")
    list_display = ["account_id", "day", "user_id"]
    sortable_by = ["account_id"]
    ids_only = True
    search_fields = ["account_id", "user_id"]  # shows the search box; ids
    search_help_text = "An account id or a user id."
    list_filter = [("day", DateFieldListFilter)]
