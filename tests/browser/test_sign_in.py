from tests.browser.conftest import sign_in


def test_sign_in_lands_on_the_tenant_and_sign_out_ends_the_session(chromium, ui_tenant):
    context = chromium.new_context()
    page = context.new_page()
    page.goto(ui_tenant.url("things/"))
    assert "/login/" in page.url  # not signed in: sent to sign in first
    page.get_by_label("Email").fill(ui_tenant.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text() == "Email or password is wrong."

    sign_in(page, ui_tenant)
    assert page.url.endswith(f"/t/{ui_tenant.schema}/things/")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login/")
    page.goto(ui_tenant.url("things/"))
    assert "/login/" in page.url
    context.close()


def test_another_tenants_pages_are_not_found(page, served, ui_tenant):
    other = "ui_other_" + ui_tenant.schema[-6:]
    served.manage("create_tenant", other, "--name", "Other")
    response = page.goto(f"{ui_tenant.base_url}/t/{other}/things/")
    assert response.status == 404
