"""Issue 9, layout findings and §7 defects, in the browser: a 200-character unbroken step name widens neither the panel
nor the dashboard; every cluster's matrix table has the same column positions and widths; audit rows are one or two
lines; Add Custom Step offers only the chosen category's insert positions and shows a refusal at the top, in view."""

from django.urls import reverse
from playwright.sync_api import expect

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_add_custom, customer_step_mark_done, customer_step_skip
from steps.services.rules import POSITION_STEP_MISMATCH

LONG_NAME = "Rebuild" + "x" * 193  # 200 characters, no break opportunity
PHONE = {"width": 390, "height": 844}


def _sideways(page) -> int:
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


def _long_step(world) -> CustomerStep:
    release_activate(release=world.release, user=world.user)
    step = customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-a"],
        user=world.user,
        name=LONG_NAME,
        category="deploy",
        type="bash",
        content="echo " + "y" * 300,
    )
    customer_step_mark_done(step=step, user=world.user)
    return step


def test_a_200_character_step_name_widens_neither_the_panel_nor_the_dashboard(logged_in, live_server, world, artifacts):
    page = logged_in
    step = _long_step(world)

    for viewport, size in (("1440", {"width": 1440, "height": 900}), ("390", PHONE)):
        page.set_viewport_size(size)
        page.goto(f"{live_server.url}/")
        expect(page.get_by_role("link", name=LONG_NAME).first).to_be_visible()
        assert _sideways(page) <= 0, f"the dashboard scrolls sideways at {viewport} px"
        page.screenshot(path=artifacts / f"long-name-dashboard-{viewport}.png")

        page.goto(f"{live_server.url}/releases/{world.release.pk}/customers/{step.customer_id}/")
        expect(page.locator(f"#step-{step.pk}")).to_contain_text(LONG_NAME)
        assert _sideways(page) <= 0, f"the checklist scrolls sideways at {viewport} px"

        page.goto(f"{live_server.url}/steps/{step.pk}/")
        expect(page.get_by_role("heading", name=f"Step: {LONG_NAME}")).to_be_visible()
        assert _sideways(page) <= 0, f"the step page scrolls sideways at {viewport} px"

        page.goto(f"{live_server.url}/releases/{world.release.pk}/matrix/?category=deploy")
        page.locator(f"#cell-{step.pk}").click()
        panel = page.locator("#side-panel")
        heading = panel.get_by_role("heading", name=f"Step: {LONG_NAME}")
        expect(heading).to_be_visible()
        overflow = panel.evaluate("(panel) => panel.scrollWidth - panel.clientWidth")
        assert overflow <= 0, f"the panel's content is {overflow} px wider than the panel at {viewport} px"
        panel_box, heading_box = panel.bounding_box(), heading.bounding_box()
        assert heading_box["x"] + heading_box["width"] <= panel_box["x"] + panel_box["width"] + 1
        assert _sideways(page) <= 0, f"the matrix with the panel open scrolls sideways at {viewport} px"
        page.screenshot(path=artifacts / f"long-name-panel-{viewport}.png")


def test_every_cluster_table_of_the_matrix_lines_up_its_columns(logged_in, live_server, world, artifacts):
    page = logged_in
    release_activate(release=world.release, user=world.user)
    customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-d"],
        user=world.user,
        name="Warm the prod-eu cache",
        category="deploy",
        type="bash",
        content="echo warm",
    )
    page.goto(f"{live_server.url}/releases/{world.release.pk}/matrix/?category=deploy")
    tables = page.locator("table.matrix")
    expect(tables).to_have_count(3)  # prod-eu (2 customers), prod-us (3), staging (1)

    columns = tables.evaluate_all(
        """(tables) => tables.map((table) => [...table.rows].map((row) =>
             [...row.cells].map((cell) => { const box = cell.getBoundingClientRect();
                                            return [Math.round(box.x), Math.round(box.width)]; })))"""
    )
    first = columns[0][0]
    for table in columns:
        for row in table:
            width = min(len(row), len(first))
            assert row[:width] == first[:width], f"columns differ: {row} vs {first}"
    page.screenshot(path=artifacts / "matrix-columns-aligned-1440.png", full_page=True)


