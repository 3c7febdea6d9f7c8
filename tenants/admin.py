from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin

from tenants.models import AuthSession, Membership, Tenant, TenantKey, User


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "is_active", "is_staff", "created_at", "last_login"]
    search_fields = ["email"]
    list_filter = ["is_active", "is_staff", "is_superuser"]
    readonly_fields = ["created_at", "updated_at", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["user_metadata"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser"]}),
        ("Dates", {"fields": ["created_at", "updated_at", "last_login"]}),
    ]
    add_fieldsets = [(None, {"fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["schema_name", "name", "created_at"]
    search_fields = ["schema_name", "name"]
    readonly_fields = ["schema_name", "created_at"]
    inlines = [MembershipInline]

    def has_add_permission(self, request):
        return False  # tenants are created with `manage.py create_tenant`


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "tenant__schema_name"]
    autocomplete_fields = ["user", "tenant"]


@admin.register(TenantKey)
class TenantKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "tenant", "kind", "label", "created_at", "revoked_at"]
    list_filter = ["kind"]
    search_fields = ["prefix", "tenant__schema_name", "label"]
    readonly_fields = ["tenant", "kind", "prefix", "key_hash", "created_at"]

    def has_add_permission(self, request):
        return False  # keys are issued with `manage.py issue_key`: shown once


@admin.register(AuthSession)
class AuthSessionAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "tenant", "created_at", "refreshed_at", "revoked_at"]
    search_fields = ["user__email"]
    readonly_fields = [
        "user",
        "tenant",
        "created_at",
        "refreshed_at",
        "ip",
        "user_agent",
    ]
