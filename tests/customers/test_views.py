"""Customer screens (FM-001..FM-006, spec §5.4, §8.3): the list grouped by cluster with its filter and sorts, create
and edit, the move that asks for confirmation first (BR-M02), archive (BR-M03), the customer view with its release
history, and their query counts."""

import html

import pytest
from django.urls import reverse

from core.validators import validate_namespace
from customers.models import Customer
from customers.services import CUSTOMER_ALREADY_DELETED, NAMESPACE_TAKEN, customer_update
from history.choices import EventAction
from history.models import Event
from releases.models import Enrollment
from releases.services import release_activate
from steps.choices import StepCategory
from steps.services import customer_steps_mark_all_done
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
LIST_FRAGMENT = {**HTMX, "HTTP_HX_TARGET": "customer-list"}


def _row_counts() -> dict[str, int]:
    return {
        "customers": Customer.all_objects.count(),
        "live customers": Customer.objects.count(),
        "events": Event.objects.count(),
        "enrollments": Enrollment.objects.count(),
    }


def _page(response) -> str:
    return html.unescape(response.content.decode())


def _field(page: str, name: str) -> str:
    """The markup of one form field, from its label to the next field."""
    return page.split(f'for="id_{name}"')[1].split('<div class="field')[0]


def _form_data(customer: Customer, **changes) -> dict:
    """What the edit form sends back for `customer`, with `changes` typed over it."""
    data = {
        "cluster": customer.cluster_id,
        "name": customer.name,
        "namespace": customer.namespace,
        "description": customer.description,
        "metadata": "{}",
    }
    if customer.is_active:
        data["is_active"] = "on"
    data.update(changes)
    return data


def _order(page: str, *names: str) -> list[str]:
    """`names` in the order they appear in the page."""
    return sorted(names, key=lambda name: page.index(f">{name}</a>"))


@pytest.mark.parametrize(
    ("method", "name", "needs_pk"),
    [
        ("get", "customer_list", False),
        ("get", "customer_create", False),
        ("get", "customer_detail", True),
        ("get", "customer_edit", True),
        ("post", "customer_edit", True),
        ("post", "customer_delete", True),
    ],
)
def test_anonymous_users_are_sent_to_the_login_page(client, world, method, name, needs_pk):
    customer = world.customers["customer-a"]
    url = reverse(f"customers:{name}", args=[customer.pk] if needs_pk else [])
    before = _row_counts()

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert _row_counts() == before


# --- FM-004 list, FM-006 filter, §8.3 sort --------------------------------------------------------------------


def test_fm_004_list_groups_customers_by_cluster_with_namespace_and_state(client, world):
    archived = world.customers["customer-e"]
    client.force_login(world.user)
    client.post(reverse("customers:customer_delete", args=[archived.pk]))
    customer_update(customer=world.customers["customer-b"], user=world.user, is_active=False)

    page = _page(client.get(reverse("customers:customer_list")))

    assert "📁" in page and ">prod-us</a>\n      (3 customers)" in page and ">prod-eu</a>\n      (1 customer)" in page
    assert page.index(">prod-eu</a>") < page.index(">prod-us</a>") < page.index(">staging</a>")
    assert page.index(">customer-d</a>") < page.index(">prod-us</a>") < page.index(">customer-a</a>")
    assert f'id="customer-{archived.pk}"' not in page
    row_b = page.split(f'id="customer-{world.customers["customer-b"].pk}"')[1].split("</tr>")[0]
    assert "namespace: <code>cust-b-prod</code>" in row_b and "Inactive" in row_b
    assert reverse("customers:customer_edit", args=[world.customers["customer-b"].pk]) in row_b
    assert "Progress: the share of a customer's steps in active releases that are done" in page


