"""Things and fields in a real browser: an admin sets up "Customers" the way
they would in Airtable or Baserow, and every change survives a reload."""

from playwright.sync_api import expect

from tests.browser.conftest import screenshot

ACTIVE_NAMES = "table.fields:not(.deactivated) tbody strong"


def _row(page, table: str, name: str):
    return page.locator(f"{table} tbody tr", has=page.locator("strong", has_text=name))


def _create_thing(page, name: str, description: str = "") -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Description").fill(description)
    page.get_by_role("button", name="Create thing").click()
    page.get_by_text(f"Created “{name}”.").wait_for()


def _add_field(page, name: str, data_type: str, *, choices: str = "", **flags):
    form = page.get_by_role("form", name="Add a field")
    form.get_by_label("Name", exact=True).fill(name)
    form.get_by_label("Data type").select_option(label=data_type)
    if choices:
        form.get_by_label("Choices").fill(choices)
    if flags.get("required"):
        form.get_by_label("Required for initialization").check()
    if flags.get("mandatory"):
        form.get_by_label("Mandatory").check()
    form.get_by_role("button", name="Add field").click()
    page.get_by_text(f"Added the field “{name}”.").wait_for()


def _field_names(page) -> list[str]:
    return page.locator(ACTIVE_NAMES).all_inner_texts()


def test_admin_sets_up_a_thing_and_its_fields(page, ui_tenant):
    page.goto(ui_tenant.url("things/"))
    assert page.get_by_text("No things yet.").is_visible()

    # Create things; a duplicate name is refused next to the input.
    _create_thing(page, "Customer", "Companies that pay us")
    _create_thing(page, "Invoices", "What we billed, per month")
    _create_thing(page, "Plans", "Free, Pro and Enterprise")
    page.get_by_label("Name", exact=True).fill("Plans")
    page.get_by_role("button", name="Create thing").click()
    page.get_by_text("An active thing is already named “Plans”.").wait_for()

    # Rename in the row (keyboard: the name input has focus when it opens).
    page.get_by_role("link", name="Rename Customer").click()
    name_input = page.get_by_role("form", name="Edit Customer").get_by_label("Name")
    name_input.wait_for()
    assert name_input.evaluate("el => el === document.activeElement")
    name_input.fill("Customers")
    page.keyboard.press("Enter")
    page.get_by_text("Saved “Customers”.").wait_for()
    page.reload()
    assert _row(page, "table.things", "Customers").count() == 1
    assert _row(page, "table.things", "Customer").count() == 1  # only the new name

    # The thing's fields page.
    _row(page, "table.things", "Customers").get_by_role(
        "link", name="Fields", exact=True
    ).click()
    page.wait_for_url("**/fields/")
    assert page.get_by_text("Customers has no fields yet.").is_visible()

    # Choices are asked only for choice types (the input is hidden otherwise).
    add_form = page.get_by_role("form", name="Add a field")
    assert not add_form.get_by_label("Choices").is_visible()
    add_form.get_by_label("Data type").select_option(label="Choice")
    assert add_form.get_by_label("Choices").is_visible()
    add_form.get_by_label("Name", exact=True).fill("Plan")
    add_form.get_by_role("button", name="Add field").click()
    page.get_by_text("List at least one choice, one per line.").wait_for()

    _add_field(page, "Name", "Text", required=True)
    _add_field(page, "Email", "Email")
    _add_field(page, "Plan", "Choice", choices="Free\nPro\nEnterprise", mandatory=True)
    _add_field(page, "MRR", "Decimal")
    _add_field(page, "Signed up", "Date")
    _add_field(page, "Active", "Yes / no")
    _add_field(page, "Fax", "Text")
    assert _field_names(page) == [
        "Name", "Email", "Plan", "MRR", "Signed up", "Active", "Fax"
    ]  # fmt: skip

    # Reorder with the keyboard: the moved field's button keeps the focus.
    page.get_by_role("button", name="Move Signed up up").focus()
    page.keyboard.press("Enter")
    expect(page.locator(ACTIVE_NAMES)).to_have_text(
        ["Name", "Email", "Plan", "Signed up", "MRR", "Active", "Fax"]
    )
    expect(page.get_by_role("button", name="Move Signed up up")).to_be_focused()

    # Edit: Email becomes required for initialization.
    page.get_by_role("link", name="Edit Email").click()
    edit_form = page.get_by_role("form", name="Edit field Email")
    edit_form.get_by_label("Required for initialization").check()
    edit_form.get_by_role("button", name="Save field").click()
    page.get_by_text("Saved the field “Email”.").wait_for()

    # Deactivate a field: it moves to its own section; restore brings it back.
    page.get_by_role("button", name="Deactivate Fax").click()
    page.get_by_role("heading", name="Deactivated fields").wait_for()
    page.reload()
    assert "Fax" not in _field_names(page)
    assert page.get_by_role("button", name="Restore Fax").is_visible()
    page.get_by_role("button", name="Restore Fax").click()
    page.get_by_text("Restored the field “Fax” with its values.").wait_for()
    page.get_by_role("button", name="Deactivate Fax").click()
    page.get_by_role("heading", name="Deactivated fields").wait_for()

    page.reload()
    assert _field_names(page) == ["Name", "Email", "Plan", "Signed up", "MRR", "Active"]
    email = _row(page, "table.fields", "Email")
    assert email.locator("td").nth(2).inner_text() == "Email"
    assert email.locator("td").nth(5).inner_text() == "Required"
    plan = _row(page, "table.fields", "Plan")
    assert plan.locator("td").nth(3).inner_text() == "Free, Pro, Enterprise"
    assert plan.locator("td").nth(4).inner_text() == "Mandatory"
    assert _row(page, "table.fields", "Signed up").locator("td").nth(
        2
    ).inner_text() == ("Date")
    screenshot(page, "fields")

    page.goto(ui_tenant.url("things/"))
    customers = _row(page, "table.things", "Customers")
    assert customers.get_by_role("link", name="6 fields of Customers").is_visible()
    screenshot(page, "things")


def test_deactivated_thing_is_restored_from_the_filter_without_javascript(
    chromium, ui_tenant
):
    # Plain forms: the same pages work with JavaScript off.
    from tests.browser.conftest import sign_in

    context = chromium.new_context(java_script_enabled=False)
    page = context.new_page()
    sign_in(page, ui_tenant)
    page.goto(ui_tenant.url("things/"))
    page.get_by_label("Name", exact=True).fill("Leads")
    page.get_by_role("button", name="Create thing").click()
    page.get_by_text("Created “Leads”.").wait_for()

    page.get_by_role("button", name="Deactivate Leads").click()
    page.get_by_text("Deactivated “Leads”").wait_for()
    assert _row(page, "table.things", "Leads").count() == 0
    page.get_by_label("Show").select_option(label="Deactivated things")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("button", name="Restore Leads").click()
    page.get_by_text("Restored “Leads”.").wait_for()
    assert "status=deactivated" in page.url

    page.goto(ui_tenant.url("things/"))
    _row(page, "table.things", "Leads").get_by_role(
        "link", name="Fields", exact=True
    ).click()
    page.get_by_label("Name", exact=True).fill("Source")
    page.get_by_role("button", name="Add field").click()
    page.get_by_label("Name", exact=True).fill("Score")
    page.get_by_label("Data type").select_option(label="Integer")
    page.get_by_role("button", name="Add field").click()
    page.get_by_role("button", name="Move Score up").click()
    expect(page.locator(ACTIVE_NAMES)).to_have_text(["Score", "Source"])
    context.close()
