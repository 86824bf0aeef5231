"""CSRF on every POST (issue 4): walking the URLconf of Rollcall's apps, every route that takes a POST refuses one
without a valid CSRF token (403) and changes nothing, and takes it with the token from the cookie in the X-CSRFToken
header, as htmx sends it (base.html's hx-headers)."""

from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLResolver, get_resolver, reverse

from releases.services import release_activate
from runs.services import batch_start, run_start
from steps.models import CustomerStep
from steps.rendering import step_text
from steps.services import customer_step_add_custom, customer_step_mark_done, customer_step_override, customer_step_skip
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.runs import conftest as runs_fixtures
from tests.test_hostile_input import database_snapshot
from variables.services import variable_set
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery
from webhooks.services import subscription_create

# A fixture: runs need execution on and a kubectl (the fake one).
kubectl = runs_fixtures.kubectl

APP_NAMESPACES = ("dashboard", "clusters", "customers", "releases", "steps", "variables", "audit", "webhooks", "runs")


def build_routes_world(user) -> SimpleNamespace:
    """Something for every route to act on: prod-us with customer-a and customer-b in an active release and
    customer-c left out of it, an empty cluster, a draft release; customer-a's steps are pending, done, skipped and
    custom, customer-b's first step is overridden."""
    prod_us = ClusterFactory(name="prod-us", metadata={"region": "us-east-1"})
    spare = ClusterFactory(name="spare")
    a, b, c = (
        CustomerFactory(cluster=prod_us, name=f"customer-{letter}", namespace=f"cust-{letter}-prod") for letter in "abc"
    )
    release = ReleaseFactory(name="v2.5.0")
    deploy_app = StepTemplateFactory(release=release, name="Deploy app", category="deploy", order_index=0)
    migrate = StepTemplateFactory(release=release, name="Run migration", category="deploy", type="sql", order_index=1)
    health = StepTemplateFactory(release=release, name="Health check", category="verify", order_index=0)
    release_activate(release=release, user=user, exclude_customers=[c])
    steps = {(s.customer_id, s.template_id): s for s in CustomerStep.objects.all()}
    customer_step_mark_done(step=steps[a.pk, migrate.pk], user=user)
    customer_step_skip(step=steps[a.pk, health.pk], user=user, reason="Checked by the vendor")
    customer_step_override(step=steps[b.pk, deploy_app.pk], user=user, content="echo customer-b")
    custom = customer_step_add_custom(
        release=release, customer=a, user=user, name="Warm cache", category="deploy", type="bash", content="echo warm"
    )
    variable = variable_set(owner=a, key="DB_HOST", value="db-a.internal", user=user)
    draft = ReleaseFactory(name="v2.6.0")
    StepTemplateFactory(release=draft, name="Deploy app", category="deploy", order_index=0)
    subscription, _ = subscription_create(
        name="Jenkins", target_url="https://ci.example.com/hooks", events=[EventType.STEP_STATUS_CHANGED], user=user
    )
    delivery = Delivery.objects.create(
        subscription=subscription, event_type=EventType.STEP_STATUS_CHANGED, payload={}, status=DeliveryStatus.FAILED
    )
    # Runs (execution on, the fake kubectl: the `kubectl` fixture): customer-b's migration queued, its health check
    # queued in a batch.
    prod_us.kubeconfig_path = "/etc/rollcall/prod-us.kubeconfig"
    prod_us.save()
    for key, value in {"DB_TARGET": "deploy/postgres", "DB_NAME": "app", "DB_USER": "migrator"}.items():
        variable_set(owner=prod_us, key=key, value=value, user=user)
    run = run_start(step=steps[b.pk, migrate.pk], user=user)
    batch = batch_start(template=health, customer_ids=[b.pk], user=user, concurrency=1, stop_on_failure=False)
    return SimpleNamespace(
        user=user,
        clusters={"prod-us": prod_us, "spare": spare},
        customers={"a": a, "b": b, "c": c},
        release=release,
        draft=draft,
        templates={"deploy_app": deploy_app, "migrate": migrate, "health": health},
        pending=steps[a.pk, deploy_app.pk],
        done=steps[a.pk, migrate.pk],
        skipped=steps[a.pk, health.pk],
        overridden=steps[b.pk, deploy_app.pk],
        custom=custom,
        variable=variable,
        subscription=subscription,
        delivery=delivery,
        run=run,
        batch=batch,
    )


