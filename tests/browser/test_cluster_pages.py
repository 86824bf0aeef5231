"""Issue 10, item 3 "Lists at scale", in Chromium: the cross-customer view of a step of many customers shows one whole
cluster at a time, and a cluster's Select all with a bulk Mark as Done still covers every customer of that cluster."""

from playwright.sync_api import expect

from steps.models import CustomerStep
from tests.browser.test_bulk import _release


def test_one_cluster_at_a_time_and_its_select_all_is_every_customer_of_it(logged_in, live_server, user, monkeypatch):
    monkeypatch.setattr("steps.views.template_step.ONE_CLUSTER_AT_A_TIME_ABOVE", 20)
    page = logged_in
    _, deploy, _ = _release(user, us=18, eu=12)
    page.goto(f"{live_server.url}/template-steps/{deploy.pk}/")

    # prod-eu first (by name), whole; prod-us one link away; the counts are the step's 30 customers.
    expect(page.get_by_text("30 customers; one cluster at a time:")).to_be_visible()
    expect(page.locator("input.bulk-select")).to_have_count(12)
    page.get_by_label("Select all 12 customers of prod-eu").check()
    bar = page.locator("#bulk-bar")
    expect(bar).to_contain_text("12 selected")
    bar.get_by_role("button", name="Mark as Done").click()

    expect(page.locator("#bulk-result")).to_contain_text("Marked 12 steps done.")
    expect(page.locator(f"#summary-template-{deploy.pk}")).to_contain_text("✅ Done 12")
    done = CustomerStep.objects.filter(template=deploy, status="done")
    assert set(done.values_list("customer__cluster__name", flat=True)) == {"prod-eu"} and done.count() == 12

    page.get_by_role("link", name="📁 prod-us (18)").click()
    expect(page.locator("input.bulk-select")).to_have_count(18)
    expect(page.get_by_label("Select all 18 customers of prod-us")).to_be_attached()
