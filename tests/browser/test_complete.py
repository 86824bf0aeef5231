"""Issue 9, item 6 "Finished": the action that leaves a customer with nothing pending or reverted shows "✓ Complete"
beside its percentage (50 %: one step skipped, as spec §8.2 counts it), and beside its cluster's and the overall
progress, without a reload; a release complete in every category is "Ready to archive" on the dashboard."""

from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip
from tests.browser.matrix_world import matrix_cell

COMPLETE = "✓ Complete"


def test_complete_appears_after_the_last_action_and_the_release_becomes_ready_to_archive(
    logged_in, live_server, world, artifacts
):
    page = logged_in
    release = world.release
    release_activate(release=release, user=world.user)
    demo = world.customers["demo-customer"]
    last = CustomerStep.objects.get(customer=demo, template=world.templates[1])
    for step in CustomerStep.objects.filter(release=release, category="deploy").exclude(pk=last.pk):
        if step.customer_id == demo.pk:
            customer_step_skip(step=step, user=world.user, reason="staging deploys itself")
        else:
            customer_step_mark_done(step=step, user=world.user)

    page.goto(f"{live_server.url}/releases/{release.pk}/matrix/?category=deploy")
    customer = page.locator(f"#progress-customer-{demo.pk}-deploy")
    cluster = page.locator(f"#progress-cluster-{demo.cluster_id}-deploy")
    overall = page.locator("#progress-overall-deploy")
    expect(customer).not_to_contain_text(COMPLETE)
    expect(page.locator(f"#progress-customer-{world.customers['customer-a'].pk}-deploy")).to_contain_text(COMPLETE)
    expect(overall).not_to_contain_text(COMPLETE)

    matrix_cell(page, "demo-customer", "Run migration").click()
    page.locator("#side-panel").get_by_role("button", name="Mark as Done").click()

    expect(customer).to_contain_text(COMPLETE)
    expect(customer.locator(".value")).to_have_text("50%")  # one done, one skipped: §8.2 still says 50 %
    expect(cluster).to_contain_text(COMPLETE)
    expect(overall).to_contain_text(COMPLETE)
    expect(page.locator("#progress-overall-verify")).not_to_contain_text(COMPLETE)
    page.screenshot(path=artifacts / "complete-matrix-1440.png")

    # Deploy is complete but Verify is not: the release is not ready to archive yet.
    page.goto(f"{live_server.url}/")
    expect(page.get_by_role("heading", name="Ready to archive")).to_have_count(0)
    for step in CustomerStep.objects.filter(release=release, category="verify"):
        customer_step_mark_done(step=step, user=world.user)
    page.reload()
    ready = page.get_by_role("list", name="Ready to archive")
    expect(ready.get_by_role("link", name="v2.5.0", exact=True)).to_have_attribute("href", f"/releases/{release.pk}/")
    expect(page.get_by_role("region", name="Active Releases")).to_contain_text(COMPLETE)
    page.screenshot(path=artifacts / "complete-dashboard-1440.png")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=artifacts / "complete-dashboard-390.png", full_page=True)

    page.goto(f"{live_server.url}/releases/")
    expect(page.locator(f"#release-{release.pk}")).to_contain_text(COMPLETE)
    page.goto(f"{live_server.url}/releases/{release.pk}/customers/{demo.pk}/")
    expect(page.locator(f"#progress-customer-{demo.pk}-deploy")).to_contain_text(COMPLETE)
    page.screenshot(path=artifacts / "complete-checklist-390.png", full_page=True)
