"""Issue 9, item 3 "Live": two people, two browsers (contexts) in one test. What one of them does shows on the other's
matrix, customer checklist and open side panel within 5 seconds, without a reload, marked "changed by"."""

import pytest
from playwright.sync_api import expect

from accounts.permissions import OPERATOR, RELEASE_MANAGER
from releases.services import release_activate
from tests.browser.matrix_world import matrix_cell

PASSWORD = "rollcall-browser-pw"
WITHIN_5_S = 5000  # ms: the promise (a poll every 4 s, and its answer), from when the action is answered


@pytest.fixture
def two_people(browser, browser_context_args, live_server, world, user_with_role):
    """Ben (a release manager) and Ana (an operator), each logged in in a browser context of their own."""
    release_activate(release=world.release, user=world.user)
    pages = {}
    contexts = []
    for username, role in [("ben", RELEASE_MANAGER), ("ana", OPERATOR)]:
        user_with_role(username, role, password=PASSWORD)
        context = browser.new_context(**browser_context_args)
        contexts.append(context)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(f"{live_server.url}/")
        pages[username] = page
    yield pages["ben"], pages["ana"]
    for context in contexts:
        context.close()


def test_a_step_marked_done_by_ana_shows_on_bens_matrix_and_open_panel_within_5_s(
    two_people, live_server, world, artifacts
):
    ben, ana = two_people
    matrix = f"{live_server.url}/releases/{world.release.pk}/matrix/"
    customer = world.customers["customer-a"]
    ben.goto(matrix)
    ana.goto(matrix)
    cell = ("customer-a", "Deploy app")
    bens_cell = matrix_cell(ben, *cell)
    bens_progress = ben.locator(f"#progress-customer-{customer.pk}-deploy .value")
    expect(bens_cell).to_contain_text("🔄 Pending")
    expect(bens_progress).to_have_text("0%")
    bens_cell.click()
    bens_panel = ben.locator("#side-panel")
    expect(bens_panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    expect(bens_panel.locator("#step-panel .status")).to_have_text("🔄 Pending")

    matrix_cell(ana, *cell).click()
    ana.locator("#side-panel").get_by_role("button", name="Mark as Done").click()
    expect(matrix_cell(ana, *cell)).to_contain_text("✅ Done")

    expect(bens_cell).to_contain_text("✅ Done", timeout=WITHIN_5_S)
    expect(bens_progress).to_have_text("50%", timeout=WITHIN_5_S)
    mark = bens_cell.locator(".live-mark")
    expect(mark).to_have_attribute("title", "Changed by ana just now", timeout=WITHIN_5_S)
    expect(mark).to_have_text("Changed by ana just now")  # words for screen readers, the dot for the eye
    expect(bens_panel.locator("#step-panel .status")).to_have_text("✅ Done", timeout=WITHIN_5_S)
    expect(bens_panel).to_contain_text("Completed:")
    expect(bens_panel.locator(".live-note")).to_have_text("Changed by ana just now")
    expect(ben.locator("#live-status")).to_have_text("Deploy app for customer-a changed by ana: Done.")
    # Ana's own screen shows her change without a mark: it is not news to her.
    expect(ana.locator(".live-mark")).to_have_count(0)

    ben.screenshot(path=artifacts / "live-matrix-1440.png")
    ben.set_viewport_size({"width": 390, "height": 844})
    ben.reload()
    matrix_cell(ben, *cell).scroll_into_view_if_needed()
    matrix_cell(ana, "customer-b", "Deploy app").click()
    ana.locator("#side-panel").get_by_role("button", name="Mark as Done").click()
    other = matrix_cell(ben, "customer-b", "Deploy app")
    expect(other.locator(".live-mark")).to_have_count(1, timeout=WITHIN_5_S)
    other.scroll_into_view_if_needed()
    ben.screenshot(path=artifacts / "live-matrix-390.png")


def test_a_step_ana_marks_done_shows_on_bens_checklist_within_5_s(two_people, live_server, world):
    ben, ana = two_people
    customer = world.customers["customer-a"]
    checklist = f"{live_server.url}/releases/{world.release.pk}/customers/{customer.pk}/"
    ben.goto(checklist)
    ana.goto(checklist)
    bens_row = ben.locator("li", has=ben.locator(".name", has_text="Run migration"))
    expect(bens_row.locator(".status")).to_have_text("🔄 Pending")
    bens_count = ben.locator(f"#count-customer-{customer.pk}-deploy")
    expect(bens_count).to_have_text("(0/2 done)")

    anas_row = ana.locator("li", has=ana.locator(".name", has_text="Run migration"))
    anas_row.get_by_role("button", name="Mark as Done").click()
    expect(anas_row.locator(".status")).to_have_text("✅ Done")

    expect(bens_row.locator(".status")).to_have_text("✅ Done", timeout=WITHIN_5_S)
    expect(bens_count).to_have_text("(1/2 done)", timeout=WITHIN_5_S)
    expect(ben.locator(f"#progress-customer-{customer.pk}-deploy .value")).to_have_text("50%")
    expect(bens_row.locator(".live-mark")).to_have_attribute("title", "Changed by ana just now")
    expect(bens_row).to_contain_text("by ana")


def test_what_ben_is_typing_in_the_panel_is_kept_when_ana_changes_the_step(two_people, live_server, world):
    ben, ana = two_people
    matrix = f"{live_server.url}/releases/{world.release.pk}/matrix/"
    cell = ("customer-b", "Run migration")
    ben.goto(matrix)
    ana.goto(matrix)
    matrix_cell(ben, *cell).click()
    bens_panel = ben.locator("#side-panel")
    notes = bens_panel.get_by_label("Notes")
    notes.fill("half way through")

    matrix_cell(ana, *cell).click()
    ana.locator("#side-panel").get_by_role("button", name="Mark as Done").click()
    expect(matrix_cell(ana, *cell)).to_contain_text("✅ Done")

    notice = bens_panel.locator(".live-panel-notice")
    expect(notice).to_contain_text("Changed by ana just now: what you typed is not saved.", timeout=WITHIN_5_S)
    expect(notes).to_have_value("half way through")
    expect(bens_panel.locator("#step-panel .status")).to_have_text("🔄 Pending")  # still the version Ben began with
    expect(matrix_cell(ben, *cell)).to_contain_text("✅ Done")  # the matrix itself is up to date
    notice.get_by_role("button", name="Show the new version").click()
    expect(bens_panel.locator("#step-panel .status")).to_have_text("✅ Done")
    expect(bens_panel).to_contain_text("Completed:")
