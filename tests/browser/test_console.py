"""An action on a step, from each of the four pages that offer one (the matrix, the customer's checklist, the
step across customers and the step's own page), leaves the browser console clean: no error, no htmx error (an
out-of-band fragment for an element the page lacks is an htmx error), no uncaught exception."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep

# htmx reports its errors as events (htmx:oobErrorNoTarget, htmx:swapError, …) besides the console: record them all.
RECORD_HTMX_ERRORS = """
window.htmxErrors = [];
["htmx:error", "htmx:oobErrorNoTarget", "htmx:swapError", "htmx:targetError", "htmx:responseError"].forEach(
  function (name) { document.addEventListener(name, function () { window.htmxErrors.push(name); }); }
);
"""


@pytest.fixture
def watched(logged_in, world):
    """The logged-in page with an active release, recording console errors, page errors and htmx errors."""
    release_activate(release=world.release, user=world.user)
    page = logged_in
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.add_init_script(RECORD_HTMX_ERRORS)
    page.errors = errors
    return page


def _step(world, customer="customer-a", template=0) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _assert_clean(page) -> None:
    assert page.errors == []
    assert page.evaluate("window.htmxErrors") == []


def test_an_action_in_the_matrix_panel_leaves_no_console_error(watched, live_server, world):
    page = watched
    step = _step(world)
    page.goto(live_server.url + reverse("steps:matrix", args=[world.release.pk]))
    page.locator(f"#cell-{step.pk}").click()
    panel = page.locator("#side-panel")
    panel.get_by_role("button", name="Mark as Done").click()
    expect(page.locator(f"#cell-{step.pk}")).to_have_text("✅ Done")
    expect(panel).to_contain_text("Completed:")
    _assert_clean(page)


def test_an_action_in_the_customer_checklist_leaves_no_console_error(watched, live_server, world):
    page = watched
    step = _step(world)
    page.goto(live_server.url + reverse("steps:customer_steps", args=[world.release.pk, step.customer_id]))
    page.locator(f"#step-{step.pk}").get_by_role("button", name="Mark as Done").click()
    expect(page.locator(f"#step-{step.pk}")).to_contain_text("✅ Done")
    expect(page.locator(f"#count-customer-{step.customer_id}-deploy")).to_have_text("(1/2 done)")
    _assert_clean(page)


def test_an_action_in_the_step_across_customers_leaves_no_console_error(watched, live_server, world):
    page = watched
    step = _step(world, "customer-b")
    page.goto(live_server.url + reverse("steps:template_step_status", args=[world.templates[0].pk]))
    page.locator(f"#status-row-{step.pk}").get_by_role("button", name="Mark as Done").click()
    expect(page.locator(f"#status-row-{step.pk}")).to_contain_text("✅ Done")
    expect(page.locator(f"#summary-template-{world.templates[0].pk}")).to_contain_text("✅ Done 1")
    _assert_clean(page)


def test_an_action_on_the_step_page_leaves_no_console_error_and_keeps_its_links(watched, live_server, world):
    page = watched
    step = _step(world)
    page.goto(live_server.url + reverse("steps:step_detail", args=[step.pk]))
    page.get_by_role("button", name="Mark as Done").click()
    panel = page.locator("#step-panel")
    expect(panel).to_contain_text("Completed:")
    expect(panel.get_by_role("link", name="Back to matrix")).to_be_visible()
    expect(panel.get_by_role("link", name="All steps of customer-a")).to_be_visible()
    _assert_clean(page)
