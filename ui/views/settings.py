"""Tenant settings: id, keys, members, connection snippets.

A secret shown once (a fresh key, a new member's temporary password) travels
from the POST to the page after the redirect in the session and is removed
from it by that page's first render; those pages are never cached, so a reload
or the back button does not bring it back.
"""

import json
import shlex
from dataclasses import dataclass

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from core.errors import ApplicationError
from tenants.models import KeyKind, Membership, Role, TenantKey
from tenants.selectors import tenant_keys, tenant_members
from tenants.services import (
    key_issue,
    key_revoke,
    member_add,
    member_remove,
    member_role_change,
)
from ui.forms_settings import KeyIssueForm, MemberAddForm, MemberRoleForm
from ui.paging import page_of
from ui.permissions import admin_required

API_KEY_PLACEHOLDER = "<YOUR_API_KEY>"
TRACKING_KEY_PLACEHOLDER = "<YOUR_TRACKING_KEY>"
PASSWORD_PLACEHOLDER = "<YOUR_PASSWORD>"


# --- Connect your client ---------------------------------------------------------


@dataclass(frozen=True)
class Snippet:
    id: str
    title: str
    text: str
    help: str = ""


def _sh(value: str) -> str:
    """A shell word; always single-quoted, so placeholders like <X> stay inert."""
    quoted = shlex.quote(value)
    return quoted if quoted.startswith("'") else f"'{value}'"


def connect_snippets(
    *,
    base_url: str,
    schema: str,
    email: str,
    api_key: str | None = None,
    tracking_key: str | None = None,
) -> list[Snippet]:
    """Ready-to-copy client set-ups for this server and tenant.

    Keys not given are placeholders; a key issued a moment ago is filled in.
    """
    base_url = base_url.rstrip("/")
    api = api_key or API_KEY_PLACEHOLDER
    tracking = tracking_key or TRACKING_KEY_PLACEHOLDER
    sign_in_body = json.dumps({"email": email, "password": PASSWORD_PLACEHOLDER})
    batch_body = json.dumps(
        {
            "batch": [
                {
                    "type": "identify",
                    "userId": "user-1",
                    "traits": {"email": "ada@example.com", "name": "Ada"},
                },
                {"type": "group", "userId": "user-1", "groupId": "acme"},
                {"type": "track", "userId": "user-1", "event": "Report Exported"},
            ]
        }
    )
    curl = (
        f"GG_URL={_sh(base_url)}\n"
        f"GG_API_KEY={_sh(api)}\n"
        "# Sign in with your email and password; keep the access token\n"
        'TOKEN=$(curl -s "$GG_URL/auth/v1/token?grant_type=password" \\\n'
        "  -H \"apikey: $GG_API_KEY\" -H 'Content-Type: application/json' \\\n"
        f"  -d {_sh(sign_in_body)} | jq -r .access_token)\n"
        f"# List the things of tenant {schema}\n"
        'curl -s "$GG_URL/rest/v1/things?select=id,name&limit=10" \\\n'
        '  -H "apikey: $GG_API_KEY" -H "Authorization: Bearer $TOKEN" \\\n'
        f"  -H {_sh('Accept-Profile: ' + schema)}\n"
    )
    supabase = (
        "import { createClient } from '@supabase/supabase-js'\n\n"
        f"const grid = createClient({json.dumps(base_url)}, {json.dumps(api)}, {{\n"
        f"  db: {{ schema: {json.dumps(schema)} }},\n"
        "})\n"
        "await grid.auth.signInWithPassword({\n"
        f"  email: {json.dumps(email)},\n"
        f"  password: {json.dumps(PASSWORD_PLACEHOLDER)},\n"
        "})\n"
        "const { data, error } = await grid.from('things').select('id, name')"
        ".limit(10)\n"
    )
    analytics_node = (
        "import { Analytics } from '@segment/analytics-node'\n\n"
        "const analytics = new Analytics({\n"
        f"  writeKey: {json.dumps(tracking)},\n"
        f"  host: {json.dumps(base_url)},\n"
        "  path: '/v1/batch',\n"
        "})\n"
        "analytics.identify({ userId: 'user-1', "
        "traits: { email: 'ada@example.com' } })\n"
        "analytics.group({ userId: 'user-1', groupId: 'acme', "
        "traits: { name: 'Acme' } })\n"
        "analytics.track({ userId: 'user-1', event: 'Report Exported' })\n"
    )
    segment_http = (
        f"curl -s {_sh(base_url + '/v1/batch')} -u {_sh(tracking + ':')} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {_sh(batch_body)}\n"
    )
    return [
        Snippet(
            "snippet-curl",
            "curl: sign in and list things",
            curl,
            "Needs curl and jq. The API key is secret: use it from servers and "
            "scripts, never in a web page.",
        ),
        Snippet(
            "snippet-supabase",
            "supabase-js",
            supabase,
            "The Supabase JavaScript client, unchanged: this server's URL, the API "
            "key as the anon key and the tenant id as the schema.",
        ),
        Snippet(
            "snippet-segment-node",
            "Segment (analytics-node)",
            analytics_node,
            "Any Segment or RudderStack SDK works with its host set to this server "
            "and the tracking key as the write key.",
        ),
        Snippet(
            "snippet-segment-http",
            "Segment HTTP API (curl)",
            segment_http,
            "The tracking key is publishable: it can only send data in.",
        ),
    ]


