"""Browser tests: Playwright drives the system Chromium (Debian package `chromium`) against the live test server.

Never `playwright install`: the browser is the machine's. A missing Chromium fails these tests, it never skips them.
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.permissions import RELEASE_MANAGER

CHROMIUM = os.environ.get("ROLLCALL_CHROMIUM", "/usr/lib/chromium/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: install the Debian package 'chromium' (.ci/run does).")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git ignores it)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def logged_in(page, live_server, user_with_role):
    """A page logged in as a release manager, at the dashboard."""
    user_with_role("ana", RELEASE_MANAGER, password="rollcall-browser-pw")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("rollcall-browser-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page


@pytest.fixture
def accept_confirms(logged_in):
    """The logged-in page, answering OK to every confirmation (hx-confirm asks with window.confirm)."""
    logged_in.on("dialog", lambda dialog: dialog.accept())
    return logged_in


@pytest.fixture
def add_template_step():
    """Add a template step from the release page, through its "+ Add Step" dialog, as a user does."""

    def add(page, *, category: str, name: str, type: str, content: str) -> None:
        section = page.locator("section", has=page.get_by_role("heading", name=f"{category} Steps", exact=True))
        section.get_by_role("link", name="+ Add Step").click()
        dialog = page.locator("#dialog")
        expect(dialog.get_by_role("heading", name="Add template step")).to_be_visible()
        dialog.get_by_role("textbox", name="Name", exact=True).fill(name)
        dialog.get_by_label("Type").select_option(label=type)
        dialog.get_by_label("Content").fill(content)
        dialog.get_by_role("button", name="Add Step").click()
        expect(dialog).to_be_hidden()
        expect(page.locator("#messages")).to_contain_text(f"Template step {name} added.")
        expect(section.locator(".steps .name", has_text=name)).to_be_visible()

    return add
