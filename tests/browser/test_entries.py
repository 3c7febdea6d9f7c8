"""The entries grid in a real browser: create an entry with the form, edit cells
(text, choice, date) with htmx, an invalid number refused next to its cell,
filter, sort, search, delete to the trash and restore, the history."""

import re

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

PLANS = ["Free", "Team", "Business"]
CUSTOMERS = [
    ("Acme Robotics", "Business", 120, "2025-03-01", True),
    ("Blue Fern Studio", "Team", 8, "2024-11-15", True),
    ("Cobalt Freight", "Business", 240, "2025-06-30", True),
    ("Dune & Co", "Free", 1, None, False),
    ("Evergreen Clinics", "Team", 35, "2025-01-10", True),
    ("Fjord Analytics", "Business", 64, "2024-12-01", True),
    ("Granite Legal", "Team", 12, "2025-02-20", False),
    ("Harbor Foods", "Free", 3, None, True),
    ("Iris Learning", "Team", 22, "2025-04-05", True),
    ("Juniper Health", "Business", 180, "2025-09-12", True),
    ("Kestrel Drones", "Free", 2, None, False),
    ("Lumen Energy", "Team", 40, "2025-05-18", True),
    ("Mosaic Retail", "Business", 95, "2024-10-30", True),
    ("Nimbus Travel", "Team", 17, "2025-07-01", True),
]


def customers_thing(rest_api) -> tuple[dict, dict[str, int]]:
    """A thing with typed fields and 14 realistic entries, over /rest/v1."""
    [thing] = rest_api.post("things", {"name": "Customers"})
    specs = [
        ("Customer", "text", {"required_for_initialization": True}),
        ("Plan", "choice", {"mandatory": True, "options": {"choices": PLANS}}),
        ("Seats", "integer", {}),
        ("Renewal", "date", {}),
        ("Active", "boolean", {}),
    ]
    # A bulk insert gives every row the same keys (PostgREST's rule).
    defaults = {"mandatory": False, "required_for_initialization": False}
    fields = rest_api.post(
        "fields",
        [
            {
                "thing_id": thing["id"],
                "name": name,
                "position": i,
                "data_type": data_type,
                **defaults,
                "options": {},
                **extra,
            }
            for i, (name, data_type, extra) in enumerate(specs)
        ],
    )
    rows = []
    for name, plan, seats, renewal, active in CUSTOMERS:
        values = {"Customer": name, "Plan": plan, "Seats": seats, "Active": active}
        if renewal:
            values["Renewal"] = renewal
        rows.append({"thing_id": thing["id"], "values": values})
    rest_api.post("entries", rows)
    return thing, {f["name"]: f["id"] for f in fields}


def row_names(page, field_id: int) -> list[str]:
    cells = page.locator(f'table.grid input[hx-post$="/cell/f{field_id}/"]')
    return [cells.nth(i).input_value() for i in range(cells.count())]


