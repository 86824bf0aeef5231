"""Issue 10, item 2: a large matrix sends its first clusters' tables; each further cluster's table loads when the page
scrolls near it, and its cells then work as every other: they open the side panel, the arrow keys move between
them, live updates reach them."""

from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.browser.matrix_world import matrix_cell
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

CLUSTERS = 6
CUSTOMERS_PER_CLUSTER = 5
STEPS = ("Stop workers", "Deploy app", "Start workers")
WITHIN_5_S = 5000  # ms: a live update's poll every 4 s, and its answer


@pytest.fixture
def large(logged_in, settings, django_user_model):
    """Six clusters of five customers, three deploy steps: 15 cells a cluster, and the first response carries only
    the first cluster's table (the threshold lowered to 20 cells)."""
    settings.MATRIX_EAGER_CELLS = 20
    clusters = [ClusterFactory(name=f"cluster-{n}") for n in range(1, CLUSTERS + 1)]
    customers = {}
    for cluster in clusters:
        for n in range(1, CUSTOMERS_PER_CLUSTER + 1):
            name = f"{cluster.name}-customer-{n}"
            customers[name] = CustomerFactory(cluster=cluster, name=name, namespace=f"ns-{cluster.pk}-{n}")
    release = ReleaseFactory(name="v4.0.0", version_number="v4.0.0")
    for index, name in enumerate(STEPS):
        StepTemplateFactory(release=release, name=name, category="deploy", order_index=index)
    release_activate(release=release, user=django_user_model.objects.get(username="ana"))
    return SimpleNamespace(release=release, clusters=clusters, customers=customers)


def _table(page, cluster):
    return page.locator(f"#matrix-table-{cluster.pk}")


def test_later_clusters_load_when_scrolled_to_and_their_cells_open_the_panel(logged_in, live_server, large, artifacts):
    page = logged_in
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{live_server.url}/releases/{large.release.pk}/matrix/")
    first, last = large.clusters[0], large.clusters[-1]

    expect(_table(page, first)).to_be_visible()
    expect(_table(page, last)).to_have_count(0)  # not loaded: far below the view
    expect(page.locator(f"#cluster-{last.pk} .matrix-later")).to_have_count(1)

    page.locator(f"#cluster-{last.pk} summary").scroll_into_view_if_needed()
    page.mouse.wheel(0, 600)
    expect(_table(page, last)).to_be_visible()
    cell = matrix_cell(page, "cluster-6-customer-3", "Deploy app")
    cell.click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name="Step: Deploy app")).to_be_visible()
    expect(panel).to_contain_text("cluster-6-customer-3")
    page.screenshot(path=artifacts / "matrix-stream-1440.png")

    # The keyboard works in the table loaded later: one cell of it in the tab order, arrows move between its cells.
    page.keyboard.press("Escape")
    expect(cell).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(matrix_cell(page, "cluster-6-customer-4", "Deploy app")).to_be_focused()
    expect(_table(page, last).locator("td > button[tabindex='0']")).to_have_count(1)


def test_a_live_update_reaches_a_table_loaded_later_and_leaves_unloaded_ones_alone(
    logged_in, live_server, large, django_user_model, artifacts
):
    page = logged_in
    page.set_viewport_size({"width": 390, "height": 844})
    errors = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/releases/{large.release.pk}/matrix/")
    last = large.clusters[-1]
    expect(_table(page, last)).to_have_count(0)
    ana = django_user_model.objects.get(username="ana")
    steps = {(step.customer.name, step.name): step for step in CustomerStep.objects.select_related("customer")}

    # Someone marks a step of a cluster whose table is not loaded: nothing to update, nothing goes wrong.
    customer_step_mark_done(step=steps["cluster-6-customer-1", "Stop workers"], user=ana)
    page.wait_for_timeout(4500)
    page.locator(f"#cluster-{last.pk} summary").scroll_into_view_if_needed()
    page.mouse.wheel(0, 600)
    expect(matrix_cell(page, "cluster-6-customer-1", "Stop workers")).to_have_text("✅ Done")

    # Once loaded, the table takes live updates as every other.
    customer_step_mark_done(step=steps["cluster-6-customer-2", "Stop workers"], user=ana)
    expect(matrix_cell(page, "cluster-6-customer-2", "Stop workers")).to_contain_text("✅ Done", timeout=WITHIN_5_S)
    page.screenshot(path=artifacts / "matrix-stream-390.png")
    assert errors == []
