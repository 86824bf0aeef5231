"""Issue 9, §7 "Dialogs are inconsistent": every dialog has the same header, its title and ✕ (named "Close"), and
Escape closes it as ✕ does."""

import re

from playwright.sync_api import expect

from releases.services import release_activate
from tests.factories import ReleaseFactory, StepTemplateFactory


def check_dialog(page, opener, title: str, *, close_with: str) -> None:
    """Open a dialog, find its title and ✕ in its header, close it with ✕ or Escape."""
    dialog = page.locator("#dialog")
    opener.click()
    head = dialog.locator(".dialog-head")
    expect(head.get_by_role("heading", name=title)).to_be_visible()
    expect(dialog).to_have_accessible_name(re.compile("^" + re.escape(title)))
    close = head.get_by_role("button", name="Close", exact=True)
    expect(close).to_have_text("✕")
    if close_with == "Escape":
        page.keyboard.press("Escape")
    else:
        close.click()
    expect(dialog).to_be_hidden()


def test_every_dialog_has_its_title_and_close_and_escape_closes_it(logged_in, live_server, world):
    page = logged_in
    release = world.release
    page.goto(f"{live_server.url}/releases/{release.pk}/")
    check_dialog(page, page.get_by_role("link", name="Activate"), "Activate v2.5.0", close_with="✕")
    deploy = page.locator("section", has=page.get_by_role("heading", name="Deploy Steps"))
    check_dialog(page, deploy.get_by_role("link", name="+ Add Step"), "Add template step", close_with="Escape")
    step = deploy.locator("li", has_text="Deploy app")
    check_dialog(page, step.get_by_role("link", name="Edit"), "Edit Deploy app", close_with="✕")
    check_dialog(page, step.get_by_role("link", name="Delete"), "Delete Deploy app?", close_with="Escape")

    other = ReleaseFactory(name="v2.6.0")
    StepTemplateFactory(release=other, name="Deploy app")
    release_activate(release=other, user=world.user, exclude_customers=[world.customers["customer-a"].pk])
    page.goto(f"{live_server.url}/releases/{other.pk}/")
    check_dialog(page, page.get_by_role("link", name="Add customers"), "Add customers to v2.6.0", close_with="✕")

    customer = world.customers["customer-b"]
    page.goto(f"{live_server.url}/releases/{other.pk}/customers/{customer.pk}/")
    check_dialog(
        page, page.get_by_role("link", name="+ Add Custom Step"), "Add Custom Step for customer-b", close_with="Escape"
    )
    check_dialog(page, page.get_by_role("button", name="Keyboard shortcuts"), "Keyboard shortcuts", close_with="✕")