def test_edit_entries_in_the_grid_trash_restore_and_history(page, rest_api, ui_tenant):
    thing, f = customers_thing(rest_api)
    page.goto(ui_tenant.url(f"things/{thing['id']}/?plain=1"))
    expect(page.locator("table.grid tbody tr")).to_have_count(len(CUSTOMERS))
    expect(page.get_by_text("14 entries")).to_be_visible()

    # Create an entry with its required values in one step.
    page.locator("details.new-entry > summary").click()
    page.locator(f"#id_f{f['Customer']}").fill("Orchid Media")
    page.locator(f"#id_f{f['Plan']}").select_option("Team")
    page.get_by_text("More fields").click()
    page.locator(f"#id_f{f['Seats']}").fill("9")
    page.get_by_role("button", name="Add entry").click()
    expect(page.get_by_text(re.compile(r"Entry #\d+ created\."))).to_be_visible()
    new_id = int(
        re.search(r"#(\d+)", page.locator(".message").first.inner_text()).group(1)
    )
    row = page.locator(f"#entry-{new_id}")
    expect(row).to_be_visible()
    expect(row.locator(".badge", has_text="complete")).to_be_visible()

    # Edit cells: text, choice, date; each saves on change.
    name = row.get_by_label(f"Customer of entry {new_id}")
    name.fill("Orchid Media Group")
    name.press("Tab")
    expect(row.locator("td.saved")).to_have_count(1)
    row.get_by_label(f"Plan of entry {new_id}").select_option("Business")
    expect(row.locator("td.saved select[aria-label^='Plan']")).to_have_count(1)
    renewal = row.get_by_label(f"Renewal of entry {new_id}")
    renewal.fill("2026-01-31")
    renewal.press("Tab")
    expect(row.locator("td.saved input[type=date]")).to_have_value("2026-01-31")

    # An invalid number: refused, the error in words next to the cell.
    seats = row.get_by_label(f"Seats of entry {new_id}")
    seats.fill("12,5")
    seats.press("Tab")
    invalid = row.locator("td.invalid")
    expect(invalid.locator(".cell-error")).to_have_text("'12,5' is not a whole number")
    expect(invalid.locator("input")).to_have_value("12,5")
    page.reload()
    row = page.locator(f"#entry-{new_id}")
    expect(row.get_by_label(f"Customer of entry {new_id}")).to_have_value(
        "Orchid Media Group"
    )
    expect(row.get_by_label(f"Plan of entry {new_id}")).to_have_value("Business")
    expect(row.get_by_label(f"Seats of entry {new_id}")).to_have_value("9")
    page.evaluate("window.scrollTo(0, 0)")

    # Filter by a field, then sort by Seats (as numbers), then search.
    page.get_by_label("Filter field").select_option(label="Plan")
    page.get_by_label("Condition").select_option("eq")
    page.get_by_label("Value").fill("Business")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(6)
    expect(page.get_by_text("Plan is Business")).to_be_visible()
    page.get_by_role("link", name="Seats", exact=True).click()
    expect(page.locator("th[aria-sort=ascending]")).to_have_text(re.compile("Seats"))
    assert row_names(page, f["Customer"])[:3] == [
        "Orchid Media Group",
        "Fjord Analytics",
        "Mosaic Retail",
    ]
    page.get_by_label("Search").fill("freight")
    page.get_by_role("button", name="Apply").click()
    assert row_names(page, f["Customer"]) == ["Cobalt Freight"]
    page.get_by_role("link", name="Remove filter: Plan is Business").click()
    page.get_by_role("link", name=re.compile("Remove filter: Search")).click()
    expect(page.locator("table.grid tbody tr")).to_have_count(15)

    # Delete to the trash (confirmed), restore from it.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name=f"Delete entry {new_id}").click()
    expect(page.get_by_text(f"Entry #{new_id} moved to the trash")).to_be_visible()
    expect(page.locator(f"#entry-{new_id}")).to_have_count(0)
    page.get_by_role("link", name="Trash").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(1)
    # Read-only cells (the trash, a viewer's grid): numbers right-aligned under
    # their right-aligned header.
    number = page.locator("table.grid tbody td.number .cell").first
    assert number.evaluate("e => getComputedStyle(e).textAlign") == "right"
    page.get_by_role("button", name=f"Restore entry {new_id}").click()
    expect(page.get_by_text(f"Entry #{new_id} restored.")).to_be_visible()
    # Back in the table (the Entries tab opens the Tabulator grid).
    page.goto(ui_tenant.url(f"things/{thing['id']}/?plain=1"))
    expect(page.locator(f"#entry-{new_id}")).to_be_visible()

    # The history: who changed what, when, newest first.
    page.get_by_role("link", name=f"History of entry {new_id}").click()
    rows = page.locator("tbody tr")
    expect(rows.first).to_contain_text("Restored from the trash")
    expect(rows.nth(1)).to_contain_text("Moved to the trash")
    expect(page.get_by_text("Renewal: empty → 2026-01-31")).to_be_visible()
    expect(page.get_by_text("Plan: Team → Business")).to_be_visible()
    expect(
        page.get_by_text("Customer: Orchid Media → Orchid Media Group")
    ).to_be_visible()
    expect(rows.first).to_contain_text(ui_tenant.email)
    screenshot(page, "history")


