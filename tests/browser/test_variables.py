"""The variables table editor in a browser (issue 8): a release manager adds a variable on the customer page, sees a
refusal next to the field, edits a row in place, cancels, adds a sensitive one that shows masked, and deletes one
after confirming, with htmx swapping the fragments and the console staying clean."""

from playwright.sync_api import expect

from core import crypto
from tests.browser.test_console import RECORD_HTMX_ERRORS
from variables.models import INVALID_NAME, MASK, Variable

SECRET = "s3cr3t-hunter2-horse"


def test_a_release_manager_edits_a_customers_variables_in_place(accept_confirms, live_server, world, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    page = accept_confirms
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_HTMX_ERRORS)
    customer = world.customers["customer-a"]
    page.goto(live_server.url + customer.get_absolute_url())
    table = page.locator("#variables")
    add_form = page.locator("#variable-add")

    add_form.get_by_label("Name").fill("DB_HOST")
    add_form.get_by_label("Value").fill("db.internal")
    add_form.get_by_role("button", name="Add variable").click()
    expect(page.locator("#messages")).to_contain_text("Variable DB_HOST added to customer customer-a.")
    row = table.locator("tbody tr", has_text="DB_HOST")
    expect(row).to_contain_text("db.internal")

    add_form.get_by_label("Name").fill("db host")
    add_form.get_by_role("button", name="Add variable").click()
    expect(add_form.locator(".field.has-error")).to_contain_text(INVALID_NAME)
    expect(add_form.get_by_label("Name")).to_have_value("db host")

    row.get_by_role("link", name="Edit").click()
    editing = table.locator("tr.editing")
    expect(editing.get_by_label("Value")).to_have_value("db.internal")
    editing.get_by_label("Value").fill("db-2.internal")
    editing.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("db-2.internal")
    expect(table.locator("tr.editing")).to_have_count(0)

    row.get_by_role("link", name="Edit").click()
    table.locator("tr.editing").get_by_role("link", name="Cancel").click()
    expect(table.locator("tr.editing")).to_have_count(0)
    expect(row).to_contain_text("db-2.internal")

    add_form = page.locator("#variable-add")
    add_form.get_by_label("Name").fill("DB_PASSWORD")
    add_form.get_by_label("Value").fill(SECRET)
    add_form.get_by_label("Sensitive").check()
    add_form.get_by_role("button", name="Add variable").click()
    secret_row = table.locator("tbody tr", has_text="DB_PASSWORD")
    expect(secret_row).to_contain_text(MASK)
    expect(secret_row).to_contain_text("sensitive")
    assert SECRET not in page.content()

    row.get_by_role("button", name="Delete").click()
    expect(table.locator("tbody tr", has_text="DB_HOST")).to_have_count(0)
    expect(page.locator("#messages")).to_contain_text("Variable DB_HOST of customer customer-a deleted.")

    assert list(Variable.objects.filter(customer=customer).values_list("key", flat=True)) == ["DB_PASSWORD"]
    # The refused add answers 422, which Chromium reports as a failed resource: that one is expected.
    assert [error for error in errors if "status of 422" not in error] == []
    assert page.evaluate("window.htmxErrors") == []