# The URL arguments of every route of the apps, with real objects.
URL_KWARGS = {
    "dashboard:dashboard": lambda w: {},
    "clusters:cluster_list": lambda w: {},
    "clusters:cluster_create": lambda w: {},
    "clusters:cluster_detail": lambda w: {"pk": w.clusters["prod-us"].pk},
    "clusters:cluster_edit": lambda w: {"pk": w.clusters["prod-us"].pk},
    "clusters:cluster_delete": lambda w: {"pk": w.clusters["spare"].pk},
    "customers:customer_list": lambda w: {},
    "customers:customer_create": lambda w: {},
    "customers:customer_detail": lambda w: {"pk": w.customers["a"].pk},
    "customers:customer_edit": lambda w: {"pk": w.customers["b"].pk},
    "customers:customer_delete": lambda w: {"pk": w.customers["b"].pk},
    "releases:release_list": lambda w: {},
    "releases:release_create": lambda w: {},
    "releases:release_detail": lambda w: {"pk": w.release.pk},
    "releases:release_edit": lambda w: {"pk": w.draft.pk},
    "releases:release_activate": lambda w: {"pk": w.draft.pk},
    "releases:release_add_customers": lambda w: {"pk": w.release.pk},
    "releases:release_clone": lambda w: {"pk": w.release.pk},
    "releases:release_archive": lambda w: {"pk": w.release.pk},
    "releases:template_step_create": lambda w: {"pk": w.release.pk},
    "releases:template_steps_reorder": lambda w: {"pk": w.release.pk, "category": "deploy"},
    "releases:template_step_edit": lambda w: {"pk": w.templates["deploy_app"].pk},
    "releases:template_step_delete": lambda w: {"pk": w.templates["health"].pk},
    "steps:matrix": lambda w: {"release_pk": w.release.pk},
    "steps:live_changes": lambda w: {"release_pk": w.release.pk},
    "steps:customer_steps": lambda w: {"release_pk": w.release.pk, "customer_pk": w.customers["a"].pk},
    # customer-a: customer-b's deploy steps include one being run, which Mark All leaves to its run.
    "steps:mark_all": lambda w: {"release_pk": w.release.pk, "customer_pk": w.customers["a"].pk, "category": "deploy"},
    "steps:custom_step_add": lambda w: {"release_pk": w.release.pk, "customer_pk": w.customers["a"].pk},
    "steps:bulk_action": lambda w: {"release_pk": w.release.pk},
    "steps:template_step_status": lambda w: {"pk": w.templates["deploy_app"].pk},
    "steps:step_detail": lambda w: {"pk": w.pending.pk},
    "steps:step_download": lambda w: {"pk": w.pending.pk},
    "steps:step_done": lambda w: {"pk": w.pending.pk},
    "steps:step_skip": lambda w: {"pk": w.pending.pk},
    "steps:step_revert": lambda w: {"pk": w.done.pk},
    "steps:step_reopen": lambda w: {"pk": w.skipped.pk},
    "steps:step_notes": lambda w: {"pk": w.pending.pk},
    "steps:step_override": lambda w: {"pk": w.pending.pk},
    "steps:step_reset": lambda w: {"pk": w.overridden.pk},
    "steps:step_edit": lambda w: {"pk": w.custom.pk},
    "steps:step_remove": lambda w: {"pk": w.custom.pk},
    "variables:variable_create": lambda w: {"scope": "customer", "pk": w.customers["a"].pk},
    "variables:variable_detail": lambda w: {"pk": w.variable.pk},
    "variables:variable_edit": lambda w: {"pk": w.variable.pk},
    "variables:variable_delete": lambda w: {"pk": w.variable.pk},
    "audit:audit": lambda w: {},
    "audit:audit_export": lambda w: {},
    "releases:release_import": lambda w: {},
    "releases:release_definition": lambda w: {"pk": w.release.pk},
    "webhooks:subscription_list": lambda w: {},
    "webhooks:subscription_create": lambda w: {},
    "webhooks:subscription_detail": lambda w: {"pk": w.subscription.pk},
    "webhooks:subscription_edit": lambda w: {"pk": w.subscription.pk},
    "webhooks:subscription_set_active": lambda w: {"pk": w.subscription.pk},
    "webhooks:delivery_redeliver": lambda w: {"pk": w.delivery.pk},
    "audit:evidence_report": lambda w: {"release_pk": w.release.pk},
    "audit:evidence_csv": lambda w: {"release_pk": w.release.pk},
    "audit:evidence_report_customer": lambda w: {"release_pk": w.release.pk, "customer_pk": w.customers["a"].pk},
    "audit:evidence_csv_customer": lambda w: {"release_pk": w.release.pk, "customer_pk": w.customers["a"].pk},
    "runs:step_runs": lambda w: {"pk": w.pending.pk},
    "runs:run_confirm": lambda w: {"pk": w.pending.pk},
    "runs:run_start": lambda w: {"pk": w.pending.pk},
    "runs:run_detail": lambda w: {"pk": w.run.pk},
    "runs:run_cancel": lambda w: {"pk": w.run.pk},
    "runs:run_output": lambda w: {"pk": w.run.pk},
    "runs:batch_start": lambda w: {"pk": w.templates["deploy_app"].pk, "cluster_pk": w.clusters["prod-us"].pk},
    "runs:batch_detail": lambda w: {"pk": w.batch.pk},
    "runs:batch_cancel": lambda w: {"pk": w.batch.pk},
}

