"""Issue 9, item 5 "Bulk actions", in Chromium: a bulk Mark as Done for 30 customers in the cross-customer view of a
step (a cluster's Select all and a Shift+click range), one of them changed by a colleague after the page was drawn
(the live update shows it, still selected) and reported, not overwritten; and a bulk Skip with one reason from the
matrix's Select mode (a Shift+click range in a row), refused first without a reason; the side panel never opens
while selecting; axe finds no serious or critical violation in either. Without JavaScript the cross-customer view's
checkboxes and bar still post, and come back with the summary as a message."""

from playwright.sync_api import expect

from accounts.permissions import OPERATOR
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.browser.matrix_world import matrix_cell
from tests.browser.test_axe import assert_accessible
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory


def _release(user, *, us: int, eu: int):
    """An active release v4.0.0 with two deploy steps for `us` customers on prod-us and `eu` on prod-eu."""
    prod_us, prod_eu = ClusterFactory(name="prod-us"), ClusterFactory(name="prod-eu")
    customers = [
        CustomerFactory(cluster=prod_us if n <= us else prod_eu, name=f"customer-{n:02d}", namespace=f"ns-{n:02d}")
        for n in range(1, us + eu + 1)
    ]
    release = ReleaseFactory(name="v4.0.0", version_number="v4.0.0")
    deploy = StepTemplateFactory(release=release, name="Deploy app", category="deploy", order_index=0)
    StepTemplateFactory(release=release, name="Run migration", category="deploy", order_index=1)
    release_activate(release=release, user=user)
    return release, deploy, customers


def test_a_bulk_mark_as_done_for_30_customers_reports_the_step_a_colleague_changed(
    logged_in, live_server, user, user_with_role, artifacts
):
    page = logged_in
    colleague = user_with_role("olga", OPERATOR)
    _, deploy, customers = _release(user, us=18, eu=12)
    page.goto(f"{live_server.url}/template-steps/{deploy.pk}/")
    bar = page.locator("#bulk-bar")
    expect(bar).to_contain_text("0 selected")
    expect(bar.get_by_role("button", name="Mark as Done")).to_be_disabled()

    # prod-us with its "Select all"; prod-eu with a Shift+click range from its first customer to its last.
    page.get_by_label("Select all 18 customers of prod-us").check()
    expect(bar).to_contain_text("18 selected")
    page.get_by_label("Select customer-19 (prod-eu/ns-19)").click()
    page.get_by_label("Select customer-30 (prod-eu/ns-30)").click(modifiers=["Shift"])
    expect(bar).to_contain_text("30 selected")
    expect(page.get_by_label("Select all 12 customers of prod-eu")).to_be_checked()
    page.screenshot(path=artifacts / "bulk-cross-selected-1440.png", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "bulk-cross-selected-390.png", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})

    # A colleague marks customer-07's step done after this page showed it.
    late = CustomerStep.objects.get(template=deploy, customer__name="customer-07")
    customer_step_mark_done(step=late, user=colleague)
    # The live update shows it; it stays selected, with the version this page showed when it was selected.
    late_row = page.locator(f"#status-row-{late.pk}")
    expect(late_row).to_contain_text("✅ Done")
    expect(late_row.locator("input.bulk-select")).to_be_checked()
    expect(bar).to_contain_text("30 selected")

    bar.get_by_role("button", name="Mark as Done").click()

    result = page.locator("#bulk-result")
    expect(result).to_contain_text("Marked 29 steps done. 1 refused:")
    expect(result.get_by_role("listitem")).to_have_count(1)
    expect(result.get_by_role("listitem")).to_contain_text("customer-07 (prod-us/ns-07) — changed by olga at ")
    expect(result.get_by_role("listitem")).to_contain_text("now done")
    expect(bar).to_contain_text("0 selected")
    expect(page.locator(f"#summary-template-{deploy.pk}")).to_contain_text("✅ Done 30")
    for customer in customers:
        step = CustomerStep.objects.get(template=deploy, customer=customer)
        row = page.locator(f"#status-row-{step.pk}")
        expect(row).to_contain_text("✅ Done")
        expect(row.locator("input.bulk-select")).not_to_be_checked()
    assert CustomerStep.objects.get(pk=late.pk).executed_by == colleague  # reported, not overwritten
    assert set(CustomerStep.objects.filter(template=deploy).values_list("status", flat=True)) == {"done"}
    page.screenshot(path=artifacts / "bulk-cross-result-1440.png", full_page=False)
    assert_accessible(page, "cross-customer view with a bulk summary")
    page.set_viewport_size({"width": 390, "height": 844})
    expect(result).to_be_visible()
    page.screenshot(path=artifacts / "bulk-cross-result-390.png", full_page=False)


