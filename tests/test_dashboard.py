"""The dashboard (FV-001) and the login every page needs."""

import pytest
from django.urls import reverse

from history.choices import EventAction
from history.services import record_event
from releases.services import release_activate, release_add_customers
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


def test_pages_need_a_login(client):
    response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_login_page_logs_in(client, user):
    response = client.post(reverse("login"), {"username": "rm", "password": "rollcall-test-pw"})
    assert response.status_code == 302
    assert client.get(reverse("dashboard:dashboard")).status_code == 200


def test_fv_001_dashboard_shows_releases_clusters_stats_and_activity(client, world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[1])
    customer_step_mark_done(step=step, user=world.user)
    other = CustomerStep.objects.get(customer=world.customers["customer-b"], template=world.templates[2])
    customer_step_skip(step=other, user=world.user, reason="no API")
    client.force_login(world.user)

    page = client.get(reverse("dashboard:dashboard")).content.decode()

    assert "v2.5.0" in page
    assert reverse("steps:matrix", args=[world.release.pk]) in page
    assert "prod-us</a>" in page and "(3)" in page
    assert '<dd data-stat="done">1</dd>' in page
    assert '<dd data-stat="skipped">1</dd>' in page
    assert '<dd data-stat="pending">16</dd>' in page
    # Recent activity names the release, the customer with cluster and namespace, and links to the step.
    assert "customer-a (prod-us/cust-a-prod)" in page
    assert reverse("steps:step_detail", args=[step.pk]) in page
    assert "Marked as Done" in page and "by rm" in page


@pytest.mark.parametrize("customers", [10, 200])
def test_fv_001_dashboard_queries_do_not_grow_with_customers(client, user, customers, django_assert_max_num_queries):
    cluster = ClusterFactory()
    CustomerFactory.create_batch(customers, cluster=cluster)
    for _ in range(3):
        release = ReleaseFactory()
        StepTemplateFactory.create_batch(5, release=release)
        release_activate(release=release, user=user)
    client.force_login(user)
    with django_assert_max_num_queries(8 + 2):  # + 2: the user's permissions, read once per request for the role checks
        response = client.get(reverse("dashboard:dashboard"))
    assert response.status_code == 200


def test_fv_001_activation_is_one_line_of_recent_activity_not_one_per_customer_step(client, world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])
    customer_step_mark_done(step=step, user=world.user)
    client.force_login(world.user)

    page = client.get(reverse("dashboard:dashboard")).content.decode()
    activity = page.split('id="recent-activity"')[1]

    assert CustomerStep.objects.count() == 18  # each with its own "Created from template" event in the history
    assert activity.count("v2.5.0 activated for 6 customers") == 1
    assert "Created from template" not in activity
    assert "Marked as Done" in activity


def test_fv_001_customers_added_to_an_active_release_are_one_line_of_recent_activity(client, world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-e"]])
    release_add_customers(release=world.release, customers=[world.customers["customer-e"]], user=world.user)
    client.force_login(world.user)

    activity = client.get(reverse("dashboard:dashboard")).content.decode().split('id="recent-activity"')[1]

    assert "1 customer added to v2.5.0" in activity
    assert "v2.5.0 activated for 5 customers" in activity
    assert "Created from template" not in activity


def test_fv_001_a_catch_up_that_enrolled_no_one_keeps_its_own_words(client, world):
    release_activate(release=world.release, user=world.user)
    record_event(
        action=EventAction.RELEASE_CUSTOMERS_ADDED,
        user=world.user,
        object_repr=world.release.name,
        release=world.release,
        after={"customers": [], "steps_created": 2},
    )
    client.force_login(world.user)

    activity = client.get(reverse("dashboard:dashboard")).content.decode().split('id="recent-activity"')[1]

    assert "0 customers" not in activity
    assert "Customers added to release" in activity


def test_fv_001_dashboard_lists_complete_releases_as_ready_to_archive(client, world):
    """Issue 9, "Finished": a release with nothing pending or reverted in any category (a skipped step counts as
    finished) is listed as ready to archive, linking to its page; one still in progress is not."""
    release_activate(release=world.release, user=world.user)
    unfinished = ReleaseFactory(name="v2.6.0")
    StepTemplateFactory(release=unfinished, name="Deploy 2.6")
    release_activate(release=unfinished, user=world.user)
    for step in CustomerStep.objects.filter(release=world.release):
        if step.customer.name == "customer-b":
            customer_step_skip(step=step, user=world.user, reason="not deployed there")
        else:
            customer_step_mark_done(step=step, user=world.user)
    client.force_login(world.user)

    page = client.get(reverse("dashboard:dashboard")).content.decode()

    ready = page.split('<ul class="list" aria-labelledby="ready-to-archive">')[1].split("</ul>")[0]
    assert f'href="{reverse("releases:release_detail", args=[world.release.pk])}"' in ready and "v2.5.0" in ready
    assert "v2.6.0" not in ready
    assert page.count("✓ Complete") == 1  # beside v2.5.0 among the active releases, not beside v2.6.0
