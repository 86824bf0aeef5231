"""Customer services: create, edit, move, archive (soft delete) and restore (FM-001..FM-003, BR-M01..BR-M03), and
how new, re-activated and restored customers join releases that cover all customers (BR-S06)."""

import pytest

from clusters.services import cluster_delete
from core.errors import DomainError
from core.validators import validate_namespace
from customers.models import Customer
from customers.services import (
    CLUSTER_IS_DELETED,
    CUSTOMER_ALREADY_DELETED,
    CUSTOMER_NOT_DELETED,
    NAMESPACE_TAKEN,
    customer_create,
    customer_delete,
    customer_restore,
    customer_update,
)
from history.choices import EventAction
from history.models import Event
from releases.models import Enrollment
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, template_step_add
from tests.factories import ClusterFactory

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        "customers": Customer.all_objects.count(),
        "live customers": Customer.objects.count(),
        "events": Event.objects.count(),
        "steps": CustomerStep.all_objects.count(),
        "enrollments": Enrollment.objects.count(),
    }


def _steps_of(customer, release) -> list[tuple[int, int, str]]:
    """(step id, template id, status) of a customer's steps in a release, archived customers included."""
    return list(
        CustomerStep.objects.filter(release=release, customer_id=customer.pk)
        .order_by("template_id")
        .values_list("pk", "template_id", "status")
    )


# --- FM-001 create --------------------------------------------------------------------------------------------


def test_fm_001_create_customer_in_a_cluster_records_its_values(world):
    prod_us = world.clusters["prod-us"]

    customer = customer_create(
        user=world.user, cluster=prod_us, name="  customer-f ", namespace=" cust-f-prod ", metadata={"tier": "gold"}
    )

    customer = Customer.objects.get(pk=customer.pk)
    assert (customer.cluster, customer.name, customer.namespace) == (prod_us, "customer-f", "cust-f-prod")
    assert customer.location == "prod-us/cust-f-prod"
    event = Event.objects.get()
    assert event.action == EventAction.CUSTOMER_CREATED
    assert (event.customer, event.cluster, event.actor, event.actor_name) == (customer, prod_us, world.user, "rm")
    assert event.before is None
    assert event.after == {
        "cluster": "prod-us",
        "name": "customer-f",
        "namespace": "cust-f-prod",
        "description": "",
        "is_active": True,
        "metadata": {"tier": "gold"},
    }


def test_fm_001_namespace_must_be_an_rfc_1123_label(world):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_create(user=world.user, cluster=world.clusters["prod-us"], name="Customer A", namespace="Cust_A")

    assert refused.value.field == "namespace"
    assert refused.value.message == f"Namespace: {validate_namespace.message}"
    assert _row_counts() == before


@pytest.mark.parametrize("namespace", ["-cust-a", "cust-a-", "cust.a", "cust a", "a" * 64, ""])
def test_fm_001_namespaces_kubernetes_would_refuse_are_refused(world, namespace):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_create(user=world.user, cluster=world.clusters["prod-us"], name="Customer A", namespace=namespace)

    assert refused.value.field == "namespace"
    assert _row_counts() == before


def test_fm_001_longest_namespace_kubernetes_accepts_is_accepted(world):
    namespace = "a" * 62 + "1"

    customer = customer_create(user=world.user, cluster=world.clusters["prod-us"], name="long", namespace=namespace)

    assert Customer.objects.get(pk=customer.pk).namespace == namespace


@pytest.mark.parametrize("metadata", [["tier", "gold"], "gold", 3])
def test_fm_001_metadata_that_is_not_a_json_object_is_refused(world, metadata):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_create(
            user=world.user, cluster=world.clusters["prod-us"], name="customer-f", namespace="cust-f", metadata=metadata
        )

    assert refused.value.field == "metadata"
    assert "Metadata must be a JSON object" in refused.value.message
    assert _row_counts() == before


def test_fm_001_creating_a_customer_on_a_deleted_cluster_is_refused(user):
    lab = cluster_delete(cluster=ClusterFactory(name="lab"), user=user)
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_create(user=user, cluster=lab, name="customer-f", namespace="cust-f")

    assert refused.value.message == CLUSTER_IS_DELETED.format(cluster="lab")
    assert refused.value.field == "cluster"
    assert _row_counts() == before


# --- FM-002 edit and move -------------------------------------------------------------------------------------


def test_fm_002_edit_records_only_changed_values(world):
    customer = world.customers["customer-a"]

    customer_update(customer=customer, user=world.user, name=" Acme ", namespace="cust-a-prod", description="big")

    customer.refresh_from_db()
    assert (customer.name, customer.description) == ("Acme", "big")
    event = Event.objects.get()
    assert event.action == EventAction.CUSTOMER_UPDATED
    assert event.before == {"name": "customer-a", "description": ""}
    assert event.after == {"name": "Acme", "description": "big"}