def _base_url(request: HttpRequest) -> str:
    return request.build_absolute_uri("/").rstrip("/")


# --- Pages -------------------------------------------------------------------------


def _is_admin(request: HttpRequest) -> bool:
    return request.membership.role == Role.ADMIN


def _once_key(request: HttpRequest, what: str) -> str:
    return f"ui_once_{what}:{request.tenant.schema_name}"


def _pop_once(request: HttpRequest, what: str) -> dict | None:
    """The one-time secret left by the previous POST, removed as it is read."""
    return request.session.pop(_once_key(request, what), None)


@never_cache
@require_http_methods(["GET", "HEAD"])
def settings_page(request: HttpRequest, schema: str) -> HttpResponse:
    return render(
        request,
        "ui/settings/settings.html",
        {
            "snippets": connect_snippets(
                base_url=_base_url(request),
                schema=request.tenant.schema_name,
                email=request.user.email,
            ),
            "base_url": _base_url(request),
        },
    )


@never_cache
@require_http_methods(["GET", "HEAD"])
def keys_page(request: HttpRequest, schema: str) -> HttpResponse:
    context: dict = {}
    if _is_admin(request):
        fresh = _pop_once(request, "key")
        context.update(
            fresh=fresh,
            keys=page_of(request, tenant_keys(tenant=request.tenant)),
            issue_kinds=[
                (KeyKind.API, "Issue API key", "Secret: for servers and scripts."),
                (
                    KeyKind.TRACKING,
                    "Issue tracking key",
                    "Publishable: for web pages and apps; it can only send data in.",
                ),
            ],
        )
        if fresh:
            context["snippets"] = connect_snippets(
                base_url=_base_url(request),
                schema=request.tenant.schema_name,
                email=request.user.email,
                api_key=fresh["key"] if fresh["kind"] == KeyKind.API else None,
                tracking_key=fresh["key"]
                if fresh["kind"] == KeyKind.TRACKING
                else None,
            )
    return render(request, "ui/settings/keys.html", context)


@require_POST
@admin_required
def key_issue_view(request: HttpRequest, schema: str) -> HttpResponse:
    form = KeyIssueForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose an API key or a tracking key.")
        return redirect("ui:keys", schema=schema)
    key, raw = key_issue(
        tenant=request.tenant,
        kind=form.cleaned_data["kind"],
        label=form.cleaned_data["label"].strip(),
    )
    request.session[_once_key(request, "key")] = {
        "key": raw,
        "kind": key.kind,
        "kind_label": "API key" if key.kind == KeyKind.API else "tracking key",
        "label": key.label,
    }
    return redirect("ui:keys", schema=schema)