def test_audit_rows_are_one_or_two_lines(logged_in, live_server, world, artifacts):
    page = logged_in
    release_activate(release=world.release, user=world.user)
    steps = list(CustomerStep.objects.filter(release=world.release).order_by("pk"))
    customer_step_skip(step=steps[0], user=world.user, reason="A long reason to skip: " + "the customer said so. " * 12)
    customer_step_mark_done(step=steps[1], user=world.user, notes="Jenkins build #1415: " + "all green. " * 12)
    customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-b"],
        user=world.user,
        name="Flush the cache of every frontend node",
        category="deploy",
        type="bash",
        content="\n".join(f"kubectl rollout restart deployment/frontend-{n}" for n in range(8)),
        description="Clears the stale sessions the hotfix leaves behind, one node at a time.",
    )

    page.goto(f"{live_server.url}{reverse('audit:audit')}")
    rows = page.locator("table.audit tbody tr")
    expect(rows.first).to_be_visible()
    heights = rows.evaluate_all("(rows) => rows.map((row) => row.getBoundingClientRect().height)")
    assert len(heights) >= 3
    assert max(heights) < 50, f"audit rows are up to {max(heights):.0f} px tall"
    page.screenshot(path=artifacts / "audit-compact-1440.png")

    # "▸ all N" shows every change of a row, one per line.
    custom = rows.filter(has_text="Flush the cache of every frontend node").first
    custom.get_by_role("button", name="▸ all").click()
    expect(custom.get_by_role("button", name="▾ less")).to_have_attribute("aria-expanded", "true")
    assert custom.bounding_box()["height"] > 50

    page.set_viewport_size(PHONE)
    page.reload()
    assert _sideways(page) <= 0
    page.screenshot(path=artifacts / "audit-compact-390.png")


def test_add_custom_step_offers_only_the_chosen_categorys_positions(logged_in, live_server, world, artifacts):
    page = logged_in
    page.set_viewport_size(PHONE)
    release_activate(release=world.release, user=world.user)
    customer = world.customers["customer-a"]
    before = CustomerStep.objects.count()
    page.goto(f"{live_server.url}/releases/{world.release.pk}/customers/{customer.pk}/")
    page.get_by_role("link", name="+ Add Custom Step").click()
    dialog = page.locator("#dialog")
    position = dialog.get_by_label("Insert Position")
    offered = (
        "(select) => [...select.options].filter((o) => !o.disabled && !o.parentElement.disabled).map((o) => o.text)"
    )

    expect(dialog.get_by_label("Category")).to_have_value("deploy")
    assert position.evaluate(offered) == [
        "At the end of the category",
        "Before «Deploy app»",
        "After «Deploy app»",
        "Before «Run migration»",
        "After «Run migration»",
    ]
    position.select_option(label="After «Run migration»")

    dialog.get_by_label("Category").select_option("verify")
    assert position.evaluate(offered) == ["At the end of the category", "Before «Health check»", "After «Health check»"]
    expect(position).to_have_value("")  # the Deploy position chosen before no longer applies
    page.screenshot(path=artifacts / "custom-step-verify-positions-390.png")

    # The server still refuses a mismatch (a page whose script did not run): the refusal is at the top, in view.
    dialog.get_by_role("textbox", name="Step Name").fill("Check the cache")
    dialog.get_by_label("Content").fill("curl -fsS https://cust-a.example/health")
    deploy_step = CustomerStep.objects.get(customer=customer, template=world.templates[0])
    position.evaluate(
        """(select, value) => { const option = [...select.options].find((o) => o.value === value);
                                option.parentElement.disabled = false; select.value = value; }""",
        f"before:{deploy_step.pk}",
    )
    dialog.get_by_role("button", name="Add Step").click()

    summary = dialog.locator(".error-summary")
    expect(summary).to_contain_text(POSITION_STEP_MISMATCH)
    expect(summary).to_be_focused()
    box = summary.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], f"the refusal is out of view: {box}"
    assert CustomerStep.objects.count() == before
    page.screenshot(path=artifacts / "custom-step-refusal-390.png")
