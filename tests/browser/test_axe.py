"""Issue 9, item 4: axe-core (vendored in static/vendor, injected here, never linked by a page) finds no serious or
critical accessibility violation on the matrix, the matrix with the side panel open, the customer checklist, the
cross-customer view, and the dialogs: Activate, Add Step, Add Custom Step, and the keyboard help."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.matrix_world import matrix_cell, wide_matrix
from tests.factories import ReleaseFactory, StepTemplateFactory

STATIC = Path(__file__).resolve().parents[2] / "static"
(AXE,) = (STATIC / "vendor").glob("axe-core-*.min.js")
BLOCKING = ("serious", "critical")

RUN_AXE = """async () => {
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + " — " + n.failureSummary),
  }));
}"""


def assert_accessible(page, where: str) -> None:
    """No violation of impact serious or critical on the page as it is now."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # From the server's static files: the Content-Security-Policy runs no inline script, an injected one included.
        page.add_script_tag(url=page.evaluate("location.origin") + f"/static/vendor/{AXE.name}")
    found = [violation for violation in page.evaluate(RUN_AXE) if violation["impact"] in BLOCKING]
    assert not found, f"{where}: " + "\n".join(
        f"{v['impact']} {v['id']} ({v['help']}):\n  " + "\n  ".join(v["nodes"]) for v in found
    )


@pytest.fixture
def wide(logged_in, django_user_model):
    return wide_matrix(django_user_model.objects.get(username="ana"), customers=4)


def test_the_matrix_and_the_open_panel_have_no_serious_violation(logged_in, live_server, wide):
    page = logged_in
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/matrix/")
    assert_accessible(page, "matrix")
    matrix_cell(page, wide.customers["customer-02"].name, "Deploy app").click()
    expect(page.locator("#side-panel").get_by_role("heading", name="Step: Deploy app")).to_be_focused()
    assert_accessible(page, "matrix with the panel open")
    page.keyboard.press("?")
    expect(page.locator("#dialog").get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    assert_accessible(page, "keyboard help")


def test_the_customer_checklist_and_its_dialog_have_no_serious_violation(logged_in, live_server, wide):
    page = logged_in
    customer = wide.customers["customer-01"]
    page.goto(f"{live_server.url}/releases/{wide.release.pk}/customers/{customer.pk}/")
    assert_accessible(page, "customer checklist")
    page.locator(f"#step-{wide.steps['customer-01', 'Deploy app'].pk}").get_by_role("link", name="View Content").click()
    expect(page.locator("#side-panel").get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    assert_accessible(page, "customer checklist with the panel open")
    page.locator("#side-panel").get_by_role("button", name="✕ Close").click()
    page.get_by_role("link", name="+ Add Custom Step").click()
    expect(page.locator("#dialog").get_by_role("heading", name="Add Custom Step for customer-01")).to_be_visible()
    assert_accessible(page, "Add Custom Step dialog")


def test_the_cross_customer_view_has_no_serious_violation(logged_in, live_server, wide):
    page = logged_in
    page.goto(f"{live_server.url}/template-steps/{wide.templates[0].pk}/")
    assert_accessible(page, "cross-customer view")


def test_the_release_page_dialogs_have_no_serious_violation(logged_in, live_server, wide):
    page = logged_in
    draft = ReleaseFactory(name="v3.1.0", version_number="v3.1.0")
    StepTemplateFactory(release=draft, name="Deploy app", category="deploy")
    page.goto(f"{live_server.url}/releases/{draft.pk}/")
    assert_accessible(page, "release page")
    dialog = page.locator("#dialog")
    page.get_by_role("link", name="Activate").click()
    expect(dialog.get_by_role("heading", name="Activate v3.1.0")).to_be_visible()
    assert_accessible(page, "Activate dialog")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    page.locator("section", has=page.get_by_role("heading", name="Deploy Steps")).get_by_role(
        "link", name="+ Add Step"
    ).click()
    expect(dialog.get_by_role("heading", name="Add template step")).to_be_visible()
    assert_accessible(page, "Add Step dialog")
