"""Issue 9, item 8 "Mobile": at 390 by 844 no page scrolls sideways (wide tables scroll inside their own box) and the
top navigation is one row, folded behind "☰ Menu"; at 1440 px the navigation shows as before."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_add_custom, customer_step_mark_done, customer_step_skip

PHONE = {"width": 390, "height": 844}
ONE_ROW = 60  # px: the top bar's height when it holds one row (it took three, 180 px, before)


@pytest.fixture
def pages(world):
    """Every list page of an active release with some work done, by name."""
    release = world.release
    release_activate(release=release, user=world.user)
    customer = world.customers["customer-a"]
    steps = list(CustomerStep.objects.filter(customer=customer).order_by("pk"))
    customer_step_mark_done(step=steps[0], user=world.user, notes="Jenkins build #1415 went through")
    customer_step_skip(step=steps[1], user=world.user, reason="customer-a migrates on its own schedule")
    customer_step_add_custom(
        release=release,
        customer=customer,
        user=world.user,
        name="Backfill the custom_field column",
        category="deploy",
        type="sql",
        content="UPDATE t SET custom_field = 'x';",
    )
    return {
        "dashboard": reverse("dashboard:dashboard"),
        "clusters": reverse("clusters:cluster_list"),
        "customers": reverse("customers:customer_list"),
        "releases": reverse("releases:release_list"),
        "audit": reverse("audit:audit"),
        "release": reverse("releases:release_detail", args=[release.pk]),
        "matrix": reverse("steps:matrix", args=[release.pk]),
        "checklist": reverse("steps:customer_steps", args=[release.pk, customer.pk]),
        "cross-customer": reverse("steps:template_step_status", args=[world.templates[0].pk]),
        "cluster": reverse("clusters:cluster_detail", args=[world.clusters["prod-us"].pk]),
        "customer": reverse("customers:customer_detail", args=[customer.pk]),
    }


def _sideways(page) -> int:
    """How many pixels the page scrolls sideways (0 when it fits the window)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _topbar_height(page) -> float:
    return page.locator("header.topbar").bounding_box()["height"]


def test_no_list_page_scrolls_sideways_at_390_and_the_navigation_is_one_row(logged_in, live_server, pages, artifacts):
    page = logged_in
    page.set_viewport_size(PHONE)
    for name, path in pages.items():
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("main")).to_be_visible()
        assert _sideways(page) <= 0, f"{name} ({path}) scrolls sideways by {_sideways(page)} px at 390 px"
        assert _topbar_height(page) <= ONE_ROW, f"{name}: the navigation takes {_topbar_height(page)} px"
        page.screenshot(path=artifacts / f"mobile-{name}-390.png", full_page=True)


def test_wide_tables_scroll_inside_their_own_box(logged_in, live_server, pages):
    page = logged_in
    page.set_viewport_size(PHONE)
    for name in ("releases", "customers", "audit"):
        page.goto(f"{live_server.url}{pages[name]}")
        box = page.locator(".table-scroll").first
        wider = box.evaluate("(box) => box.scrollWidth > box.clientWidth")
        assert wider, f"the {name} table fits at 390 px: nothing to scroll"
        assert box.evaluate("(box) => getComputedStyle(box).overflowX") == "auto"
        box.evaluate("(box) => { box.scrollLeft = box.scrollWidth; }")
        assert box.evaluate("(box) => box.scrollLeft") > 0  # its last column can be reached
        assert _sideways(page) <= 0


def test_the_menu_button_unfolds_the_navigation_on_a_phone(logged_in, live_server, pages, artifacts):
    page = logged_in
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}{pages['dashboard']}")
    nav = page.get_by_role("navigation", name="Main")
    menu = page.get_by_role("button", name="☰ Menu")
    expect(nav).to_be_hidden()
    expect(menu).to_have_attribute("aria-expanded", "false")

    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(nav.get_by_role("link", name="Customers")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert _sideways(page) <= 0
    page.screenshot(path=artifacts / "mobile-menu-open-390.png")

    nav.get_by_role("link", name="Customers").click()
    page.wait_for_url(f"{live_server.url}{pages['customers']}")
    expect(nav).to_be_hidden()  # a new page starts folded
    menu.click()
    menu.click()
    expect(nav).to_be_hidden()


def test_at_1440_the_navigation_shows_in_one_row_without_a_menu_button(logged_in, live_server, pages, artifacts):
    page = logged_in
    page.goto(f"{live_server.url}{pages['audit']}")
    expect(page.get_by_role("button", name="☰ Menu")).to_be_hidden()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Releases")).to_be_visible()
    assert _topbar_height(page) <= ONE_ROW
    for name in ("releases", "customers", "audit"):
        page.goto(f"{live_server.url}{pages[name]}")
        assert _sideways(page) <= 0
        page.screenshot(path=artifacts / f"mobile-{name}-1440.png")
