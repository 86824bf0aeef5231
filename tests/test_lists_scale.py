"""Lists at scale (issue 10, item 3): the customers list, the dashboard, the audit page and a step across customers read
a fixed number of queries whatever the number of customers, steps and events; the customers list and the audit page
show one page of them."""

import pytest
from django.urls import reverse

from customers.models import Customer
from customers.selectors import CUSTOMER_PAGE_SIZE
from history.models import Event
from releases.services import release_activate
from steps.models import StepTemplate
from steps.services import customer_steps_mark_all_done
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

# Queries of each page for a logged-in release manager, sessions and permissions read from the cache (the permissions
# are read from the database once after a role changes: accounts.backends): the user, then the page's own.
PAGE_QUERIES = {
    "dashboard": 1 + 6,
    "customers": 1 + 4,
    "customers_by_progress": 1 + 3,
    "audit": 1 + 6,  # count, events and the filter's releases, clusters, customers and actors
    "step_across": 1 + 5,
}


@pytest.fixture(params=[4, 2 * CUSTOMER_PAGE_SIZE + 10], ids=["few", "three-pages"])
def scaled(request, db, user):
    """Three clusters with `param` customers between them, a release of three steps activated for all, some done."""
    clusters = [ClusterFactory(name=f"cluster-{n}") for n in range(3)]
    Customer.objects.bulk_create(
        Customer(cluster=clusters[n % 3], name=f"customer-{n:03}", namespace=f"cust-{n}") for n in range(request.param)
    )
    release = ReleaseFactory(name="v1")
    StepTemplateFactory.create_batch(2, release=release, category="deploy")
    StepTemplateFactory(release=release, category="verify")
    release_activate(release=release, user=user)
    for customer in Customer.objects.order_by("pk")[:3]:
        customer_steps_mark_all_done(release=release, customer=customer, category="deploy", user=user)
    return release


@pytest.mark.parametrize(
    "page, url",
    [
        ("dashboard", lambda release: reverse("dashboard:dashboard")),
        ("customers", lambda release: reverse("customers:customer_list")),
        ("customers", lambda release: reverse("customers:customer_list") + "?sort=name&page=2"),
        ("customers_by_progress", lambda release: reverse("customers:customer_list") + "?sort=progress"),
        ("audit", lambda release: reverse("audit:audit")),
        ("audit", lambda release: reverse("audit:audit") + "?page=2"),
        (
            "step_across",
            lambda release: reverse(
                "steps:template_step_status", args=[StepTemplate.objects.filter(release=release).first().pk]
            ),
        ),
    ],
)
def test_each_list_reads_the_same_queries_at_any_size(client, user, scaled, page, url, django_assert_num_queries):
    client.force_login(user)
    client.get(reverse("dashboard:dashboard"))  # the user's permissions, read once into the cache

    with django_assert_num_queries(PAGE_QUERIES[page]):
        response = client.get(url(scaled))

    assert response.status_code == 200


def test_the_customers_list_shows_a_page_and_links_to_the_others(client, user):
    cluster = ClusterFactory(name="big")
    Customer.objects.bulk_create(
        Customer(cluster=cluster, name=f"customer-{n:03}", namespace=f"cust-{n}") for n in range(CUSTOMER_PAGE_SIZE + 5)
    )
    CustomerFactory(cluster=ClusterFactory(name="small"), name="zz-last")
    client.force_login(user)

    first = client.get(reverse("customers:customer_list")).content.decode()
    second = client.get(
        reverse("customers:customer_list"), {"page": 2}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="customer-list"
    ).content.decode()

    assert f"{CUSTOMER_PAGE_SIZE + 6} customers" in first and f"1 to {CUSTOMER_PAGE_SIZE} shown" in first
    assert f"({CUSTOMER_PAGE_SIZE + 5} customers, {CUSTOMER_PAGE_SIZE} on this page)" in first
    assert ">customer-000</a>" in first and ">zz-last</a>" not in first
    assert 'rel="next" href="?page=2" hx-get="?page=2" hx-push-url="true"' in first
    assert not second.startswith("<!DOCTYPE") and ">zz-last</a>" in second and ">customer-000</a>" not in second
    assert "(5 customers on this page)" not in second and "(105 customers, 5 on this page)" in second
    assert 'rel="prev"' in second


@pytest.mark.parametrize("scaled", [2 * CUSTOMER_PAGE_SIZE + 10], indirect=True)
def test_the_audit_page_shows_fifty_events_of_many(client, user, scaled):
    client.force_login(user)

    page = client.get(reverse("audit:audit")).content.decode()

    assert Event.objects.count() > 50
    assert page.count("<tr") - 1 == 50 and 'rel="next"' in page


def test_a_step_of_many_customers_shows_one_whole_cluster_at_a_time(client, world, operator, monkeypatch):
    monkeypatch.setattr("steps.views.template_step.ONE_CLUSTER_AT_A_TIME_ABOVE", 3)
    release_activate(release=world.release, user=world.user)
    client.force_login(operator)
    url = reverse("steps:template_step_status", args=[world.templates[0].pk])
    prod_us = world.clusters["prod-us"]

    first = client.get(url).content.decode()
    chosen = client.get(url, {"cluster": prod_us.pk}).content.decode()

    # The first cluster by name, whole; the others one link away; the counts are every customer's.
    assert ">customer-d</span>" in first and ">customer-a</span>" not in first
    assert f'href="?cluster={prod_us.pk}"' in first and "6 customers; one cluster at a time" in first
    assert "Pending 6" in first
    # "Select all" of a cluster is every customer of it: the page holds the whole cluster.
    assert "Select all 3 customers of prod-us" in chosen and chosen.count('class="bulk-select"') == 3
    assert ">customer-a</span>" in chosen and ">customer-d</span>" not in chosen
    assert '<strong aria-current="page">📁 prod-us (3)</strong>' in chosen
