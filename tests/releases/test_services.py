"""Release lifecycle (FR-001..FR-005), activation (FR-003, BR-R01) and who a release covers."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.permissions import CHANGE_RELEASE
from core.errors import DomainError
from customers.services import customer_create
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from releases.rules import RELEASE_ARCHIVED
from releases.services import (
    CUSTOMERS_NEED_ACTIVE_RELEASE,
    CUSTOMERS_NOT_ELIGIBLE,
    NOTHING_TO_ADD,
    RELEASE_DATE_REQUIRED,
    SELECTION_EMPTY,
    TRANSITION_REFUSED,
    VERSION_NUMBER_REQUIRED,
    release_activate,
    release_add_customers,
    release_archive,
    release_clone,
    release_create,
    release_update,
)
from steps.models import CustomerStep, StepTemplate
from steps.services import customer_step_mark_done, template_step_add
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


def _state():
    """What a refused operation must leave untouched."""
    return (
        list(Release.objects.order_by("pk").values_list("status", "name", "covers_all_customers")),
        CustomerStep.all_objects.count(),
        Enrollment.objects.count(),
        Event.objects.count(),
    )


def test_fr_001_create_release_is_a_draft_with_history(user):
    release = release_create(
        user=user, name=" v2.5.0 ", type="release", version_number="v2.5.0", release_date=date(2024, 1, 15)
    )
    assert release.status == ReleaseStatus.DRAFT
    assert release.name == "v2.5.0"
    event = Event.objects.get(release=release)
    assert (event.action, event.actor_name) == (EventAction.RELEASE_CREATED, "rm")


def test_fr_001_release_type_needs_version_number_and_date(user):
    with pytest.raises(DomainError) as refused:
        release_create(user=user, name="Spring release", type="release", release_date=date(2024, 1, 15))
    assert (refused.value.message, refused.value.field) == (VERSION_NUMBER_REQUIRED, "version_number")
    with pytest.raises(DomainError) as refused:
        release_create(user=user, name="Spring release", type="release", version_number="v2.5.0")
    assert (refused.value.message, refused.value.field) == (RELEASE_DATE_REQUIRED, "release_date")
    assert not Release.objects.exists()
    hotfix = release_create(user=user, name="Hotfix 2024-1", type="hotfix")
    assert hotfix.version_number == ""


def test_fr_001_unknown_release_type_is_refused(user):
    with pytest.raises(DomainError) as refused:
        release_create(user=user, name="x", type="bigbang", version_number="1")
    assert refused.value.field == "type"
    assert not Release.objects.exists()


def test_fr_003_br_r01_activation_copies_every_template_step_to_every_active_customer(world):
    inactive = CustomerFactory(cluster=world.clusters["prod-us"], is_active=False)
    in_inactive_cluster = CustomerFactory(cluster=ClusterFactory(is_active=False))
    release_activate(release=world.release, user=world.user)

    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE
    assert world.release.covers_all_customers
    for customer in world.customers.values():
        steps = CustomerStep.objects.filter(release=world.release, customer=customer)
        assert sorted(steps.values_list("template__name", flat=True)) == sorted(t.name for t in world.templates)
        assert all(step.content == step.template.content and not step.is_custom for step in steps)
    assert not CustomerStep.objects.filter(customer__in=[inactive, in_inactive_cluster]).exists()
    assert set(Enrollment.objects.values_list("customer__name", flat=True)) == set(world.customers)
    assert Event.objects.filter(action=EventAction.STEP_CREATED, release=world.release).count() == 6 * 3
    activated = Event.objects.get(action=EventAction.RELEASE_ACTIVATED)
    assert activated.after["steps_created"] == 18
    assert activated.after["customers"] == sorted(world.customers)


def _release_with_customers(count: int, steps: int = 40) -> Release:
    cluster = ClusterFactory()
    CustomerFactory.create_batch(count, cluster=cluster)
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(steps, release=release)
    return release


def test_br_r01_activation_uses_a_constant_number_of_queries(user):
    small, large = _release_with_customers(10), _release_with_customers(500)
    assert user.has_perm(CHANGE_RELEASE)  # reads the user's permissions now: both counts below measure activation only
    with CaptureQueriesContext(connection) as for_small:
        release_activate(release=small, user=user)
    with CaptureQueriesContext(connection) as for_large:
        release_activate(release=large, user=user)
    assert len(for_large) == len(for_small) <= 12
    # The second release covers every active customer: the 10 of the first one too.
    assert CustomerStep.objects.filter(release=large).count() == 510 * 40
    assert Event.objects.filter(release=large, action=EventAction.STEP_CREATED).count() == 510 * 40


def test_fr_003_activation_can_exclude_customers_and_clusters(world):
    release_activate(
        release=world.release,
        user=world.user,
        exclude_customers=[world.customers["customer-a"]],
        exclude_clusters=[world.clusters["prod-eu"]],
    )
    world.release.refresh_from_db()
    assert not world.release.covers_all_customers
    assert set(Enrollment.objects.values_list("customer__name", flat=True)) == {
        "customer-b",
        "customer-c",
        "demo-customer",
    }
    assert set(CustomerStep.objects.values_list("customer__name", flat=True)) == {
        "customer-b",
        "customer-c",
        "demo-customer",
    }


def test_fr_003_a_selection_that_leaves_nobody_is_refused(world):
    before = _state()
    with pytest.raises(DomainError) as refused:
        release_activate(release=world.release, user=world.user, exclude_clusters=list(world.clusters.values()))
    assert refused.value.message == SELECTION_EMPTY.format(name="v2.5.0")
    assert _state() == before


def test_fr_002_activating_twice_is_refused_and_changes_nothing(world):
    release_activate(release=world.release, user=world.user)
    before = _state()
    with pytest.raises(DomainError) as refused:
        release_activate(release=world.release, user=world.user)
    assert refused.value.message == TRANSITION_REFUSED.format(name="v2.5.0", status="active", verb="activate")
    assert _state() == before


def test_fr_002_a_draft_cannot_be_archived_and_an_archived_release_cannot_be_activated(world):
    before = _state()
    with pytest.raises(DomainError, match="is draft; it cannot be archived"):
        release_archive(release=world.release, user=world.user)
    assert _state() == before
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    before = _state()
    with pytest.raises(DomainError, match="is archived; it cannot be activated"):
        release_activate(release=world.release, user=world.user)
    with pytest.raises(DomainError, match="is archived; it cannot be archived"):
        release_archive(release=world.release, user=world.user)
    assert _state() == before


def test_fr_005_archive_records_who_and_when_and_closes_the_release(world):
    release_activate(release=world.release, user=world.user)
    release_archive(release=world.release, user=world.user)
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ARCHIVED
    assert world.release.archived_at is not None
    event = Event.objects.get(action=EventAction.RELEASE_ARCHIVED)
    assert (event.actor_name, event.before, event.after) == ("rm", {"status": "active"}, {"status": "archived"})
    before = _state()
    with pytest.raises(DomainError) as refused:
        release_update(release=world.release, user=world.user, name="renamed")
    assert refused.value.message == RELEASE_ARCHIVED.format(name="v2.5.0")
    assert _state() == before


def test_release_update_records_only_what_changed(world):
    release_update(release=world.release, user=world.user, description="Spring release", name="v2.5.0")
    event = Event.objects.get(action=EventAction.RELEASE_UPDATED)
    assert (event.before, event.after) == ({"description": ""}, {"description": "Spring release"})
    release_update(release=world.release, user=world.user, description="Spring release")
    assert Event.objects.filter(action=EventAction.RELEASE_UPDATED).count() == 1


def test_fr_004_clone_copies_the_template_steps_into_a_new_draft(world):
    release_activate(release=world.release, user=world.user)
    template_step_add(
        release=world.release, user=world.user, name="Warm cache", category="deploy", type="bash", content="x", index=0
    )
    clone = release_clone(release=world.release, user=world.user, name="v2.6.0", version_number="v2.6.0")
    assert (clone.status, clone.cloned_from, clone.type) == (ReleaseStatus.DRAFT, world.release, "release")
    copied = StepTemplate.objects.filter(release=clone)
    assert list(copied.filter(category="deploy").order_by("order_index").values_list("name", "order_index")) == [
        ("Warm cache", 0),
        ("Deploy app", 1),
        ("Run migration", 2),
    ]
    assert list(copied.filter(category="verify").values_list("name", "order_index")) == [("Health check", 0)]
    assert not CustomerStep.objects.filter(release=clone).exists()
    assert Event.objects.get(action=EventAction.RELEASE_CLONED).release == clone


def test_late_joiner_gets_every_current_template_step(world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-e"]])
    template_step_add(release=world.release, user=world.user, name="Extra", category="verify", type="text", content="x")
    added = release_add_customers(release=world.release, customers=[world.customers["customer-e"]], user=world.user)
    assert added == ["customer-e"]
    names = CustomerStep.objects.filter(customer=world.customers["customer-e"]).values_list("name", flat=True)
    assert sorted(names) == ["Deploy app", "Extra", "Health check", "Run migration"]
    assert Event.objects.get(action=EventAction.RELEASE_CUSTOMERS_ADDED).after["customers"] == ["customer-e"]


def test_adding_customers_is_refused_when_they_cannot_join(world):
    inactive = CustomerFactory(cluster=world.clusters["prod-us"], is_active=False, name="dormant")
    before = _state()
    with pytest.raises(DomainError) as refused:
        release_add_customers(release=world.release, customers=[world.customers["customer-a"]], user=world.user)
    assert refused.value.message == CUSTOMERS_NEED_ACTIVE_RELEASE.format(name="v2.5.0", status="draft")
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-a"]])
    before = _state()
    with pytest.raises(DomainError) as refused:
        release_add_customers(release=world.release, customers=[inactive], user=world.user)
    assert refused.value.message == CUSTOMERS_NOT_ELIGIBLE.format(names="dormant")
    with pytest.raises(DomainError) as refused:
        release_add_customers(release=world.release, customers=[world.customers["customer-b"]], user=world.user)
    assert refused.value.message == NOTHING_TO_ADD.format(name="v2.5.0")
    assert _state() == before


def test_a_release_activated_for_a_selection_does_not_grow_by_itself(world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-a"]])
    newcomer = customer_create(user=world.user, cluster=world.clusters["prod-us"], name="new", namespace="new-prod")
    assert not CustomerStep.objects.filter(customer=newcomer).exists()
    assert not Enrollment.objects.filter(customer=newcomer).exists()


def test_a_release_covering_everyone_takes_in_new_customers(world):
    release_activate(release=world.release, user=world.user)
    newcomer = customer_create(user=world.user, cluster=world.clusters["prod-us"], name="new", namespace="new-prod")
    assert CustomerStep.objects.filter(customer=newcomer, release=world.release).count() == 3
    assert Enrollment.objects.filter(customer=newcomer, release=world.release).exists()


def test_done_steps_of_an_archived_release_stay_as_they_were(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(release=world.release).first()
    customer_step_mark_done(step=step, user=world.user)
    release_archive(release=world.release, user=world.user)
    step.refresh_from_db()
    assert step.status == "done"