def test_fm_002_edit_that_changes_nothing_writes_no_event(world):
    customer = world.customers["customer-a"]

    customer_update(customer=customer, user=world.user, name="customer-a", cluster=world.clusters["prod-us"])

    assert not Event.objects.exists()


def test_fm_002_edit_refuses_metadata_that_is_a_json_list(world):
    customer = world.customers["customer-a"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_update(customer=customer, user=world.user, metadata=[1, 2])

    assert refused.value.field == "metadata"
    customer.refresh_from_db()
    assert customer.metadata == {}
    assert _row_counts() == before


def test_fm_002_moving_records_a_moved_event_with_cluster_names(world):
    customer = world.customers["customer-a"]
    prod_eu = world.clusters["prod-eu"]

    customer_update(customer=customer, user=world.user, cluster=prod_eu)

    assert Customer.objects.get(pk=customer.pk).cluster == prod_eu
    event = Event.objects.get()
    assert event.action == EventAction.CUSTOMER_MOVED
    assert (event.customer, event.cluster, event.actor_name) == (customer, prod_eu, "rm")
    assert event.before == {"cluster": "prod-us"}
    assert event.after == {"cluster": "prod-eu"}


def test_br_m02_moving_and_renaming_at_once_records_both_events(world):
    customer = world.customers["customer-a"]

    customer_update(customer=customer, user=world.user, cluster=world.clusters["staging"], name="Acme")

    events = list(Event.objects.order_by("id").values_list("action", "before", "after"))
    assert events == [
        (EventAction.CUSTOMER_MOVED, {"cluster": "prod-us"}, {"cluster": "staging"}),
        (EventAction.CUSTOMER_UPDATED, {"name": "customer-a"}, {"name": "Acme"}),
    ]


def test_br_m02_moving_keeps_the_customers_release_steps(world):
    customer = world.customers["customer-a"]
    release_activate(release=world.release, user=world.user)
    first = CustomerStep.objects.filter(release=world.release, customer=customer).order_by("id").first()
    customer_step_mark_done(step=first, user=world.user)
    steps_before = _steps_of(customer, world.release)

    customer_update(customer=customer, user=world.user, cluster=world.clusters["prod-eu"])

    assert _steps_of(customer, world.release) == steps_before
    assert (first.pk, first.template_id, StepStatus.DONE) in steps_before
    assert Enrollment.objects.filter(release=world.release, customer=customer).count() == 1


def test_br_m02_moving_to_a_deleted_cluster_is_refused(world):
    lab = cluster_delete(cluster=ClusterFactory(name="lab"), user=world.user)
    customer = world.customers["customer-a"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_update(customer=customer, user=world.user, cluster=lab)

    assert refused.value.message == CLUSTER_IS_DELETED.format(cluster="lab")
    assert refused.value.field == "cluster"
    assert Customer.objects.get(pk=customer.pk).cluster == world.clusters["prod-us"]
    assert _row_counts() == before


# --- BR-M01 namespace + cluster unique ------------------------------------------------------------------------


def test_br_m01_duplicate_namespace_on_the_same_cluster_refused(world):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_create(user=world.user, cluster=world.clusters["prod-us"], name="customer-f", namespace="cust-a-prod")

    assert refused.value.message == NAMESPACE_TAKEN.format(
        namespace="cust-a-prod", cluster="prod-us", other="customer-a"
    )
    assert refused.value.field == "namespace"
    assert _row_counts() == before


def test_br_m01_editing_into_a_taken_namespace_refused(world):
    customer = world.customers["customer-b"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_update(customer=customer, user=world.user, namespace="cust-a-prod")

    assert refused.value.message == NAMESPACE_TAKEN.format(
        namespace="cust-a-prod", cluster="prod-us", other="customer-a"
    )
    assert refused.value.field == "namespace"
    assert Customer.objects.get(pk=customer.pk).namespace == "cust-b-prod"
    assert _row_counts() == before


def test_br_m01_moving_onto_a_cluster_where_the_namespace_is_taken_refused(world):
    customer = world.customers["demo-customer"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_update(customer=customer, user=world.user, cluster=world.clusters["prod-us"], namespace="cust-a-prod")

    assert refused.value.message == NAMESPACE_TAKEN.format(
        namespace="cust-a-prod", cluster="prod-us", other="customer-a"
    )
    assert refused.value.field == "namespace"
    assert Customer.objects.get(pk=customer.pk).cluster == world.clusters["staging"]
    assert _row_counts() == before


def test_br_m01_same_namespace_on_another_cluster_is_fine(world):
    customer = customer_create(
        user=world.user, cluster=world.clusters["prod-eu"], name="customer-a-eu", namespace="cust-a-prod"
    )

    assert Customer.objects.filter(namespace="cust-a-prod").count() == 2
    assert customer.cluster == world.clusters["prod-eu"]


def test_br_m01_namespace_freed_by_an_archived_customer_can_be_reused(world):
    old = customer_delete(customer=world.customers["customer-a"], user=world.user)

    new = customer_create(
        user=world.user, cluster=world.clusters["prod-us"], name="customer-a2", namespace="cust-a-prod"
    )

    assert list(Customer.objects.filter(namespace="cust-a-prod")) == [new]
    assert Customer.all_objects.get(pk=old.pk).namespace == "cust-a-prod"


def test_br_m01_restore_refused_when_the_namespace_was_taken_meanwhile(world):
    old = customer_delete(customer=world.customers["customer-a"], user=world.user)
    customer_create(user=world.user, cluster=world.clusters["prod-us"], name="customer-a2", namespace="cust-a-prod")
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_restore(customer=old, user=world.user)

    assert refused.value.message == NAMESPACE_TAKEN.format(
        namespace="cust-a-prod", cluster="prod-us", other="customer-a2"
    )
    assert refused.value.field == "namespace"
    assert Customer.all_objects.get(pk=old.pk).is_deleted
    assert _row_counts() == before


# --- FM-003 / BR-M03 archive and restore ----------------------------------------------------------------------


def test_fm_003_br_m03_archive_is_a_soft_delete_that_keeps_steps_and_history(world):
    customer = world.customers["customer-a"]
    release_activate(release=world.release, user=world.user)
    steps_before = _steps_of(customer, world.release)
    events_before = set(Event.objects.filter(customer=customer).values_list("pk", flat=True))

    customer_delete(customer=customer, user=world.user)

    assert not Customer.objects.filter(pk=customer.pk).exists()
    assert customer not in world.clusters["prod-us"].customers.all()
    archived = Customer.all_objects.get(pk=customer.pk)
    assert archived.deleted_at is not None
    assert _steps_of(customer, world.release) == steps_before
    assert len(steps_before) == 3
    assert Enrollment.objects.filter(release=world.release, customer=customer).exists()
    events_after = Event.objects.filter(customer=customer)
    assert events_before < set(events_after.values_list("pk", flat=True))
    latest = events_after.latest("id")
    assert (latest.action, latest.actor_name) == (EventAction.CUSTOMER_DELETED, "rm")


def test_fm_003_archiving_an_archived_customer_is_refused(world):
    customer = customer_delete(customer=world.customers["customer-a"], user=world.user)
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_delete(customer=customer, user=world.user)

    assert refused.value.message == CUSTOMER_ALREADY_DELETED.format(name="customer-a")
    assert _row_counts() == before


def test_fm_003_restore_brings_an_archived_customer_back(world):
    customer = customer_delete(customer=world.customers["customer-a"], user=world.user)

    customer_restore(customer=customer, user=world.user)

    restored = Customer.objects.get(pk=customer.pk)
    assert restored.deleted_at is None
    assert restored.namespace == "cust-a-prod"
    event = Event.objects.latest("id")
    assert (event.action, event.customer, event.actor_name) == (EventAction.CUSTOMER_RESTORED, restored, "rm")


def test_fm_003_restoring_a_customer_that_is_not_archived_is_refused(world):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_restore(customer=world.customers["customer-a"], user=world.user)

    assert refused.value.message == CUSTOMER_NOT_DELETED.format(name="customer-a")
    assert _row_counts() == before


def test_fm_003_restore_refused_while_its_cluster_is_deleted(world):
    for name in ("customer-d", "customer-e"):
        customer_delete(customer=world.customers[name], user=world.user)
    cluster_delete(cluster=world.clusters["prod-eu"], user=world.user)
    customer = world.customers["customer-d"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        customer_restore(customer=customer, user=world.user)

    assert refused.value.message == CLUSTER_IS_DELETED.format(cluster="prod-eu")
    assert refused.value.field == "cluster"
    assert Customer.all_objects.get(pk=customer.pk).is_deleted
    assert _row_counts() == before


# --- BR-S06 new customers inherit -----------------------------------------------------------------------------


def test_br_s06_new_customer_joins_active_release_that_covers_all_customers(world):
    release_activate(release=world.release, user=world.user)

    customer = customer_create(user=world.user, cluster=world.clusters["prod-eu"], name="customer-f", namespace="f")

    assert Enrollment.objects.filter(release=world.release, customer=customer).exists()
    steps = CustomerStep.objects.filter(release=world.release, customer=customer)
    assert sorted(steps.values_list("template_id", flat=True)) == sorted(t.pk for t in world.templates)
    assert set(steps.values_list("status", "is_custom", "is_overridden")) == {(StepStatus.PENDING, False, False)}
    created = Event.objects.filter(action=EventAction.STEP_CREATED, customer=customer)
    assert set(created.values_list("customer_step_id", flat=True)) == set(steps.values_list("pk", flat=True))
    joined = Event.objects.get(action=EventAction.RELEASE_CUSTOMERS_ADDED)
    assert (joined.release, joined.after) == (world.release, {"customers": ["customer-f"], "steps_created": 3})


def test_br_s06_new_customer_inherits_template_steps_added_after_activation(world):
    release_activate(release=world.release, user=world.user)
    added = template_step_add(
        release=world.release, user=world.user, name="Flush cache", category="verify", type="bash", content="redis"
    )

    customer = customer_create(user=world.user, cluster=world.clusters["prod-eu"], name="customer-f", namespace="f")

    assert CustomerStep.objects.filter(release=world.release, customer=customer, template=added).count() == 1
    assert CustomerStep.objects.filter(release=world.release, customer=customer).count() == 4


def test_br_s06_release_activated_for_a_selection_does_not_gain_new_customers(world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["customer-a"]])

    customer = customer_create(user=world.user, cluster=world.clusters["prod-eu"], name="customer-f", namespace="f")

    assert not Enrollment.objects.filter(customer=customer).exists()
    assert not CustomerStep.objects.filter(customer=customer).exists()
    assert list(Event.objects.filter(customer=customer).values_list("action", flat=True)) == [
        EventAction.CUSTOMER_CREATED
    ]


def test_br_s06_inactive_new_customer_does_not_join(world):
    release_activate(release=world.release, user=world.user)

    customer = customer_create(
        user=world.user, cluster=world.clusters["prod-eu"], name="customer-f", namespace="f", is_active=False
    )

    assert not Enrollment.objects.filter(customer=customer).exists()
    assert not CustomerStep.objects.filter(customer=customer).exists()


def test_br_s06_reactivated_customer_joins_covering_release(world):
    customer = world.customers["customer-e"]
    customer_update(customer=customer, user=world.user, is_active=False)
    release_activate(release=world.release, user=world.user)
    assert not Enrollment.objects.filter(customer=customer).exists()

    customer_update(customer=customer, user=world.user, is_active=True)

    assert Enrollment.objects.filter(release=world.release, customer=customer).exists()
    assert [template for _pk, template, _status in _steps_of(customer, world.release)] == sorted(
        t.pk for t in world.templates
    )


def test_br_s06_reactivated_customer_already_in_the_release_gets_no_duplicate_steps(world):
    customer = world.customers["customer-e"]
    release_activate(release=world.release, user=world.user)
    first = CustomerStep.objects.filter(release=world.release, customer=customer).order_by("id").first()
    customer_step_mark_done(step=first, user=world.user)
    steps_before = _steps_of(customer, world.release)
    customer_update(customer=customer, user=world.user, is_active=False)

    customer_update(customer=customer, user=world.user, is_active=True)

    assert _steps_of(customer, world.release) == steps_before
    assert Enrollment.objects.filter(release=world.release, customer=customer).count() == 1
    assert not Event.objects.filter(action=EventAction.RELEASE_CUSTOMERS_ADDED).exists()


def test_br_s06_restored_customer_gets_only_the_steps_it_lacks(world):
    customer = world.customers["customer-e"]
    release_activate(release=world.release, user=world.user)
    first = CustomerStep.objects.filter(release=world.release, customer=customer).order_by("id").first()
    customer_step_mark_done(step=first, user=world.user)
    steps_before = _steps_of(customer, world.release)
    customer_delete(customer=customer, user=world.user)
    added = template_step_add(
        release=world.release, user=world.user, name="Flush cache", category="verify", type="bash", content="redis"
    )
    assert not CustomerStep.objects.filter(customer=customer, template=added).exists()

    customer_restore(customer=customer, user=world.user)

    steps_after = _steps_of(customer, world.release)
    assert steps_after[:3] == steps_before
    assert [(template, status) for _pk, template, status in steps_after[3:]] == [(added.pk, StepStatus.PENDING)]
    assert Enrollment.objects.filter(release=world.release, customer=customer).count() == 1
    joined = Event.objects.get(action=EventAction.RELEASE_CUSTOMERS_ADDED)
    assert joined.after == {"customers": [], "steps_created": 1}