def test_fm_004_filter_form_uses_htmx_and_works_without_it(client, world):
    client.force_login(world.user)
    url = reverse("customers:customer_list")

    page = _page(client.get(url))

    form = page.split('<form class="filters"')[1].split("</form>")[0]
    assert f'method="get" action="{url}"' in form and f'hx-get="{url}"' in form
    assert 'hx-target="#customer-list"' in form and 'hx-push-url="true"' in form
    assert 'name="cluster"' in form and 'name="sort"' in form and 'type="submit"' in form


def test_fm_006_filter_by_one_or_more_clusters(client, world):
    client.force_login(world.user)
    prod_us, staging = world.clusters["prod-us"], world.clusters["staging"]

    response = client.get(reverse("customers:customer_list"), {"cluster": [prod_us.pk, staging.pk]})

    page = _page(response)
    assert "customer-a" in page and "demo-customer" in page
    assert "customer-d" not in page and ">prod-eu</a>" not in page
    assert "4 customers\n    in prod-us, staging" in page


def test_fm_006_htmx_filter_answers_with_the_list_fragment_only(client, world):
    client.force_login(world.user)

    response = client.get(
        reverse("customers:customer_list"), {"cluster": world.clusters["prod-eu"].pk}, **LIST_FRAGMENT
    )

    page = _page(response).strip()
    assert page.startswith('<div id="customer-list" hx-target="this" hx-swap="outerHTML">')
    assert "<html" not in page and '<form class="filters"' not in page
    assert "customer-d" in page and "customer-e" in page and "customer-a" not in page
    assert "HX-Request" in response["Vary"]


def test_fm_006_an_unknown_cluster_in_the_filter_is_reported_not_a_crash(client, world):
    client.force_login(world.user)

    response = client.get(reverse("customers:customer_list"), {"cluster": "999999"})

    assert response.status_code == 200
    assert 'class="error"' in _page(response)


@pytest.fixture
def progress_world(world):
    """world's release activated; customer-c has every step done, customer-a one of three; customer-z is inactive
    and so in no release."""
    customer_z = CustomerFactory(cluster=world.clusters["prod-eu"], name="customer-z", is_active=False)
    release_activate(release=world.release, user=world.user)
    customer_a, customer_c = world.customers["customer-a"], world.customers["customer-c"]
    for category in StepCategory.values:
        customer_steps_mark_all_done(release=world.release, customer=customer_c, category=category, user=world.user)
    customer_steps_mark_all_done(
        release=world.release, customer=customer_a, category=StepCategory.VERIFY, user=world.user
    )
    world.customers["customer-z"] = customer_z
    return world


def test_sort_by_cluster_keeps_the_groups(client, progress_world):
    client.force_login(progress_world.user)

    page = _page(client.get(reverse("customers:customer_list"), {"sort": "cluster"}))

    assert "📁" in page
    assert _order(page, "customer-a", "customer-d", "demo-customer") == ["customer-d", "customer-a", "demo-customer"]


def test_sort_by_name_is_one_list_across_clusters_showing_each_cluster(client, progress_world):
    client.force_login(progress_world.user)

    page = _page(client.get(reverse("customers:customer_list"), {"sort": "name"}))

    assert "📁" not in page
    assert _order(page, "customer-z", "customer-a", "demo-customer", "customer-d") == [
        "customer-a",
        "customer-d",
        "customer-z",
        "demo-customer",
    ]
    row_a = page.split(f'id="customer-{progress_world.customers["customer-a"].pk}"')[1].split("</tr>")[0]
    assert ">prod-us</a>" in row_a and "cust-a-prod" in row_a


def test_sort_by_progress_puts_the_customers_furthest_behind_first(client, progress_world):
    client.force_login(progress_world.user)

    page = _page(client.get(reverse("customers:customer_list"), {"sort": "progress"}))

    assert "📁" not in page
    assert _order(page, "customer-c", "customer-a", "customer-b", "customer-z") == [
        "customer-b",  # 0 %
        "customer-a",  # 1 of 3 done
        "customer-c",  # all done
        "customer-z",  # no step in an active release
    ]
    row_a = page.split(f'id="customer-{progress_world.customers["customer-a"].pk}"')[1].split("</tr>")[0]
    assert "33%" in row_a and "1/3 steps done" in row_a
    row_z = page.split(f'id="customer-{progress_world.customers["customer-z"].pk}"')[1].split("</tr>")[0]
    assert "No steps" in row_z


