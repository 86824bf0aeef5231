"""Issue 9, item 4 "Keyboard": one matrix cell of each table in the tab order and arrow keys between cells; Enter
opens the panel and focus moves into it; Escape closes it and focus goes back to the cell; j/k (and Shift+J/K) and
the panel's buttons go to the next or previous pending step; Mark as Done, Skip and Revert have access keys, listed
in the ? help; template steps move up and down with buttons and Alt+↑/↓ through the reorder service."""

import pytest
from playwright.sync_api import expect

from history.choices import EventAction
from history.models import Event
from steps.models import StepTemplate
from tests.browser.matrix_world import matrix_cell, wide_matrix


@pytest.fixture
def wide(logged_in, django_user_model):
    return wide_matrix(django_user_model.objects.get(username="ana"), customers=4)


@pytest.fixture
def matrix(logged_in, live_server, wide):
    logged_in.goto(f"{live_server.url}/releases/{wide.release.pk}/matrix/")
    return logged_in


def cell(page, wide, customer: str, step: str):
    return matrix_cell(page, customer, step)


def test_arrow_keys_move_between_cells_enter_opens_the_panel_escape_returns_to_the_cell(matrix, wide):
    page = matrix
    prod_us = page.locator("table.matrix").first
    # One cell per table in the tab order: Tab from the last control before the tables lands on the first cell.
    expect(prod_us.locator("td > button[tabindex='0']")).to_have_count(1)
    page.get_by_role("button", name="Collapse All").focus()
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('table.matrix td > button')"):
            break
    expect(cell(page, wide, "customer-01", "Stop workers")).to_be_focused()

    page.keyboard.press("ArrowRight")
    expect(cell(page, wide, "customer-02", "Stop workers")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(cell(page, wide, "customer-02", "Run migration")).to_be_focused()
    page.keyboard.press("End")
    expect(cell(page, wide, "customer-04", "Run migration")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    expect(cell(page, wide, "customer-03", "Run migration")).to_be_focused()
    # The focused cell is now the table's one cell in the tab order.
    expect(prod_us.locator("td > button[tabindex='0']")).to_have_count(1)
    expect(cell(page, wide, "customer-03", "Run migration")).to_have_attribute("tabindex", "0")

    page.keyboard.press("Enter")
    panel = page.locator("#side-panel")
    heading = panel.get_by_role("heading", name="Step: Run migration")
    expect(heading).to_be_focused()
    expect(panel).to_contain_text("customer-03")

    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(cell(page, wide, "customer-03", "Run migration")).to_be_focused()


def test_escape_in_a_text_field_leaves_the_field_then_closes_the_panel(matrix, wide):
    page = matrix
    cell(page, wide, "customer-01", "Stop workers").click()
    panel = page.locator("#side-panel")
    notes = panel.get_by_label("Notes")
    notes.fill("j and k are letters here")
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_visible()  # j typed no move
    page.keyboard.press("Escape")
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()
    expect(notes).to_have_value("j and k are letters here")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(cell(page, wide, "customer-01", "Stop workers")).to_be_focused()


def test_j_and_k_go_to_the_next_pending_step_of_the_customer_shift_j_to_the_next_customer(matrix, wide):
    page = matrix
    panel = page.locator("#side-panel")
    cell(page, wide, "customer-01", "Stop workers").click()
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()

    page.keyboard.press("j")  # customer-01 has done Deploy app: j skips it
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_focused()
    expect(panel).to_contain_text("customer-01")
    expect(cell(page, wide, "customer-01", "Run migration").locator("xpath=..")).to_have_class("selected")
    page.keyboard.press("k")
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()

    page.keyboard.press("Shift+J")
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()
    expect(panel.locator("dd strong").first).to_have_text("customer-02")
    expect(cell(page, wide, "customer-02", "Stop workers").locator("xpath=..")).to_have_class("selected")

    # The same moves as buttons in the panel.
    panel.get_by_role("button", name="Next pending").click()
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    expect(panel.locator("dd strong").first).to_have_text("customer-02")
    # customer-01's Deploy app is done: no customer before customer-02 has it pending.
    expect(panel.get_by_role("button", name="Previous customer")).to_be_disabled()
    panel.get_by_role("button", name="Next customer").click()
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    expect(panel.locator("dd strong").first).to_have_text("customer-03")
    panel.get_by_role("button", name="Previous customer").click()
    expect(panel.locator("dd strong").first).to_have_text("customer-02")

    page.keyboard.press("Escape")
    expect(cell(page, wide, "customer-02", "Deploy app")).to_be_focused()


def press_access_key(page, letter: str) -> None:
    """Alt+letter as a keyboard on Linux sends it: Chromium runs access keys on the key's character event, which
    Playwright's keyboard.press doesn't send with Alt held, so the key goes through the DevTools protocol."""
    cdp = page.context.new_cdp_session(page)
    key = {"modifiers": 1, "key": letter, "code": f"Key{letter.upper()}", "windowsVirtualKeyCode": ord(letter.upper())}
    cdp.send("Input.dispatchKeyEvent", {"type": "rawKeyDown", **key})
    cdp.send("Input.dispatchKeyEvent", {"type": "char", "text": letter, "unmodifiedText": letter, **key})
    cdp.send("Input.dispatchKeyEvent", {"type": "keyUp", **key})
    cdp.detach()


def test_access_keys_mark_done_skip_and_revert(matrix, wide, accept_confirms):
    page = matrix
    panel = page.locator("#side-panel")
    target = cell(page, wide, "customer-02", "Stop workers")
    target.click()
    expect(panel.get_by_role("button", name="Mark as Done")).to_have_attribute("accesskey", "m")
    press_access_key(page, "m")
    expect(target).to_contain_text("Done")
    # The panel keeps focus after its action.
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()
    expect(panel.get_by_role("button", name="Revert")).to_have_attribute("accesskey", "r")
    press_access_key(page, "r")
    expect(target).to_contain_text("Reverted")

    press_access_key(page, "s")
    reason = panel.get_by_label("Reason for skipping (required)")
    expect(reason).to_be_focused()
    reason.fill("Not deployed on this customer")
    page.keyboard.press("Escape")  # out of the reason, the panel stays
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()
    panel.get_by_role("button", name="Confirm Skip").click()
    expect(target).to_contain_text("Skipped")


def test_the_help_lists_every_key_and_question_mark_opens_it_except_in_a_field(matrix, wide):
    page = matrix
    dialog = page.locator("#dialog")
    page.keyboard.press("?")
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    for key in ("j", "k", "Esc", "Enter", "Alt", "D", "S", "R", "J", "K", "?"):
        expect(dialog.locator("kbd", has_text=key).first).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    cell(page, wide, "customer-01", "Stop workers").click()
    page.locator("#side-panel").get_by_label("Notes").fill("why?")
    expect(dialog).to_be_hidden()


def test_the_customer_checklist_and_the_cross_customer_view_take_j_and_escape(logged_in, live_server, wide):
    page = logged_in
    customer = wide.customers["customer-01"]
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/customers/{customer.pk}/")
    panel = page.locator("#side-panel")
    page.keyboard.press("j")  # from the top: the first pending step
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_focused()
    page.keyboard.press("j")  # Deploy app is done
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_focused()
    page.keyboard.press("Escape")
    row = page.locator(f"#step-{wide.steps['customer-01', 'Run migration'].pk}")
    expect(row.get_by_role("link", name="View Content")).to_be_focused()

    page.goto(f"{live_server.url}/template-steps/{wide.templates[1].pk}/")
    page.keyboard.press("j")  # customer-01's Deploy app is done: customer-02's is the first pending
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_focused()
    expect(panel.locator("dd strong").first).to_have_text("customer-02")
    expect(panel.get_by_role("button", name="Next customer")).to_be_hidden()


def test_template_steps_move_up_and_down_by_button_and_alt_arrow(logged_in, live_server, wide):
    page = logged_in
    release = wide.release
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    page.evaluate("window.notReloaded = true")
    deploy = page.locator("#template-steps-deploy")
    names = deploy.locator(".steps > li .name")
    expect(names).to_have_text(["Stop workers", "Deploy app", "Run migration", "Start workers"])
    expect(deploy.locator("li").first.get_by_role("button", name="Move up")).to_be_disabled()

    deploy.locator("li", has_text="Deploy app").get_by_role("button", name="Move down").click()
    expect(names).to_have_text(["Stop workers", "Run migration", "Deploy app", "Start workers"])
    moved_down = deploy.locator("li", has_text="Deploy app").get_by_role("button", name="Move down")
    expect(moved_down).to_be_focused()

    page.keyboard.press("Alt+ArrowUp")
    expect(names).to_have_text(["Stop workers", "Deploy app", "Run migration", "Start workers"])
    # Pressed again at once, while the first move is being saved: it waits for it, then moves again.
    page.keyboard.press("Alt+ArrowUp")
    expect(names).to_have_text(["Deploy app", "Stop workers", "Run migration", "Start workers"])
    # At the top, Move up is disabled: focus stays on the step, on Move down.
    expect(deploy.locator("li", has_text="Deploy app").get_by_role("button", name="Move down")).to_be_focused()

    assert page.evaluate("window.notReloaded") is True
    order = list(StepTemplate.objects.filter(release=release, category="deploy").values_list("name", flat=True))
    assert order == ["Deploy app", "Stop workers", "Run migration", "Start workers"]
    assert Event.objects.filter(action=EventAction.TEMPLATE_STEP_REORDERED, release=release).count() == 3
