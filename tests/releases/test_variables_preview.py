"""Variables on the release screens (issue 8): the template step editor previews a step for a customer of the release
(substituted values marked, sensitive ones masked) and names the customers that can't render it; the Activate and
Add customers dialogs warn which customers would have unresolved steps. Each in a constant number of queries."""

import re

import pytest
from django.urls import reverse

from core import crypto
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import template_step_update
from tests.factories import ClusterFactory, CustomerFactory
from variables.services import variable_set

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
DIALOG = {**HTMX, "HTTP_HX_TARGET": "dialog"}
PREVIEW = {**HTMX, "HTTP_HX_TARGET": "template-step-preview"}
MIGRATION = "-- on #{DB_HOST}\nSELECT '#{namespace}' AS ns;\n"
SUBSTITUTED = 'class="g g-Substituted"'
UNRESOLVED_SUMMARY = "customers would have unresolved steps; their steps stay blocked until the values are set"


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def migration(world):
    """The release's "Run migration" step connects to #{DB_HOST}: prod-us defines it for its three customers,
    customer-d has its own; customer-e and demo-customer have none."""
    variable_set(owner=world.clusters["prod-us"], key="DB_HOST", value="db.prod-us.internal", user=world.user)
    variable_set(owner=world.customers["customer-d"], key="DB_HOST", value="db-d.prod-eu.internal", user=world.user)
    return template_step_update(template_step=world.templates[1], user=world.user, content=MIGRATION)


def _edit_url(template_step, preview=None) -> str:
    url = reverse("releases:template_step_edit", args=[template_step.pk])
    return url if preview is None else f"{url}?preview={preview}"


def _html(response) -> str:
    return response.content.decode()


def _picker_row(html: str, name: str) -> str:
    """The picker's row (<li>) of the customer `name`."""
    rows = re.findall(r"<li data-picker-row=.*?</li>", html, flags=re.DOTALL)
    return next(row for row in rows if re.search(rf">\s+{re.escape(name)} <span", row))


# --- the template step editor's preview ---------------------------------------------------------------------------


def test_preview_renders_the_chosen_customers_values(client, world, migration):
    customer = world.customers["customer-d"]
    response = client.get(_edit_url(migration, customer.pk), **PREVIEW)
    html = _html(response)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="template-step-preview"')
    assert 'id="template-step-form"' not in html  # the preview alone
    assert f"{SUBSTITUTED}>db-d.prod-eu.internal</span>" in html
    assert f"{SUBSTITUTED}>{customer.namespace}</span>" in html
    assert "db.prod-us.internal" not in html
    assert "HX-Target" in response["Vary"]


def test_preview_of_a_customer_missing_a_value_names_it_and_keeps_the_reference(client, world, migration):
    response = client.get(_edit_url(migration, world.customers["customer-e"].pk), **PREVIEW)
    html = _html(response)
    assert "⛔ Unresolved: DB_HOST" in html
    assert "#{DB_HOST}" in html
    assert "cust-e-prod" in html  # #{namespace} still substituted


def test_preview_masks_a_sensitive_value(client, world, migration, monkeypatch):
    monkeypatch.setenv("ROLLCALL_ENCRYPTION_KEY", crypto.generate_key())
    customer = world.customers["customer-a"]
    variable_set(owner=customer, key="DB_PASSWORD", value="hunter2-secret", is_sensitive=True, user=world.user)
    step = template_step_update(
        template_step=migration, user=world.user, content=MIGRATION + "-- password #{DB_PASSWORD}\n"
    )
    for headers in (PREVIEW, DIALOG, {}):
        html = _html(client.get(_edit_url(step, customer.pk), **headers))
        assert f"{SUBSTITUTED}>••••</span>" in html
        assert "hunter2-secret" not in html


def test_dialog_previews_the_first_customer_when_none_is_chosen(client, world, migration):
    response = client.get(_edit_url(migration), **DIALOG)
    html = _html(response)
    first = world.customers["customer-d"]  # prod-eu sorts first
    assert response.status_code == 200
    assert 'id="template-step-form"' in html
    assert f'<option value="{first.pk}" selected>customer-d</option>' in html
    assert "db-d.prod-eu.internal" in html
    assert f'hx-get="{_edit_url(migration)}"' in html


def test_preview_without_javascript_is_the_page_with_the_chosen_customer(client, world, migration):
    customer = world.customers["customer-b"]
    response = client.get(_edit_url(migration, customer.pk))
    html = _html(response)
    assert response.status_code == 200
    assert "<html" in html
    assert f'<option value="{customer.pk}" selected>customer-b</option>' in html
    assert f"{SUBSTITUTED}>db.prod-us.internal</span>" in html


