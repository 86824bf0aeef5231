"""Progress (spec §8.2, FET-005) and which releases are finished."""

import pytest

from customers.services import customer_delete
from releases.choices import ReleaseStatus
from releases.selectors import releases_ready_to_archive
from releases.services import release_activate
from steps.models import CustomerStep
from steps.progress import release_progress
from steps.services import customer_step_mark_done, customer_step_revert, customer_step_skip
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


def _step(world, customer: str, template: int) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _done(world, customer: str, *templates: int) -> None:
    for template in templates:
        customer_step_mark_done(step=_step(world, customer, template), user=world.user)


def test_fet_005_progress_per_customer_cluster_overall_and_category(world):
    release_activate(release=world.release, user=world.user)
    _done(world, "customer-a", 0, 1, 2)  # 3/3
    _done(world, "customer-b", 0)  # 1/3: deploy 1/2, verify 0/1
    customer_step_skip(step=_step(world, "customer-c", 2), user=world.user, reason="no API on this tenant")
    _done(world, "customer-d", 0, 1)  # 2/3: deploy 2/2

    with_ids = {name: customer.pk for name, customer in world.customers.items()}
    progress = release_progress(world.release)
    assert progress.customer_percent(with_ids["customer-a"]) == 100
    assert progress.customer_percent(with_ids["customer-b"]) == pytest.approx(100 / 3)
    assert progress.customer_percent(with_ids["customer-b"], "deploy") == 50
    assert progress.customer_percent(with_ids["customer-b"], "verify") == 0
    # §8.2: done / total — a skipped step counts in the total, not as done.
    assert progress.customer(with_ids["customer-c"]).skipped == 1
    assert progress.customer_percent(with_ids["customer-c"]) == 0
    prod_us = world.clusters["prod-us"].pk
    assert progress.cluster_percent(prod_us) == pytest.approx((100 + 100 / 3 + 0) / 3)
    assert progress.cluster_percent(world.clusters["prod-eu"].pk, "deploy") == 50
    assert progress.cluster_percent(world.clusters["staging"].pk) == 0
    overall = (100 + 100 / 3 + 0 + 200 / 3 + 0 + 0) / 6
    assert progress.overall_percent() == pytest.approx(overall)
    assert progress.overall_percent("deploy") == pytest.approx((100 + 50 + 0 + 100 + 0 + 0) / 6)


def test_fet_005_progress_takes_two_queries_whatever_the_size(django_assert_num_queries, user):
    cluster = ClusterFactory()
    CustomerFactory.create_batch(60, cluster=cluster)
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(10, release=release)
    release_activate(release=release, user=user)
    with django_assert_num_queries(2):
        progress = release_progress(release)
    assert progress.overall_percent() == 0


def test_fet_005_archived_customers_leave_the_progress(world):
    release_activate(release=world.release, user=world.user)
    _done(world, "customer-a", 0, 1, 2)
    for name in world.customers:
        if name != "customer-a":
            customer_delete(customer=world.customers[name], user=world.user)
    assert release_progress(world.release).overall_percent() == 100


def test_progress_of_a_release_nobody_is_in_is_unknown(world):
    progress = release_progress(world.release)
    assert progress.overall_percent() is None
    assert progress.customer_percent(world.customers["customer-a"].pk) is None


def test_a_release_is_ready_to_archive_when_nothing_is_pending_or_reverted(world):
    release_activate(release=world.release, user=world.user)
    steps = list(CustomerStep.objects.filter(release=world.release))
    for step in steps[1:]:
        customer_step_mark_done(step=step, user=world.user)
    assert world.release not in releases_ready_to_archive()
    customer_step_skip(step=steps[0], user=world.user, reason="not used here")
    assert list(releases_ready_to_archive()) == [world.release]
    customer_step_revert(step=steps[1], user=world.user)
    assert world.release not in releases_ready_to_archive()


def test_an_active_release_nobody_has_a_step_in_is_not_ready_to_archive(world):
    """As on the dashboard: nothing pending, but nothing finished either (review of issue 9)."""
    world.release.status = ReleaseStatus.ACTIVE
    world.release.save(update_fields=["status"])

    assert world.release not in releases_ready_to_archive()
