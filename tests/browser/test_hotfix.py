"""Spec §7.3, a hotfix, walked in the browser: a hotfix release with a description and one minimal step, activated for
some customers only, done, verified across the customers it targets, then archived."""

import pytest
from playwright.sync_api import expect

from releases.choices import ReleaseStatus, ReleaseType
from releases.models import Release
from steps.choices import StepStatus
from steps.models import CustomerStep
from tests.browser.matrix_world import matrix_cell
from tests.factories import ClusterFactory, CustomerFactory

RAISE_TIMEOUT = 'kubectl -n "$NAMESPACE" set env deploy/payments GATEWAY_TIMEOUT=30s'


@pytest.fixture
def customers(db):
    """Two clusters, three customers: prod-us (customer-a, customer-b) and prod-eu (customer-d)."""
    prod_us = ClusterFactory(name="prod-us")
    prod_eu = ClusterFactory(name="prod-eu")
    return {
        "customer-a": CustomerFactory(cluster=prod_us, name="customer-a", namespace="cust-a-prod"),
        "customer-b": CustomerFactory(cluster=prod_us, name="customer-b", namespace="cust-b-prod"),
        "customer-d": CustomerFactory(cluster=prod_eu, name="customer-d", namespace="cust-d-prod"),
    }


def test_hotfix_for_some_customers_from_creation_to_archive(logged_in, live_server, customers, add_template_step):
    page = logged_in
    confirmations = []

    def confirm(dialog):
        confirmations.append(dialog.message)
        dialog.accept()

    page.on("dialog", confirm)

    # 1. A hotfix: a name and a description, no version needed.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Releases").click()
    page.get_by_role("link", name="+ Release").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("Hotfix payment timeout")
    page.get_by_label("Type").select_option(label="Hotfix")
    page.get_by_label("Description").fill("Raise the payment gateway timeout where the old gateway still runs.")
    page.get_by_role("button", name="Create Release").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hotfix payment timeout")
    expect(page.locator(".page-head .badge.type-hotfix")).to_have_text("Hotfix")
    expect(page.locator("#release-page")).to_contain_text("Raise the payment gateway timeout where the old gateway")

    # 2. One minimal step.
    add_template_step(page, category="Deploy", name="Raise timeout", type="Bash", content=RAISE_TIMEOUT)

    # 3. Activate for customer-a only: uncheck the others in the dialog.
    page.get_by_role("link", name="Activate").click()
    dialog = page.locator("#dialog")
    count = dialog.locator("[data-picker-count]")
    expect(count).to_have_text("Creates 3 customer steps for 3 customers")
    dialog.get_by_label("customer-b").uncheck()
    dialog.get_by_label("customer-d").uncheck()
    expect(count).to_have_text("Creates 1 customer step for 1 customer")
    expect(dialog.locator("[data-selection]")).to_be_visible()
    expect(dialog.locator("[data-everyone]")).to_be_hidden()
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".page-head .badge.status-active")).to_have_text("Active")
    expect(page.locator('.kv dt:text-is("Activated") + dd')).to_contain_text("(for a selection of customers)")
    release = Release.objects.get(name="Hotfix payment timeout")
    assert (release.type, release.status, release.covers_all_customers) == (
        ReleaseType.HOTFIX,
        ReleaseStatus.ACTIVE,
        False,
    )
    assert list(CustomerStep.objects.filter(release=release).values_list("customer__name", flat=True)) == ["customer-a"]

    # 4. The matrix shows the selected customer only.
    page.get_by_role("link", name="Matrix").click()
    expect(page.locator("details.cluster-group")).to_have_count(1)
    expect(page.locator("details.cluster-group summary")).to_contain_text("prod-us (1 customer)")
    expect(page.locator("table.matrix thead th a")).to_have_text(["customer-a"])
    expect(page.locator("table.matrix")).not_to_contain_text("customer-b")
    expect(page.locator("#progress-overall-deploy .value")).to_have_text("0%")
    expect(page.locator("#progress-overall-verify .value")).to_have_text("—")

    # 5. Deploy: mark the step done in the side panel.
    matrix_cell(page, "customer-a", "Raise timeout").click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name="Step: Raise timeout")).to_be_visible()
    expect(panel).to_contain_text("customer-a (prod-us/cust-a-prod)")
    panel.get_by_label("Notes").fill("Rolled out at 14:05, pods restarted cleanly.")
    panel.get_by_role("button", name="Mark as Done").click()
    expect(panel.locator("dd .status")).to_have_text("✅ Done")
    expect(panel.locator(".history")).to_contain_text("Marked as Done")
    expect(panel.locator(".history")).to_contain_text("Notes: Rolled out at 14:05, pods restarted cleanly.")
    expect(matrix_cell(page, "customer-a", "Raise timeout")).to_contain_text("✅ Done")
    expect(page.locator("#progress-overall-deploy .value")).to_have_text("100%")

    # 6. Verify: the step across customers counts one done and nothing left.
    panel.get_by_role("button", name="✕ Close").click()
    page.get_by_role("link", name="1. Raise timeout").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Step: Raise timeout")
    summary = page.locator('[id^="summary-template-"]')
    expect(summary).to_have_text("✅ Done 1 🔄 Pending 0 ⏸️ Skipped 0 ↩️ Reverted 0")
    rows = page.locator('[id^="status-row-"]')
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("customer-a prod-us/cust-a-prod ✅ Done")
    step = CustomerStep.objects.get(release=release)
    assert (step.status, step.executed_by.username) == (StepStatus.DONE, "ana")

    # 7. Archive: nothing is outstanding, so the confirmation says only that it is final.
    page.get_by_role("link", name="Back").click()
    page.get_by_role("link", name="⚙️ Settings").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.locator(".page-head .badge.status-archived")).to_have_text("Archived")
    assert confirmations == ["Archive Hotfix payment timeout? An archived release can no longer change."]
    release.refresh_from_db()
    assert release.status == ReleaseStatus.ARCHIVED
    page.get_by_role("link", name="Matrix").click()
    matrix_cell(page, "customer-a", "Raise timeout").click()
    expect(panel.get_by_role("status")).to_have_text(
        "Release Hotfix payment timeout is archived: this step is read only."
    )
    expect(panel.get_by_role("button", name="Revert")).to_have_count(0)