def _tenant_key(request: HttpRequest, prefix: str) -> TenantKey:
    """A key of this tenant by its shown prefix; another tenant's is a 404."""
    key = tenant_keys(tenant=request.tenant).filter(prefix=prefix).first()
    if key is None:
        raise Http404("No such key.")
    return key


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@admin_required
def key_revoke_view(request: HttpRequest, schema: str, prefix: str) -> HttpResponse:
    key = _tenant_key(request, prefix)
    if request.method == "POST":
        if key.is_active:
            key_revoke(prefix=key.prefix)
            messages.success(
                request, f"Key {key.prefix}… is revoked: it stops working now."
            )
        return redirect("ui:keys", schema=schema)
    return render(request, "ui/settings/key_revoke.html", {"key": key})


def _members_render(
    request: HttpRequest,
    *,
    add_form: MemberAddForm | None = None,
    row_error: tuple[str, str] = ("", ""),
    status: int = 200,
) -> HttpResponse:
    context: dict = {}
    if _is_admin(request):
        context.update(
            members=page_of(request, tenant_members(tenant=request.tenant)),
            add_form=add_form or MemberAddForm(),
            error_uid=row_error[0],
            error_message=row_error[1],
            roles=Role.choices,
            fresh=_pop_once(request, "member") if status == 200 else None,
        )
    return render(request, "ui/settings/members.html", context, status=status)


@never_cache
@require_http_methods(["GET", "HEAD"])
def members_page(request: HttpRequest, schema: str) -> HttpResponse:
    return _members_render(request)


@require_POST
@admin_required
def member_add_view(request: HttpRequest, schema: str) -> HttpResponse:
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            membership, password = member_add(
                tenant=request.tenant,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ApplicationError as error:
            form.add_error("email", error.message)
        else:
            if password:
                request.session[_once_key(request, "member")] = {
                    "email": membership.user.email,
                    "password": password,
                }
            messages.success(
                request,
                f"{membership.user.email} is now a member "
                f"({membership.get_role_display().lower()}).",
            )
            return redirect("ui:members", schema=schema)
    return _members_render(request, add_form=form, status=400)


def _tenant_member(request: HttpRequest, user_id) -> Membership:
    """A membership of this tenant by user id; another tenant's is a 404."""
    membership = tenant_members(tenant=request.tenant).filter(user_id=user_id).first()
    if membership is None:
        raise Http404("No such member.")
    return membership


@require_POST
@admin_required
def member_role_view(request: HttpRequest, schema: str, user_id) -> HttpResponse:
    membership = _tenant_member(request, user_id)
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        error = "Choose admin, editor or viewer."
    else:
        try:
            member_role_change(
                tenant=request.tenant,
                user=membership.user,
                role=form.cleaned_data["role"],
            )
        except ApplicationError as failure:
            error = failure.message
        else:
            messages.success(
                request,
                f"{membership.user.email} is now "
                f"{Role(form.cleaned_data['role']).label.lower()}.",
            )
            if membership.user_id == request.user.pk:
                # An admin who stepped down can no longer manage members.
                return redirect("ui:settings", schema=schema)
            return redirect("ui:members", schema=schema)
    return _members_render(
        request, row_error=(str(membership.user_id), error), status=400
    )


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
@admin_required
def member_remove_view(request: HttpRequest, schema: str, user_id) -> HttpResponse:
    membership = _tenant_member(request, user_id)
    error = ""
    if request.method == "POST":
        try:
            member_remove(tenant=request.tenant, user=membership.user)
        except ApplicationError as failure:
            error = failure.message
        else:
            messages.success(
                request, f"{membership.user.email} no longer has access to this tenant."
            )
            if membership.user_id == request.user.pk:
                return redirect("ui:home")
            return redirect("ui:members", schema=schema)
    return render(
        request,
        "ui/settings/member_remove.html",
        {"member": membership, "error": error},
        status=400 if error else 200,
    )


urlpatterns = [
    path("settings/", settings_page, name="settings"),
    path("settings/keys/", keys_page, name="keys"),
    path("settings/keys/issue/", key_issue_view, name="key_issue"),
    path("settings/keys/<str:prefix>/revoke/", key_revoke_view, name="key_revoke"),
    path("settings/members/", members_page, name="members"),
    path("settings/members/add/", member_add_view, name="member_add"),
    path("settings/members/<uuid:user_id>/role/", member_role_view, name="member_role"),
    path(
        "settings/members/<uuid:user_id>/remove/",
        member_remove_view,
        name="member_remove",
    ),
]