def test_sort_and_filter_together_with_htmx(client, progress_world):
    client.force_login(progress_world.user)

    response = client.get(
        reverse("customers:customer_list"),
        {"cluster": progress_world.clusters["prod-us"].pk, "sort": "progress"},
        **LIST_FRAGMENT,
    )

    page = _page(response)
    assert _order(page, "customer-a", "customer-b", "customer-c") == ["customer-b", "customer-a", "customer-c"]
    assert "customer-d" not in page


# --- FM-001 create --------------------------------------------------------------------------------------------


def test_fm_001_create_customer_in_a_cluster(client, world):
    prod_eu = world.clusters["prod-eu"]
    client.force_login(world.user)

    response = client.post(
        reverse("customers:customer_create"),
        {
            "cluster": prod_eu.pk,
            "name": "customer-f",
            "namespace": "cust-f-prod",
            "is_active": "on",
            "metadata": '{"tier": "gold"}',
        },
    )

    customer = Customer.objects.get(name="customer-f")
    assert response.status_code == 302
    assert response["Location"] == reverse("customers:customer_detail", args=[customer.pk])
    assert (customer.cluster, customer.namespace, customer.metadata) == (prod_eu, "cust-f-prod", {"tier": "gold"})
    assert Event.objects.filter(customer=customer, action=EventAction.CUSTOMER_CREATED).count() == 1
    assert "Customer customer-f created in prod-eu/cust-f-prod." in _page(client.get(response["Location"]))


def test_fm_001_create_form_lists_clusters_that_are_not_deleted_and_takes_one_from_the_link(client, world):
    gone = ClusterFactory(name="gone-cluster")
    client.force_login(world.user)
    client.post(reverse("clusters:cluster_delete", args=[gone.pk]))
    staging = world.clusters["staging"]

    page = _page(client.get(reverse("customers:customer_create"), {"cluster": staging.pk}))

    assert ">prod-us</option>" in page and "gone-cluster</option>" not in page
    assert f'<option value="{staging.pk}" selected>staging</option>' in page


def test_br_m01_create_refuses_a_namespace_taken_on_the_cluster(client, world):
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_create"),
        {"cluster": world.clusters["prod-us"].pk, "name": "customer-f", "namespace": "cust-a-prod"},
    )

    assert response.status_code == 422
    message = NAMESPACE_TAKEN.format(namespace="cust-a-prod", cluster="prod-us", other="customer-a")
    assert message in _field(_page(response), "namespace")
    assert _row_counts() == before


def test_fm_001_a_namespace_that_is_not_an_rfc_1123_label_gets_the_services_message(client, world):
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_create"),
        {"cluster": world.clusters["prod-us"].pk, "name": "customer-f", "namespace": "Cust_F"},
    )

    assert response.status_code == 422
    assert validate_namespace.message in _field(_page(response), "namespace")
    assert _row_counts() == before


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ("{tier: gold}", "Enter a valid JSON."),
        ('"gold"', 'Metadata must be a JSON object, e.g. {"region": "us-east-1"}.'),
    ],
)
def test_fm_001_metadata_that_is_not_a_json_object_is_refused_next_to_the_field(client, world, metadata, error):
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_create"),
        {"cluster": world.clusters["prod-us"].pk, "name": "customer-f", "namespace": "cust-f", "metadata": metadata},
    )

    assert response.status_code == 422
    assert error in _field(_page(response), "metadata")
    assert _row_counts() == before


# --- FM-002 edit, BR-M02 move ---------------------------------------------------------------------------------


