"""Issue 8's "Done when", walked in the browser: a bash step that uses `#{namespace}`, `#{DB_HOST}` and a sensitive
`#{DB_PASSWORD}`, activated for two customers of which only customer-a has a DB_HOST.

For customer-a the side panel shows the text rendered for it (values marked, the password masked), Copy and Download
give the same text in clear after a header naming the target, and Mark as Done keeps the SHA-256 of what Download
served. customer-b's step is blocked (⛔ in the matrix, the "Blocked" filter, "Unresolved: DB_HOST" in the panel,
its buttons disabled and a direct POST refused) until DB_HOST is set on its page, which unblocks it at once. No
page, the audit page, its CSV or the history ever holds a sensitive value in clear. Screenshots of the matrix with
the blocked cell and of customer-a's panel, at 1440 and 390 px wide, go to test-artifacts/.
"""

import hashlib
import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils.html import escape
from playwright.sync_api import expect

from core import crypto
from history.choices import EventAction
from history.models import Event
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.rendering import UNRESOLVED
from steps.services import template_step_add
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory
from variables.models import MASK
from variables.services import variable_set

SECRET_A = "hunter2-a-Zq81xV"
SECRET_B = "hunter2-b-Pw47kT"
RUN_MIGRATION = """#!/usr/bin/env bash
set -euo pipefail
kubectl -n #{namespace} exec deploy/app -- \\
  migrate --host #{DB_HOST} --password '#{DB_PASSWORD}'
"""
DEPLOY_APP = "kubectl -n #{namespace} rollout status deploy/app --timeout=300s\n"
HEADER_A = "# Rollcall: v2.5.0 · Run migration · customer-a · prod-us/cust-a-prod\n"
RENDERED_A = f"""#!/usr/bin/env bash
set -euo pipefail
kubectl -n cust-a-prod exec deploy/app -- \\
  migrate --host db-a.internal --password '{SECRET_A}'
"""
WIDTHS = (1440, 390)


@pytest.fixture
def rollout(db, user, monkeypatch):
    """v2.5.0 with "Deploy app" and "Run migration" (which needs DB_HOST and a sensitive DB_PASSWORD), active for
    customer-a (DB_HOST set) and customer-b (none) on prod-us. The key is set before the live server serves."""
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    prod_us = ClusterFactory(name="prod-us")
    customer_a = CustomerFactory(cluster=prod_us, name="customer-a", namespace="cust-a-prod")
    customer_b = CustomerFactory(cluster=prod_us, name="customer-b", namespace="cust-b-prod")
    release = ReleaseFactory(name="v2.5.0", version_number="v2.5.0")
    template_step_add(release=release, user=user, name="Deploy app", category="deploy", type="bash", content=DEPLOY_APP)
    template_step_add(
        release=release, user=user, name="Run migration", category="deploy", type="bash", content=RUN_MIGRATION
    )
    variable_set(owner=customer_a, key="DB_HOST", value="db-a.internal", user=user)
    variable_set(owner=customer_a, key="DB_PASSWORD", value=SECRET_A, is_sensitive=True, user=user)
    variable_set(owner=customer_b, key="DB_PASSWORD", value=SECRET_B, is_sensitive=True, user=user)
    release_activate(release=release, user=user)
    steps = CustomerStep.objects.filter(release=release, name="Run migration")
    return SimpleNamespace(
        release=release,
        customer_a=customer_a,
        customer_b=customer_b,
        step_a=steps.get(customer=customer_a),
        step_b=steps.get(customer=customer_b),
    )


def _assert_no_secret(text: str) -> None:
    assert SECRET_A not in text
    assert SECRET_B not in text


def _open_panel(page, step):
    page.locator(f"#cell-{step.pk}").click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name="Step: Run migration")).to_be_visible()
    expect(panel).to_contain_text(f"{step.customer.name} (prod-us/{step.customer.namespace})")
    return panel


def _screenshots(page, artifacts: Path, name: str, *, shown, full_page: bool) -> None:
    """The page at each width of WIDTHS with `shown` scrolled into view (a narrow matrix scrolls sideways), then
    back to the first width. The side panel is fixed to the viewport: a full-page shot would cut it at its height."""
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        shown.scroll_into_view_if_needed()
        expect(shown).to_be_in_viewport()
        page.screenshot(path=artifacts / f"variables-{name}-{width}.png", full_page=full_page)
    page.set_viewport_size({"width": WIDTHS[0], "height": 900})


