"""Stored XSS (issue 4), in Chromium: script payloads stored in every text a user can enter — names, descriptions,
kubeconfig path, metadata keys and values, version, step content, notes, skip reasons, override content, custom
steps — are shown as text on every page, dialog and side panel, and none of them runs. A namespace cannot carry one:
the form refuses it, and shows the refused value back without running it either."""

import datetime
import json
from types import SimpleNamespace

import pytest
from playwright.sync_api import expect

from clusters.services import cluster_create
from core.validators import validate_namespace
from customers.services import customer_create
from releases.services import release_activate, release_clone, release_create
from steps.models import CustomerStep
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_skip,
    template_step_add,
)

PAYLOADS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=1">',
    '"><svg onload="window.__xss=1">',
]
PASSWORD = "rollcall-xss-pw"

# Run after each page or swap: a payload that became markup shows as a <script> holding it or an element with an
# event handler attribute (the app's own inline scripts hold no payload, and it uses no on* attributes).
INJECTED_MARKUP = """() => [
    ...Array.from(document.scripts).filter((s) => s.textContent.includes("__xss")).map((s) => s.outerHTML),
    ...Array.from(document.querySelectorAll("[onerror], [onload]")).map((e) => e.outerHTML),
]"""


def store_payload_everywhere(payload: str, user) -> SimpleNamespace:
    """Every text a user can enter, each carrying `payload`, stored through the services."""
    cluster = cluster_create(
        user=user,
        name=f"Cluster {payload}",
        kubeconfig_path=f"~/.kube/{payload}",
        description=f"Cluster description {payload}",
        metadata={f"key {payload}": f"value {payload}", "region": f"region {payload}"},
    )
    customer = customer_create(
        user=user,
        cluster=cluster,
        name=f"Customer {payload}",
        namespace="cust-xss",
        description=f"Customer description {payload}",
        metadata={f"customer key {payload}": [f"customer value {payload}"]},
    )
    late = customer_create(user=user, cluster=cluster, name=f"Late customer {payload}", namespace="cust-late")
    release = release_create(
        user=user,
        name=f"Release {payload}",
        type="release",
        version_number=f"v{payload}",
        release_date=datetime.date(2030, 1, 15),
        description=f"Release description {payload}",
    )
    deploy, migrate, verify = (
        template_step_add(
            release=release,
            user=user,
            name=f"{label} {payload}",
            category=category,
            type=step_type,
            content=content,
            description=f"{label} description {payload}",
        )
        for label, category, step_type, content in [
            ("Deploy", "deploy", "bash", f"echo '{payload}'\nkubectl apply -f app.yaml"),
            ("Migrate", "deploy", "sql", f"SELECT '{payload}';"),
            ("Verify", "verify", "text", f"Check the page shows {payload}"),
        ]
    )
    release_activate(release=release, user=user, exclude_customers=[late])
    steps = {step.template_id: step for step in CustomerStep.objects.filter(customer=customer)}
    customer_step_mark_done(step=steps[deploy.pk], user=user, notes=f"Notes {payload}")
    customer_step_override(step=steps[migrate.pk], user=user, content=f"SELECT 'override {payload}';")
    customer_step_skip(step=steps[verify.pk], user=user, reason=f"Skip reason {payload}")
    custom = customer_step_add_custom(
        release=release,
        customer=customer,
        user=user,
        name=f"Custom {payload}",
        category="deploy",
        type="bash",
        content=f"echo 'custom {payload}'",
        description=f"Custom description {payload}",
    )
    draft = release_clone(release=release, user=user, name=f"Clone {payload}")
    kinds = {"done": steps[deploy.pk], "overridden": steps[migrate.pk], "skipped": steps[verify.pk], "custom": custom}
    for step in kinds.values():
        step.refresh_from_db()
    return SimpleNamespace(
        cluster=cluster,
        customer=customer,
        late=late,
        release=release,
        draft=draft,
        templates=[deploy, migrate, verify],
        steps=kinds,
    )


@pytest.fixture
def superuser_page(page, live_server, django_user_model):
    """A page logged in as a superuser, whatever the roles allow, recording every JavaScript dialog that opens."""
    user = django_user_model.objects.create_superuser(username="root", email="root@example.com", password=PASSWORD)
    page.dialogs = []
    page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Username").fill("root")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
    page.user = user
    return page


def assert_inert(page, where: str) -> None:
    """No payload ran, became markup, or opened a dialog."""
    assert page.evaluate("window.__xss") is None, where
    assert page.evaluate(INJECTED_MARKUP) == [], where
    assert page.dialogs == [], where


