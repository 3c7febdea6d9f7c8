"""The Django admin at ``/admin/``: staff only, tenant-aware, for data fixes.

**Which tenant.** A staff user picks a tenant on ``/admin/pick-tenant/``; the
choice is kept in the browser session and shown on every admin page in a banner
("Working on tenant X — switch"). Django admin reverses its own URLs with no
arguments, so a tenant in the URL would mean rewriting every link it renders;
the session keeps admin's URLs intact. What a session choice risks — a form
opened for tenant A and submitted after another tab switched to B — is closed by
the forms themselves: each form of a tenant object carries the tenant it was
opened for, and a POST naming another tenant than the session's writes nothing.

**Schemas.** Around every admin view the picked tenant's schema is activated
(its response rendered inside, as querysets run while the template renders) and
the connection is put back on ``public`` afterwards. Public models (users,
tenants, keys) are reachable in either case: a tenant's search path ends in
``public``. Pages of tenant models without a picked tenant redirect to the
picker.

**History.** ``LogEntry`` lives in ``public`` and names an object by content type
and id, which is ambiguous across schemas; each entry written for a tenant object
is linked to its tenant (``tenants.AdminLogTenant``) and an object's history
shows only its own tenant's entries.
"""

from collections.abc import Callable, Iterable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.apps import apps
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.options import ShowFacets
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import connection, models
from django.db.models import Q, QuerySet
from django.db.models.base import ModelBase
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import SimpleTemplateResponse, TemplateResponse
from django.urls import path, reverse
from django.utils.functional import cached_property
from django_tenants.utils import get_app_label

from core.http import next_url
from tenants.models import AdminLogTenant, Role, Tenant

SESSION_KEY = "admin_tenant"
# Hidden input of every admin form of a tenant object: the tenant it was opened for.
TENANT_FORM_FIELD = "_admin_tenant"
TENANT_APP_LABELS = frozenset(
    get_app_label(app)
    for app in settings.TENANT_APPS
    if app not in settings.SHARED_APPS
)
PICKER_PAGE_SIZE = 50


def is_tenant_model(model: type[models.Model]) -> bool:
    """True when ``model``'s table lives in each tenant's schema."""
    return model._meta.app_label in TENANT_APP_LABELS


def admin_tenants(*, user: Any) -> QuerySet[Tenant]:
    """Tenants a staff user may work on: every one for a superuser, else the
    tenants the user administers (Django's permissions are global, the
    membership is what scopes them to a tenant)."""
    tenants = Tenant.objects.exclude(schema_name="public").order_by("schema_name")
    if user.is_superuser:
        return tenants
    return tenants.filter(memberships__user=user, memberships__role=Role.ADMIN)


def admin_tenant_get(request: HttpRequest) -> Tenant | None:
    """The tenant this admin session works on, if it is still one the user may use."""
    schema = request.session.get(SESSION_KEY)
    user = request.user
    if not schema or not (user.is_active and user.is_staff):
        return None
    return admin_tenants(user=user).filter(schema_name=schema).first()


class CappedCountPaginator(Paginator):
    """Counts at most ``cap`` rows.

    The changelist counts its rows for the pager; a COUNT(*) over an events table
    of hundreds of millions of rows takes minutes. Past the cap, narrow the list
    with filters or search.
    """

    cap = 10_000

    @cached_property
    def count(self) -> int:
        if isinstance(self.object_list, QuerySet):
            return self.object_list[: self.cap].count()
        return min(len(self.object_list), self.cap)


class BaseModelAdmin(admin.ModelAdmin):
    """Defaults of every admin of ours: no unbounded COUNT(*), no facet counts."""

    paginator = CappedCountPaginator
    show_full_result_count = False
    show_facets = ShowFacets.NEVER


def _link_log_entries(entries: Iterable[LogEntry], tenant: Tenant | None) -> None:
    if tenant is None:
        return
    AdminLogTenant.objects.bulk_create(
        AdminLogTenant(log_entry=entry, tenant=tenant) for entry in entries
    )


class TenantAdminMixin:
    """For admins of tenant models: log entries know their tenant, and an
    object's history shows its tenant's entries only."""

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        _link_log_entries([entry], getattr(request, "admin_tenant", None))
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        _link_log_entries([entry], getattr(request, "admin_tenant", None))
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        _link_log_entries(entries, getattr(request, "admin_tenant", None))
        return entries

    def get_paginator(self, request, queryset, per_page, *args, **kwargs):
        # `history_view` hands its LogEntry list to the paginator: the one hook
        # on that list, so the tenant filter goes here.
        if queryset.model is LogEntry:
            queryset = queryset.filter(tenant_link__tenant=request.admin_tenant)
        return super().get_paginator(request, queryset, per_page, *args, **kwargs)


