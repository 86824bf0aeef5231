"""Spec §7.2, a regular release, walked in the browser: a release with a version and a target date, deploy and verify
steps reordered by drag and drop, activated for every customer, executed per cluster in the matrix and its side
panel (Copy, Skip and its required reason, Override Content), a custom step added from a customer's view, every
step marked done until the matrix shows 100 %, then archived. Screenshots of the matrix and of the side panel go to
test-artifacts/."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.choices import StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.services.rules import SKIP_REASON_REQUIRED
from tests.browser.matrix_world import matrix_cell
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory

DEPLOY_APP = """#!/usr/bin/env bash
set -euo pipefail
kubectl -n "$NAMESPACE" set image deploy/app app=registry.example.com/app:v2.5.0
    kubectl -n "$NAMESPACE" rollout status deploy/app --timeout=300s
echo "done: <app> & 'workers'"
"""
RUN_MIGRATION = "BEGIN;\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nCOMMIT;"
EU_MIGRATION = "BEGIN;\nALTER TABLE orders ADD COLUMN shipped_at timestamptz;\nSET lc_time = 'de_DE';\nCOMMIT;"


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


def test_regular_release_from_version_to_archive(accept_confirms, live_server, customers, add_template_step, artifacts):
    page = accept_confirms
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)

    # 1. A release with a version number and a target date, and its deploy and verify steps.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Releases").click()
    page.get_by_role("link", name="+ Release").click()
    page.get_by_role("textbox", name="Name", exact=True).fill("v2.5.0")
    expect(page.get_by_label("Type")).to_have_value("release")
    page.get_by_label("Version number").fill("v2.5.0")
    page.get_by_label("Target date").fill("2025-07-01")
    page.get_by_role("button", name="Create Release").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("v2.5.0")
    expect(page.locator('.kv dt:text-is("Version") + dd')).to_have_text("v2.5.0")
    expect(page.locator('.kv dt:text-is("Target date") + dd')).to_have_text("2025-07-01")
    add_template_step(page, category="Deploy", name="Deploy app", type="Bash", content=DEPLOY_APP)
    add_template_step(page, category="Deploy", name="Run migration", type="SQL", content=RUN_MIGRATION)
    add_template_step(page, category="Verify", name="Health check", type="Bash", content="curl -fsS $URL/health")
    add_template_step(page, category="Verify", name="Check schema", type="SQL", content="SELECT 1 FROM orders;")

    # 2. Drag "Run migration" above "Deploy app": saved without a reload, still so after one.
    deploy_names = page.locator("#template-steps-deploy .name")
    expect(deploy_names).to_have_text(["Deploy app", "Run migration"])
    dragged = page.locator("#template-steps-deploy li", has_text="Run migration")
    target = page.locator("#template-steps-deploy li", has_text="Deploy app").locator(".drag-handle")
    dragged.locator(".drag-handle").hover()
    page.mouse.down()
    expect(dragged).to_have_class(re.compile(r"\bsortable-chosen\b"))
    box = target.bounding_box()
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 1, steps=8)
    expect(deploy_names).to_have_text(["Run migration", "Deploy app"])
    with page.expect_response("**/releases/*/template-steps/reorder/deploy/") as reordered:
        page.mouse.up()
    assert reordered.value.ok
    expect(deploy_names).to_have_text(["Run migration", "Deploy app"])
    page.reload()
    expect(deploy_names).to_have_text(["Run migration", "Deploy app"])
    expect(page.locator("#template-steps-verify .name")).to_have_text(["Health check", "Check schema"])
    release = Release.objects.get(name="v2.5.0")
    deploy_order = StepTemplate.objects.filter(release=release, category="deploy").order_by("order_index")
    assert [step.name for step in deploy_order] == ["Run migration", "Deploy app"]

    # 3. Activate for everyone.
    page.get_by_role("link", name="Activate").click()
    dialog = page.locator("#dialog")
    expect(dialog.locator("[data-picker-count]")).to_have_text("Creates 12 customer steps for 3 customers")
    expect(dialog.locator("[data-everyone]")).to_be_visible()
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator(".page-head .badge.status-active")).to_have_text("Active")
    assert CustomerStep.objects.filter(release=release).count() == 12

    # 4. The matrix, filtered to one cluster.
    page.get_by_role("link", name="Matrix").click()
    groups = page.locator("details.cluster-group")
    expect(groups).to_have_count(2)
    overall_deploy = page.locator("#progress-overall-deploy .value")
    overall_verify = page.locator("#progress-overall-verify .value")
    expect(overall_deploy).to_have_text("0%")
    prod_eu = customers["customer-d"].cluster_id
    page.get_by_label("Filter: cluster").select_option(label="prod-eu")
    expect(groups).to_have_count(1)
    expect(groups.locator("summary")).to_contain_text("prod-eu")
    expect(page.locator("table.matrix thead th a")).to_have_text(["customer-d"])
    expect(page).to_have_url(re.compile(rf"/releases/{release.pk}/matrix/\?.*cluster={prod_eu}(&|$)"))
    expect(page.locator("table.matrix tbody th")).to_have_text(["1. Run migration", "2. Deploy app"])
    filtered_url = page.url

    # 5. A cell opens the side panel over the matrix; Copy and Download take the exact script after a first line
    #    that names its target.
    step = CustomerStep.objects.get(release=release, customer=customers["customer-d"], name="Deploy app")
    matrix_cell(page, "customer-d", "Deploy app").click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    expect(panel).to_contain_text("customer-d (prod-eu/cust-d-prod)")
    expect(panel.locator("dd .status")).to_have_text("🔄 Pending")
    assert page.url == filtered_url
    expect(page.locator("table.matrix")).to_be_visible()
    code = panel.locator(".code-block").first
    expect(code.locator("td.linenos")).to_have_text(re.compile(r"^\s*1\s+2\s+3\s+4\s+5\s*$"))
    expect(code.locator("td.code")).to_contain_text('kubectl -n "$NAMESPACE" rollout status deploy/app')
    panel.get_by_role("button", name="📋 Copy").click()
    expect(panel.get_by_role("button", name="✅ Copied")).to_be_visible()
    target = f"# Rollcall: {release.name} · Deploy app · customer-d · prod-eu/cust-d-prod\n"
    assert page.evaluate("navigator.clipboard.readText()") == target + DEPLOY_APP
    panel.screenshot(path=artifacts / "side-panel.png")
    with page.expect_download() as download:
        panel.get_by_role("link", name="⬇️ Download").click()
    assert download.value.suggested_filename == "customer-d_deploy-app.sh"
    assert Path(download.value.path()).read_text() == target + DEPLOY_APP

    # 6. Skip needs a reason: refused without one, the step stays pending; accepted with one.
    cell = matrix_cell(page, "customer-d", "Deploy app")
    skip = panel.locator("details", has=page.locator("summary", has_text="Skip"))
    events = Event.objects.filter(customer_step=step).count()
    skip.locator("summary").click()
    skip.get_by_role("button", name="Confirm Skip").click()
    expect(panel.get_by_role("alert")).to_have_text(SKIP_REASON_REQUIRED)
    expect(panel.locator("dd .status")).to_have_text("🔄 Pending")
    expect(cell).to_contain_text("🔄 Pending")
    step.refresh_from_db()
    assert (step.status, Event.objects.filter(customer_step=step).count()) == (StepStatus.PENDING, events)
    skip = panel.locator("details", has=page.locator("summary", has_text="Skip"))
    skip.get_by_label("Reason for skipping (required)").fill("EU runs the image from the mirror")
    skip.get_by_role("button", name="Confirm Skip").click()
    expect(panel.locator("dd .status")).to_have_text("⏸️ Skipped")
    expect(panel).to_contain_text("Reason: EU runs the image from the mirror")
    expect(cell).to_contain_text("⏸️ Skipped")
    step.refresh_from_db()
    assert (step.status, step.skip_reason) == (StepStatus.SKIPPED, "EU runs the image from the mirror")
    # Skipped steps never count as done (§8.2): undo the skip, the step will be done with the others.
    panel.get_by_role("button", name="Undo Skip").click()
    expect(panel.locator("dd .status")).to_have_text("🔄 Pending")
    expect(cell).to_contain_text("🔄 Pending")

    # 7. Override Content on another step.
    panel.get_by_role("button", name="✕ Close").click()
    expect(panel).to_be_hidden()
    matrix_cell(page, "customer-d", "Run migration").click()
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_visible()
    override = panel.locator("details", has=page.locator("summary", has_text="Override Content"))
    override.locator("summary").click()
    override.get_by_label("Content for this customer").fill(EU_MIGRATION)
    override.get_by_role("button", name="Save").click()
    expect(panel.locator(".marker-overridden")).to_have_text("⚠️ OVERRIDDEN")
    expect(matrix_cell(page, "customer-d", "Run migration").get_by_title("Overridden")).to_be_visible()
    overridden = CustomerStep.objects.get(release=release, customer=customers["customer-d"], name="Run migration")
    assert (overridden.is_overridden, overridden.content) == (True, EU_MIGRATION)
    panel.get_by_role("button", name="✕ Close").click()
    page.get_by_label("Filter: cluster").select_option(label="All Clusters")
    expect(groups).to_have_count(2)
    page.screenshot(path=artifacts / "matrix.png", full_page=True)

    # 8. A custom step from the customer's view, placed after "Run migration".
    page.locator("table.matrix thead").get_by_role("link", name="customer-d", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Customer: customer-d")
    expect(page.locator("#customer-head")).to_contain_text("Cluster: prod-eu | Namespace: cust-d-prod")
    page.get_by_role("link", name="+ Add Custom Step").click()
    dialog = page.locator("#dialog")
    expect(dialog.get_by_role("heading", name="Add Custom Step for customer-d")).to_be_visible()
    dialog.get_by_label("Step Name").fill("Flush EU cache")
    dialog.get_by_label("Category").select_option(label="Deploy")
    dialog.get_by_label("Type").select_option(label="Bash")
    dialog.get_by_label("Content", exact=True).fill("redis-cli -n 2 FLUSHDB")
    dialog.get_by_label("Insert Position").select_option(label="After «Run migration»")
    expect(dialog.get_by_label("Add to template (apply to all customers)")).not_to_be_checked()
    dialog.get_by_role("button", name="Add Step").click()
    expect(dialog).to_contain_text("Step Flush EU cache added for customer-d (prod-eu/cust-d-prod).")
    dialog.locator(".form-actions").get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    deploy = page.locator(f"#steps-{customers['customer-d'].pk}-deploy")
    expect(deploy.locator(".name")).to_have_text(["Run migration", "Flush EU cache", "Deploy app"])
    expect(deploy.locator(".marker-custom")).to_have_text(["❎ CUSTOM"])
    expect(deploy.get_by_role("heading")).to_contain_text("(0/3 done)")

    # 9. Every customer: Mark All in each category.
    for name, customer in customers.items():
        page.goto(f"{live_server.url}/releases/{release.pk}/customers/{customer.pk}/")
        for category in ("deploy", "verify"):
            section = page.locator(f"#steps-{customer.pk}-{category}")
            total = 3 if (name, category) == ("customer-d", "deploy") else 2
            expect(section.get_by_role("heading")).to_contain_text(f"(0/{total} done)")
            section.get_by_role("button", name="Mark All").click()
            expect(section.get_by_role("heading")).to_contain_text(f"({total}/{total} done)")
            expect(section.locator(".status")).to_have_text(["✅ Done"] * total)
    assert set(CustomerStep.objects.filter(release=release).values_list("status", flat=True)) == {StepStatus.DONE}

    # 10. The matrix shows 100 % everywhere, including the custom step's row.
    page.goto(filtered_url)
    expect(overall_deploy).to_have_text("100%")
    expect(overall_verify).to_have_text("100%")
    expect(page.locator("table.matrix tbody th")).to_have_text(
        ["1. Run migration", "↳ Flush EU cache ❎ CUSTOM", "2. Deploy app"]
    )
    page.get_by_label("Filter: cluster").select_option(label="All Clusters")
    expect(groups).to_have_count(2)
    expect(page.locator("table.matrix td:not(.empty) > button")).to_contain_text(["✅ Done"] * 7)

    # 11. Archive.
    page.get_by_role("link", name="⚙️ Settings").click()
    page.get_by_role("button", name="Archive").click()
    expect(page.locator(".page-head .badge.status-archived")).to_have_text("Archived")
    expect(page.locator("#release-page")).to_contain_text("This release is archived: its template steps are read-only.")
    release.refresh_from_db()
    assert release.status == ReleaseStatus.ARCHIVED


def _overlap(one: dict, other: dict) -> bool:
    """Whether two bounding boxes share some area."""
    width = min(one["x"] + one["width"], other["x"] + other["width"]) - max(one["x"], other["x"])
    height = min(one["y"] + one["height"], other["y"] + other["height"]) - max(one["y"], other["y"])
    return width > 0 and height > 0


@pytest.fixture
def step_added(logged_in, live_server, add_template_step):
    """The success message on a draft release's page, just after adding a template step."""
    release = ReleaseFactory(name="v2.6.0")
    logged_in.goto(f"{live_server.url}/releases/{release.pk}/")
    add_template_step(logged_in, category="Deploy", name="Deploy app", type="Bash", content="make deploy")
    return logged_in.locator("#messages .message", has_text="Template step Deploy app added.")


def test_release_page_message_can_be_dismissed(step_added):
    """A message from a change on the release page has its Dismiss button, like every other message."""
    dismiss = step_added.get_by_role("button", name="Dismiss")
    expect(dismiss).to_be_visible()
    dismiss.click()
    expect(step_added).to_have_count(0)


def test_release_page_message_leaves_the_actions_clickable(step_added):
    """The message never lies over the page's actions: clicking Activate next must not wait for it to fade."""
    activate = step_added.page.locator(".page-head .actions").get_by_role("link", name="Activate")
    assert not _overlap(step_added.bounding_box(), activate.bounding_box()), "the message covers the Activate button"