def test_keyboard_moves_between_cells_and_enter_saves(page, rest_api, ui_tenant):
    thing, f = customers_thing(rest_api)
    page.goto(ui_tenant.url(f"things/{thing['id']}/?plain=1"))
    first = page.locator(f'table.grid input[hx-post$="/cell/f{f["Seats"]}/"]').first
    first.fill("121")
    first.press("Enter")  # saves and moves down
    second = page.locator(f'table.grid input[hx-post$="/cell/f{f["Seats"]}/"]').nth(1)
    expect(second).to_be_focused()
    expect(page.locator("table.grid tbody tr").first.locator("td.saved")).to_have_count(
        1
    )
    page.reload()
    expect(
        page.locator(f'table.grid input[hx-post$="/cell/f{f["Seats"]}/"]').first
    ).to_have_value("121")


def test_an_edit_after_the_session_ended_signs_in_again_in_place_and_is_kept(
    page, rest_api, ui_tenant
):
    thing, _ = customers_thing(rest_api)
    page.goto(ui_tenant.url(f"things/{thing['id']}/?plain=1"))
    first = page.locator("table.grid tbody tr").first
    entry_id = int(first.get_attribute("id").removeprefix("entry-"))
    # The session ends (expired, or signed out in another tab); the page stays.
    page.context.clear_cookies(name="sessionid")
    name = first.get_by_label(f"Customer of entry {entry_id}")
    name.fill("Renamed after a break")
    name.press("Tab")
    dialog = page.get_by_role("dialog", name="Your session has ended")
    expect(dialog).to_be_visible()
    # The sign-in page never lands inside the cell; the edit is still there.
    expect(first.locator("td", has_text="Sign in")).to_have_count(0)
    expect(name).to_have_value("Renamed after a break")
    dialog.get_by_label("Password").fill("wrong password")
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog.get_by_role("alert")).to_be_visible()
    dialog.get_by_label("Password").fill(ui_tenant.password)
    dialog.get_by_role("button", name="Sign in").click()
    expect(dialog).to_be_hidden()
    expect(first.locator("td.saved")).to_have_count(1)
    [row] = rest_api.call("GET", f"entries?id=eq.{entry_id}&select=values")[1]
    assert row["values"]["Customer"] == "Renamed after a break"


def test_the_filter_form_offers_the_conditions_of_the_fields_type(
    page, rest_api, ui_tenant
):
    thing, _ = customers_thing(rest_api)
    page.goto(ui_tenant.url(f"things/{thing['id']}/?plain=1"))
    field = page.get_by_label("Filter field")
    condition = page.get_by_label("Condition")
    value = page.get_by_label("Value", exact=True)
    field.select_option(label="Seats")
    assert condition.locator("option[value=contains]").is_disabled()
    assert not condition.locator("option[value=gte]").is_disabled()
    assert value.get_attribute("inputmode") == "decimal"
    field.select_option(label="Renewal")
    assert value.get_attribute("type") == "date"
    condition.select_option("empty")
    assert value.is_disabled()
    field.select_option(label="Customer")
    assert not condition.locator("option[value=contains]").is_disabled()
    assert value.get_attribute("type") == "text"
    # A date range is two conditions on one field.
    field.select_option(label="Seats")
    condition.select_option("gte")
    value.fill("100")
    page.get_by_role("button", name="Apply").click()
    expect(page.locator("table.grid tbody tr")).to_have_count(3)  # 120, 180, 240
