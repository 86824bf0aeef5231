"""Browser tests: Playwright drives the system Chromium (Debian package `chromium`) against the live test server.

Never `playwright install`: the browser is the machine's. A missing Chromium fails these tests, it never skips them.
"""

import os
from pathlib import Path

import pytest

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
def logged_in(page, live_server, django_user_model):
    """A page logged in as a release manager, at the dashboard."""
    django_user_model.objects.create_user(username="ana", password="rollcall-browser-pw")
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("ana")
    page.get_by_label("Password").fill("rollcall-browser-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    return page
