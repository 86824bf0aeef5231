"""Issue 11, item 5: the evidence report opened from the release page reads at 1440 and 390 px without scrolling
sideways, prints without the navigation and buttons, and as a PDF puts each customer on a page of its own."""

import re
from pathlib import Path

from django.urls import reverse
from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_skip,
)

SCREENSHOTS = Path("/tmp")


def test_the_evidence_report_reads_on_screen_and_prints_a_page_per_customer(logged_in, live_server, world):
    release = world.release
    release_activate(release=release, user=world.user)
    customer = world.customers["customer-a"]
    steps = list(CustomerStep.objects.filter(customer=customer).order_by("pk"))
    customer_step_mark_done(step=steps[0], user=world.user, notes="Jenkins build #1415 went through")
    customer_step_skip(step=steps[1], user=world.user, reason="customer-a migrates on its own schedule")
    customer_step_override(step=steps[2], user=world.user, content="curl -fsS https://a.example/health\nsleep 5")
    customer_step_add_custom(
        release=release,
        customer=customer,
        user=world.user,
        name="Backfill the custom_field column",
        category="deploy",
        type="sql",
        content="UPDATE t SET custom_field = 'x';",
    )
    page = logged_in
    page.goto(live_server.url + reverse("releases:release_detail", args=[release.pk]))

    page.get_by_role("link", name="📋 Evidence report").click()

    expect(page.get_by_role("heading", name="Evidence report: v2.5.0")).to_be_visible()
    section = page.locator(f"#evidence-customer-{customer.pk}")
    expect(section.get_by_role("heading", name="customer-a prod-us/cust-a-prod")).to_be_visible()
    expect(section.get_by_text("customer-a migrates on its own schedule")).to_be_visible()
    expect(section.locator(".diff-added").first).to_have_text("+curl -fsS https://a.example/health")
    page.screenshot(path=SCREENSHOTS / "rollcall-evidence-1440.png", full_page=False)
    page.set_viewport_size({"width": 390, "height": 844})
    section.scroll_into_view_if_needed()
    page.screenshot(path=SCREENSHOTS / "rollcall-evidence-390.png", full_page=False)
    assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") == 0

    page.emulate_media(media="print")
    expect(page.locator("header.topbar")).to_be_hidden()
    expect(page.get_by_role("button", name="🖨️ Print or save as PDF")).to_be_hidden()
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.screenshot(path=SCREENSHOTS / "rollcall-evidence-print.png", full_page=False)
    pdf = page.pdf(format="A4", path=SCREENSHOTS / "rollcall-evidence.pdf")
    # The release and its template steps, then six customers of one page each.
    assert len(re.findall(rb"/Type\s*/Page\b", pdf)) == 1 + len(world.customers)
