"""Issue 9, item 1 "Layout": the side panel sits beside the matrix (and the customer checklist and the cross-customer
view), every column stays reachable and clickable while it is open, the clicked cell stays in view and highlighted,
the panel's width can be dragged and is remembered; on a narrow screen the panel is full screen with ← Back."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.matrix_world import matrix_cell, wide_matrix


@pytest.fixture
def wide(logged_in, user_with_role, django_user_model):
    return wide_matrix(django_user_model.objects.get(username="ana"))


def box(locator) -> dict:
    found = locator.bounding_box()
    assert found is not None, f"{locator} is not shown"
    return found


def assert_beside(page_part, panel) -> None:
    """`page_part` lies wholly left of the panel: nothing of it is under the panel."""
    left, right = box(page_part), box(panel)
    assert left["x"] + left["width"] <= right["x"] + 1, (left, right)


def test_the_panel_sits_beside_the_matrix_and_the_last_customers_cell_stays_clickable(
    logged_in, live_server, wide, artifacts
):
    page = logged_in
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/matrix/")
    last = wide.customers[wide.names[-1]]
    panel = page.locator("#side-panel")

    cell = matrix_cell(page, last.name, "Stop workers")
    cell.click()
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_visible()
    expect(panel).to_contain_text(last.name)
    # The clicked cell: highlighted, in view, left of the panel.
    expect(cell.locator("xpath=..")).to_have_class(re.compile(r"\bselected\b"))
    expect(cell).to_be_in_viewport()
    assert_beside(cell, panel)
    assert_beside(page.locator("main.page"), panel)
    page.screenshot(path=artifacts / "workspace-matrix-1440.png")

    # Another cell of the last customer, while the panel is open: a plain click reaches it (nothing covers it).
    other = matrix_cell(page, last.name, "Start workers")
    other.scroll_into_view_if_needed()
    assert_beside(other, panel)
    other.click()
    expect(panel.get_by_role("heading", name="Step: Start workers")).to_be_visible()
    expect(other.locator("xpath=..")).to_have_class(re.compile(r"\bselected\b"))
    expect(cell.locator("xpath=..")).not_to_have_class(re.compile(r"\bselected\b"))

    # The matrix scrolls on its own: its first customer is reachable too.
    first = matrix_cell(page, wide.customers["customer-01"].name, "Run migration")
    first.click()
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_visible()
    expect(panel).to_contain_text("customer-01")

    panel.get_by_role("button", name="✕ Close").click()
    expect(panel).to_be_hidden()
    expect(page.locator("table.matrix td.selected")).to_have_count(0)


def test_the_panel_width_is_dragged_and_remembered(logged_in, live_server, wide):
    page = logged_in
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/matrix/")
    panel = page.locator("#side-panel")
    matrix_cell(page, wide.customers["customer-02"].name, "Deploy app").click()
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    before = box(panel)["width"]

    handle = page.get_by_role("separator", name="Resize the step panel")
    grip = box(handle)
    page.mouse.move(grip["x"] + grip["width"] / 2, grip["y"] + 200)
    page.mouse.down()
    page.mouse.move(grip["x"] + grip["width"] / 2 - 200, grip["y"] + 200, steps=5)
    page.mouse.up()
    wider = box(panel)["width"]
    assert wider == pytest.approx(before + 200, abs=4)
    assert_beside(page.locator("main.page"), panel)

    # By keyboard too: ← widens, → narrows.
    handle.focus()
    page.keyboard.press("ArrowRight")
    assert box(panel)["width"] == pytest.approx(wider - 40, abs=2)
    page.keyboard.press("ArrowLeft")
    assert box(panel)["width"] == pytest.approx(wider, abs=2)

    page.reload()
    matrix_cell(page, wide.customers["customer-03"].name, "Deploy app").click()
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    assert box(panel)["width"] == pytest.approx(wider, abs=2)


def test_on_a_narrow_screen_the_panel_is_full_screen_with_back(logged_in, live_server, wide, artifacts):
    page = logged_in
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/matrix/")
    panel = page.locator("#side-panel")
    cell = matrix_cell(page, wide.customers["customer-01"].name, "Stop workers")
    cell.click()
    expect(panel.get_by_role("heading", name="Step: Stop workers")).to_be_visible()
    assert box(panel) == {"x": 0, "y": 0, "width": 390, "height": 844}
    expect(panel.get_by_role("button", name="✕ Close")).to_be_hidden()
    page.screenshot(path=artifacts / "workspace-panel-390.png")

    panel.get_by_role("button", name="← Back").click()
    expect(panel).to_be_hidden()
    expect(cell).to_be_visible()


def test_the_panel_sits_beside_the_customer_checklist(logged_in, live_server, wide, artifacts):
    page = logged_in
    customer = wide.customers["customer-01"]
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/customers/{customer.pk}/")
    panel = page.locator("#side-panel")
    row = page.locator(f"#step-{wide.steps['customer-01', 'Run migration'].pk}")
    row.get_by_role("link", name="View Content").click()
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_visible()
    expect(row).to_have_class(re.compile(r"\bselected\b"))
    assert_beside(row, panel)
    page.screenshot(path=artifacts / "workspace-checklist-1440.png")

    # The other rows' buttons stay clickable with the panel open.
    other = page.locator(f"#step-{wide.steps['customer-01', 'Start workers'].pk}")
    other.get_by_role("link", name="View Content").click()
    expect(panel.get_by_role("heading", name="Step: Start workers")).to_be_visible()
    expect(other).to_have_class(re.compile(r"\bselected\b"))
    expect(row).not_to_have_class(re.compile(r"\bselected\b"))


def test_the_panel_sits_beside_the_cross_customer_view(logged_in, live_server, wide):
    page = logged_in
    template = wide.templates[1]
    page.goto(f"{live_server.url}/template-steps/{template.pk}/")
    panel = page.locator("#side-panel")
    row = page.locator(f"#status-row-{wide.steps['demo-customer', template.name].pk}")
    row.get_by_role("link", name="View Content").click()
    expect(panel.get_by_role("heading", name=f"Step: {template.name}")).to_be_visible()
    expect(panel).to_contain_text("demo-customer")
    expect(row).to_have_class(re.compile(r"\bselected\b"))
    expect(row).to_be_in_viewport()
    assert_beside(row, panel)