def test_a_bulk_skip_with_one_reason_from_the_matrix_select_mode(logged_in, live_server, user, artifacts):
    page = logged_in
    release, _, _ = _release(user, us=6, eu=2)
    page.goto(f"{live_server.url}/releases/{release.pk}/matrix/")
    toggle = page.get_by_role("button", name="☑ Select")
    bar = page.locator("#bulk-bar")
    expect(toggle).to_be_visible()
    expect(bar).to_be_hidden()

    toggle.click()
    expect(bar).to_be_visible()
    expect(page.get_by_role("button", name="✓ Done selecting")).to_have_attribute("aria-pressed", "true")

    def cell(n: int, step: str = "Deploy app"):
        return matrix_cell(page, f"customer-{n:02d}", step)

    cell(2).click()
    cell(5).click(modifiers=["Shift"])  # customer-02 to customer-05 of Deploy app on prod-us
    expect(bar).to_contain_text("4 selected")
    cell(7, "Run migration").click()  # one of prod-eu too
    expect(bar).to_contain_text("5 selected")
    for n in (2, 3, 4, 5):
        expect(cell(n)).to_have_attribute("aria-pressed", "true")
    expect(cell(1)).not_to_have_attribute("aria-pressed", "true")
    expect(page.locator("#side-panel")).to_be_hidden()  # selecting never opens the panel
    page.screenshot(path=artifacts / "bulk-matrix-select-1440.png", full_page=False)
    assert_accessible(page, "matrix in Select mode")

    bar.get_by_role("button", name="Skip with reason").click()
    expect(bar.get_by_role("alert")).to_have_text("Skipping a step needs a reason.")
    expect(bar).to_contain_text("5 selected")  # the selection stays for another try
    assert not CustomerStep.objects.filter(status="skipped").exists()

    bar.get_by_label("Reason").fill("Module not licensed")
    bar.get_by_role("button", name="Skip with reason").click()

    expect(page.locator("#bulk-result")).to_contain_text("Skipped 5 steps.")
    for n in (2, 3, 4, 5):
        expect(cell(n)).to_contain_text("⏸️ Skipped")
        expect(cell(n)).not_to_have_attribute("aria-pressed", "true")
    expect(cell(7, "Run migration")).to_contain_text("⏸️ Skipped")
    expect(cell(1)).to_contain_text("🔄 Pending")
    expect(bar).to_contain_text("0 selected")
    expect(page.locator("#side-panel")).to_be_hidden()
    assert set(CustomerStep.objects.filter(status="skipped").values_list("skip_reason", flat=True)) == {
        "Module not licensed"
    }
    page.screenshot(path=artifacts / "bulk-matrix-result-1440.png", full_page=False)

    # The whole row of a cluster with the box beside the step's name, then out of Select mode: a click opens again.
    page.get_by_label("Select Run migration for every customer of prod-us").check()
    expect(bar).to_contain_text("6 selected")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "bulk-matrix-select-390.png", full_page=False)
    page.set_viewport_size({"width": 1440, "height": 900})
    page.get_by_role("button", name="✓ Done selecting").click()
    expect(bar).to_be_hidden()

    # By keyboard: Enter on a cell selects it in Select mode; Escape leaves the mode, and the selection with it.
    page.get_by_role("button", name="☑ Select").click()
    cell(6).focus()
    page.keyboard.press("Enter")
    expect(cell(6)).to_have_attribute("aria-pressed", "true")
    expect(bar).to_contain_text("1 selected")
    expect(page.locator("#side-panel")).to_be_hidden()
    page.keyboard.press("Escape")
    expect(bar).to_be_hidden()
    expect(page.get_by_role("button", name="☑ Select")).to_have_attribute("aria-pressed", "false")
    expect(cell(6)).not_to_have_attribute("aria-pressed", "true")
    cell(1).click()
    expect(page.locator("#side-panel").get_by_role("heading", name="Step: Deploy app")).to_be_visible()


def test_without_javascript_the_cross_customer_view_still_acts_in_bulk(browser, live_server, user, user_with_role):
    _, deploy, _ = _release(user, us=3, eu=0)
    user_with_role("olga", OPERATOR, password="rollcall-browser-pw")
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("olga")
    page.get_by_label("Password").fill("rollcall-browser-pw")
    page.get_by_role("button", name="Log in").click()
    page.goto(f"{live_server.url}/template-steps/{deploy.pk}/")

    page.get_by_label("Select customer-01 (prod-us/ns-01)").check()
    page.get_by_label("Select customer-03 (prod-us/ns-03)").check()
    page.locator("#bulk-bar").get_by_role("button", name="Skip with reason").click()
    expect(page.locator("#messages")).to_contain_text("Skipping a step needs a reason.")

    page.get_by_label("Select customer-01 (prod-us/ns-01)").check()
    page.get_by_label("Select customer-03 (prod-us/ns-03)").check()
    page.locator("#bulk-bar").get_by_label("Reason").fill("Done by the vendor")
    page.locator("#bulk-bar").get_by_role("button", name="Skip with reason").click()

    expect(page).to_have_url(f"{live_server.url}/template-steps/{deploy.pk}/")
    expect(page.locator("#messages")).to_contain_text("Skipped 2 steps.")
    expect(page.locator(f"#summary-template-{deploy.pk}")).to_contain_text("⏸️ Skipped 2")
    context.close()
