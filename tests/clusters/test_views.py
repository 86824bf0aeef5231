"""Cluster screens (FC-001..FC-006, FV-006, spec §5.3): the list, create and edit, delete with its refusal
(BR-C01), the cluster view with its customers' progress in each active release, and their query counts."""

import html

import pytest
from django.urls import reverse

from clusters.forms import REGION_TWICE
from clusters.models import Cluster
from clusters.services import CLUSTER_ALREADY_DELETED, CLUSTER_HAS_ACTIVE_CUSTOMERS, CLUSTER_NAME_TAKEN
from customers.models import Customer
from customers.services import customer_delete
from history.choices import EventAction
from history.models import Event
from releases.services import release_activate
from steps.choices import StepCategory
from steps.services import customer_steps_mark_all_done
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _row_counts() -> dict[str, int]:
    return {
        "clusters": Cluster.all_objects.count(),
        "live clusters": Cluster.objects.count(),
        "events": Event.objects.count(),
    }


def _page(response) -> str:
    return html.unescape(response.content.decode())


def _card(page: str, cluster: Cluster) -> str:
    """The list's card of one cluster."""
    start = page.index(f'id="cluster-{cluster.pk}"')
    return page[start : page.index("</article>", start)]


@pytest.mark.parametrize(
    ("method", "name", "needs_pk"),
    [
        ("get", "cluster_list", False),
        ("get", "cluster_create", False),
        ("get", "cluster_detail", True),
        ("get", "cluster_edit", True),
        ("post", "cluster_delete", True),
    ],
)
def test_anonymous_users_are_sent_to_the_login_page(client, world, method, name, needs_pk):
    prod_us = world.clusters["prod-us"]
    url = reverse(f"clusters:{name}", args=[prod_us.pk] if needs_pk else [])

    response = getattr(client, method)(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert Cluster.objects.filter(pk=prod_us.pk).exists()


# --- FC-004 list ----------------------------------------------------------------------------------------------


def test_fc_004_list_shows_status_path_region_and_customers_of_each_cluster(client, world):
    customer_delete(customer=world.customers["customer-c"], user=world.user)
    staging = world.clusters["staging"]
    staging.is_active = False
    staging.save()
    client.force_login(world.user)

    page = _page(client.get(reverse("clusters:cluster_list")))

    prod_us = _card(page, world.clusters["prod-us"])
    assert 'class="dot"' in prod_us and 'aria-label="Active"' in prod_us
    assert "~/.kube/prod-us-config" in prod_us
    assert "us-east-1 |" in prod_us and "2 Customers<" in prod_us  # the archived customer-c is not counted
    assert "customer-a</a>, " in prod_us and "customer-b</a>" in prod_us and "customer-c" not in prod_us
    assert reverse("clusters:cluster_edit", args=[world.clusters["prod-us"].pk]) in prod_us
    assert f'hx-post="{reverse("clusters:cluster_delete", args=[world.clusters["prod-us"].pk])}"' in prod_us
    assert "hx-confirm=" in prod_us
    staging_card = _card(page, staging)
    assert 'class="dot inactive"' in staging_card and "1 Customer<" in staging_card and "internal |" in staging_card
    assert reverse("clusters:cluster_create") in page


def test_fc_004_list_leaves_deleted_clusters_out(client, world, user):
    empty = ClusterFactory(name="old-cluster")
    client.force_login(user)
    client.post(reverse("clusters:cluster_delete", args=[empty.pk]))

    page = _page(client.get(reverse("clusters:cluster_list")))

    assert f'id="cluster-{world.clusters["prod-us"].pk}"' in page and f'id="cluster-{empty.pk}"' not in page


def test_fc_006_each_cluster_links_to_its_customers(client, world):
    client.force_login(world.user)
    prod_eu = world.clusters["prod-eu"]

    page = _page(client.get(reverse("clusters:cluster_list")))

    assert f"{reverse('customers:customer_list')}?cluster={prod_eu.pk}" in _card(page, prod_eu)


# --- FC-001 create, FC-002 edit -------------------------------------------------------------------------------


def test_fc_001_create_cluster_saves_it_with_its_metadata(client, user):
    client.force_login(user)
    form = client.get(reverse("clusters:cluster_create"))
    assert form.status_code == 200 and "{}</textarea>" in _page(form)

    response = client.post(
        reverse("clusters:cluster_create"),
        {
            "name": "prod-ap",
            "kubeconfig_path": "~/.kube/prod-ap-config",
            "description": "Asia",
            "is_active": "on",
            "metadata": '{"region": "ap-south-1"}',
        },
    )

    cluster = Cluster.objects.get(name="prod-ap")
    assert response.status_code == 302
    assert response["Location"] == reverse("clusters:cluster_detail", args=[cluster.pk])
    assert cluster.kubeconfig_path == "~/.kube/prod-ap-config"
    assert cluster.is_active is True
    assert cluster.metadata == {"region": "ap-south-1"}
    assert Event.objects.filter(cluster=cluster, action=EventAction.CLUSTER_CREATED).count() == 1
    assert "Cluster prod-ap created." in _page(client.get(response["Location"]))


def test_fc_001_empty_metadata_is_an_empty_object(client, user):
    client.force_login(user)

    client.post(reverse("clusters:cluster_create"), {"name": "lab", "metadata": ""})

    assert Cluster.objects.get(name="lab").metadata == {}


@pytest.mark.parametrize(
    ("metadata", "error"),
    [
        ('{"region": ', "Enter a valid JSON."),
        ('["us-east-1"]', 'Metadata must be a JSON object, e.g. {"region": "us-east-1"}.'),
    ],
)
def test_fc_001_metadata_that_is_not_a_json_object_is_refused_next_to_the_field(client, user, metadata, error):
    client.force_login(user)
    before = _row_counts()

    response = client.post(reverse("clusters:cluster_create"), {"name": "lab", "metadata": metadata})

    assert response.status_code == 422
    field = _page(response).split('for="id_metadata"')[1].split('<div class="field')[0]
    assert error in field
    assert metadata in _page(response)  # the text typed is given back to correct it
    assert _row_counts() == before


def test_br_c02_create_refuses_a_taken_name_with_the_services_message(client, world):
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(reverse("clusters:cluster_create"), {"name": "PROD-US"})

    assert response.status_code == 422
    field = _page(response).split('for="id_name"')[1].split('<div class="field')[0]
    assert CLUSTER_NAME_TAKEN.format(name="PROD-US") in field
    assert _row_counts() == before


def test_fc_002_edit_form_shows_the_current_values(client, world):
    client.force_login(world.user)

    page = _page(client.get(reverse("clusters:cluster_edit", args=[world.clusters["prod-us"].pk])))

    assert 'value="prod-us"' in page and 'value="~/.kube/prod-us-config"' in page
    assert 'name="region" value="us-east-1"' in page


def test_fc_002_edit_saves_only_what_changed(client, world):
    prod_us = world.clusters["prod-us"]
    client.force_login(world.user)

    response = client.post(
        reverse("clusters:cluster_edit", args=[prod_us.pk]),
        {
            "name": "prod-us",
            "kubeconfig_path": "~/.kube/prod-us-config",
            "description": "US East",
            "is_active": "on",
            "metadata": '{"region": "us-east-1"}',
        },
    )

    assert response.status_code == 302
    prod_us.refresh_from_db()
    assert prod_us.description == "US East"
    event = Event.objects.get(cluster=prod_us, action=EventAction.CLUSTER_UPDATED)
    assert event.before == {"description": ""} and event.after == {"description": "US East"}


def test_br_c02_edit_refuses_a_taken_name_and_saves_nothing(client, world):
    prod_us = world.clusters["prod-us"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(
        reverse("clusters:cluster_edit", args=[prod_us.pk]),
        {"name": "prod-eu", "kubeconfig_path": "", "description": "changed", "metadata": "{}"},
    )

    assert response.status_code == 422
    assert CLUSTER_NAME_TAKEN.format(name="prod-eu") in _page(response)
    prod_us.refresh_from_db()
    assert (prod_us.name, prod_us.description, prod_us.metadata) == ("prod-us", "", {"region": "us-east-1"})
    assert _row_counts() == before


def test_fc_002_a_deleted_cluster_cannot_be_edited(client, user):
    cluster = ClusterFactory()
    client.force_login(user)
    client.post(reverse("clusters:cluster_delete", args=[cluster.pk]))

    assert client.get(reverse("clusters:cluster_edit", args=[cluster.pk])).status_code == 404


# --- FC-003 delete, BR-C01 ------------------------------------------------------------------------------------


def test_fc_003_delete_with_htmx_removes_the_card_and_says_so(client, world):
    cluster = ClusterFactory(name="old-cluster")
    CustomerFactory(cluster=cluster, is_active=False)  # inactive customers do not keep a cluster (BR-C01)
    client.force_login(world.user)

    response = client.post(reverse("clusters:cluster_delete", args=[cluster.pk]), **HTMX)

    assert response.status_code == 200
    page = _page(response)
    assert 'id="cluster-' not in page  # the card is swapped for nothing
    assert 'hx-swap-oob="true"' in page and "Cluster old-cluster deleted." in page
    cluster.refresh_from_db()
    assert cluster.is_deleted
    assert Event.objects.filter(cluster=cluster, action=EventAction.CLUSTER_DELETED).count() == 1


def test_fc_003_delete_without_htmx_redirects_to_the_list_with_a_message(client, world):
    cluster = ClusterFactory(name="old-cluster")
    client.force_login(world.user)

    response = client.post(reverse("clusters:cluster_delete", args=[cluster.pk]), follow=True)

    assert response.redirect_chain == [(reverse("clusters:cluster_list"), 302)]
    page = _page(response)
    assert "Cluster old-cluster deleted." in page and f'id="cluster-{cluster.pk}"' not in page


def test_br_c01_delete_refused_with_htmx_keeps_the_card_and_shows_the_reason(client, world):
    prod_us = world.clusters["prod-us"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(reverse("clusters:cluster_delete", args=[prod_us.pk]), **HTMX)

    assert response.status_code == 422
    assert response["HX-Reswap"] == "none"  # only the out-of-band message is swapped in
    page = _page(response)
    assert 'hx-swap-oob="true"' in page and 'class="message error"' in page
    assert CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-us", count=3) in page
    assert _row_counts() == before


def test_br_c01_delete_refused_without_htmx_redirects_with_the_reason(client, world):
    prod_eu = world.clusters["prod-eu"]
    client.force_login(world.user)
    before = _row_counts()

    response = client.post(reverse("clusters:cluster_delete", args=[prod_eu.pk]), follow=True)

    assert response.redirect_chain == [(reverse("clusters:cluster_list"), 302)]
    page = _page(response)
    assert CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-eu", count=2) in page
    assert f'id="cluster-{prod_eu.pk}"' in page
    assert _row_counts() == before


def test_fc_003_deleting_twice_is_refused_with_the_services_message(client, user):
    cluster = ClusterFactory(name="old-cluster")
    client.force_login(user)
    client.post(reverse("clusters:cluster_delete", args=[cluster.pk]))
    before = _row_counts()

    response = client.post(reverse("clusters:cluster_delete", args=[cluster.pk]), **HTMX)

    assert response.status_code == 422
    assert CLUSTER_ALREADY_DELETED.format(name="old-cluster") in _page(response)
    assert _row_counts() == before


def test_fc_003_delete_is_a_post(client, world):
    client.force_login(world.user)

    response = client.get(reverse("clusters:cluster_delete", args=[world.clusters["staging"].pk]))

    assert response.status_code == 405
    assert not Cluster.all_objects.get(pk=world.clusters["staging"].pk).is_deleted


# --- FC-005 / FV-006 cluster view -----------------------------------------------------------------------------


def test_fv_006_cluster_view_shows_its_customers_and_their_progress_in_each_active_release(client, world):
    release_activate(release=world.release, user=world.user)
    customer_a, customer_b = world.customers["customer-a"], world.customers["customer-b"]
    customer_steps_mark_all_done(
        release=world.release, customer=customer_a, category=StepCategory.VERIFY, user=world.user
    )
    # A second active release that customer-b is not in, and a draft that no one sees here.
    hotfix = ReleaseFactory(name="hotfix-1", type="hotfix", version_number="")
    StepTemplateFactory(release=hotfix)
    release_activate(release=hotfix, user=world.user, exclude_customers=[customer_b])
    ReleaseFactory(name="draft-release")
    client.force_login(world.user)
    prod_us = world.clusters["prod-us"]

    response = client.get(reverse("clusters:cluster_detail", args=[prod_us.pk]))

    page = _page(response)
    assert "~/.kube/prod-us-config" in page and "us-east-1" in page
    assert "Customers (3)" in page
    assert "v2.5.0" in page and "hotfix-1" in page and "draft-release" not in page
    assert "customer-d" not in page  # another cluster's customer
    row_a = page.split(f'id="customer-{customer_a.pk}"')[1].split("</tr>")[0]
    assert "cust-a-prod" in row_a
    assert reverse("steps:customer_steps", args=[world.release.pk, customer_a.pk]) in row_a
    assert "1/3 steps done" in row_a and "33%" in row_a
    row_b = page.split(f'id="customer-{customer_b.pk}"')[1].split("</tr>")[0]
    assert "0/3 steps done" in row_b and "Not in release" in row_b
    assert reverse("steps:customer_steps", args=[hotfix.pk, customer_b.pk]) not in row_b


def test_fc_005_cluster_view_of_a_cluster_without_customers(client, user):
    cluster = ClusterFactory(name="lab", metadata={"api": "https://lab.example.com"})
    client.force_login(user)

    page = _page(client.get(reverse("clusters:cluster_detail", args=[cluster.pk])))

    assert "Customers (0)" in page and "No customer on this cluster." in page
    assert '"api": "https://lab.example.com"' in page


def test_fc_005_unknown_cluster_is_not_found(client, user):
    client.force_login(user)

    assert client.get(reverse("clusters:cluster_detail", args=[999999])).status_code == 404


# --- query counts ---------------------------------------------------------------------------------------------


@pytest.fixture
def many_customers(user, request):
    """`request.param` customers over four clusters, in two active releases with some steps done."""
    clusters = ClusterFactory.create_batch(4)
    Customer.objects.bulk_create([CustomerFactory.build(cluster=clusters[index % 4]) for index in range(request.param)])
    for _ in range(2):
        release = ReleaseFactory()
        StepTemplateFactory.create_batch(2, release=release, category=StepCategory.DEPLOY)
        StepTemplateFactory(release=release, category=StepCategory.VERIFY)
        release_activate(release=release, user=user)
        for customer in Customer.objects.filter(cluster=clusters[0])[:3]:
            customer_steps_mark_all_done(release=release, customer=customer, category=StepCategory.DEPLOY, user=user)
    return clusters


@pytest.mark.parametrize("many_customers", [10, 200], indirect=True)
def test_fc_004_list_queries_do_not_grow_with_customers(client, user, many_customers, django_assert_max_num_queries):
    client.force_login(user)

    with django_assert_max_num_queries(4 + 2):  # + 2: the user's permissions, read once per request for the role checks
        response = client.get(reverse("clusters:cluster_list"))

    assert response.status_code == 200


@pytest.mark.parametrize("many_customers", [10, 200], indirect=True)
def test_fv_006_cluster_view_queries_do_not_grow_with_customers(
    client, user, many_customers, django_assert_max_num_queries
):
    client.force_login(user)

    # + 1: its variables; + 2: the user's permissions, read once per request for the role checks
    with django_assert_max_num_queries(7 + 1 + 2):
        response = client.get(reverse("clusters:cluster_detail", args=[many_customers[0].pk]))

    assert response.status_code == 200
    assert "67%" in _page(response)  # 2 of 3 steps done for the first customers


@pytest.mark.parametrize("name, needs_pk", [("clusters:cluster_create", False), ("clusters:cluster_edit", True)])
def test_a_viewer_opening_a_cluster_form_is_refused_before_seeing_it(client, world, viewer, name, needs_pk):
    client.force_login(viewer)
    args = [world.clusters["prod-us"].pk] if needs_pk else []

    response = client.get(reverse(name, args=args))

    assert response.status_code == 403
    assert 'name="kubeconfig_path"' not in response.content.decode()


def _unchanged(cluster: Cluster) -> dict:
    """The cluster form's fields other than region and metadata, as the edit form shows them."""
    return {"name": cluster.name, "kubeconfig_path": cluster.kubeconfig_path, "is_active": "on"}


def test_fc_001_create_cluster_with_a_region_keeps_it_in_the_metadata(client, user):
    client.force_login(user)

    response = client.post(
        reverse("clusters:cluster_create"),
        {"name": "prod-ap", "region": " ap-south-1 ", "metadata": '{"api": "https://k8s.example.com"}'},
    )

    assert response.status_code == 302
    cluster = Cluster.objects.get(name="prod-ap")
    assert cluster.metadata == {"region": "ap-south-1", "api": "https://k8s.example.com"}
    assert cluster.region == "ap-south-1"


def test_fc_002_edit_form_shows_the_region_in_its_own_field_and_the_rest_of_the_metadata_apart(client, user):
    cluster = ClusterFactory(name="lab", metadata={"region": "eu-west-1", "api": "https://lab.example.com"})
    client.force_login(user)

    page = _page(client.get(reverse("clusters:cluster_edit", args=[cluster.pk])))

    assert 'name="region" value="eu-west-1"' in page
    metadata = page.split('name="metadata"')[1].split("</textarea>")[0]
    assert "api" in metadata and "region" not in metadata


@pytest.mark.parametrize(
    ("region", "metadata"),
    [
        ("eu-central-1", {"region": "eu-central-1", "api": "https://lab.example.com"}),
        ("", {"api": "https://lab.example.com"}),
    ],
)
def test_fc_002_edit_changes_the_region_and_blank_removes_it(client, user, region, metadata):
    cluster = ClusterFactory(name="lab", metadata={"region": "eu-west-1", "api": "https://lab.example.com"})
    client.force_login(user)

    response = client.post(
        reverse("clusters:cluster_edit", args=[cluster.pk]),
        {**_unchanged(cluster), "region": region, "metadata": '{"api": "https://lab.example.com"}'},
    )

    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.metadata == metadata
    event = Event.objects.get(cluster=cluster, action=EventAction.CLUSTER_UPDATED)
    assert set(event.after) == {"metadata"}


def test_fc_002_an_unchanged_region_saves_nothing(client, user):
    cluster = ClusterFactory(name="lab", metadata={"region": "eu-west-1"})
    client.force_login(user)

    response = client.post(
        reverse("clusters:cluster_edit", args=[cluster.pk]), {**_unchanged(cluster), "region": "eu-west-1"}
    )

    assert response.status_code == 302
    cluster.refresh_from_db()
    assert cluster.metadata == {"region": "eu-west-1"}
    assert not Event.objects.filter(cluster=cluster, action=EventAction.CLUSTER_UPDATED).exists()


def test_fc_001_a_region_set_differently_in_both_places_is_refused_next_to_the_metadata(client, user):
    client.force_login(user)
    before = _row_counts()

    response = client.post(
        reverse("clusters:cluster_create"), {"name": "lab", "region": "eu-west-1", "metadata": '{"region": "x"}'}
    )

    assert response.status_code == 422
    field = _page(response).split('for="id_metadata"')[1].split('<div class="field')[0]
    assert html.escape(REGION_TWICE) in field
    assert _row_counts() == before
