"""The API tokens page in a browser: from the user menu, make a token, see it once, use it, revoke it (after the
confirmation), and it no longer works."""

import json
import urllib.error
import urllib.request

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import (  # noqa: F401 (the browser fixtures, shared with tests/browser)
    accept_confirms,
    browser_context_args,
    browser_type_launch_args,
    logged_in,
)


def _call(url: str, token: str) -> int:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            json.load(response)
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.usefixtures("accept_confirms")  # logged in as a release manager, answering OK to confirmations
def test_make_use_and_revoke_a_token(page, live_server):
    page.get_by_role("link", name="API tokens").click()
    page.get_by_label("Name").fill("jenkins")
    page.get_by_role("button", name="Create token").click()

    secret = page.locator("#new-token-secret").inner_text()
    assert secret.startswith("rc_")
    assert _call(f"{live_server.url}/api/steps/", secret) == 200

    page.goto(f"{live_server.url}/api/tokens/")
    expect(page.locator("#new-token-secret")).to_have_count(0)
    row = page.get_by_role("row", name="jenkins")
    expect(row).to_contain_text("Active")
    row.get_by_role("button", name="Revoke token jenkins").click()

    expect(page.get_by_role("row", name="jenkins")).to_contain_text("Revoked")
    assert _call(f"{live_server.url}/api/steps/", secret) == 401
