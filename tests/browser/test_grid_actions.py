"""The grid's work on many cells, in real Chromium as a person does it: a TSV
range pasted from the clipboard, 1,000 selected entries trashed and the trash
undone, a saved view reopened by another member, the reference picker."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import UiTenant, sign_in
from tests.browser.test_entries import customers_thing
from tests.browser.test_grid import GRID, cell, entry_ids, open_grid
from tests.factories import PASSWORD


def values_of(rest_api, entry_id: int) -> dict:
    _, [row] = rest_api.call("GET", f"entries?id=eq.{entry_id}&select=values")
    return row["values"]


def test_a_tsv_range_pasted_from_the_clipboard_lands_cell_by_cell(
    page, rest_api, ui_tenant
):
    thing, f = customers_thing(rest_api)
    ids = entry_ids(rest_api, thing["id"])
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    open_grid(page, ui_tenant, thing["id"])
    # Two rows by three columns, as a spreadsheet copies them (Seats, Renewal,
    # Active): a thousands separator, a day-first date, FALSE and no.
    tsv = "1,500\t31/12/2026\tFALSE\n7\t01/02/2027\tno\n"
    page.evaluate("text => navigator.clipboard.writeText(text)", tsv)
    acme, blue = ids["Acme Robotics"], ids["Blue Fern Studio"]
    cell(page, acme, f["Seats"]).click()
    page.keyboard.press("Control+V")
    expect(page.locator("[data-grid-toast]")).to_contain_text("6 values pasted")
    expect(cell(page, acme, f["Seats"])).to_have_text("1500")
    expect(cell(page, blue, f["Seats"])).to_have_text("7")
    assert values_of(rest_api, acme)["Renewal"] == "2026-12-31"
    assert values_of(rest_api, blue)["Renewal"] == "2027-02-01"
    assert values_of(rest_api, acme)["Active"] == "false"
    # A bad cell refuses the whole paste and is marked, in words.
    page.evaluate("text => navigator.clipboard.writeText(text)", "12\nlots\n")
    cell(page, acme, f["Seats"]).click()
    page.keyboard.press("Control+V")
    expect(page.locator("[data-grid-error]")).to_contain_text("Nothing was pasted")
    expect(cell(page, blue, f["Seats"])).to_have_class(re.compile("cell-invalid"))
    assert values_of(rest_api, acme)["Seats"] == "1500"
    # Ctrl+Z takes the good paste back.
    page.keyboard.press("Escape")
    page.locator(GRID).click(position={"x": 5, "y": 5})
    cell(page, acme, f["Customer"]).click()
    page.keyboard.press("Control+z")
    expect(page.locator("[data-grid-toast]")).to_contain_text("Undone (6 changes)")
    assert values_of(rest_api, acme)["Seats"] == "120"


def test_1000_selected_entries_go_to_the_trash_and_undo_brings_them_back(
    page, rest_api, ui_tenant
):
    [thing] = rest_api.post("things", {"name": "Leads"})
    rest_api.post(
        "fields",
        {
            "thing_id": thing["id"],
            "name": "Lead",
            "position": 0,
            "data_type": "text",
            "mandatory": False,
            "required_for_initialization": False,
            "options": {},
        },
    )
    rest_api.post(
        "entries",
        [
            {"thing_id": thing["id"], "values": {"Lead": f"L{i:04}"}}
            for i in range(1000)
        ],
    )
    open_grid(page, ui_tenant, thing["id"])
    expect(page.locator("[data-grid-count]")).to_contain_text("1,000 entries")
    # Shift-click selects a run; the page box then all 100 rows on the page.
    boxes = page.locator(f'{GRID} .tabulator-cell[tabulator-field="_select"] input')
    boxes.nth(0).click()
    boxes.nth(4).click(modifiers=["Shift"])
    expect(page.locator("[data-grid-selected]")).to_have_text("5 selected")
    page.locator("[data-select-page]").check()
    expect(page.locator("[data-grid-selected]")).to_have_text("100 selected")
    page.get_by_role("button", name="Select all 1,000 matching").click()
    expect(page.locator("[data-grid-selected]")).to_contain_text("1,000 selected")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Move to trash").click()
    toast = page.locator("[data-grid-toast]")
    expect(toast).to_contain_text("1,000 entries moved to the trash.")
    headers, _ = rest_api.call(
        "GET", f"entries?thing_id=eq.{thing['id']}&select=id", prefer="count=exact"
    )
    assert headers["content-range"].endswith("/0")
    toast.get_by_role("button", name="Undo").click()
    expect(toast).to_contain_text("Undone (1,000 changes)")
    expect(page.locator("[data-grid-count]")).to_contain_text("1,000 entries")


def test_a_saved_view_is_reopened_by_another_member(
    page, chromium, served, rest_api, ui_tenant
):
    thing, f = customers_thing(rest_api)
    open_grid(page, ui_tenant, thing["id"])
    # Hide Renewal, filter to Business, then save the arrangement as a view.
    page.locator("[data-grid-columns] summary").click()
    page.locator("[data-grid-column-toggles]").get_by_label("Renewal").uncheck()
    page.locator("[data-filter-field]").select_option(label="Plan")
    page.locator("[data-filter-op]").select_option("eq")
    page.locator("[data-filter-value]").fill("Business")
    page.get_by_role("button", name="Add filter").click()
    expect(page.locator("[data-grid-count]")).to_contain_text("5 entries")
    page.once("dialog", lambda dialog: dialog.accept("Business accounts"))
    page.get_by_role("button", name="Save view…").click()
    page.wait_for_url(re.compile(r"\?view=\d+"))
    url = page.url
    # Another member opens the same URL: the same columns and filter.
    email = f"second-{ui_tenant.schema.replace('_', '-')}@example.com"
    served.manage(
        "create_tenant_admin",
        email,
        "--tenant",
        ui_tenant.schema,
        "--password",
        PASSWORD,
    )
    other = UiTenant(ui_tenant.schema, email, PASSWORD, ui_tenant.base_url)
    context = chromium.new_context(viewport={"width": 1360, "height": 860})
    context.set_default_timeout(15_000)
    second = context.new_page()
    sign_in(second, other)
    second.goto(url)
    expect(second.locator("[data-grid-count]")).to_contain_text("5 entries")
    expect(second.locator("[data-grid-chips]")).to_contain_text("Plan is Business")
    expect(second.locator("[data-grid-views]")).to_have_value(re.compile(r"\d+"))
    expect(
        second.locator(f'.tabulator-col[tabulator-field="f{f["Renewal"]}"]')
    ).to_be_hidden()
    expect(
        second.locator(f'.tabulator-col[tabulator-field="f{f["Seats"]}"]')
    ).to_be_visible()
    # Deleting it is for everyone: the menu no longer offers it.
    second.once("dialog", lambda dialog: dialog.accept())
    second.get_by_role("button", name="Delete view").click()
    second.wait_for_url(re.compile(r"/things/\d+/$"))
    expect(second.locator("[data-grid-views] option")).to_have_count(1)
    context.close()
    page.reload()
    expect(page.locator("[data-grid-views] option")).to_have_count(1)


def test_the_reference_picker_searches_names_and_shows_the_one_chosen(
    page, rest_api, ui_tenant
):
    customers, _ = customers_thing(rest_api)
    ids = entry_ids(rest_api, customers["id"])
    [deals] = rest_api.post("things", {"name": "Deals"})
    defaults = {"mandatory": False, "required_for_initialization": False}
    fields = rest_api.post(
        "fields",
        [
            {
                "thing_id": deals["id"],
                "name": "Deal",
                "position": 0,
                "data_type": "text",
                "options": {},
                **defaults,
            },
            {
                "thing_id": deals["id"],
                "name": "Customer",
                "position": 1,
                "data_type": "reference",
                "options": {"thing_id": customers["id"]},
                **defaults,
            },
        ],
    )
    customer = next(x["id"] for x in fields if x["name"] == "Customer")
    [deal] = rest_api.post(
        "entries", [{"thing_id": deals["id"], "values": {"Deal": "Renewal 2027"}}]
    )
    open_grid(page, ui_tenant, deals["id"])
    target = cell(page, deal["id"], customer)
    target.click()
    page.keyboard.type("fjo")
    option = page.locator(".ref-options [role=option]", has_text="Fjord Analytics")
    expect(option).to_be_visible()
    page.keyboard.press("Enter")
    expect(page.locator("[data-grid-toast]")).to_contain_text("Customer of entry")
    expect(target).to_contain_text("Fjord Analytics")
    expect(target.locator("a")).to_have_attribute(
        "href", re.compile(rf"/entries/{ids['Fjord Analytics']}/")
    )
    assert values_of(rest_api, deal["id"])["Customer"] == str(ids["Fjord Analytics"])
