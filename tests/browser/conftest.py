"""Real-browser tests: Debian's headless chromium driven by Playwright against
the real service (``manage.py serve`` on its own embedded PostgreSQL, the
session's ``served`` fixture). Each test works in a tenant of its own, made
with the management commands an operator would use."""

import itertools
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
HERE = Path(__file__).resolve().parent
_counter = itertools.count()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items) -> None:
    """Every test in this directory is ``browser`` and ``slow``: before ``-m``
    deselects (hence tryfirst), as a ``pytestmark`` here would not apply (a
    conftest's pytestmark marks nothing). The hook sees the whole session's
    items, so only those under this directory are marked."""
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


@dataclass
class UiTenant:
    schema: str
    email: str
    password: str
    base_url: str

    def url(self, path: str = "") -> str:
        return f"{self.base_url}/t/{self.schema}/{path}"


@pytest.fixture
def ui_tenant(served) -> UiTenant:
    """A fresh tenant with an admin user, made through the management commands."""
    schema = f"ui_{next(_counter)}_{uuid.uuid4().hex[:6]}"
    served.manage("create_tenant", schema, "--name", f"UI {schema}")
    email = f"admin-{schema.replace('_', '-')}@example.com"
    served.manage(
        "create_tenant_admin", email, "--tenant", schema, "--password", PASSWORD
    )
    return UiTenant(schema=schema, email=email, password=PASSWORD, base_url=served.url)


@pytest.fixture
def tracking_key(served, ui_tenant) -> str:
    out = served.manage("issue_key", ui_tenant.schema, "--kind", "tracking", "--json")
    return json.loads(out)["key"]


@pytest.fixture
def page(chromium, ui_tenant):
    """A signed-in page (admin of ``ui_tenant``), on the tenant's home."""
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, ui_tenant)
    yield page
    context.close()


def sign_in(page, ui_tenant: UiTenant) -> None:
    page.goto(f"{ui_tenant.base_url}/login/")
    page.get_by_label("Email").fill(ui_tenant.email)
    page.get_by_label("Password").fill(ui_tenant.password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/t/{ui_tenant.schema}/**")


def screenshot(page, name: str) -> None:
    """Save ``docs/screenshots/<name>.png`` when GATHERGRID_SCREENSHOTS=1 (the
    README shows them); otherwise do nothing, so tests leave the tree clean."""
    if os.environ.get("GATHERGRID_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


class RestApi:
    """``/rest/v1`` of ``ui_tenant`` over real HTTP, signed in as its admin: to
    set data up for a browser test without depending on other screens."""

    def __init__(self, served, ui_tenant: UiTenant) -> None:
        from tests.live import login

        self.served = served
        self.schema = ui_tenant.schema
        out = served.manage("issue_key", ui_tenant.schema, "--kind", "api", "--json")
        self.key = json.loads(out)["key"]
        self.token = login(served, self.key, ui_tenant.email, ui_tenant.password)[
            "access_token"
        ]

    def call(self, method: str, table: str, body=None, prefer: str = ""):
        """Return (headers, decoded body); any status >= 300 fails the test."""
        from tests.live import request

        status, headers, raw = request(
            method,
            f"{self.served.url}/rest/v1/{table}",
            body,
            apikey=self.key,
            Authorization=f"Bearer {self.token}",
            Content_Profile=self.schema,
            Accept_Profile=self.schema,
            Prefer=prefer or "return=representation",
        )
        assert status < 300, raw
        return headers, json.loads(raw) if raw else None

    def post(self, table: str, body):
        return self.call("POST", table, body)[1]


@pytest.fixture
def rest_api(served, ui_tenant) -> RestApi:
    return RestApi(served, ui_tenant)
