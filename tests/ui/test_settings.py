"""Settings pages: tenant id, keys (issued once, revoked at once), members and
roles (admins only, the last admin kept), and the connection snippets, whose
curl commands are replayed against the API exactly as rendered."""

import base64
import html
import re
import shlex
from urllib.parse import urlsplit

import pytest
from django.test import Client

from tenants.models import KeyKind, Membership, Role, TenantKey, User, hash_secret
from tenants.services import key_issue
from tests.clients import sign_in, ui_client
from tests.factories import PASSWORD, member_make

SETTINGS = "/t/tenant_a/settings/"
KEYS = "/t/tenant_a/settings/keys/"
MEMBERS = "/t/tenant_a/settings/members/"


def text(response) -> str:
    return html.unescape(response.content.decode())


def snippet(response, snippet_id: str) -> str:
    match = re.search(
        rf'<pre id="{snippet_id}"><code>(.*?)</code></pre>', text(response), re.S
    )
    assert match, f"no snippet {snippet_id}"
    return match.group(1)


def fresh_key(response) -> str | None:
    match = re.search(
        r'<code class="secret" id="fresh-key">([^<]+)</code>', text(response)
    )
    return match.group(1) if match else None


def issue(client: Client, kind: str, label: str = "") -> str:
    """Issue a key through the page; the raw key as the next page shows it."""
    response = client.post(KEYS + "issue/", {"kind": kind, "label": label})
    assert response.status_code == 302
    page = client.get(response["Location"])
    key = fresh_key(page)
    assert key is not None
    return key


# --- Replaying the curl snippets -------------------------------------------------


