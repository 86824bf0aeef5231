"""Issue 13, "Run for a cluster", in Chromium: from one template step across customers, Run for cluster prod-us…
opens the form in the dialog (the customers still to do checked, a done one shown with why), it starts the batch
and goes to the batch's page; the worker runs it (in this process, as `db_worker` would) and the page, polling,
shows each run succeeded and the summary, then stops polling; nothing breaks the Content-Security-Policy. Screenshots
at 1440 and 390 px wide."""

import tempfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from runs.models import RunBatch
from steps.services.execution import customer_step_mark_done
from tests.queue import run_due_tasks
from tests.runs import conftest as runs_fixtures

# The runs' fixtures: the fake kubectl with execution on, and the example world's release ready to run.
kubectl = runs_fixtures.kubectl
runnable = runs_fixtures.runnable

NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}


@pytest.fixture
def shots() -> Path:
    """Where the screenshots go, to be looked at."""
    return Path(tempfile.gettempdir()) / "rollcall-run-batch"


def _both_widths(page, path, name):
    path.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path / f"{name}-1440.png", full_page=True)
    page.set_viewport_size(NARROW)
    page.screenshot(path=path / f"{name}-390.png", full_page=True)
    page.set_viewport_size(WIDE)


def test_run_for_a_cluster_runs_the_step_for_the_checked_customers_and_shows_the_summary(
    accept_confirms, live_server, runnable, shots
):
    page, world = accept_confirms, runnable.world
    # What Chromium writes to the console when the Content-Security-Policy blocks a script, a handler or a style.
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    migration = world.templates[1]
    done = runnable.steps.get(customer=world.customers["customer-c"], template=migration)
    customer_step_mark_done(step=done, user=world.user)

    page.goto(f"{live_server.url}/template-steps/{migration.pk}/")
    page.get_by_role("link", name="Run for cluster prod-us…").click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading", name="Run for a cluster")).to_be_visible()
    expect(dialog.get_by_role("checkbox", name="customer-a")).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="customer-b")).to_be_checked()
    expect(dialog.get_by_role("checkbox", name="customer-c")).to_be_disabled()
    expect(dialog).to_contain_text("Done on")
    expect(dialog).not_to_contain_text("customer-d")
    expect(dialog).to_contain_text("Run migration runs for 2 customers of prod-us, at most 4 at a time.")
    dialog.get_by_role("button", name="None").click()
    expect(dialog).to_contain_text("for 0 customers of prod-us")
    dialog.get_by_role("button", name="Select All").click()
    dialog.get_by_label("At most this many at a time").fill("2")
    expect(dialog).to_contain_text("Run migration runs for 2 customers of prod-us, at most 2 at a time.")
    expect(dialog.get_by_label("Stop at the first failure")).to_be_checked()
    _both_widths(page, shots, "run-batch-form")

    dialog.get_by_role("button", name="Run for prod-us").click()
    page.wait_for_url(f"{live_server.url}/runs/batches/*/")
    batch = RunBatch.objects.get()
    runs = page.locator("#batch-runs")
    expect(runs.get_by_role("row")).to_have_count(3)  # the head and two runs
    expect(runs).to_contain_text("⏳ Queued")
    expect(runs.get_by_role("button", name="Cancel the batch")).to_be_visible()
    expect(page.locator("main")).to_contain_text("at most 2")
    _both_widths(page, shots, "run-batch-queued")

    assert run_due_tasks() == 1  # the batch's task, as db_worker runs it
    expect(runs).to_contain_text("Finished: ✅ 2 succeeded ❌ 0 failed ⏭️ 0 skipped")
    expect(runs.get_by_text("✅ Succeeded")).to_have_count(2)
    expect(runs.get_by_role("button", name="Cancel the batch")).to_have_count(0)
    expect(runs).not_to_have_attribute("hx-get", f"/runs/batches/{batch.pk}/", timeout=1000)
    _both_widths(page, shots, "run-batch-done")

    page.get_by_role("link", name="Run #").first.click()
    page.wait_for_url(f"{live_server.url}/runs/*/")
    page.go_back()
    page.get_by_role("link", name="Watch in the matrix").click()
    page.wait_for_url(f"{live_server.url}/releases/{world.release.pk}/matrix/*")
    assert not [error for error in errors if "Content Security Policy" in error or "Content-Security-Policy" in error]