@pytest.mark.parametrize("wanted", ["", "abc", "999999", "-1", "1.5", "%00", "1%20OR%201=1"])
def test_a_bad_or_unknown_preview_id_shows_no_preview(client, world, migration, wanted):
    for headers in (PREVIEW, DIALOG, {}):
        response = client.get(_edit_url(migration, wanted), **headers)
        html = _html(response)
        assert response.status_code == 200
        assert "Choose a customer to see the step as it would get it." in html
        assert SUBSTITUTED not in html
        assert "code-block" not in html


def test_preview_offers_only_customers_of_the_release(client, world, migration):
    """Active: the enrolled customers; a customer left out can't be previewed, and doesn't count."""
    release_activate(
        release=world.release,
        user=world.user,
        exclude_customers=[world.customers["customer-e"].pk],
        exclude_clusters=[],
    )
    left_out = world.customers["customer-e"]
    html = _html(client.get(_edit_url(migration), **DIALOG))
    assert f'value="{left_out.pk}"' not in html
    assert "1 of 5 customers can't render this step" in html
    assert "demo-customer: DB_HOST" in html
    assert "customer-e:" not in html
    html = _html(client.get(_edit_url(migration, left_out.pk), **PREVIEW))
    assert "Choose a customer to see the step as it would get it." in html


def test_summary_names_the_customers_that_cant_render_the_step_and_what_they_miss(client, world, migration):
    step = template_step_update(template_step=migration, user=world.user, content=MIGRATION + "-- #{REGION}\n")
    variable_set(owner=world.customers["demo-customer"], key="REGION", value="internal", user=world.user)
    variable_set(owner=world.clusters["prod-eu"], key="REGION", value="eu-west-1", user=world.user)
    variable_set(owner=world.clusters["prod-us"], key="REGION", value="us-east-1", user=world.user)
    html = _html(client.get(_edit_url(step), **DIALOG))
    assert "2 of 6 customers can't render this step" in html
    assert "<li>customer-e: DB_HOST</li>" in html
    assert "<li>demo-customer: DB_HOST</li>" in html
    assert "customer-a:" not in html
    assert "customer-e (⚠ unresolved)</option>" in html

    variable_set(owner=world.release, key="DB_HOST", value="db.default", user=world.user)
    step.refresh_from_db()
    html = _html(client.get(_edit_url(step), **DIALOG))
    assert "All 6 customers activation would enroll can render this step." in html
    assert "can't render" not in html


def test_summary_lists_every_missing_name(client, world, migration):
    step = template_step_update(template_step=migration, user=world.user, content=MIGRATION + "-- #{REGION}\n")
    html = _html(client.get(_edit_url(step), **DIALOG))
    assert "6 of 6 customers can't render this step" in html
    assert "<li>customer-e: DB_HOST, REGION</li>" in html
    assert "<li>customer-a: REGION</li>" in html


def test_the_add_dialog_has_no_preview(client, world, migration):
    html = _html(client.get(reverse("releases:template_step_create", args=[world.release.pk]), **DIALOG))
    assert "template-step-preview" not in html


# --- Activate and Add customers -----------------------------------------------------------------------------------


def test_activation_dialog_warns_which_customers_would_have_unresolved_steps(client, world, migration):
    template_step_update(template_step=world.templates[2], user=world.user, content="curl https://#{REGION}/health")
    variable_set(owner=world.clusters["prod-us"], key="REGION", value="us-east-1", user=world.user)
    variable_set(owner=world.customers["customer-d"], key="REGION", value="eu-west-1", user=world.user)
    response = client.get(reverse("releases:release_activate", args=[world.release.pk]), **DIALOG)
    html = _html(response)
    assert response.status_code == 200
    assert f"2 {UNRESOLVED_SUMMARY}" in html
    assert html.index(UNRESOLVED_SUMMARY) < html.index('name="customers"')
    assert "⚠ unresolved: DB_HOST, REGION" in _picker_row(html, "customer-e")
    assert "⚠ unresolved: DB_HOST, REGION" in _picker_row(html, "demo-customer")
    for name in ("customer-a", "customer-b", "customer-c", "customer-d"):
        assert "unresolved" not in _picker_row(html, name)


def test_activation_is_still_allowed_with_unresolved_customers(client, world, migration):
    ids = [customer.pk for customer in world.customers.values()]
    response = client.post(
        reverse("releases:release_activate", args=[world.release.pk]), {"customers": ids, "shown": ids}, **HTMX
    )
    assert response.status_code == 200
    world.release.refresh_from_db()
    assert world.release.status == "active"
    step = CustomerStep.objects.get(customer=world.customers["customer-e"], template=migration)
    assert step.variables == ("DB_HOST", "namespace")