def test_fm_002_edit_saves_what_changed(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)
    assert 'value="cust-a-prod"' in _page(client.get(reverse("customers:customer_edit", args=[customer.pk])))

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]), _form_data(customer, description="Acme")
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.description == "Acme"
    event = Event.objects.get(customer=customer, action=EventAction.CUSTOMER_UPDATED)
    assert event.before == {"description": ""} and event.after == {"description": "Acme"}


def test_br_m01_edit_refuses_a_namespace_taken_on_the_cluster(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        _form_data(customer, namespace="cust-b-prod", description="changed"),
    )

    assert response.status_code == 422
    message = NAMESPACE_TAKEN.format(namespace="cust-b-prod", cluster="prod-us", other="customer-b")
    assert message in _field(_page(response), "namespace")
    customer.refresh_from_db()
    assert (customer.namespace, customer.description) == ("cust-a-prod", "")
    assert _row_counts() == before


def test_br_m02_move_without_confirmation_warns_and_saves_nothing(client, world):
    customer, prod_eu = world.customers["customer-a"], world.clusters["prod-eu"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        _form_data(customer, cluster=prod_eu.pk, description="moved"),
    )

    assert response.status_code == 200
    page = _page(response)
    warning = page.split('class="warning-box"')[1].split("</div>")[0]
    assert (
        "Moving customer-a from prod-us to prod-eu changes the cluster and kubeconfig context that every step of "
        "its releases runs against" in warning
    )
    assert "~/.kube/prod-eu-config" in warning and "~/.kube/prod-us-config" in warning
    assert f'type="checkbox" name="confirm_move" value="{prod_eu.pk}"' in warning
    assert f'<option value="{prod_eu.pk}" selected>prod-eu</option>' in page  # the choice is kept
    customer.refresh_from_db()
    assert (customer.cluster_id, customer.description) == (world.clusters["prod-us"].pk, "")
    assert _row_counts() == before


def test_br_m02_move_with_confirmation_moves_and_records_the_move(client, world):
    customer, prod_eu = world.customers["customer-a"], world.clusters["prod-eu"]
    client.force_login(world.user)

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        _form_data(customer, cluster=prod_eu.pk, confirm_move=prod_eu.pk),
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.cluster == prod_eu
    event = Event.objects.get(customer=customer, action=EventAction.CUSTOMER_MOVED)
    assert event.before == {"cluster": "prod-us"} and event.after == {"cluster": "prod-eu"}
    page = _page(client.get(response["Location"]))
    assert "Customer customer-a saved (prod-eu/cust-a-prod)." in page
    assert "Customer moved to another cluster: prod-us → prod-eu" in page


def test_br_m02_a_confirmation_for_another_cluster_does_not_move(client, world):
    customer, prod_eu, staging = world.customers["customer-a"], world.clusters["prod-eu"], world.clusters["staging"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        _form_data(customer, cluster=staging.pk, confirm_move=prod_eu.pk),
    )

    assert response.status_code == 200
    assert "Moving customer-a from prod-us to staging" in _page(response)
    customer.refresh_from_db()
    assert customer.cluster_id == world.clusters["prod-us"].pk
    assert _row_counts() == before


def test_br_m02_confirmed_move_refused_when_the_namespace_is_taken_on_the_new_cluster(client, world):
    customer, prod_eu = world.customers["customer-a"], world.clusters["prod-eu"]
    CustomerFactory(cluster=prod_eu, name="customer-x", namespace="cust-a-prod")
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("customers:customer_edit", args=[customer.pk]),
        _form_data(customer, cluster=prod_eu.pk, confirm_move=prod_eu.pk),
    )

    assert response.status_code == 422
    message = NAMESPACE_TAKEN.format(namespace="cust-a-prod", cluster="prod-eu", other="customer-x")
    assert message in _field(_page(response), "namespace")
    customer.refresh_from_db()
    assert customer.cluster_id == world.clusters["prod-us"].pk
    assert _row_counts() == before


