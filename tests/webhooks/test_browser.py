"""The webhook screens in a browser (system Chromium, as tests/browser does): a release manager subscribes a URL,
copies the secret shown once, finds it nowhere after, and deactivates the webhook after confirming; axe-core finds no
serious or critical violation on the way."""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.permissions import RELEASE_MANAGER
from tests.browser.test_axe import assert_accessible
from webhooks.models import Subscription

CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/lib/chromium/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium'.")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": ["--no-sandbox", "--disable-gpu"]}


def test_a_release_manager_subscribes_a_url_and_deactivates_it(page, live_server, user_with_role):
    user_with_role("ana", RELEASE_MANAGER, password="rollcall-browser-pw")
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("rollcall-browser-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")

    page.get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="+ Webhook").click()
    assert_accessible(page, "new webhook form")
    page.get_by_label("Name").fill("Release channel")
    page.get_by_label("Target URL").fill("https://hooks.slack.com/services/T0/B0/secret-path")
    page.get_by_label("A release was activated").check()
    page.get_by_label("A customer completed a category").check()
    page.get_by_label("Slack-compatible").check()
    page.get_by_role("button", name="Create webhook").click()

    secret = page.locator("#webhook-secret").inner_text()
    assert secret.startswith("whsec_")
    expect(page.get_by_text("it is shown this once")).to_be_visible()
    assert_accessible(page, "webhook created")
    page.get_by_role("link", name="I have copied it").click()

    expect(page.get_by_role("heading", name="Webhook Release channel")).to_contain_text("Active")
    expect(page.locator("main")).to_contain_text("customer.category_completed, release.activated")
    assert secret not in page.content() and "secret-path" not in page.content()
    assert_accessible(page, "webhook page")

    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#messages")).to_contain_text("Webhook Release channel deactivated.")
    expect(page.get_by_role("heading", name="Webhook Release channel")).to_contain_text("Inactive")
    assert not Subscription.objects.get().is_active
    assert errors == []
