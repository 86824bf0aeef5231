"""Issue 12, item 3 "Strict Content-Security-Policy": with the policy enforced, no page, dialog or panel of Rollcall
breaks it. Chromium reports every blocked script, handler, style or eval as a `securitypolicyviolation` event (and a
console error); a listener registered before any page script collects them, and each test asserts there were none.
The buttons whose code moved from the templates into static/js are used, so a listener that broke shows.

Every named route is either visited here (PAGES, the dialogs' and the logged-out tests' VISITED_TOO) or listed as
no page (NOT_PAGES, FAMILIES) with why: tests/test_csp_coverage.py fails on a route in neither, so a page a later
issue adds is checked here too."""

import re
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.contrib.admin import site as admin_site
from django.urls import reverse
from playwright.sync_api import expect

from accounts.permissions import VIEWER
from api.services import api_token_create
from api.urls import router
from releases.services import release_activate
from runs.services import batch_start, run_start
from steps.models import CustomerStep
from steps.services import customer_step_add_custom, customer_step_mark_done, customer_step_skip
from tests.factories import ReleaseFactory, StepTemplateFactory
from variables.services import variable_create
from webhooks.services import subscription_create

LISTEN = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", function (event) {
  window.__cspViolations.push(event.disposition + " " + event.effectiveDirective + ": " + (event.blockedURI || "?") +
    " at " + event.sourceFile + ":" + event.lineNumber + " " + JSON.stringify(event.sample));
});
"""
# What Chromium writes to the console when a policy bites, or when htmx is refused an eval.
CONSOLE_SIGNS = ("Content Security Policy", "Content-Security-Policy", "Permissions-Policy", "evalDisallowed")

# Pages visited by URL, logged in as a staff release manager: route name -> its arguments from the test's world.
PAGES = {
    "dashboard:dashboard": lambda w: [],
    "clusters:cluster_list": lambda w: [],
    "clusters:cluster_create": lambda w: [],
    "clusters:cluster_detail": lambda w: [w.cluster.pk],
    "clusters:cluster_edit": lambda w: [w.cluster.pk],
    "customers:customer_list": lambda w: [],
    "customers:customer_create": lambda w: [],
    "customers:customer_detail": lambda w: [w.customer.pk],
    "customers:customer_edit": lambda w: [w.customer.pk],
    "releases:release_list": lambda w: [],
    "releases:release_create": lambda w: [],
    "releases:release_import": lambda w: [],
    "releases:release_detail": lambda w: [w.release.pk],
    "releases:release_edit": lambda w: [w.release.pk],
    "releases:release_activate": lambda w: [w.draft.pk],
    "releases:release_add_customers": lambda w: [w.partial.pk],
    "releases:template_step_create": lambda w: [w.draft.pk],
    "releases:template_step_edit": lambda w: [w.draft_step.pk],
    "releases:template_step_delete": lambda w: [w.draft_step.pk],
    "steps:matrix": lambda w: [w.release.pk],
    "steps:customer_steps": lambda w: [w.release.pk, w.customer.pk],
    "steps:custom_step_add": lambda w: [w.release.pk, w.customer.pk],
    "steps:template_step_status": lambda w: [w.template.pk],
    "steps:step_detail": lambda w: [w.step.pk],
    "audit:audit": lambda w: [],
    "audit:evidence_report": lambda w: [w.release.pk],
    "audit:evidence_report_customer": lambda w: [w.release.pk, w.customer.pk],
    "variables:variable_create": lambda w: ["cluster", w.cluster.pk],
    "variables:variable_detail": lambda w: [w.variable.pk],
    "variables:variable_edit": lambda w: [w.variable.pk],
    "webhooks:subscription_list": lambda w: [],
    "webhooks:subscription_create": lambda w: [],
    "webhooks:subscription_detail": lambda w: [w.subscription.pk],
    "webhooks:subscription_edit": lambda w: [w.subscription.pk],
    "api:token_list": lambda w: [],
    "account": lambda w: [],
    # Runs (execution on): a step's confirmation, a run, the panel's Runs section, a batch's form and a batch.
    "runs:run_confirm": lambda w: [w.step.pk],
    "runs:run_detail": lambda w: [w.run.pk],
    "runs:step_runs": lambda w: [w.run.step_id],
    "runs:batch_start": lambda w: [w.template.pk, w.cluster.pk],
    "runs:batch_detail": lambda w: [w.batch.pk],
    "api:docs": lambda w: [],
    # The REST API's browsable pages (DRF renders HTML for a browser).
    "api:api-root": lambda w: [],
    "api:cluster-list": lambda w: [],
    "api:release-detail": lambda w: [w.release.pk],
    # Django's admin: its index, an app, a changelist, add, change, history and delete pages, a user's password.
    "admin:index": lambda w: [],
    "admin:app_list": lambda w: ["releases"],
    "admin:releases_release_changelist": lambda w: [],
    "admin:releases_release_add": lambda w: [],
    "admin:releases_release_change": lambda w: [w.release.pk],
    "admin:releases_release_history": lambda w: [w.release.pk],
    "admin:clusters_cluster_delete": lambda w: [w.cluster.pk],
    "admin:steps_customerstep_change": lambda w: [w.step.pk],
    "admin:auth_user_changelist": lambda w: [],
    "admin:auth_user_change": lambda w: [w.user.pk],
    "admin:auth_user_password_change": lambda w: [w.user.pk],
    "admin:password_change": lambda w: [],
    "admin:password_change_done": lambda w: [],
}

# Routes visited by the tests below other than through PAGES: by the dialogs and panels test, or logged out.
VISITED_TOO = {
    "login": "logged out; a wrong password; the lockout page",
    "admin:login": "logged out",
    "oidc_authentication_callback": "the single sign-on refusal page",
}

# Named routes that are no page, each with why.
NOT_PAGES = {
    "clusters:cluster_delete": "POST-only action",
    "customers:customer_delete": "POST-only action",
    "releases:release_definition": "download (YAML)",
    "releases:release_clone": "POST-only action",
    "releases:release_archive": "POST-only action",
    "releases:template_steps_reorder": "POST-only action (drag and drop and Move up/down post it: dialogs test)",
    "steps:mark_all": "POST-only action",
    "steps:bulk_action": "fragment the matrix loads itself (its Select button and bulk bar), and a POST",
    "steps:live_changes": "the live poll's out-of-band fragments, swapped into the visited step screens",
    "steps:step_download": "download (the step's text as a file)",
    "steps:step_done": "POST-only action answering fragments",
    "steps:step_skip": "POST-only action answering fragments",
    "steps:step_revert": "POST-only action answering fragments",
    "steps:step_reopen": "POST-only action answering fragments",
    "steps:step_notes": "POST-only action answering fragments",
    "steps:step_override": "POST-only action answering fragments",
    "steps:step_reset": "POST-only action answering fragments",
    "steps:step_edit": "POST-only action answering fragments",
    "steps:step_remove": "POST-only action answering fragments",
    "audit:audit_export": "download (CSV)",
    "audit:evidence_csv": "download (CSV)",
    "audit:evidence_csv_customer": "download (CSV)",
    "variables:variable_delete": "POST-only action",
    "release_definition_schema": "JSON Schema document",
    "api:token_revoke": "POST-only action",
    "api:schema": "the OpenAPI document (YAML or JSON)",
    "webhooks:subscription_set_active": "POST-only action",
    "webhooks:delivery_redeliver": "POST-only action",
    "oidc_authentication_init": "redirect to the identity provider",
    "logout": "POST-only action",
    "account_sessions_end_others": "POST-only action",
    "runs:run_start": "POST-only action",
    "runs:run_cancel": "POST-only action",
    "runs:run_output": "download (a run's output)",
    "runs:batch_cancel": "POST-only action",
    "healthz": "plain-text health probe",
    "admin:logout": "POST-only action",
    "admin:autocomplete": "JSON for the admin's autocomplete widgets",
    "admin:jsi18n": "JavaScript catalog (a script file)",
    "admin:view_on_site": "redirect to the object's page",
}


def _admin_model_route(name: str) -> bool:
    return name.startswith("admin:") and any(
        name == f"admin:{model._meta.app_label}_{model._meta.model_name}_{page}"
        for model in admin_site._registry
        for page in ("changelist", "add", "change", "history", "delete")
    )


def _api_endpoint(name: str) -> bool:
    return name in {f"api:{url.name}" for url in router.urls}


# Families of routes, each with why one visited member answers for the others.
FAMILIES = [
    (
        _admin_model_route,
        "Django admin's model pages: the same templates as the visited release, cluster and user pages of the admin",
    ),
    (_api_endpoint, "REST API endpoint: JSON for clients; its browsable page is visited as api:cluster-list"),
]


class Violations:
    """Collects what the policy blocked, in the page (securitypolicyviolation) and on the console."""

    def __init__(self, page):
        self.page = page
        self.where = "start"
        self.found = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"{self.where}: script error: {error}"))

    def _console(self, message):
        if message.type in ("error", "warning") and any(sign in message.text for sign in CONSOLE_SIGNS):
            self.found.append(f"{self.where}: console: {message.text}")

    def collect(self, where: str) -> None:
        """Take the violations the page has reported so far, under a name for the message."""
        self.where = where
        reported = self.page.evaluate("() => (window.__cspViolations || []).splice(0)")
        self.found += [f"{where}: {violation}" for violation in reported]

    def visit(self, url: str, where: str):
        response = self.page.goto(url)
        self.collect(where)
        return response

    def assert_none(self) -> None:
        self.collect(self.where)
        assert not self.found, "Content-Security-Policy violations:\n" + "\n".join(self.found)


@pytest.fixture
def enforced(settings):
    """The strict policy enforced, whatever ROLLCALL_CSP_REPORT_ONLY says in the environment (django-csp reads the
    settings at every response); execution on, so that the runs' pages and the panel's Runs section show."""
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": django_settings.CSP_DIRECTIVES}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = None
    settings.ROLLCALL_EXECUTION = True
    return settings


@pytest.fixture
def csp_world(world, django_user_model):
    """The example world with everything a page can show: an active release with work done, skipped, customised
    and overridden; a draft; a release some customers are left out of; a variable, a webhook, an API token; a run
    and a batch of runs, queued."""
    user = django_user_model.objects.get(username="ana")
    user.is_staff = user.is_superuser = True
    user.save()
    release = world.release
    release_activate(release=release, user=user)
    customer = world.customers["customer-a"]
    steps = list(CustomerStep.objects.filter(customer=customer, release=release).order_by("pk"))
    customer_step_mark_done(step=steps[0], user=user, notes="Jenkins build #1415 went through")
    customer_step_skip(step=steps[1], user=user, reason="customer-a migrates on its own schedule")
    customer_step_add_custom(
        release=release,
        customer=customer,
        user=user,
        name="Flush the cache",
        category="deploy",
        type="bash",
        content="kubectl rollout restart deployment/frontend",
        description="Clears stale sessions.",
    )
    draft = ReleaseFactory(name="v3.0.0", version_number="v3.0.0")
    draft_step = StepTemplateFactory(release=draft, name="Deploy app", category="deploy", order_index=0)
    StepTemplateFactory(release=draft, name="Run migration", category="deploy", type="sql", order_index=1)
    partial = ReleaseFactory(name="v2.6.0", version_number="v2.6.0")
    StepTemplateFactory(release=partial, name="Deploy app")
    release_activate(release=partial, user=user, exclude_customers=[world.customers["customer-e"].pk])
    subscription, _ = subscription_create(
        name="chat", target_url="https://hooks.example.com/rollcall", events=["release.archived"], user=user
    )
    api_token_create(user=user, name="pipeline")
    deploy = world.templates[0]
    run = run_start(step=CustomerStep.objects.get(template=deploy, customer=world.customers["customer-b"]), user=user)
    batch = batch_start(
        template=deploy, customer_ids=[world.customers["customer-c"].pk], user=user, concurrency=1, stop_on_failure=True
    )
    return SimpleNamespace(
        user=user,
        cluster=world.clusters["prod-us"],
        customer=customer,
        release=release,
        template=world.templates[0],
        step=steps[2],
        draft=draft,
        draft_step=draft_step,
        partial=partial,
        variable=variable_create(owner=world.clusters["prod-us"], key="DB_HOST", value="db.internal", user=user),
        subscription=subscription,
        run=run,
        batch=batch,
    )


def test_every_page_sends_the_policy_and_breaks_none_of_it(enforced, logged_in, live_server, csp_world):
    page = logged_in
    watch = Violations(page)
    response = watch.visit(live_server.url + reverse("dashboard:dashboard"), "dashboard")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unsafe" not in policy
    assert "content-security-policy-report-only" not in response.headers

    for name, arguments in PAGES.items():
        url = reverse(name, args=arguments(csp_world))
        response = watch.visit(live_server.url + url, name)
        assert response.status == 200, f"{name} ({url}) answered {response.status}"
        if name == "api:docs":
            # Swagger UI draws the schema: its start-up script ran.
            expect(page.locator(".swagger-ui .info .title")).to_contain_text("Rollcall API")
            expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
        elif name in ("steps:matrix", "steps:customer_steps", "steps:template_step_status"):
            # The live updates poll once (the visible tab lets it through) and the page takes the answer.
            with page.expect_response(re.compile(r"/changes/\?")):
                page.locator("#live-updates").dispatch_event("rollcall:live-poll")
        watch.collect(name)
    watch.assert_none()


def test_the_dialogs_panels_and_moved_handlers_work_and_break_nothing(
    enforced, accept_confirms, live_server, csp_world
):
    page = accept_confirms
    page.add_init_script("window.print = function () { window.__printed = (window.__printed || 0) + 1; };")
    watch = Violations(page)
    w = csp_world
    dialog = page.locator("#dialog")

    watch.visit(live_server.url + reverse("releases:release_detail", args=[w.draft.pk]), "draft release")
    # Template steps: add, edit, delete (each dialog closes on success), then move one (Move down posts the new order).
    deploy = page.locator("section", has=page.get_by_role("heading", name="Deploy Steps"))
    deploy.get_by_role("link", name="+ Add Step").click()
    dialog.get_by_role("textbox", name="Name", exact=True).fill("Warm caches")
    dialog.get_by_label("Content").fill("curl -s https://app/warm")
    dialog.get_by_role("button", name="Add Step").click()
    expect(dialog).to_be_hidden()
    expect(deploy.locator(".steps .name", has_text="Warm caches")).to_be_visible()
    step = deploy.locator("li", has_text="Warm caches")
    step.get_by_role("link", name="Edit").click()
    dialog.get_by_role("textbox", name="Name", exact=True).fill("Warm the caches")
    dialog.get_by_role("button", name="Save").click()
    expect(dialog).to_be_hidden()
    expect(deploy.locator(".steps .name", has_text="Warm the caches")).to_be_visible()
    deploy.locator("li", has_text="Warm the caches").get_by_role("link", name="Delete").click()
    expect(dialog.get_by_role("heading", name="Delete Warm the caches?")).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(dialog).to_be_hidden()
    expect(deploy.locator(".steps .name", has_text="Warm the caches")).to_have_count(0)
    first = deploy.locator(".steps > li").first
    expect(first.locator(".name")).to_have_text("Deploy app")
    first.get_by_role("button", name="Move down").click()
    expect(deploy.locator(".steps > li").first.locator(".name")).to_have_text("Run migration")
    watch.collect("template step dialogs")

    # Activate: the customer picker's search, None and All per cluster, its count, the warning that fits, and the
    # dialog closing when the release is activated.
    page.get_by_role("link", name="Activate").click()
    expect(dialog.get_by_role("heading", name="Activate v3.0.0")).to_be_visible()
    count = dialog.locator("[data-picker-count]")
    expect(count).to_have_text("Creates 12 customer steps for 6 customers")
    expect(dialog.locator("[data-everyone]")).to_be_visible()
    dialog.locator("fieldset", has_text="prod-us").get_by_role("button", name="None", exact=True).click()
    expect(count).to_have_text("Creates 6 customer steps for 3 customers")
    expect(dialog.locator("[data-selection]")).to_be_visible()
    expect(dialog.locator("[data-everyone]")).to_be_hidden()
    dialog.get_by_label("Search").fill("customer-d")
    expect(dialog.get_by_text("customer-e", exact=False)).to_be_hidden()
    expect(dialog.locator("fieldset", has_text="prod-us")).to_be_hidden()
    dialog.get_by_label("Search").fill("")
    dialog.locator("fieldset", has_text="prod-us").get_by_role("button", name="Select All").click()
    expect(count).to_have_text("Creates 12 customer steps for 6 customers")
    expect(dialog.locator("[data-everyone]")).to_be_visible()
    dialog.get_by_role("checkbox", name=re.compile("customer-b")).uncheck()
    expect(count).to_have_text("Creates 10 customer steps for 5 customers")
    dialog.get_by_role("button", name="Activate").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#messages")).to_contain_text("Release v3.0.0 is active.")
    watch.collect("Activate dialog")

    # Add customers: the one left out joins; the dialog closes.
    page.get_by_role("link", name="Add customers").click()
    expect(dialog.get_by_role("heading", name="Add customers to v3.0.0")).to_be_visible()
    expect(dialog.locator("[data-picker-count]")).to_have_text("Adds 0 customer steps for 0 customers")
    dialog.get_by_role("checkbox", name=re.compile("customer-b")).check()
    expect(dialog.locator("[data-picker-count]")).to_have_text("Adds 2 customer steps for 1 customer")
    dialog.get_by_role("button", name="Add customers").click()
    expect(dialog).to_be_hidden()
    watch.collect("Add customers dialog")

    # The matrix: Expand All / Collapse All, a cell's side panel with its Override and Skip forms, the keyboard help,
    # the bulk bar.
    watch.visit(live_server.url + reverse("steps:matrix", args=[w.release.pk]), "matrix")
    groups = page.locator("#matrix-body details.cluster-group")
    expect(groups.first).to_be_visible()
    page.get_by_role("button", name="Collapse All").click()
    for index in range(groups.count()):
        expect(groups.nth(index)).not_to_have_attribute("open", "")
    page.get_by_role("button", name="Expand All").click()
    for index in range(groups.count()):
        expect(groups.nth(index)).to_have_attribute("open", "")
    page.locator("table.matrix td > button[id^='cell-']").first.click()
    panel = page.locator("#side-panel")
    expect(panel.get_by_role("heading", name=re.compile("^Step: "))).to_be_visible()
    panel.locator("summary", has_text="Override Content").click()
    expect(panel.get_by_label("Content for this customer")).to_be_visible()
    panel.locator("summary", has_text="Skip").click()
    expect(panel.get_by_role("button", name="Confirm Skip")).to_be_visible()
    panel.get_by_role("button", name="✕ Close").click()
    expect(panel).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog.get_by_role("heading", name="Keyboard shortcuts")).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    watch.collect("matrix panel and dialogs")

    # The customer checklist: a step's panel, marking it done (the progress bars update out of band), Add Custom Step.
    watch.visit(live_server.url + reverse("steps:customer_steps", args=[w.release.pk, w.customer.pk]), "checklist")
    row = page.locator(f"#step-{w.step.pk}")
    row.get_by_role("link", name="View Content").click()
    expect(panel.get_by_role("heading", name=re.compile("^Step: "))).to_be_visible()
    panel.get_by_role("button", name="Mark as Done").click()
    expect(panel.locator("dd .status")).to_have_text("✅ Done")
    expect(page.locator(f"#progress-customer-{w.customer.pk}-verify progress")).to_have_attribute("value", "100")
    panel.get_by_role("button", name="✕ Close").click()
    page.get_by_role("link", name="+ Add Custom Step").click()
    expect(dialog.get_by_role("heading", name="Add Custom Step for customer-a")).to_be_visible()
    dialog.get_by_label("Category").select_option(label="Verify")
    dialog.get_by_role("button", name="Close", exact=True).click()
    expect(dialog).to_be_hidden()
    watch.collect("checklist panel and dialog")

    # The audit log: a row's "▸ all N" opens and closes again.
    watch.visit(live_server.url + reverse("audit:audit"), "audit")
    custom = page.locator("table.audit tbody tr").filter(has_text="Flush the cache").first
    more = custom.get_by_role("button", name=re.compile("^▸ all"))
    label = more.inner_text()
    more.click()
    less = custom.get_by_role("button", name="▾ less")
    expect(less).to_have_attribute("aria-expanded", "true")
    less.click()
    expect(custom.get_by_role("button", name=label)).to_have_attribute("aria-expanded", "false")
    watch.collect("audit expand")

    # The evidence report's Print button prints.
    watch.visit(live_server.url + reverse("audit:evidence_report", args=[w.release.pk]), "evidence report")
    page.get_by_role("button", name="🖨️ Print or save as PDF").click()
    assert page.evaluate("window.__printed") == 1

    # Import, tokens, webhooks and variables: their forms answer.
    watch.visit(live_server.url + reverse("releases:release_import"), "import")
    page.get_by_label("Definition (YAML)").set_input_files(
        files=[{"name": "broken.yaml", "mimeType": "application/yaml", "buffer": b"name: v9\ntyp: release\n"}]
    )
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator(".field.has-error")).to_be_visible()
    watch.visit(live_server.url + reverse("api:token_list"), "tokens")
    page.get_by_label("Name").fill("deploy bot")
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.get_by_role("button", name="Revoke token pipeline").click()
    expect(page.get_by_role("row", name=re.compile("pipeline"))).to_contain_text("Revoked")
    watch.visit(live_server.url + reverse("webhooks:subscription_create"), "new webhook")
    page.get_by_label("Name").fill("CI")
    page.get_by_label("Target URL").fill("https://ci.example.com/hooks/rollcall")
    page.get_by_label("A release was archived").check()
    page.get_by_role("button", name="Create webhook").click()
    expect(page.get_by_role("heading", name="Webhook CI created")).to_be_visible()
    watch.visit(live_server.url + w.cluster.get_absolute_url(), "cluster variables")
    add_form = page.locator("form", has=page.get_by_role("button", name="Add variable"))
    add_form.get_by_label("Name").fill("REGION")
    add_form.get_by_label("Value").fill("us-east-1")
    add_form.get_by_role("button", name="Add variable").click()
    expect(page.get_by_role("cell", name="REGION")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("DB_HOST"))
    row.get_by_role("link", name="Edit").click()
    page.locator("tr.editing").get_by_role("link", name="Cancel").click()
    watch.collect("import, tokens, webhooks, variables")

    # A phone: the navigation folds behind ☰ Menu, which opens and closes it.
    page.set_viewport_size({"width": 390, "height": 844})
    watch.visit(live_server.url + reverse("dashboard:dashboard"), "dashboard on a phone")
    menu = page.get_by_role("button", name="☰ Menu")
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("navigation", name="Main")).to_be_visible()
    menu.click()
    expect(menu).to_have_attribute("aria-expanded", "false")
    watch.assert_none()


def test_the_pages_of_the_logged_out_and_of_a_viewer_break_nothing(enforced, page, live_server, user_with_role):
    watch = Violations(page)
    user_with_role("vi", VIEWER, password="rollcall-browser-pw")

    watch.visit(live_server.url + reverse("login"), "login")
    page.get_by_label("Username").fill("vi")
    page.get_by_label("Password").fill("wrong")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    watch.collect("login refused")
    watch.visit(live_server.url + reverse("admin:login"), "admin:login")
    expect(page.get_by_role("button", name="Log in")).to_be_visible()

    # The single sign-on refusal page (the provider said no), with single sign-on configured.
    enforced.ROLLCALL_OIDC_ISSUER = "http://127.0.0.1:9"
    response = watch.visit(
        live_server.url + reverse("oidc_authentication_callback") + "?error=access_denied", "SSO refused"
    )
    assert response.status == 403
    enforced.ROLLCALL_OIDC_ISSUER = ""

    # Locked out after too many wrong passwords.
    watch.visit(live_server.url + reverse("login"), "login again")
    for _ in range(django_settings.AXES_FAILURE_LIMIT):
        page.get_by_label("Username").fill("nobody")
        page.get_by_label("Password").fill("wrong")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_load_state()
    expect(page.get_by_role("heading", name="Too many failed sign-ins")).to_be_visible()
    watch.collect("locked out")

    # A viewer: refused a page (403) and a missing one (404).
    watch.visit(live_server.url + reverse("login"), "login as viewer")
    page.get_by_label("Username").fill("vi")
    page.get_by_label("Password").fill("rollcall-browser-pw")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    response = watch.visit(live_server.url + reverse("webhooks:subscription_list"), "403")
    assert response.status == 403
    response = watch.visit(live_server.url + reverse("releases:release_detail", args=[999999]), "404")
    assert response.status == 404
    watch.assert_none()