def curl_replay(client: Client, command: str, env: dict[str, str]):
    """Send the request of one rendered ``curl`` command through the test client."""
    for name in sorted(env, key=len, reverse=True):
        command = command.replace("$" + name, env[name])
    args = shlex.split(command)
    assert args.pop(0) == "curl"
    method, url, body, headers = "GET", None, "", {}
    while args:
        arg = args.pop(0)
        if arg == "-s":
            continue
        if arg == "-X":
            method = args.pop(0)
        elif arg == "-H":
            name, _, value = args.pop(0).partition(":")
            headers[name.strip()] = value.strip()
        elif arg == "-d":
            body, method = args.pop(0), "POST" if method == "GET" else method
        elif arg == "-u":
            token = base64.b64encode(args.pop(0).encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        else:
            assert url is None, f"unexpected curl argument {arg!r}"
            url = arg
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == "http://testserver"
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    content_type = headers.pop("Content-Type", "application/octet-stream")
    return client.generic(
        method, path, body, content_type=content_type, headers=headers
    )


def run_shell_snippet(client: Client, script: str) -> list:
    """Run a snippet of assignments, ``X=$(curl ... | jq -r .field)`` and curls."""
    env: dict[str, str] = {}
    responses = []
    for line in script.replace("\\\n", " ").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        captured = re.fullmatch(r"(\w+)=\$\((curl .*) \| jq -r \.(\w+)\)", line)
        if captured:
            name, command, field = captured.groups()
            response = curl_replay(client, command, env)
            responses.append(response)
            env[name] = response.json()[field]
        elif line.startswith("curl "):
            responses.append(curl_replay(client, line, env))
        else:
            name, _, value = line.partition("=")
            env[name] = shlex.split(value)[0]
    return responses


# --- The settings page -----------------------------------------------------------


def test_settings_shows_tenant_id_role_and_snippets_with_placeholders(client_a):
    response = client_a.get(SETTINGS)
    assert response.status_code == 200
    page = text(response)
    assert '<code id="tenant-id">tenant_a</code>' in page
    assert 'data-copy="#tenant-id"' in page
    assert ">Admin</span>" in page
    curl = snippet(response, "snippet-curl")
    assert "GG_URL='http://testserver'" in curl
    assert "GG_API_KEY='<YOUR_API_KEY>'" in curl
    assert "Accept-Profile: tenant_a" in curl
    supabase = snippet(response, "snippet-supabase")
    assert (
        'createClient("http://testserver", "<YOUR_API_KEY>", {\n'
        '  db: { schema: "tenant_a" },' in supabase
    )
    assert 'writeKey: "<YOUR_TRACKING_KEY>"' in snippet(
        response, "snippet-segment-node"
    )
    assert "-u '<YOUR_TRACKING_KEY>:'" in snippet(response, "snippet-segment-http")
    assert "gg_sk_" not in page and "gg_pk_" not in page


def test_viewer_sees_settings_but_no_key_or_member_management(viewer_client_a):
    assert ">Viewer</span>" in text(viewer_client_a.get(SETTINGS))
    keys = text(viewer_client_a.get(KEYS))
    assert "Keys are managed by the tenant's admins" in keys
    assert "Issue API key" not in keys and "gg_sk_" not in keys
    members = text(viewer_client_a.get(MEMBERS))
    assert "managed by the tenant's admins" in members
    assert "Add member" not in members and "@example.com</td>" not in members


@pytest.mark.parametrize("role", [Role.EDITOR, Role.VIEWER])
def test_non_admins_are_refused_every_key_and_member_change(tenant_a, role):
    client = ui_client(member_make(tenant_a.tenant, role))
    admin = member_make(tenant_a.tenant, Role.ADMIN)
    key, _ = key_issue(tenant=tenant_a.tenant, kind=KeyKind.API)
    before = TenantKey.objects.filter(tenant=tenant_a.tenant).count()
    posts = [
        (KEYS + "issue/", {"kind": "api"}),
        (KEYS + f"{key.prefix}/revoke/", {}),
        (MEMBERS + "add/", {"email": "new@example.com", "role": "admin"}),
        (MEMBERS + f"{admin.pk}/role/", {"role": "viewer"}),
        (MEMBERS + f"{admin.pk}/remove/", {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert client.get(KEYS + f"{key.prefix}/revoke/").status_code == 403
    assert TenantKey.objects.filter(tenant=tenant_a.tenant).count() == before
    key.refresh_from_db()
    assert key.revoked_at is None
    assert not User.objects.filter(email="new@example.com").exists()
    assert Membership.objects.get(user=admin, tenant=tenant_a.tenant).role == Role.ADMIN


def test_non_members_get_404_on_every_settings_url(tenant_a, client_b):
    for url in [SETTINGS, KEYS, MEMBERS, KEYS + "issue/", MEMBERS + "add/"]:
        assert client_b.get(url).status_code == 404, url
        assert client_b.post(url, {"kind": "api"}).status_code == 404, url


# --- Keys --------------------------------------------------------------------------


def test_issued_key_is_shown_once_never_cached_and_only_its_hash_kept(
    client_a, tenant_a
):
    response = client_a.post(KEYS + "issue/", {"kind": "tracking", "label": "web app"})
    assert response.status_code == 302
    page = client_a.get(response["Location"])
    assert "no-store" in page["Cache-Control"]
    raw = fresh_key(page)
    assert raw.startswith("gg_pk_") and len(raw) == 46
    assert "you will not see it again" in text(page)
    assert 'data-copy="#fresh-key"' in text(page)
    stored = TenantKey.objects.get(key_hash=hash_secret(raw))
    assert (stored.tenant_id, stored.kind, stored.label) == (
        tenant_a.tenant.id,
        KeyKind.TRACKING,
        "web app",
    )
    assert raw not in str(dict(client_a.session))
    again = client_a.get(KEYS)
    assert fresh_key(again) is None and raw not in text(again)
    assert f"{stored.prefix}…" in text(again)  # listed by its prefix only


def test_fresh_api_key_fills_the_snippets_and_the_curl_snippet_works(
    client_a, admin_a, tenant_a
):
    response = client_a.post(KEYS + "issue/", {"kind": "api"})
    page = client_a.get(response["Location"])
    raw = fresh_key(page)
    assert f'"{raw}"' in snippet(page, "snippet-supabase")
    script = snippet(page, "snippet-curl").replace("<YOUR_PASSWORD>", PASSWORD)
    assert f"GG_API_KEY='{raw}'" in script
    sign_in_response, things = run_shell_snippet(Client(), script)
    assert sign_in_response.status_code == 200, sign_in_response.content
    assert things.status_code == 200, things.content
    assert things.json() == []


def test_fresh_tracking_key_fills_the_segment_snippets_and_the_curl_works(client_a):
    raw = issue(client_a, "tracking")
    page_after_issue = client_a.post(KEYS + "issue/", {"kind": "tracking"})
    page = client_a.get(page_after_issue["Location"])
    second = fresh_key(page)
    assert second != raw
    assert f'writeKey: "{second}"' in snippet(page, "snippet-segment-node")
    (answer,) = run_shell_snippet(Client(), snippet(page, "snippet-segment-http"))
    assert answer.status_code == 200, answer.content
    assert answer.json() == {"success": True}


def test_revoke_asks_first_then_the_key_stops_working_at_once(
    client_a, admin_a, tenant_a
):
    raw = issue(client_a, "api")
    session = sign_in(raw, admin_a)
    assert session.get("/rest/v1/things").status_code == 200
    prefix = raw[:14]
    confirm = client_a.get(KEYS + f"{prefix}/revoke/")
    assert confirm.status_code == 200
    assert "Revoke key" in text(confirm) and "no-store" in confirm["Cache-Control"]
    assert (
        TenantKey.objects.get(prefix=prefix).revoked_at is None
    )  # GET changes nothing
    done = client_a.post(KEYS + f"{prefix}/revoke/")
    assert done.status_code == 302
    assert session.get("/rest/v1/things").status_code == 401
    listing = text(client_a.get(KEYS))
    assert "is revoked" in listing and "revoked 20" in listing


def test_revoked_tracking_key_is_refused_by_the_batch_endpoint(client_a):
    # Revoked before its first use: ingestion processes may trust a key they
    # have seen for a few seconds (tracking/capture.py KEY_CACHE_SECONDS).
    raw = issue(client_a, "tracking")
    kept = issue(client_a, "tracking")
    client_a.post(KEYS + f"{raw[:14]}/revoke/")
    batch = '{"batch": [{"type": "track", "userId": "u1", "event": "E"}]}'

    def send(key: str):
        basic = base64.b64encode(f"{key}:".encode()).decode()
        return Client().post(
            "/v1/batch",
            batch,
            content_type="application/json",
            headers={"Authorization": f"Basic {basic}"},
        )

    assert send(raw).status_code == 401
    assert send(kept).status_code == 200


def test_keys_of_b_are_neither_listed_nor_revocable_through_a(
    client_a, tenant_a, tenant_b, admin_b
):
    key_b, raw_b = key_issue(tenant=tenant_b.tenant, kind=KeyKind.API, label="b")
    listing = text(client_a.get(KEYS))
    for key in TenantKey.objects.filter(tenant=tenant_b.tenant):
        assert key.prefix not in listing
    assert client_a.get(KEYS + f"{key_b.prefix}/revoke/").status_code == 404
    assert client_a.post(KEYS + f"{key_b.prefix}/revoke/").status_code == 404
    key_b.refresh_from_db()
    assert key_b.revoked_at is None
    assert sign_in(raw_b, admin_b).get("/rest/v1/things").status_code == 200


# --- Members -----------------------------------------------------------------------


def test_adding_a_new_person_shows_a_temporary_password_once_that_signs_in(
    client_a, tenant_a
):
    response = client_a.post(
        MEMBERS + "add/", {"email": "New@Example.com", "role": "editor"}
    )
    assert response.status_code == 302
    page = client_a.get(response["Location"])
    assert "no-store" in page["Cache-Control"]
    match = re.search(r'id="fresh-password">([^<]+)<', text(page))
    assert match and "you will not see it again" in text(page)
    password = match.group(1)
    membership = Membership.objects.get(
        user__email="new@example.com", tenant=tenant_a.tenant
    )
    assert membership.role == Role.EDITOR
    assert 'id="fresh-password"' not in text(client_a.get(MEMBERS))
    signed_in = Client().post(
        "/login/", {"email": "new@example.com", "password": password}
    )
    assert signed_in.status_code == 302


def test_adding_an_existing_user_keeps_their_password(client_a, tenant_a, tenant_b):
    user = member_make(tenant_b.tenant, Role.ADMIN, email="known@example.com")
    response = client_a.post(MEMBERS + "add/", {"email": user.email, "role": "viewer"})
    page = client_a.get(response["Location"])
    assert 'id="fresh-password"' not in text(page)
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    assert Membership.objects.get(user=user, tenant=tenant_a.tenant).role == Role.VIEWER


def test_adding_twice_or_a_bad_email_is_told_next_to_the_email(client_a, admin_a):
    again = client_a.post(MEMBERS + "add/", {"email": admin_a.email, "role": "viewer"})
    assert again.status_code == 400
    assert "is already a member" in text(again)
    bad = client_a.post(MEMBERS + "add/", {"email": "not-an-email", "role": "viewer"})
    assert bad.status_code == 400
    assert 'id="add-email-error"' in text(bad) and 'value="not-an-email"' in text(bad)
    assert Membership.objects.get(user=admin_a).role == Role.ADMIN


def test_role_change_takes_effect(client_a, tenant_a):
    user = member_make(tenant_a.tenant, Role.VIEWER, email="v@example.com")
    response = client_a.post(MEMBERS + f"{user.pk}/role/", {"role": "editor"})
    assert response.status_code == 302
    assert Membership.objects.get(user=user, tenant=tenant_a.tenant).role == Role.EDITOR
    assert "v@example.com is now editor." in text(client_a.get(MEMBERS))


def test_the_last_admin_can_be_neither_demoted_nor_removed(client_a, admin_a, tenant_a):
    demote = client_a.post(MEMBERS + f"{admin_a.pk}/role/", {"role": "viewer"})
    assert demote.status_code == 400
    assert "is the last admin of this tenant" in text(demote)
    assert 'class="cell-error"' in text(demote)
    remove = client_a.post(MEMBERS + f"{admin_a.pk}/remove/")
    assert remove.status_code == 400
    assert "is the last admin of this tenant" in text(remove)
    assert (
        Membership.objects.get(user=admin_a, tenant=tenant_a.tenant).role == Role.ADMIN
    )
    # With a second admin, stepping down works.
    member_make(tenant_a.tenant, Role.ADMIN, email="second@example.com")
    stepped = client_a.post(MEMBERS + f"{admin_a.pk}/role/", {"role": "editor"})
    assert stepped.status_code == 302 and stepped["Location"] == SETTINGS
    assert (
        client_a.post(MEMBERS + "add/", {"email": "x@example.com"}).status_code == 403
    )


def test_a_removed_member_loses_access_at_once(client_a, tenant_a):
    user = member_make(tenant_a.tenant, Role.EDITOR, email="leaving@example.com")
    theirs = ui_client(user)
    assert theirs.get(SETTINGS).status_code == 200
    confirm = client_a.get(MEMBERS + f"{user.pk}/remove/")
    assert confirm.status_code == 200 and "leaving@example.com" in text(confirm)
    assert client_a.post(MEMBERS + f"{user.pk}/remove/").status_code == 302
    assert theirs.get("/t/tenant_a/").status_code == 404
    assert theirs.get(SETTINGS).status_code == 404
    assert User.objects.filter(pk=user.pk).exists()  # the account stays


def test_members_of_b_are_neither_listed_nor_changeable_through_a(
    client_a, admin_b, tenant_b
):
    assert admin_b.email not in text(client_a.get(MEMBERS))
    assert (
        client_a.post(MEMBERS + f"{admin_b.pk}/role/", {"role": "viewer"}).status_code
        == 404
    )
    assert client_a.post(MEMBERS + f"{admin_b.pk}/remove/").status_code == 404
    assert (
        client_a.post(
            "/t/tenant_b/settings/members/add/",
            {"email": "spy@example.com", "role": "admin"},
        ).status_code
        == 404
    )
    assert (
        Membership.objects.get(user=admin_b, tenant=tenant_b.tenant).role == Role.ADMIN
    )
    assert not Membership.objects.filter(
        tenant=tenant_b.tenant, user__email="spy@example.com"
    ).exists()


# --- Query counts --------------------------------------------------------------------


def add_keys_and_members(tenant, count: int) -> None:
    for i in range(count):
        key_issue(tenant=tenant, kind=KeyKind.API, label=f"k{i}")
        member_make(tenant, Role.VIEWER, email=f"member{i}@example.com")


@pytest.mark.parametrize("url", [SETTINGS, KEYS, MEMBERS])
def test_settings_pages_issue_a_fixed_number_of_queries(
    client_a, tenant_a, url, django_assert_max_num_queries
):
    add_keys_and_members(tenant_a.tenant, 1)
    with django_assert_max_num_queries(8):
        assert client_a.get(url).status_code == 200
    add_keys_and_members(tenant_a.tenant, 20)
    with django_assert_max_num_queries(8):
        response = client_a.get(url)
    assert response.status_code == 200
    if url != SETTINGS:
        assert "member19@example.com" in text(response) or "k19" in text(response)


def test_long_lists_are_paginated(client_a, tenant_a, settings):
    settings.UI_PAGE_SIZE = 5
    add_keys_and_members(tenant_a.tenant, 7)
    first = text(client_a.get(MEMBERS))
    assert "Page 1 of 2" in first and first.count("Change role</button>") == 5
    second = text(client_a.get(MEMBERS + "?page=2"))
    assert second.count("Change role</button>") == 3  # 7 members + the admin
    assert "Page 1 of 2" in text(client_a.get(KEYS))  # 7 keys + the 2 initial ones