# Every route that takes a POST, with data it accepts (so that, with a valid token, it would change something).
POST_DATA = {
    "releases:release_import": lambda w: {
        "definition": SimpleUploadedFile(
            "v2.7.0.yaml", b"name: v2.7.0\ntype: hotfix\n", content_type="application/yaml"
        )
    },
    "webhooks:subscription_create": lambda w: {
        "name": "Slack",
        "target_url": "https://hooks.example.com/x",
        "events": ["release.archived"],
        "format": "json",
    },
    "webhooks:subscription_edit": lambda w: {
        "name": "Jenkins CI",
        "target_url": "",
        "events": ["step.status_changed"],
        "format": "json",
    },
    "webhooks:subscription_set_active": lambda w: {"active": "0"},
    "webhooks:delivery_redeliver": lambda w: {},
    "clusters:cluster_create": lambda w: {"name": "prod-ap", "is_active": "on", "metadata": "{}"},
    "clusters:cluster_edit": lambda w: {"name": "prod-us-east", "is_active": "on", "metadata": "{}"},
    "clusters:cluster_delete": lambda w: {},
    "customers:customer_create": lambda w: {
        "cluster": w.clusters["prod-us"].pk,
        "name": "customer-x",
        "namespace": "cust-x-prod",
        "is_active": "on",
        "metadata": "{}",
    },
    "customers:customer_edit": lambda w: {
        "cluster": w.clusters["prod-us"].pk,
        "name": "customer-b renamed",
        "namespace": "cust-b-prod",
        "is_active": "on",
        "metadata": "{}",
    },
    "customers:customer_delete": lambda w: {},
    "releases:release_create": lambda w: {"name": "Hotfix timeout", "type": "hotfix"},
    "releases:release_edit": lambda w: {
        "name": "v2.6.1",
        "type": "release",
        "version_number": "v2.6.1",
        "release_date": "2030-01-15",
    },
    "releases:release_activate": lambda w: {
        "customers": [w.customers[letter].pk for letter in "abc"],
        "shown": [w.customers[letter].pk for letter in "abc"],
    },
    "releases:release_add_customers": lambda w: {"customers": [w.customers["c"].pk]},
    "releases:release_clone": lambda w: {"name": "v2.5.1"},
    "releases:release_archive": lambda w: {},
    "releases:template_step_create": lambda w: {
        "name": "Smoke test",
        "category": "verify",
        "type": "bash",
        "content": "curl -fsS https://example.com/healthz",
    },
    "releases:template_steps_reorder": lambda w: {"order": [w.templates["migrate"].pk, w.templates["deploy_app"].pk]},
    "releases:template_step_edit": lambda w: {
        "name": "Deploy the app",
        "category": "deploy",
        "type": "bash",
        "content": w.templates["deploy_app"].content,
    },
    "releases:template_step_delete": lambda w: {},
    "steps:mark_all": lambda w: {},
    "steps:custom_step_add": lambda w: {
        "name": "Flush cache",
        "category": "deploy",
        "type": "bash",
        "content": "redis-cli FLUSHALL",
        "relative_to": "",
    },
    "steps:bulk_action": lambda w: {"action": "mark_done", "steps": [f"{w.pending.pk}:{w.pending.version}"]},
    "steps:step_done": lambda w: {"notes": "Deployed at 10:02"},
    "steps:step_skip": lambda w: {"reason": "Not on this cluster"},
    "steps:step_revert": lambda w: {"notes": "Rolled back"},
    "steps:step_reopen": lambda w: {},
    "steps:step_notes": lambda w: {"notes": "Waiting for the vendor"},
    "steps:step_override": lambda w: {"content": "echo customer-a"},
    "steps:step_reset": lambda w: {},
    "steps:step_edit": lambda w: {"name": "Warm the cache", "type": "bash", "content": "echo warm"},
    "steps:step_remove": lambda w: {},
    "variables:variable_create": lambda w: {"key": "REGION", "value": "us-east-1"},
    "variables:variable_edit": lambda w: {"key": "DB_HOST", "value": "db-a2.internal"},
    "variables:variable_delete": lambda w: {},
    "runs:run_start": lambda w: {"sha256": step_text(w.pending).sha256},
    "runs:run_cancel": lambda w: {},
    "runs:batch_start": lambda w: {"customers": [w.customers["a"].pk], "concurrency": "2", "stop_on_failure": "on"},
    "runs:batch_cancel": lambda w: {},
}