def test_customer_a_sees_its_values_masked_copies_and_downloads_them_in_clear_and_keeps_the_evidence(
    logged_in, live_server, rollout, artifacts
):
    page = logged_in
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page.goto(live_server.url + reverse("steps:matrix", args=[rollout.release.pk]))
    expect(page.locator(f"#cell-{rollout.step_a.pk}")).to_have_text("🔄 Pending")

    # The panel: the text rendered for customer-a, each value marked, the password masked and never in the page.
    panel = _open_panel(page, rollout.step_a)
    code = panel.locator(".code-block").first
    expect(code.locator("td.code")).to_contain_text(
        f"kubectl -n cust-a-prod exec deploy/app -- \\\n  migrate --host db-a.internal --password '{MASK}'"
    )
    expect(code.locator(".g-Substituted")).to_have_text(["cust-a-prod", "db-a.internal", MASK])
    expect(panel.locator(".unresolved")).to_have_count(0)
    raw = panel.locator("details.raw-template")
    raw.locator("summary").click()
    expect(raw.locator(".code-block")).to_contain_text("--host #{DB_HOST} --password '#{DB_PASSWORD}'")
    _assert_no_secret(page.content())
    _screenshots(page, artifacts, "panel-customer-a", shown=code, full_page=False)

    # Copy: the header, then the rendered text with the password in clear (fetched, never in the page).
    panel.get_by_role("button", name="📋 Copy").click()
    expect(panel.get_by_role("button", name="✅ Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == HEADER_A + RENDERED_A
    _assert_no_secret(page.content())

    # Download: the same text, starting with the header, no `#{` left.
    with page.expect_download() as download:
        panel.get_by_role("link", name="⬇️ Download").click()
    assert download.value.suggested_filename == "customer-a_run-migration.sh"
    served = Path(download.value.path()).read_bytes()
    assert served.decode().startswith("# Rollcall: v2.5.0 · Run migration · customer-a · prod-us/cust-a-prod\n")
    assert "#{" not in served.decode()
    assert served.decode() == HEADER_A + RENDERED_A

    # Mark as Done keeps the SHA-256 of what Download served, on the step and in its event.
    panel.get_by_role("button", name="Mark as Done").click()
    expect(page.locator(f"#cell-{rollout.step_a.pk}")).to_have_text("✅ Done")
    expect(panel).to_contain_text("Completed:")
    step = CustomerStep.objects.get(pk=rollout.step_a.pk)
    assert step.status == StepStatus.DONE
    assert step.evidence_sha256 == hashlib.sha256(served).hexdigest()
    done = Event.objects.get(customer_step=step, action=EventAction.STEP_DONE)
    assert done.after["evidence_sha256"] == step.evidence_sha256
    _assert_no_secret(page.content())

    # The audit page, its CSV and the history record name the sensitive variables, masked, never in clear.
    page.goto(live_server.url + reverse("audit:audit"))
    expect(page.locator("body")).to_contain_text("DB_PASSWORD")
    _assert_no_secret(page.content())
    export = page.request.get(live_server.url + reverse("audit:audit_export"))
    assert export.ok
    csv_text = export.text()
    assert "DB_PASSWORD" in csv_text and MASK in csv_text
    _assert_no_secret(csv_text)
    history = list(Event.objects.values_list("object_repr", "before", "after"))
    _assert_no_secret(json.dumps(history, ensure_ascii=False))
    page.goto(live_server.url + rollout.customer_a.get_absolute_url())
    expect(page.locator("#variables tbody tr", has_text="DB_PASSWORD")).to_contain_text(MASK)
    _assert_no_secret(page.content())


def test_customer_b_is_blocked_by_its_missing_db_host_until_it_is_set_on_its_page(
    logged_in, live_server, rollout, artifacts
):
    page = logged_in
    step = rollout.step_b
    matrix_url = live_server.url + reverse("steps:matrix", args=[rollout.release.pk])
    page.goto(matrix_url)

    # The matrix marks the blocked cell, and the status filter "Blocked" keeps only its row.
    cell = page.locator(f"#cell-{step.pk}")
    expect(cell).to_have_class(re.compile(r"\bblocked\b"))
    expect(cell.locator(".blocked-mark")).to_have_text("⛔")
    expect(cell.locator(".blocked-mark")).to_have_attribute("title", "Unresolved: DB_HOST")
    expect(page.locator(f"#cell-{rollout.step_a.pk} .blocked-mark")).to_have_count(0)
    expect(page.locator("table.matrix td .blocked-mark")).to_have_count(1)
    _screenshots(page, artifacts, "matrix-blocked", shown=cell, full_page=True)
    page.get_by_label("Status", exact=True).select_option(label="Blocked")
    expect(page).to_have_url(re.compile(r"[?&]status=blocked(&|$)"))
    expect(page.locator("table.matrix tbody th")).to_have_text(["2. Run migration"])
    expect(cell).to_be_visible()
    expect(cell).not_to_have_class(re.compile(r"\bdimmed\b"))
    expect(page.locator(f"#cell-{rollout.step_a.pk}")).to_have_class(re.compile(r"\bdimmed\b"))

    # Its panel names the missing variable; Mark as Done, Copy and Download are disabled with the same reason.
    panel = _open_panel(page, step)
    expect(panel.locator(f"#unresolved-{step.pk}")).to_contain_text("Unresolved: DB_HOST")
    for name in ("Mark as Done", "📋 Copy", "⬇️ Download"):
        button = panel.get_by_role("button", name=name)
        expect(button).to_be_disabled()
        expect(button).to_have_attribute("title", "Unresolved: DB_HOST")
    expect(panel.get_by_role("link", name="⬇️ Download")).to_have_count(0)
    expect(panel.locator(".code-block").first.locator(".g-Substituted")).to_have_text(["cust-b-prod", MASK])
    _assert_no_secret(page.content())

    # The server refuses too, naming the missing variable, and nothing changes.
    events = Event.objects.filter(customer_step=step).count()
    csrf = next(cookie["value"] for cookie in page.context.cookies() if cookie["name"] == "csrftoken")
    refused = page.request.post(
        live_server.url + reverse("steps:step_done", args=[step.pk]),
        headers={"X-CSRFToken": csrf},
        form={"version": str(step.version)},
    )
    assert refused.status == 422
    message = UNRESOLVED.format(step="Run migration", customer="customer-b", verb="marked as done", names="DB_HOST")
    assert escape(message) in refused.text()
    download = page.request.get(live_server.url + reverse("steps:step_download", args=[step.pk]))
    assert download.status == 409
    assert "no value for DB_HOST" in download.text()
    _assert_no_secret(download.text())
    unchanged = CustomerStep.objects.get(pk=step.pk)
    assert (unchanged.status, unchanged.version, unchanged.evidence_sha256) == (StepStatus.PENDING, step.version, "")
    assert Event.objects.filter(customer_step=step).count() == events

    # DB_HOST added in the Variables table of customer-b's page unblocks the step at once.
    page.goto(live_server.url + rollout.customer_b.get_absolute_url())
    add_form = page.locator("#variable-add")
    add_form.get_by_label("Name").fill("DB_HOST")
    add_form.get_by_label("Value").fill("db-b.internal")
    add_form.get_by_role("button", name="Add variable").click()
    expect(page.locator("#messages")).to_contain_text("Variable DB_HOST added to customer customer-b.")
    expect(page.locator("#variables tbody tr", has_text="DB_HOST")).to_contain_text("db-b.internal")
    _assert_no_secret(page.content())

    page.goto(f"{matrix_url}?status=blocked")
    expect(page.locator("#matrix-body")).to_contain_text("No deploy step is blocked for this cluster's customers.")
    page.goto(matrix_url)
    expect(page.locator("table.matrix td .blocked-mark")).to_have_count(0)
    expect(cell).not_to_have_class(re.compile(r"\bblocked\b"))
    panel = _open_panel(page, step)
    expect(panel.locator(".unresolved")).to_have_count(0)
    expect(panel.locator(".code-block").first.locator(".g-Substituted")).to_have_text(
        ["cust-b-prod", "db-b.internal", MASK]
    )
    expect(panel.get_by_role("link", name="⬇️ Download")).to_be_visible()
    panel.get_by_role("button", name="Mark as Done").click()
    expect(cell).to_have_text("✅ Done")
    done = CustomerStep.objects.get(pk=step.pk)
    assert done.status == StepStatus.DONE
    assert len(done.evidence_sha256) == 64
    _assert_no_secret(page.content())
