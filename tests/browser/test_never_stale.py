"""Issue 9, item 2 "Never stale": after an action in the matrix, going to the Dashboard and pressing Back shows the
matrix as it is now, not the copy the browser or htmx kept of it before the action."""

from playwright.sync_api import expect

from releases.services import release_activate
from tests.browser.matrix_world import matrix_cell


def test_back_after_an_action_shows_the_matrix_as_it_is_now(logged_in, live_server, world):
    page = logged_in
    release_activate(release=world.release, user=world.user)
    customer = world.customers["customer-a"]
    page.goto(f"{live_server.url}/releases/{world.release.pk}/matrix/")
    cell = matrix_cell(page, "customer-a", "Deploy app")
    progress = page.locator(f"#progress-customer-{customer.pk}-deploy .value")
    overall = page.locator("#progress-overall-deploy .value")
    expect(cell).to_contain_text("🔄 Pending")
    expect(progress).to_have_text("0%")
    expect(overall).to_have_text("0%")

    cell.click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    panel.get_by_role("button", name="Mark as Done").click()
    expect(cell).to_contain_text("✅ Done")
    expect(progress).to_have_text("50%")
    changed_overall = overall.inner_text()
    assert changed_overall != "0%"

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Dashboard").click()
    page.wait_for_url(f"{live_server.url}/")
    page.go_back()

    expect(page).to_have_url(f"{live_server.url}/releases/{world.release.pk}/matrix/")
    expect(cell).to_contain_text("✅ Done")
    expect(progress).to_have_text("50%")
    expect(overall).to_have_text(changed_overall)


def test_back_to_the_unfiltered_matrix_after_an_action_shows_it_as_it_is_now(logged_in, live_server, world):
    """The filter pushes its URL through htmx; htmx must not restore the page it kept from before the action."""
    page = logged_in
    release_activate(release=world.release, user=world.user)
    matrix_url = f"{live_server.url}/releases/{world.release.pk}/matrix/"
    page.goto(matrix_url)
    cell = matrix_cell(page, "customer-a", "Deploy app")
    progress = page.locator(f"#progress-customer-{world.customers['customer-a'].pk}-deploy .value")
    expect(cell).to_contain_text("🔄 Pending")

    page.get_by_label("Filter: cluster").select_option(label="prod-us")
    expect(page.locator("details.cluster-group")).to_have_count(1)
    cell.click()
    page.locator("#side-panel").get_by_role("button", name="Mark as Done").click()
    expect(cell).to_contain_text("✅ Done")
    page.go_back()

    expect(page).to_have_url(matrix_url)
    expect(page.locator("details.cluster-group")).to_have_count(3)
    expect(cell).to_contain_text("✅ Done")
    expect(progress).to_have_text("50%")
