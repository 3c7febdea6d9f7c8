"""Import a CSV of a few thousand rows in a real browser: upload, map, preview
with a rejected row, validation progress, apply the valid rows, the grid."""

import random
import re

from tests.browser.conftest import screenshot

ROWS = 3000
CITIES = ["Lisbon", "Porto", "Berlin", "Lyon", "Ghent", "Turin", "Malmö", "Cork"]
FIRST = ["Ana", "Bruno", "Clara", "Daniel", "Eva", "Filipe", "Greta", "Hugo", "Inês"]
LAST = ["Silva", "Müller", "Dubois", "Rossi", "Jansen", "Costa", "Berg", "Walsh"]
PLANS = ["Free", "Team", "Business"]
ASCII = str.maketrans("êüö", "euo")


def customers_csv(path) -> None:
    rng = random.Random(5)
    lines = ["Customer;E-mail;City;Plan;Seats;Signed up"]
    for i in range(ROWS):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}{i}".lower().translate(ASCII)
        seats = str(rng.randint(1, 250))
        if i == 3:
            seats = "a dozen"  # row 5 of the file: rejected, with its reason
        lines.append(
            f"{first} {last};{local}@example.com;"
            f"{rng.choice(CITIES)};{rng.choice(PLANS)};{seats};"
            f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")


def test_import_a_csv_with_progress_and_a_rejected_row(
    page, rest_api, ui_tenant, tmp_path
):
    [thing] = rest_api.post("things", {"name": "Customers"})
    rest_api.post(
        "fields",
        [
            {
                "thing_id": thing["id"],
                "name": name,
                "position": i,
                "data_type": data_type,
                "required_for_initialization": i == 0,
                "options": {"choices": PLANS} if data_type == "choice" else {},
            }
            for i, (name, data_type) in enumerate(
                [
                    ("Customer", "text"),
                    ("Email", "email"),
                    ("City", "text"),
                    ("Plan", "choice"),
                    ("Seats", "integer"),
                    ("Signed up", "date"),
                ]
            )
        ],
    )
    csv_path = tmp_path / "customers.csv"
    customers_csv(csv_path)

    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(ui_tenant.url(f"things/{thing['id']}/import/"))
    # Nothing is uploading yet: no "Uploading…" and no empty progress bar (a
    # `display: flex` rule used to beat the `hidden` attribute).
    assert not page.locator("[data-upload-progress]").is_visible()
    assert not page.get_by_text("Uploading…").is_visible()
    page.get_by_label("CSV file", exact=True).set_input_files(
        files=[{"name": "empty.csv", "mimeType": "text/csv", "buffer": b"\n"}]
    )
    page.get_by_role("button", name="Upload").click()
    page.get_by_role("alert").get_by_text("The file is empty.").wait_for()
    page.get_by_label("CSV file", exact=True).set_input_files(str(csv_path))
    page.get_by_role("button", name="Upload").click()
    page.wait_for_url("**/import/*/")

    # Mapping: columns named like fields are chosen; "E-mail" is mapped by hand.
    assert page.get_by_label("Customer", exact=True).input_value().startswith("field:")
    assert page.get_by_label("E-mail", exact=True).input_value() == ""
    page.get_by_label("E-mail", exact=True).select_option(label="Email (email)")
    preview = page.locator("#preview")
    preview.locator("th", has_text="Email").wait_for()  # the preview follows
    preview.get_by_text("Seats: 'a dozen' is not a whole number").wait_for()
    assert "@example.com" in preview.locator("tbody tr").first.inner_text()
    page.locator("#preview-heading").evaluate(
        "h => window.scrollTo(0, h.offsetTop - 330)"
    )
    screenshot(page, "import")

    page.get_by_role("button", name=f"Validate {ROWS:,} rows").click()
    bar = page.locator("progress#validation-progress")
    bar.wait_for()
    assert bar.get_attribute("max") == str(ROWS)
    page.wait_for_function(
        "() => { const p = document.querySelector('progress#validation-progress');"
        " return p && p.value === p.max; }"
    )
    report = page.locator("#report")
    report.get_by_role("heading", name=f"Validated {ROWS:,} rows").wait_for()
    rejected = page.locator("table.rejected-rows tbody tr")
    assert rejected.count() == 1
    assert "Seats: 'a dozen' is not a whole number" in rejected.first.inner_text()
    assert rejected.first.locator("td").first.inner_text() == "5"
    screenshot(page, "import-report")

    page.get_by_label(f"Apply the {ROWS - 1:,} valid rows").check()
    page.get_by_role("button", name="Apply", exact=True).click()
    # The apply runs in the server's background; the job's page follows it
    # (polling its progress) until the result shows.
    first = page.locator("#apply-progress, #applied-heading").first
    first.wait_for()
    if first.get_attribute("id") == "apply-progress":
        label = page.locator("label[for=apply-progress]").inner_text()
        assert label.startswith(f"Applying {ROWS - 1:,} rows…"), label
    page.get_by_role(
        "heading", name=f"Applied: {ROWS - 1:,} entries created"
    ).wait_for()
    page.get_by_role("link", name="Open the entries of Customers").click()
    page.wait_for_url(f"**/things/{thing['id']}/")
    page.get_by_text(re.compile(r"\b2,?999 entries")).wait_for()

    headers, _ = rest_api.call(
        "GET",
        f"entries?thing_id=eq.{thing['id']}&select=id&limit=1",
        prefer="count=exact",
    )
    assert headers["content-range"].endswith(f"/{ROWS - 1}")
    assert errors == []  # no script failed on any step
