"""The trash of a wide thing in a real browser at 1400x900: Restore is in view
without scrolling sideways (first column, sticky), next to when and by whom each
entry was deleted."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

WIDE = 24  # fields, each with a long value: far wider than the window


def test_restore_is_in_view_on_a_wide_thing_with_when_and_by_whom(
    chromium, ui_tenant, rest_api
):
    [thing] = rest_api.post("things", {"name": "Wide"})
    rest_api.post(
        "fields",
        [
            {"thing_id": thing["id"], "name": f"Column {i}", "position": i}
            for i in range(WIDE)
        ],
    )
    values = {
        f"Column {i}": f"a rather long value number {i} " * 2 for i in range(WIDE)
    }
    [entry] = rest_api.post("entries", {"thing_id": thing["id"], "values": values})
    rest_api.call("PATCH", f"entries?id=eq.{entry['id']}", {"active": False})

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, ui_tenant)
        page.goto(ui_tenant.url(f"things/{thing['id']}/trash/"))
        wrap = page.locator(".table-wrap")
        assert wrap.evaluate("e => e.scrollWidth > e.clientWidth")  # it is wide
        restore = page.get_by_role("button", name=f"Restore entry {entry['id']}")
        expect(restore).to_be_visible()
        box = restore.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1400, box
        row = page.locator(f"#entry-{entry['id']}")
        expect(row.locator("td").nth(3)).to_have_text(ui_tenant.email)
        expect(row.locator("td").nth(2).locator("time")).to_be_visible()
        # Scrolled to the far right, Restore is still in view (sticky).
        wrap.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
        box = restore.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 1400, box
        screenshot(page, "trash-wide")
        restore.click()
        expect(page.get_by_text("The trash is empty")).to_be_visible()
    finally:
        context.close()