def test_no_warning_when_every_customer_resolves(client, world, migration):
    variable_set(owner=world.release, key="DB_HOST", value="db.default", user=world.user)
    html = _html(client.get(reverse("releases:release_activate", args=[world.release.pk]), **DIALOG))
    assert UNRESOLVED_SUMMARY not in html
    assert "would have unresolved steps" not in html
    assert "⚠ unresolved" not in html


def test_add_customers_dialog_warns_which_customers_would_have_unresolved_steps(client, world, migration):
    release_activate(release=world.release, user=world.user)
    late = CustomerFactory(cluster=world.clusters["prod-eu"], name="customer-f")
    CustomerFactory(cluster=world.clusters["prod-us"], name="customer-g")
    response = client.get(reverse("releases:release_add_customers", args=[world.release.pk]), **DIALOG)
    html = _html(response)
    assert response.status_code == 200
    assert "1 customer would have unresolved steps; its steps stay blocked until the values are set" in html
    assert "⚠ unresolved: DB_HOST" in _picker_row(html, "customer-f")
    assert "unresolved" not in _picker_row(html, "customer-g")
    assert f'value="{late.pk}"' in html


# --- constant number of queries -----------------------------------------------------------------------------------


@pytest.fixture(params=[10, 200], ids=["10-customers", "200-customers"])
def crowd(request, world, migration):
    """The example world grown to `param` customers over two more clusters, half of them with a DB_HOST of their
    own, one cluster with a REGION; the verify step uses #{REGION} too."""
    clusters = [ClusterFactory(), ClusterFactory()]
    variable_set(owner=clusters[0], key="REGION", value="ap-south-1", user=world.user)
    for index in range(request.param - len(world.customers)):
        customer = CustomerFactory(cluster=clusters[index % 2])
        if index % 2:
            variable_set(owner=customer, key="DB_HOST", value=f"db-{index}", user=world.user)
    template_step_update(template_step=world.templates[2], user=world.user, content="curl https://#{REGION}/health")
    world.customer_count = request.param
    return world


# The session and the user, the template step with its release, the customers, the names they define and the chosen
# customer's values; an active release adds the count of the steps an edit reaches. + 2: the user's permissions, read
# once per request for the role check.
PREVIEW_QUERY_BOUND = 2 + 5 + 2
# The session and the user, the release, the customers offered, the variables of the template steps, the names the
# customers define, the number of template steps. + 2: the user's permissions, read once per request for the role
# check.
PICKER_QUERY_BOUND = 2 + 5 + 2


@pytest.mark.parametrize("active", [False, True], ids=["draft", "active"])
def test_edit_dialog_queries_do_not_grow_with_customers(client, crowd, active, django_assert_max_num_queries):
    if active:
        release_activate(release=crowd.release, user=crowd.user)
    with django_assert_max_num_queries(PREVIEW_QUERY_BOUND):
        response = client.get(_edit_url(crowd.templates[1]), **DIALOG)
    assert response.status_code == 200
    # customer-e, demo-customer and every other new customer have no DB_HOST.
    without_db_host = 2 + (crowd.customer_count - len(crowd.customers) + 1) // 2
    assert f"{without_db_host} of {crowd.customer_count} customers can't render this step" in _html(response)


def test_preview_queries_do_not_grow_with_customers(client, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(PREVIEW_QUERY_BOUND):
        response = client.get(_edit_url(crowd.templates[1], crowd.customers["customer-e"].pk), **PREVIEW)
    assert "⛔ Unresolved: DB_HOST" in _html(response)


def test_activate_dialog_warning_queries_do_not_grow_with_customers(client, crowd, django_assert_max_num_queries):
    with django_assert_max_num_queries(PICKER_QUERY_BOUND):
        response = client.get(reverse("releases:release_activate", args=[crowd.release.pk]), **DIALOG)
    html = _html(response)
    assert html.count('name="customers"') == crowd.customer_count
    assert html.count("⚠ unresolved:") == int(re.search(rf"(\d+) {UNRESOLVED_SUMMARY}", html).group(1)) > 0


def test_add_customers_dialog_warning_queries_do_not_grow_with_customers(client, crowd, django_assert_max_num_queries):
    release_activate(
        release=crowd.release, user=crowd.user, exclude_customers=[], exclude_clusters=[crowd.clusters["prod-us"].pk]
    )
    with django_assert_max_num_queries(PICKER_QUERY_BOUND):
        response = client.get(reverse("releases:release_add_customers", args=[crowd.release.pk]), **DIALOG)
    html = _html(response)
    assert html.count('name="customers"') == 3  # prod-us
    assert html.count("⚠ unresolved:") == 3  # REGION
