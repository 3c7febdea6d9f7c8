"""Settings in a real browser: a key shown once and revoked, the connection
snippets run as copied (bash, curl, jq) against the real server, members added
and their role changed."""

import json
import subprocess
import time

from tests.browser.conftest import screenshot


def run_snippet(script: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=30
    )


def batch_status(base_url: str, key: str) -> str:
    """The HTTP status /v1/batch answers for ``key``, as curl reports it."""
    result = run_snippet(
        f"curl -s -o /dev/null -w '%{{http_code}}' '{base_url}/v1/batch' "
        f"-u '{key}:' -H 'Content-Type: application/json' "
        '-d \'{"batch": [{"type": "track", "userId": "u", "event": "E"}]}\''
    )
    return result.stdout


def test_tracking_key_is_shown_once_works_as_copied_and_is_revoked(page, ui_tenant):
    page.goto(ui_tenant.url("settings/"))
    assert page.locator("#tenant-id").inner_text() == ui_tenant.schema
    page.get_by_role("navigation", name="Settings").get_by_role(
        "link", name="Keys"
    ).click()
    page.get_by_label("Label").nth(1).fill("web app")
    page.get_by_role("button", name="Issue tracking key").click()
    secret = page.locator(".secret#fresh-key")
    key = secret.inner_text()
    assert key.startswith("gg_pk_")
    assert page.get_by_role("button", name="Copy key").is_visible()
    assert "you will not see it again" in page.locator(".fresh-key").inner_text()

    snippet = page.locator("#snippet-segment-http").inner_text()
    assert key in snippet and ui_tenant.base_url in snippet
    result = run_snippet(snippet)
    assert json.loads(result.stdout) == {"success": True}, result

    page.reload()
    assert page.locator(".secret").count() == 0
    assert key not in page.content()

    prefix = key[:14]
    page.get_by_role("link", name=f"Revoke key {prefix}").click()
    page.get_by_role("button", name="Revoke key").click()
    page.wait_for_url("**/settings/keys/")
    row = page.locator("tr", has=page.locator(f"text={prefix}…"))
    assert "revoked" in row.inner_text()
    # Ingestion workers may trust a key they have just seen for a few seconds.
    deadline = time.monotonic() + 15
    while batch_status(ui_tenant.base_url, key) != "401":
        assert time.monotonic() < deadline, "revoked key still accepted"
        time.sleep(0.5)


def test_api_key_curl_snippet_signs_in_and_lists_things(page, ui_tenant):
    page.goto(ui_tenant.url("settings/keys/"))
    page.get_by_role("button", name="Issue API key").click()
    key = page.locator("#fresh-key").inner_text()
    assert key.startswith("gg_sk_")
    script = page.locator("#snippet-curl").inner_text()
    assert f"GG_API_KEY='{key}'" in script
    result = run_snippet(script.replace("<YOUR_PASSWORD>", ui_tenant.password))
    assert result.returncode == 0, result
    assert json.loads(result.stdout) == [], result


def test_admin_adds_a_viewer_and_changes_their_role(page, ui_tenant):
    email = f"viewer-{ui_tenant.schema.replace('_', '-')}@example.com"
    page.goto(ui_tenant.url("settings/members/"))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Role", exact=True).select_option("viewer")
    page.get_by_role("button", name="Add member").click()
    assert page.locator("#fresh-password").inner_text()
    assert (
        f"{email} is now a member (viewer)." in page.locator(".messages").inner_text()
    )

    page.get_by_label(f"Role of {email}").select_option("editor")
    row = page.locator("tr", has=page.get_by_text(email, exact=True))
    row.get_by_role("button", name="Change role").click()
    assert f"{email} is now editor." in page.locator(".messages").inner_text()
    assert page.get_by_label(f"Role of {email}").input_value() == "editor"
    assert page.locator("#fresh-password").count() == 0  # shown once only

    # The only admin cannot step down: told so next to their role.
    page.get_by_label(f"Role of {ui_tenant.email}").select_option("viewer")
    page.locator("tr", has=page.get_by_text(ui_tenant.email)).get_by_role(
        "button", name="Change role"
    ).click()
    assert (
        "is the last admin of this tenant" in page.locator(".cell-error").inner_text()
    )

    page.goto(ui_tenant.url("settings/"))
    screenshot(page, "settings")