def shows(payload: str, *texts: str) -> list[str]:
    return [f"{text} {payload}" for text in texts]


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror", "svg-onload"])
def test_stored_payloads_show_as_text_and_never_run(superuser_page, live_server, payload):
    page = superuser_page
    world = store_payload_everywhere(payload, page.user)
    release, draft, customer, cluster = world.release, world.draft, world.customer, world.cluster
    deploy = world.templates[0]
    as_json = json.dumps(f"key {payload}", ensure_ascii=False)
    extras = {
        "done": shows(payload, "Notes"),
        "overridden": [],
        "skipped": shows(payload, "Skip reason"),
        "custom": shows(payload, "Custom description"),
    }
    # Every page, with texts it must show as they were typed.
    pages = {
        "/": shows(payload, "Release", "Cluster"),
        "/clusters/": [*shows(payload, "Cluster", "region"), f"~/.kube/{payload}"],
        f"/clusters/{cluster.pk}/": [*shows(payload, "Cluster", "Cluster description", "Customer"), as_json],
        f"/clusters/{cluster.pk}/edit/": [],
        "/customers/": shows(payload, "Customer", "Cluster"),
        f"/customers/{customer.pk}/": [
            *shows(payload, "Customer", "Customer description", "Cluster", "Release"),
            json.dumps(f"customer value {payload}", ensure_ascii=False),
        ],
        f"/customers/{customer.pk}/edit/": [],
        "/releases/": shows(payload, "Release", "Clone"),
        f"/releases/{release.pk}/": shows(payload, "Release", "Release description", "Deploy", "Migrate", "Verify"),
        f"/releases/{release.pk}/edit/": [],
        f"/releases/{release.pk}/add-customers/": shows(payload, "Late customer", "Cluster"),
        f"/releases/{draft.pk}/": shows(payload, "Clone", "Deploy"),
        f"/releases/{draft.pk}/activate/": shows(payload, "Customer", "Late customer", "Cluster"),
        f"/releases/{release.pk}/matrix/?category=deploy": shows(payload, "Release", "Customer", "Deploy", "Custom"),
        f"/releases/{release.pk}/matrix/?category=verify": shows(payload, "Customer", "Verify"),
        f"/releases/{release.pk}/customers/{customer.pk}/": shows(payload, "Customer", "Deploy", "Custom", "Verify"),
        f"/releases/{release.pk}/customers/{customer.pk}/add-step/": shows(payload, "Customer", "Custom"),
        f"/releases/template-steps/{deploy.pk}/edit/": [],
        f"/releases/template-steps/{deploy.pk}/delete/": shows(payload, "Deploy", "Release"),
        **{
            f"/template-steps/{template.pk}/": [template.name, template.content.splitlines()[0], f"Customer {payload}"]
            for template in world.templates
        },
        **{
            f"/steps/{step.pk}/": [step.name, step.content.splitlines()[0], f"Customer {payload}", *extras[kind]]
            for kind, step in world.steps.items()
        },
        "/audit/": shows(payload, "Release", "Customer", "Cluster", "Notes", "Skip reason"),
        f"/audit/?customer={customer.pk}": shows(payload, "Customer", "Notes"),
    }
    for path, texts in pages.items():
        page.goto(f"{live_server.url}{path}")
        for text in texts:
            expect(page.locator("body"), path).to_contain_text(text)
        assert_inert(page, path)

    # The side panel, swapped in by htmx from the matrix, for every step of the customer.
    for category in ("deploy", "verify"):
        page.goto(f"{live_server.url}/releases/{release.pk}/matrix/?category={category}")
        for step in [step for step in world.steps.values() if step.category == category]:
            page.locator(f"#cell-{step.pk}").click()
            panel = page.locator("#side-panel")
            expect(panel.locator("#step-panel-title")).to_have_text(f"Step: {step.name}")
            expect(panel).to_contain_text(f"Customer {payload}")
            assert_inert(page, f"side panel of {step.name}")
            if step.category == "verify":
                expect(panel).to_contain_text(f"Skip reason {payload}")
            panel.get_by_role("button", name="✕ Close").click()

    # Dialogs swapped in by htmx: activation and Add Custom Step.
    page.goto(f"{live_server.url}/releases/{draft.pk}/")
    page.get_by_role("link", name="Activate").click()
    expect(page.locator("#dialog")).to_contain_text(f"Late customer {payload}")
    assert_inert(page, "activation dialog")
    page.goto(f"{live_server.url}/releases/{release.pk}/customers/{customer.pk}/")
    page.get_by_role("link", name="+ Add Custom Step").click()
    expect(page.locator("#dialog")).to_contain_text(f"Custom {payload}")
    assert_inert(page, "Add Custom Step dialog")

    # The edit forms hold the texts as values, unchanged.
    page.goto(f"{live_server.url}/clusters/{cluster.pk}/edit/")
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(f"Cluster {payload}")
    expect(page.get_by_label("Kubeconfig path")).to_have_value(f"~/.kube/{payload}")
    expect(page.get_by_label("Region", exact=True)).to_have_value(f"region {payload}")
    others = {key: value for key, value in cluster.metadata.items() if key != "region"}
    assert json.loads(page.get_by_label("Metadata").input_value()) == others
    page.goto(f"{live_server.url}/releases/{release.pk}/edit/")
    expect(page.get_by_label("Version number")).to_have_value(f"v{payload}")
    assert_inert(page, "edit forms")


@pytest.mark.parametrize("payload", PAYLOADS, ids=["script", "img-onerror", "svg-onload"])
def test_namespace_refuses_a_payload_and_shows_it_back_as_text(superuser_page, live_server, payload):
    page = superuser_page
    cluster = cluster_create(user=page.user, name="prod-us")
    page.goto(f"{live_server.url}/customers/new/")
    page.get_by_label("Cluster").select_option(label=cluster.name)
    page.get_by_role("textbox", name="Name", exact=True).fill(f"Customer {payload}")
    page.get_by_label("Namespace").fill(payload)
    page.get_by_role("button", name="Create customer").click()

    namespace = page.locator(".field", has=page.get_by_label("Namespace"))
    expect(namespace.get_by_role("alert")).to_have_text(validate_namespace.message)
    expect(page.get_by_label("Namespace")).to_have_value(payload)
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(f"Customer {payload}")
    assert not cluster.customers.exists()
    assert_inert(page, "refused customer form")
