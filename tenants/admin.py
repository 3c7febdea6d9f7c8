"""Admin of the public schema: users, tenants, memberships, keys, sign-ins,
and the admin's own log (each entry with the tenant its object lives in)."""

from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.contrib.admin.models import LogEntry
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from tenants.admin_site import BaseModelAdmin, ReadOnlyAdminMixin
from tenants.models import (
    AdminLogTenant,
    AuthSession,
    LoginFailure,
    Membership,
    RefreshToken,
    SignInAddress,
    Tenant,
    TenantKey,
    User,
)


@admin.register(User)
class UserAdmin(DjangoUserAdmin, BaseModelAdmin):
    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "created_at", "last_login"]
    search_fields = ["email"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    filter_horizontal = ["groups", "user_permissions"]
    readonly_fields = ["created_at", "updated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["user_metadata"]}),
        (
            "Permissions",
            {
                "fields": [
                    "is_active",
                    "is_staff",
                    "is_superuser",
                    "groups",
                    "user_permissions",
                ]
            },
        ),
        ("Dates", {"fields": ["created_at", "updated_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("user", "tenant")


@admin.register(Tenant)
class TenantAdmin(BaseModelAdmin):
    list_display = ["schema_name", "name", "created_at"]
    search_fields = ["schema_name", "name"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False  # tenants are created with `manage.py create_tenant`


@admin.register(Membership)
class MembershipAdmin(BaseModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_select_related = ["user", "tenant"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__schema_name"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(TenantKey)
class TenantKeyAdmin(BaseModelAdmin):
    list_display = ["prefix", "tenant", "kind", "label", "created_at", "revoked_at"]
    list_select_related = ["tenant"]
    list_filter = ["kind"]
    search_fields = ["prefix", "tenant__schema_name", "label"]
    readonly_fields = ["tenant", "kind", "prefix", "key_hash", "created_at"]

    def has_add_permission(self, request):
        return False  # keys are issued with `manage.py issue_key`: shown once


@admin.register(AuthSession)
class AuthSessionAdmin(BaseModelAdmin):
    list_display = ["id", "user", "tenant", "created_at", "refreshed_at", "revoked_at"]
    list_select_related = ["user", "tenant"]
    list_filter = [("created_at", DateFieldListFilter)]
    search_fields = ["user__email"]
    readonly_fields = [
        "user",
        "tenant",
        "created_at",
        "refreshed_at",
        "ip",
        "user_agent",
    ]

    def has_add_permission(self, request) -> bool:
        return False  # sessions start by signing in; set revoked_at to end one


@admin.register(RefreshToken)
class RefreshTokenAdmin(ReadOnlyAdminMixin, BaseModelAdmin):
    list_display = ["id", "session", "created_at", "used_at"]
    list_filter = [("created_at", DateFieldListFilter)]
    search_fields = ["session__user__email"]
    raw_id_fields = ["session", "parent"]
    exclude = ["token_hash", "sealed"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser  # revoke by deleting, if need be


@admin.register(LoginFailure)
class LoginFailureAdmin(BaseModelAdmin):
    """Failed sign-ins; deleting rows lifts their part of the throttle early."""

    list_display = ["email", "ip", "created_at"]
    search_fields = ["email", "ip"]
    list_filter = [("created_at", DateFieldListFilter)]
    readonly_fields = ["email", "ip", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(SignInAddress)
class SignInAddressAdmin(BaseModelAdmin):
    """Addresses users signed in from: the sign-in throttle's back-off spares
    them; deleting one makes its address unknown again."""

    list_display = ["user", "ip", "first_at", "last_at"]
    search_fields = ["user__email", "ip"]
    list_filter = [("last_at", DateFieldListFilter)]
    readonly_fields = ["user", "ip", "first_at", "last_at"]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(LogEntry)
class LogEntryAdmin(ReadOnlyAdminMixin, BaseModelAdmin):
    """Everything done in the admin, with the tenant of each tenant object."""

    list_display = [
        "action_time",
        "user",
        "tenant",
        "content_type",
        "object_repr",
        "action_flag",
        "change_message_text",
    ]
    list_select_related = ["user", "content_type", "tenant_link__tenant"]
    list_filter = ["action_flag", "content_type"]
    search_fields = [
        "object_repr",
        "=object_id",
        "user__email",
        "=tenant_link__tenant__schema_name",
    ]
    date_hierarchy = "action_time"
    ordering = ["-action_time"]

    @admin.display(description="tenant", ordering="tenant_link__tenant__schema_name")
    def tenant(self, entry: LogEntry) -> str:
        link = getattr(entry, "tenant_link", None)
        return link.tenant.schema_name if link else "-"

    @admin.display(description="change")
    def change_message_text(self, entry: LogEntry) -> str:
        return entry.get_change_message()


@admin.register(AdminLogTenant)
class AdminLogTenantAdmin(ReadOnlyAdminMixin, BaseModelAdmin):
    list_display = ["log_entry", "tenant"]
    list_select_related = ["log_entry", "tenant"]
    search_fields = ["=tenant__schema_name"]
