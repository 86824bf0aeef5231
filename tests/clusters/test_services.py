"""Cluster services: create, edit, soft delete and restore (FC-001..FC-003, BR-C01, BR-C02), and what they do to
releases that cover all customers (BR-S06)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.models import Cluster
from clusters.services import (
    CLUSTER_ALREADY_DELETED,
    CLUSTER_HAS_ACTIVE_CUSTOMERS,
    CLUSTER_NAME_TAKEN,
    CLUSTER_NOT_DELETED,
    cluster_create,
    cluster_delete,
    cluster_restore,
    cluster_update,
)
from core.errors import DomainError
from customers.services import customer_delete, customer_update
from history.choices import EventAction
from history.models import Event
from releases.models import Enrollment
from releases.services import release_activate
from steps.models import CustomerStep
from tests.factories import ClusterFactory, CustomerFactory

pytestmark = pytest.mark.django_db


def _row_counts() -> dict[str, int]:
    return {
        "clusters": Cluster.all_objects.count(),
        "live clusters": Cluster.objects.count(),
        "events": Event.objects.count(),
        "steps": CustomerStep.all_objects.count(),
        "enrollments": Enrollment.objects.count(),
    }


# --- FC-001 create -------------------------------------------------------------------------------------------


def test_fc_001_create_cluster_strips_name_and_records_its_values(user):
    cluster = cluster_create(
        user=user,
        name="  prod-ap  ",
        kubeconfig_path=" ~/.kube/prod-ap-config ",
        description="Asia-Pacific production",
        metadata={"region": "ap-south-1"},
    )

    cluster.refresh_from_db()
    assert cluster.name == "prod-ap"
    assert cluster.kubeconfig_path == "~/.kube/prod-ap-config"
    assert cluster.is_active is True
    assert cluster.deleted_at is None
    event = Event.objects.get()
    assert event.action == EventAction.CLUSTER_CREATED
    assert event.cluster == cluster
    assert event.actor == user
    assert event.actor_name == "rm"
    assert event.object_repr == "prod-ap"
    assert event.before is None
    assert event.after == {
        "name": "prod-ap",
        "kubeconfig_path": "~/.kube/prod-ap-config",
        "description": "Asia-Pacific production",
        "is_active": True,
        "metadata": {"region": "ap-south-1"},
    }


def test_fc_001_create_cluster_without_optional_fields(user):
    cluster = cluster_create(user=user, name="staging-2")

    assert Cluster.objects.get(pk=cluster.pk).kubeconfig_path == ""
    assert cluster.metadata == {}


@pytest.mark.parametrize("metadata", [["us-east-1"], "us-east-1", 42])
def test_fc_001_metadata_that_is_not_a_json_object_is_refused(user, metadata):
    with pytest.raises(DomainError) as refused:
        cluster_create(user=user, name="prod-ap", metadata=metadata)

    assert refused.value.field == "metadata"
    assert "Metadata must be a JSON object" in refused.value.message
    assert Cluster.all_objects.count() == 0
    assert Event.objects.count() == 0


# --- FC-002 edit ---------------------------------------------------------------------------------------------


def test_fc_002_edit_records_only_changed_values(world):
    cluster = world.clusters["prod-us"]
    events_before = Event.objects.count()

    cluster_update(
        cluster=cluster,
        user=world.user,
        name=" prod-us-east ",
        description="US East production",
        kubeconfig_path=cluster.kubeconfig_path,
        metadata={"region": "us-east-1"},
    )

    cluster.refresh_from_db()
    assert cluster.name == "prod-us-east"
    assert cluster.description == "US East production"
    assert Event.objects.count() == events_before + 1
    event = Event.objects.latest("id")
    assert event.action == EventAction.CLUSTER_UPDATED
    assert event.cluster == cluster
    assert event.actor_name == "rm"
    assert event.before == {"name": "prod-us", "description": ""}
    assert event.after == {"name": "prod-us-east", "description": "US East production"}


def test_fc_002_edit_that_changes_nothing_writes_no_event(world):
    cluster = world.clusters["prod-us"]
    updated_at = cluster.updated_at

    cluster_update(cluster=cluster, user=world.user, name="  prod-us ", metadata={"region": "us-east-1"})

    cluster.refresh_from_db()
    assert cluster.updated_at == updated_at
    assert not Event.objects.exists()


def test_fc_002_edit_refuses_unknown_fields(world):
    with pytest.raises(TypeError, match="created_at"):
        cluster_update(cluster=world.clusters["prod-us"], user=world.user, created_at=None)


def test_fc_002_edit_refuses_metadata_that_is_a_json_list(world):
    cluster = world.clusters["prod-us"]

    with pytest.raises(DomainError) as refused:
        cluster_update(cluster=cluster, user=world.user, metadata=[{"region": "us-east-1"}])

    assert refused.value.field == "metadata"
    cluster.refresh_from_db()
    assert cluster.metadata == {"region": "us-east-1"}
    assert not Event.objects.exists()


def test_fc_002_inactive_cluster_is_not_deleted(world):
    cluster = world.clusters["staging"]

    cluster_update(cluster=cluster, user=world.user, is_active=False)

    assert Cluster.objects.filter(pk=cluster.pk, is_active=False).exists()
    cluster.refresh_from_db()
    assert cluster.deleted_at is None
    assert not cluster.is_deleted
    event = Event.objects.get()
    assert (event.action, event.before, event.after) == (
        EventAction.CLUSTER_UPDATED,
        {"is_active": True},
        {"is_active": False},
    )


# --- FC-003 soft delete, BR-C01 -----------------------------------------------------------------------------


def test_fc_003_delete_is_a_soft_delete_that_keeps_history(user):
    cluster = cluster_create(user=user, name="old-lab")
    cluster_update(cluster=cluster, user=user, description="to be retired")

    cluster_delete(cluster=cluster, user=user)

    assert not Cluster.objects.filter(pk=cluster.pk).exists()
    kept = Cluster.all_objects.get(pk=cluster.pk)
    assert kept.deleted_at is not None
    assert kept.is_deleted
    assert kept.name == "old-lab"
    assert list(Event.objects.filter(cluster=kept).order_by("id").values_list("action", flat=True)) == [
        EventAction.CLUSTER_CREATED,
        EventAction.CLUSTER_UPDATED,
        EventAction.CLUSTER_DELETED,
    ]


def test_fc_003_deleting_a_deleted_cluster_is_refused(user):
    cluster = cluster_delete(cluster=ClusterFactory(name="old-lab"), user=user)
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_delete(cluster=cluster, user=user)

    assert refused.value.message == CLUSTER_ALREADY_DELETED.format(name="old-lab")
    assert _row_counts() == before


def test_br_c01_delete_refused_while_active_customers_remain(world):
    cluster = world.clusters["prod-us"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_delete(cluster=cluster, user=world.user)

    assert refused.value.message == CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-us", count=3)
    assert refused.value.message.startswith("Cluster prod-us still has 3 active customer(s)")
    cluster.refresh_from_db()
    assert cluster.deleted_at is None
    assert _row_counts() == before


def test_br_c01_delete_refused_counts_only_active_customers(world):
    customer_update(customer=world.customers["customer-a"], user=world.user, is_active=False)
    customer_delete(customer=world.customers["customer-b"], user=world.user)

    with pytest.raises(DomainError) as refused:
        cluster_delete(cluster=world.clusters["prod-us"], user=world.user)

    assert refused.value.message == CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name="prod-us", count=1)


@pytest.mark.parametrize("leave", ["deactivate", "archive"])
def test_br_c01_delete_allowed_when_its_customers_are_inactive_or_archived(world, leave):
    cluster = world.clusters["prod-eu"]
    for name in ("customer-d", "customer-e"):
        if leave == "deactivate":
            customer_update(customer=world.customers[name], user=world.user, is_active=False)
        else:
            customer_delete(customer=world.customers[name], user=world.user)

    cluster_delete(cluster=cluster, user=world.user)

    assert Cluster.all_objects.get(pk=cluster.pk).is_deleted
    assert Event.objects.filter(action=EventAction.CLUSTER_DELETED, cluster=cluster).count() == 1


# --- BR-C02 unique name --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod-us", "PROD-US", " Prod-Us "])
def test_br_c02_duplicate_name_refused_case_insensitively(world, name):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_create(user=world.user, name=name)

    assert refused.value.message == CLUSTER_NAME_TAKEN.format(name=name.strip())
    assert refused.value.field == "name"
    assert _row_counts() == before


def test_br_c02_renaming_to_a_taken_name_refused(world):
    cluster = world.clusters["staging"]
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_update(cluster=cluster, user=world.user, name="Prod-EU", description="renamed")

    assert refused.value.message == CLUSTER_NAME_TAKEN.format(name="Prod-EU")
    assert refused.value.field == "name"
    cluster.refresh_from_db()
    assert (cluster.name, cluster.description) == ("staging", "")
    assert _row_counts() == before


def test_br_c02_changing_the_case_of_its_own_name_is_allowed(world):
    cluster = cluster_update(cluster=world.clusters["staging"], user=world.user, name="Staging")

    assert Cluster.objects.get(pk=cluster.pk).name == "Staging"


def test_br_c02_deleted_cluster_name_can_be_reused(user):
    old = cluster_delete(cluster=ClusterFactory(name="lab"), user=user)

    new = cluster_create(user=user, name="LAB")

    assert list(Cluster.objects.values_list("pk", flat=True)) == [new.pk]
    assert Cluster.all_objects.get(pk=old.pk).name == "lab"


def test_br_c02_restore_refused_when_the_name_was_taken_meanwhile(user):
    old = cluster_delete(cluster=ClusterFactory(name="lab"), user=user)
    cluster_create(user=user, name="Lab")
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_restore(cluster=old, user=user)

    assert refused.value.message == CLUSTER_NAME_TAKEN.format(name="lab")
    assert refused.value.field == "name"
    assert Cluster.all_objects.get(pk=old.pk).is_deleted
    assert _row_counts() == before


# --- restore -------------------------------------------------------------------------------------------------


def test_fc_003_restore_brings_a_deleted_cluster_back(user):
    cluster = cluster_create(user=user, name="lab", description="kept")
    cluster_delete(cluster=cluster, user=user)

    cluster_restore(cluster=cluster, user=user)

    restored = Cluster.objects.get(pk=cluster.pk)
    assert restored.deleted_at is None
    assert restored.description == "kept"
    event = Event.objects.latest("id")
    assert (event.action, event.cluster, event.actor_name) == (EventAction.CLUSTER_RESTORED, restored, "rm")


def test_fc_003_restoring_a_cluster_that_is_not_deleted_is_refused(world):
    before = _row_counts()

    with pytest.raises(DomainError) as refused:
        cluster_restore(cluster=world.clusters["staging"], user=world.user)

    assert refused.value.message == CLUSTER_NOT_DELETED.format(name="staging")
    assert _row_counts() == before


# --- BR-S06: re-activating a cluster brings its customers into covering releases ------------------------------


def test_br_s06_reactivating_a_cluster_brings_its_active_customers_in(world):
    prod_us = world.clusters["prod-us"]
    cluster_update(cluster=prod_us, user=world.user, is_active=False)
    customer_update(customer=world.customers["customer-c"], user=world.user, is_active=False)
    release_activate(release=world.release, user=world.user)
    assert not Enrollment.objects.filter(customer__cluster=prod_us).exists()

    cluster_update(cluster=prod_us, user=world.user, is_active=True)

    enrolled = set(
        Enrollment.objects.filter(release=world.release, customer__cluster=prod_us).values_list(
            "customer__name", flat=True
        )
    )
    assert enrolled == {"customer-a", "customer-b"}
    template_ids = sorted(t.pk for t in world.templates)
    for name in ("customer-a", "customer-b"):
        steps = CustomerStep.objects.filter(release=world.release, customer=world.customers[name])
        assert sorted(steps.values_list("template_id", flat=True)) == template_ids
    assert not CustomerStep.objects.filter(customer=world.customers["customer-c"]).exists()
    joined = Event.objects.get(action=EventAction.RELEASE_CUSTOMERS_ADDED)
    assert joined.after == {"customers": ["customer-a", "customer-b"], "steps_created": 6}


def test_br_s06_deactivating_and_reactivating_a_cluster_adds_no_duplicate_steps(world):
    prod_eu = world.clusters["prod-eu"]
    release_activate(release=world.release, user=world.user)
    steps_before = set(CustomerStep.objects.values_list("pk", flat=True))

    cluster_update(cluster=prod_eu, user=world.user, is_active=False)
    cluster_update(cluster=prod_eu, user=world.user, is_active=True)

    assert set(CustomerStep.objects.values_list("pk", flat=True)) == steps_before
    assert not Event.objects.filter(action=EventAction.RELEASE_CUSTOMERS_ADDED).exists()


def _queries_to_reactivate(cluster, user) -> int:
    with CaptureQueriesContext(connection) as queries:
        cluster_update(cluster=cluster, user=user, is_active=True)
    return len(queries)


def test_br_s06_reactivating_a_cluster_takes_as_many_queries_for_many_customers_as_for_few(world):
    small, large = ClusterFactory(is_active=False), ClusterFactory(is_active=False)
    CustomerFactory(cluster=small)
    CustomerFactory.create_batch(12, cluster=large)
    release_activate(release=world.release, user=world.user)

    assert _queries_to_reactivate(large, world.user) == _queries_to_reactivate(small, world.user)
    assert CustomerStep.objects.filter(customer__cluster=large).count() == 12 * 3
