"""Every change to customers: create, edit, move between clusters, archive (soft delete), restore."""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.permissions import ADD_CUSTOMER, CHANGE_CUSTOMER, DELETE_CUSTOMER, require
from clusters.models import Cluster
from core.errors import DomainError
from core.models import validate_or_refuse
from customers.models import Customer
from history.choices import EventAction
from history.services import apply_changes, record_event, snapshot

# A customer that becomes active joins the releases that cover everyone: the workflow offers this one module for it.
from steps.enrollment import join_covering_releases

NAMESPACE_TAKEN = "Namespace {namespace} on cluster {cluster} is already used by customer {other}."
CLUSTER_IS_DELETED = "Cluster {cluster} is deleted; choose another cluster or restore it first."
CUSTOMER_ALREADY_DELETED = "Customer {name} is already archived."
CUSTOMER_NOT_DELETED = "Customer {name} is not archived."

EDITABLE_FIELDS = ("cluster", "name", "namespace", "description", "is_active", "metadata")


def _refuse_taken_namespace(customer: Customer) -> None:
    other = (
        Customer.objects.filter(cluster_id=customer.cluster_id, namespace=customer.namespace)
        .exclude(pk=customer.pk)
        .first()
    )
    if other is not None:
        raise DomainError(
            NAMESPACE_TAKEN.format(namespace=customer.namespace, cluster=customer.cluster, other=other.name),
            field="namespace",
        )


def _refuse_deleted_cluster(cluster: Cluster) -> None:
    if Cluster.all_objects.filter(pk=cluster.pk, deleted_at__isnull=False).exists():
        raise DomainError(CLUSTER_IS_DELETED.format(cluster=cluster.name), field="cluster")


def _save(customer: Customer) -> None:
    _refuse_deleted_cluster(customer.cluster)
    _refuse_taken_namespace(customer)
    validate_or_refuse(customer)
    try:
        customer.save()
    except IntegrityError as error:  # a concurrent request took the namespace between the check and the write
        raise DomainError(
            NAMESPACE_TAKEN.format(namespace=customer.namespace, cluster=customer.cluster, other="another customer"),
            field="namespace",
        ) from error


@transaction.atomic
def customer_create(
    *,
    user,
    cluster: Cluster,
    name: str,
    namespace: str,
    description: str = "",
    is_active: bool = True,
    metadata=None,
) -> Customer:
    """Add a customer in a cluster's namespace (FM-001); namespace + cluster is unique (BR-M01).

    An active customer joins every active release that covers all customers (BR-S06: new customers inherit).
    """
    require(user, ADD_CUSTOMER)
    customer = Customer(
        cluster=cluster,
        name=name.strip(),
        namespace=namespace.strip(),
        description=description,
        is_active=is_active,
        metadata={} if metadata is None else metadata,
    )
    _save(customer)
    record_event(
        action=EventAction.CUSTOMER_CREATED,
        user=user,
        object_repr=customer.name,
        customer=customer,
        after=snapshot(customer, EDITABLE_FIELDS),
    )
    join_covering_releases(customers=Customer.objects.filter(pk=customer.pk), user=user)
    return customer


@transaction.atomic
def customer_update(*, customer: Customer, user, **changes) -> Customer:
    """Edit a customer (FM-002). A new cluster is a move (BR-M02), recorded as its own event; its steps stay."""
    require(user, CHANGE_CUSTOMER)
    customer = Customer.objects.select_for_update().select_related("cluster").get(pk=customer.pk)
    old, new = apply_changes(customer, changes, EDITABLE_FIELDS, strip=("name", "namespace"))
    if not new:
        return customer
    _save(customer)
    moved = "cluster" in new
    if moved:
        record_event(
            action=EventAction.CUSTOMER_MOVED,
            user=user,
            object_repr=customer.name,
            customer=customer,
            before={"cluster": old.pop("cluster")},
            after={"cluster": new.pop("cluster")},
        )
    if new:
        record_event(
            action=EventAction.CUSTOMER_UPDATED,
            user=user,
            object_repr=customer.name,
            customer=customer,
            before=old,
            after=new,
        )
    if new.get("is_active") is True or moved:
        join_covering_releases(customers=Customer.objects.filter(pk=customer.pk), user=user)
    return customer


@transaction.atomic
def customer_delete(*, customer: Customer, user) -> Customer:
    """Archive a customer (FM-003, BR-M03): it leaves every list but keeps its steps and history."""
    require(user, DELETE_CUSTOMER)
    customer = Customer.all_objects.select_for_update().get(pk=customer.pk)
    if customer.is_deleted:
        raise DomainError(CUSTOMER_ALREADY_DELETED.format(name=customer.name))
    customer.deleted_at = timezone.now()
    customer.save(update_fields=["deleted_at", "updated_at"])
    record_event(action=EventAction.CUSTOMER_DELETED, user=user, object_repr=customer.name, customer=customer)
    return customer


@transaction.atomic
def customer_restore(*, customer: Customer, user) -> Customer:
    """Bring an archived customer back; it catches up with releases that cover all customers."""
    require(user, DELETE_CUSTOMER)
    customer = Customer.all_objects.select_for_update().select_related("cluster").get(pk=customer.pk)
    if not customer.is_deleted:
        raise DomainError(CUSTOMER_NOT_DELETED.format(name=customer.name))
    customer.deleted_at = None
    _save(customer)
    record_event(action=EventAction.CUSTOMER_RESTORED, user=user, object_repr=customer.name, customer=customer)
    join_covering_releases(customers=Customer.objects.filter(pk=customer.pk), user=user)
    return customer
