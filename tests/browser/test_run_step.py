"""Run a step from its side panel (issue 13, "Screens"), with the production worker (`manage.py db_worker`) in its
own process on the live server's database: the confirmation, the output streaming into the panel while the step
runs, then the run succeeded and the matrix cell Done."""

import os

import pytest
from django.db import connection
from playwright.sync_api import expect

from tests.runs import conftest as runs_fixtures

kubectl = runs_fixtures.kubectl
runnable = runs_fixtures.runnable


def _database_url() -> str:
    """The live server's (test) database, as DATABASE_URL spells it."""
    database = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{database['NAME']}"
    return f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/{database['NAME']}"


@pytest.fixture
def worker(runnable, kubectl, settings, tmp_path):
    """`manage.py db_worker` on the test database, with the fake kubectl, as `make serve` runs it."""
    env = runs_fixtures.worker_environment(
        database_url=_database_url(), kubectl=settings.ROLLCALL_KUBECTL, data_dir=tmp_path
    )
    process = runs_fixtures.start_worker({**env, "ROLLCALL_ENCRYPTION_KEY": os.environ["ROLLCALL_ENCRYPTION_KEY"]})
    yield process
    process.kill()
    process.wait(timeout=30)


def test_a_step_runs_from_its_panel_its_output_streams_and_its_cell_turns_done(
    logged_in, live_server, runnable, kubectl, worker, artifacts
):
    page, world = logged_in, runnable.world
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    kubectl.mode("drip", 8, 0.5)
    step = runnable.sql
    page.goto(f"{live_server.url}/releases/{world.release.pk}/matrix/")
    page.locator(f"#cell-{step.pk}").click()
    panel = page.locator("#step-panel")
    panel.get_by_role("link", name="Run on prod-us…").click()

    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading", name="Run Run migration?")).to_be_visible()
    for shown in ("customer-a", "prod-us", "cust-a-prod", "deploy/postgres", "psql"):
        expect(dialog).to_contain_text(shown)
    dialog.get_by_role("button", name="Run on prod-us").click()
    expect(dialog).to_be_hidden()

    live = panel.locator(".run-live")
    # The output arrives while the run goes on, not all at the end.
    expect(live).to_contain_text("line 2 of 8", timeout=20_000)
    expect(live).to_contain_text("▶️ Running")
    page.screenshot(path=artifacts / "run-streaming-1440.png")
    expect(live).to_contain_text("✅ Succeeded", timeout=30_000)
    expect(live).to_contain_text("line 8 of 8")
    expect(live).to_contain_text("exit code 0")
    expect(page.locator(f"#cell-{step.pk}")).to_contain_text("✅ Done", timeout=15_000)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "run-done-390.png", full_page=True)
    assert errors == []