def test_fm_002_an_archived_customer_cannot_be_edited(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)
    client.post(reverse("customers:customer_delete", args=[customer.pk]))

    assert client.get(reverse("customers:customer_edit", args=[customer.pk])).status_code == 404


# --- FM-003 archive -------------------------------------------------------------------------------------------


def test_fm_003_archive_with_htmx_shows_the_customer_archived(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)

    response = client.post(reverse("customers:customer_delete", args=[customer.pk]), **HTMX)

    assert response.status_code == 200
    page = _page(response)
    assert page.strip().startswith(f'<section id="customer-{customer.pk}"')
    assert "Archived</span>" in page and "prod-us" in page and "cust-a-prod" in page
    assert reverse("customers:customer_delete", args=[customer.pk]) not in page  # nothing left to archive
    assert 'hx-swap-oob="true"' in page and "Customer customer-a archived; its steps and history are kept." in page
    customer.refresh_from_db()
    assert customer.is_deleted
    assert Event.objects.filter(customer=customer, action=EventAction.CUSTOMER_DELETED).count() == 1


def test_fm_003_archive_without_htmx_returns_to_the_list(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)

    response = client.post(reverse("customers:customer_delete", args=[customer.pk]), follow=True)

    assert response.redirect_chain == [(reverse("customers:customer_list"), 302)]
    page = _page(response)
    assert "Customer customer-a archived" in page and f'id="customer-{customer.pk}"' not in page


def test_br_m03_archiving_twice_is_refused_with_the_services_message(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)
    client.post(reverse("customers:customer_delete", args=[customer.pk]))
    before = _row_counts()

    response = client.post(reverse("customers:customer_delete", args=[customer.pk]), **HTMX)

    assert response.status_code == 422
    assert CUSTOMER_ALREADY_DELETED.format(name="customer-a") in _page(response)
    assert _row_counts() == before


def test_fm_003_archive_is_a_post(client, world):
    customer = world.customers["customer-a"]
    client.force_login(world.user)

    assert client.get(reverse("customers:customer_delete", args=[customer.pk])).status_code == 405
    assert Customer.objects.filter(pk=customer.pk).exists()


# --- FM-005 customer view -------------------------------------------------------------------------------------


def test_fm_005_customer_view_shows_cluster_namespace_metadata_and_release_history(client, progress_world):
    customer = progress_world.customers["customer-a"]
    customer_update(customer=customer, user=progress_world.user, metadata={"tier": "gold"}, description="Acme Inc.")
    hotfix = ReleaseFactory(name="hotfix-1", type="hotfix", version_number="")
    StepTemplateFactory.create_batch(2, release=hotfix)
    release_activate(release=hotfix, user=progress_world.user)
    ReleaseFactory(name="draft-release")
    client.force_login(progress_world.user)

    page = _page(client.get(reverse("customers:customer_detail", args=[customer.pk])))

    assert "Customer: customer-a" in page
    cluster_url = reverse("clusters:cluster_detail", args=[progress_world.clusters["prod-us"].pk])
    assert f'<a href="{cluster_url}">prod-us</a>' in page
    assert "<code>cust-a-prod</code>" in page and "~/.kube/prod-us-config" in page
    assert '"tier": "gold"' in page and "Acme Inc." in page
    assert "draft-release" not in page
    row = page.split(f'id="release-{progress_world.release.pk}"')[1].split("</tr>")[0]
    assert "v2.5.0" in row and "badge type-release" in row and "badge status-active" in row
    assert "1/3 done" in row and "33%" in row
    assert reverse("steps:customer_steps", args=[progress_world.release.pk, customer.pk]) in row
    hotfix_row = page.split(f'id="release-{hotfix.pk}"')[1].split("</tr>")[0]
    assert "badge type-hotfix" in hotfix_row and "0/2 done" in hotfix_row
    assert page.index(f'id="release-{hotfix.pk}"') < page.index(f'id="release-{progress_world.release.pk}"')


