"""The UI on a phone-sized screen and in dark mode: nothing scrolls the page
sideways, a 200-character name does not push the columns off screen, and the
colours follow the system's scheme."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_entries import customers_thing

LONG_NAME = "Quarterly " + "enterprise-renewal " * 10  # ~200 characters


@pytest.fixture
def phone(chromium, ui_tenant):
    context = chromium.new_context(viewport={"width": 390, "height": 844})
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, ui_tenant)
    yield page
    context.close()


def page_scrolls_sideways(page) -> bool:
    return page.evaluate(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth"
    )


def test_at_390_px_no_page_scrolls_sideways(phone, rest_api, ui_tenant):
    thing, _ = customers_thing(rest_api)
    rest_api.post("things", {"name": LONG_NAME.strip()})
    for path in ("", "things/", f"things/{thing['id']}/", "settings/", "accounts/"):
        phone.goto(ui_tenant.url(path))
        assert not page_scrolls_sideways(phone), path
    # The grid itself scrolls inside its box; the page does not.
    phone.goto(ui_tenant.url(f"things/{thing['id']}/"))
    box = phone.locator("#grid .tabulator-tableholder")
    expect(box.locator(".tabulator-row").first).to_be_visible()
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    # The sections fold into a menu above the page.
    expect(phone.locator("nav.sidebar")).to_be_hidden()
    phone.get_by_role("button", name="Menu").click()
    expect(phone.locator("nav.sidebar")).to_be_visible()
    sidebar = phone.locator("nav.sidebar").bounding_box()
    main = phone.locator("main#main").bounding_box()
    assert sidebar["y"] + sidebar["height"] <= main["y"] + 1


def test_dark_mode_follows_the_system(chromium, ui_tenant):
    for scheme, dark in (("dark", True), ("light", False)):
        context = chromium.new_context(color_scheme=scheme)
        page = context.new_page()
        sign_in(page, ui_tenant)
        page.goto(ui_tenant.url("things/"))
        background = page.evaluate("getComputedStyle(document.body).backgroundColor")
        red, green, blue = (int(c) for c in background[4:-1].split(",")[:3])
        assert (red + green + blue < 150) is dark, (scheme, background)
        context.close()