class TenantModelAdmin(TenantAdminMixin, BaseModelAdmin):
    """Base of the admins of tenant-schema models."""


class ReadOnlyAdminMixin:
    """Derived or append-only data: viewable, never written through the admin."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


SEARCHABLE_NAMES = ("name", "external_id", "email", "label", "schema_name", "prefix")


def default_model_admin(model: type[models.Model]) -> type[admin.ModelAdmin]:
    """A usable admin for a model nobody registered: its plain columns listed,
    its names searchable, booleans and choices as filters, relations as raw ids
    (never a select of every row of the related table)."""
    fields = list(model._meta.concrete_fields)
    shown = [
        f.name
        for f in fields
        if not isinstance(f, models.JSONField | models.TextField | models.BinaryField)
    ][:7]
    relations = [f.name for f in fields if f.is_relation] + [
        f.name
        for f in model._meta.many_to_many
        if f.remote_field.through._meta.auto_created
    ]
    attrs = {
        "__module__": __name__,
        "list_display": shown or ["__str__"],
        "raw_id_fields": relations,
        "list_select_related": [f for f in shown if f in relations] or False,
        "search_fields": [f.name for f in fields if f.name in SEARCHABLE_NAMES],
        "list_filter": [
            f.name
            for f in fields
            if isinstance(f, models.BooleanField) or (f.choices and not f.is_relation)
        ],
    }
    base = TenantModelAdmin if is_tenant_model(model) else BaseModelAdmin
    return type(f"{model.__name__}Admin", (base,), attrs)


def _safe_next(request: HttpRequest, default: str) -> str:
    return next_url(request, default=default)


def recent_actions(*, user: Any, tenant: Tenant | None, limit: int = 10) -> list[dict]:
    """The user's last admin actions, each with its tenant and a link only when
    the object is reachable from here (public, or in the picked tenant)."""
    entries = (
        LogEntry.objects.filter(user=user)
        .select_related("content_type", "tenant_link__tenant")
        .order_by("-action_time")[:limit]
    )
    actions = []
    for entry in entries:
        link = getattr(entry, "tenant_link", None)
        entry_tenant = link.tenant if link else None
        in_tenant_app = entry.content_type and entry.content_type.app_label in (
            TENANT_APP_LABELS
        )
        reachable = (
            entry_tenant.pk == tenant.pk
            if entry_tenant and tenant
            else not in_tenant_app
        )
        actions.append(
            {
                "entry": entry,
                "tenant": entry_tenant,
                "url": entry.get_admin_url()
                if reachable and not entry.is_deletion()
                else None,
            }
        )
    return actions


class GatherGridAdminSite(admin.AdminSite):
    site_header = "Gather Grid admin"
    site_title = "Gather Grid admin"
    index_title = "Data fixes"

    # -- registration -------------------------------------------------------------

    def register(self, model_or_iterable, admin_class=None, **options) -> None:
        """Register as Django does; a tenant model's admin always gets the tenant
        behaviour, whichever class it was registered with."""
        models_ = (
            [model_or_iterable]
            if isinstance(model_or_iterable, ModelBase)
            else list(model_or_iterable)
        )
        for model in models_:
            cls = admin_class or BaseModelAdmin
            if is_tenant_model(model) and not issubclass(cls, TenantAdminMixin):
                cls = type(
                    cls.__name__,
                    (TenantAdminMixin, cls),
                    {"__module__": cls.__module__},
                )
            super().register(model, cls, **options)

    def register_unregistered(self, app_labels: Iterable[str]) -> None:
        """Give every model of these apps that has no admin a generic one."""
        for label in app_labels:
            for model in apps.get_app_config(label).get_models():
                if not self.is_registered(model):
                    self.register(model, default_model_admin(model))

    # -- every view -----------------------------------------------------------------

    def admin_view(self, view: Callable, cacheable: bool = False) -> Callable:
        protected = super().admin_view(view, cacheable)
        needs_tenant = isinstance(getattr(view, "__self__", None), TenantAdminMixin)

        @wraps(protected)
        def tenant_view(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            tenant = admin_tenant_get(request)
            request.admin_tenant = tenant
            # django-tenants' admin templates grey out tenant apps while the
            # request's tenant is public (``connection.tenant`` here).
            request.tenant = tenant if tenant is not None else connection.tenant
            if needs_tenant and self.has_permission(request):
                refusal = self._tenant_refusal(request, tenant)
                if refusal is not None:
                    return refusal
            if tenant is None:
                return protected(request, *args, **kwargs)
            connection.set_tenant(tenant)
            try:
                response = protected(request, *args, **kwargs)
                if isinstance(response, SimpleTemplateResponse):
                    response.render()  # while the tenant's schema is active
                return response
            finally:
                connection.set_schema_to_public()

        return tenant_view

    def _tenant_refusal(
        self, request: HttpRequest, tenant: Tenant | None
    ) -> HttpResponse | None:
        """A redirect when a tenant page cannot be served as asked, else None."""
        if tenant is None:
            messages.info(request, "Pick the tenant whose data you want to fix.")
            return redirect(
                reverse("admin:tenant_pick", current_app=self.name)
                + "?"
                + urlencode({"next": request.get_full_path()})
            )
        if request.method == "POST":
            opened_for = request.POST.get(TENANT_FORM_FIELD)
            if opened_for != tenant.schema_name:
                messages.error(
                    request,
                    f"This form was opened for tenant {opened_for or '(unknown)'}, "
                    f"but you now work on tenant {tenant.schema_name} (switched in "
                    "another tab?). Nothing was saved: check the page and submit "
                    "again.",
                )
                return HttpResponseRedirect(request.get_full_path())
        return None

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        context["admin_tenant"] = getattr(request, "admin_tenant", None)
        context["admin_tenant_field"] = TENANT_FORM_FIELD
        return context

    # -- sign in: one login page, throttled ------------------------------------------

    def login(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        """Sign-in is the site's own page (``/login/``, throttled); a signed-in
        user who is not staff is refused rather than asked to sign in again."""
        index = reverse("admin:index", current_app=self.name)
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(_safe_next(request, index))
            raise PermissionDenied("The Django admin is for staff only.")
        target = request.GET.get(REDIRECT_FIELD_NAME) or index
        return redirect_to_login(target, settings.LOGIN_URL)

    # -- tenant picker -------------------------------------------------------------

    def get_urls(self):
        return [
            path(
                "pick-tenant/",
                self.admin_view(self.tenant_pick_view),
                name="tenant_pick",
            ),
            *super().get_urls(),
        ]

    def tenant_pick_view(self, request: HttpRequest) -> HttpResponse:
        """List the tenants the user may work on (searchable, paginated); POST
        ``schema`` to work on one, ``clear`` to work on public data only."""
        index = reverse("admin:index", current_app=self.name)
        if request.method == "POST":
            if "clear" in request.POST:
                request.session.pop(SESSION_KEY, None)
                messages.success(request, "No tenant picked: public data only.")
                return redirect(index)
            schema = request.POST.get("schema", "")
            tenant = admin_tenants(user=request.user).filter(schema_name=schema).first()
            if tenant is None:
                messages.error(request, f"No tenant {schema!r} that you may work on.")
                return redirect(request.get_full_path())
            request.session[SESSION_KEY] = tenant.schema_name
            messages.success(
                request, f"Now working on tenant {tenant.name} ({tenant.schema_name})."
            )
            return redirect(_safe_next(request, index))
        query = request.GET.get("q", "").strip()
        tenants = admin_tenants(user=request.user)
        if query:
            tenants = tenants.filter(
                Q(schema_name__icontains=query) | Q(name__icontains=query)
            )
        page = Paginator(tenants, PICKER_PAGE_SIZE).get_page(request.GET.get("p"))
        context = {
            **self.each_context(request),
            "title": "Pick a tenant",
            "page": page,
            "q": query,
            "next": _safe_next(request, ""),
        }
        return TemplateResponse(request, "admin/tenant_pick.html", context)

    def autocomplete_view(self, request: HttpRequest) -> HttpResponse:
        if (
            request.GET.get("app_label") in TENANT_APP_LABELS
            and getattr(request, "admin_tenant", None) is None
        ):
            raise PermissionDenied("Pick a tenant first.")
        return super().autocomplete_view(request)

    def index(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        context = {
            "recent_actions": recent_actions(
                user=request.user, tenant=getattr(request, "admin_tenant", None)
            ),
            **(extra_context or {}),
        }
        return super().index(request, context)


class IdSearchMixin:
    """A search term of digits also finds the rows with that id in ``id_lookups``.

    With ``ids_only``, a search is by ids alone: on big tables nothing else is
    scanned.
    """

    id_lookups: tuple[str, ...] = ("pk",)
    ids_only = False

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        by_id = None
        if term.isdigit() and len(term) < 19:  # fits a bigint
            by_id = Q.create(
                [(lookup, int(term)) for lookup in self.id_lookups], connector=Q.OR
            )
        if self.ids_only:
            if not term:
                return queryset, False
            return (queryset.none() if by_id is None else queryset.filter(by_id)), False
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        if by_id is not None:
            results |= queryset.filter(by_id)
        return results, may_have_duplicates
