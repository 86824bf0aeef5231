"""The database holds the invariants itself: writes that bypass the services still cannot break them.

Each refused write runs in its own `transaction.atomic()` so that the IntegrityError rolls back only that write.
"""

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from clusters.models import Cluster
from customers.models import Customer
from history.models import Event
from releases.models import Release
from steps.models import CustomerStep, StepTemplate
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


# --- BR-C02: cluster names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["prod-us", "PROD-US", "Prod-Us"])
def test_br_c02_database_refuses_a_second_live_cluster_with_the_same_name(name):
    Cluster.objects.create(name="prod-us")

    with pytest.raises(IntegrityError), transaction.atomic():
        Cluster.objects.create(name=name)

    assert Cluster.all_objects.count() == 1


def test_br_c02_database_lets_a_deleted_cluster_share_a_live_cluster_name():
    Cluster.objects.create(name="prod-us", deleted_at=timezone.now())
    Cluster.objects.create(name="prod-us", deleted_at=timezone.now())

    live = Cluster.objects.create(name="prod-us")

    assert Cluster.all_objects.filter(name="prod-us").count() == 3
    assert list(Cluster.objects.all()) == [live]


def test_br_c02_database_refuses_undeleting_a_cluster_whose_name_is_taken():
    deleted = Cluster.objects.create(name="prod-us", deleted_at=timezone.now())
    Cluster.objects.create(name="Prod-US")

    with pytest.raises(IntegrityError), transaction.atomic():
        Cluster.all_objects.filter(pk=deleted.pk).update(deleted_at=None)

    assert Cluster.all_objects.get(pk=deleted.pk).is_deleted


# --- BR-M01: namespace + cluster ------------------------------------------------------------------------------


def test_br_m01_database_refuses_a_second_live_customer_in_the_same_namespace():
    cluster = ClusterFactory()
    CustomerFactory(cluster=cluster, namespace="cust-a-prod")

    with pytest.raises(IntegrityError), transaction.atomic():
        Customer.objects.create(cluster=cluster, name="customer-a2", namespace="cust-a-prod")

    assert Customer.all_objects.count() == 1


def test_br_m01_database_allows_the_namespace_on_another_cluster_or_after_archiving():
    prod_us, prod_eu = ClusterFactory(), ClusterFactory()
    archived = CustomerFactory(cluster=prod_us, namespace="cust-a-prod", deleted_at=timezone.now())

    CustomerFactory(cluster=prod_us, namespace="cust-a-prod")
    CustomerFactory(cluster=prod_eu, namespace="cust-a-prod")

    assert Customer.all_objects.filter(namespace="cust-a-prod").count() == 3
    assert Customer.all_objects.get(pk=archived.pk).is_deleted


# --- unknown enum values --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("type", "deployment"), ("status", "finished")],
)
def test_database_refuses_an_unknown_release_type_or_status(field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(name="v9.0.0", version_number="v9.0.0", **{field: value})

    assert not Release.objects.exists()


def test_fr_001_database_refuses_a_release_of_type_release_without_version_number():
    with pytest.raises(IntegrityError), transaction.atomic():
        Release.objects.create(name="v9.0.0", type="release", version_number="")

    assert not Release.objects.exists()


@pytest.mark.parametrize(("field", "value"), [("category", "rollback"), ("type", "python")])
def test_database_refuses_an_unknown_template_step_category_or_type(field, value):
    release = ReleaseFactory()
    values = {"category": "deploy", "type": "bash", field: value}

    with pytest.raises(IntegrityError), transaction.atomic():
        StepTemplate.objects.create(release=release, name="Deploy", content="helm upgrade", **values)

    assert not StepTemplate.all_objects.exists()


@pytest.fixture
def template_step():
    return StepTemplateFactory(category="deploy", type="bash")


def _customer_step(template_step, **values) -> CustomerStep:
    fields = {
        "release": template_step.release,
        "customer": CustomerFactory(),
        "template": template_step,
        "anchor": template_step,
        "name": template_step.name,
        "category": template_step.category,
        "type": template_step.type,
        "content": template_step.content,
        **values,
    }
    return CustomerStep.objects.create(**fields)


def test_database_accepts_a_well_formed_customer_step(template_step):
    step = _customer_step(template_step, status="skipped", skip_reason="customer opted out")

    assert CustomerStep.objects.get(pk=step.pk).status == "skipped"


@pytest.mark.parametrize(
    ("field", "value"),
    [("status", "failed"), ("category", "rollback"), ("type", "python")],
)
def test_database_refuses_an_unknown_customer_step_status_category_or_type(template_step, field, value):
    with pytest.raises(IntegrityError), transaction.atomic():
        _customer_step(template_step, **{field: value})

    assert not CustomerStep.all_objects.exists()


def test_br_s03_database_refuses_a_skipped_step_without_reason(template_step):
    with pytest.raises(IntegrityError), transaction.atomic():
        _customer_step(template_step, status="skipped", skip_reason="")

    assert not CustomerStep.all_objects.exists()


def test_br_s03_database_refuses_clearing_the_reason_of_a_skipped_step(template_step):
    step = _customer_step(template_step, status="skipped", skip_reason="customer opted out")

    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerStep.objects.filter(pk=step.pk).update(skip_reason="")

    assert CustomerStep.objects.get(pk=step.pk).skip_reason == "customer opted out"


def test_database_refuses_an_unknown_event_action():
    with pytest.raises(IntegrityError), transaction.atomic():
        Event.objects.create(
            occurred_at=timezone.now(), actor_name="system", action="cluster.exploded", object_repr="x"
        )

    assert not Event.objects.exists()