def test_fm_005_an_archived_customer_is_still_shown_with_its_history(client, progress_world):
    customer = progress_world.customers["customer-a"]
    client.force_login(progress_world.user)
    client.post(reverse("customers:customer_delete", args=[customer.pk]))

    page = _page(client.get(reverse("customers:customer_detail", args=[customer.pk])))

    assert "Archived</span>" in page and "Customer archived" in page
    assert reverse("customers:customer_edit", args=[customer.pk]) not in page
    assert reverse("steps:customer_steps", args=[progress_world.release.pk, customer.pk]) in page


def test_fm_005_a_customer_in_no_release(client, world):
    client.force_login(world.user)

    page = _page(client.get(reverse("customers:customer_detail", args=[world.customers["customer-d"].pk])))

    assert "customer-d is in no release yet." in page


def test_fm_005_unknown_customer_is_not_found(client, user):
    client.force_login(user)

    assert client.get(reverse("customers:customer_detail", args=[999999])).status_code == 404


# --- query counts ---------------------------------------------------------------------------------------------


@pytest.fixture
def many_customers(user, request):
    """`request.param` customers over four clusters, in three active releases; three customers of the first cluster
    have their deploy steps done. Returns the clusters."""
    clusters = ClusterFactory.create_batch(4)
    Customer.objects.bulk_create([CustomerFactory.build(cluster=clusters[index % 4]) for index in range(request.param)])
    for _ in range(3):
        release = ReleaseFactory()
        StepTemplateFactory.create_batch(2, release=release, category=StepCategory.DEPLOY)
        StepTemplateFactory(release=release, category=StepCategory.VERIFY)
        release_activate(release=release, user=user)
        for customer in Customer.objects.filter(cluster=clusters[0])[:3]:
            customer_steps_mark_all_done(release=release, customer=customer, category=StepCategory.DEPLOY, user=user)
    return clusters


@pytest.mark.parametrize("many_customers", [10, 200], indirect=True)
@pytest.mark.parametrize("sort", ["cluster", "name", "progress"])
@pytest.mark.parametrize("headers", [{}, LIST_FRAGMENT], ids=["page", "fragment"])
def test_fm_004_list_queries_do_not_grow_with_customers(
    client, user, many_customers, sort, headers, django_assert_max_num_queries
):
    client.force_login(user)
    clusters = [cluster.pk for cluster in many_customers[:2]]

    with django_assert_max_num_queries(6 + 2):  # + 2: the user's permissions, read once per request for the role checks
        response = client.get(reverse("customers:customer_list"), {"sort": sort, "cluster": clusters}, **headers)

    assert response.status_code == 200
    assert "67%" in _page(response)  # the first customers have their deploy steps done


@pytest.mark.parametrize("many_customers", [10, 200], indirect=True)
def test_fm_005_customer_view_queries_do_not_grow_with_customers(
    client, user, many_customers, django_assert_max_num_queries
):
    client.force_login(user)
    customer = Customer.objects.filter(cluster=many_customers[0]).first()

    # + 1: its variables; + 2: the user's permissions, read once per request for the role checks
    with django_assert_max_num_queries(6 + 1 + 2):
        response = client.get(reverse("customers:customer_detail", args=[customer.pk]))

    assert response.status_code == 200
    assert _page(response).count("2/3 done") == 3


@pytest.mark.parametrize("name, needs_pk", [("customers:customer_create", False), ("customers:customer_edit", True)])
def test_a_viewer_opening_a_customer_form_is_refused_before_seeing_it(client, world, viewer, name, needs_pk):
    client.force_login(viewer)
    args = [world.customers["customer-a"].pk] if needs_pk else []

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403
    assert 'name="namespace"' not in response.content.decode()