def _route_names(patterns, namespace: str):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}:{pattern.namespace}" if pattern.namespace else namespace
            yield from _route_names(pattern.url_patterns, inner)
        else:
            yield f"{namespace}:{pattern.name}"


def app_routes() -> list[str]:
    """The name of every route of Rollcall's apps, read from the URLconf."""
    resolver = get_resolver()
    return [
        name
        for namespace in APP_NAMESPACES
        for name in _route_names(resolver.namespace_dict[namespace][1].url_patterns, namespace)
    ]


def route_url(world, route: str) -> str:
    return reverse(route, kwargs=URL_KWARGS[route](world))


@pytest.fixture
def routes_world(db, admin_user, kubectl):
    return build_routes_world(admin_user)


@pytest.fixture
def csrf_client(admin_user):
    """A superuser's browser that CSRF checks apply to, holding the CSRF cookie a page gave it."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin_user)
    assert client.get(reverse("dashboard:dashboard")).status_code == 200
    return client


def test_every_route_that_takes_a_post_is_checked(admin_client, routes_world):
    """The routes below are those of the URLconf, and the ones that answer a POST with anything but 405 (Method Not
    Allowed) are exactly those POST_DATA lists."""
    routes = app_routes()
    assert sorted(routes) == sorted(URL_KWARGS)
    takes_post = {route for route in routes if admin_client.post(route_url(routes_world, route)).status_code != 405}
    assert takes_post == set(POST_DATA)


@pytest.mark.parametrize("route", sorted(POST_DATA))
def test_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(csrf_client, routes_world, route):
    url, data = route_url(routes_world, route), POST_DATA[route](routes_world)
    before = database_snapshot()

    refused = [
        csrf_client.post(url, data),
        csrf_client.post(url, data, HTTP_HX_REQUEST="true"),
        csrf_client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN="forged-" + "x" * 25),
        csrf_client.post(url, {**data, "csrfmiddlewaretoken": "forged-" + "x" * 25}),
    ]

    assert [response.status_code for response in refused] == [403] * 4
    assert database_snapshot() == before


@pytest.mark.parametrize("route", sorted(POST_DATA))
def test_post_with_the_csrf_cookie_token_in_the_htmx_header_is_accepted(csrf_client, routes_world, route):
    url, data = route_url(routes_world, route), POST_DATA[route](routes_world)
    before = database_snapshot()

    token = csrf_client.cookies["csrftoken"].value
    response = csrf_client.post(url, data, HTTP_HX_REQUEST="true", HTTP_X_CSRFTOKEN=token)

    assert response.status_code in {200, 302}, response.content.decode()[:2000]
    assert database_snapshot() != before
