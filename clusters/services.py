"""Every change to clusters: create, edit, delete (soft), restore."""

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.permissions import ADD_CLUSTER, CHANGE_CLUSTER, DELETE_CLUSTER, require
from clusters.models import Cluster
from core.errors import DomainError
from core.models import validate_or_refuse
from history.choices import EventAction
from history.services import apply_changes, record_event, snapshot

# A customer that becomes active joins the releases that cover everyone: the workflow offers this one module for it.
from steps.enrollment import join_covering_releases

CLUSTER_NAME_TAKEN = "A cluster named {name} already exists."
CLUSTER_HAS_ACTIVE_CUSTOMERS = "Cluster {name} still has {count} active customer(s); move or archive them first."
CLUSTER_ALREADY_DELETED = "Cluster {name} is already deleted."
CLUSTER_NOT_DELETED = "Cluster {name} is not deleted."

EDITABLE_FIELDS = ("name", "kubeconfig_path", "description", "is_active", "metadata")


def _refuse_taken_name(cluster: Cluster) -> None:
    taken = Cluster.objects.annotate(lower_name=Lower("name")).filter(lower_name=cluster.name.lower())
    if cluster.pk:
        taken = taken.exclude(pk=cluster.pk)
    if taken.exists():
        raise DomainError(CLUSTER_NAME_TAKEN.format(name=cluster.name), field="name")


def _save(cluster: Cluster) -> None:
    _refuse_taken_name(cluster)
    validate_or_refuse(cluster)
    try:
        cluster.save()
    except IntegrityError as error:  # a concurrent request took the name between the check and the write
        raise DomainError(CLUSTER_NAME_TAKEN.format(name=cluster.name), field="name") from error


@transaction.atomic
def cluster_create(
    *, user, name: str, kubeconfig_path: str = "", description: str = "", is_active: bool = True, metadata=None
) -> Cluster:
    """Add a Kubernetes cluster (FC-001). Its name must be unique among clusters that are not deleted (BR-C02)."""
    require(user, ADD_CLUSTER)
    cluster = Cluster(
        name=name.strip(),
        kubeconfig_path=kubeconfig_path.strip(),
        description=description,
        is_active=is_active,
        metadata={} if metadata is None else metadata,
    )
    _save(cluster)
    record_event(
        action=EventAction.CLUSTER_CREATED,
        user=user,
        object_repr=cluster.name,
        cluster=cluster,
        after=snapshot(cluster, EDITABLE_FIELDS),
    )
    return cluster


@transaction.atomic
def cluster_update(*, cluster: Cluster, user, **changes) -> Cluster:
    """Edit a cluster (FC-002). Re-activating it brings its active customers into releases that cover everyone."""
    require(user, CHANGE_CLUSTER)
    cluster = Cluster.objects.select_for_update().get(pk=cluster.pk)
    old, new = apply_changes(cluster, changes, EDITABLE_FIELDS, strip=("name", "kubeconfig_path"))
    if not new:
        return cluster
    _save(cluster)
    record_event(
        action=EventAction.CLUSTER_UPDATED, user=user, object_repr=cluster.name, cluster=cluster, before=old, after=new
    )
    if new.get("is_active") is True:
        join_covering_releases(customers=cluster.customers.all(), user=user)
    return cluster


@transaction.atomic
def cluster_delete(*, cluster: Cluster, user) -> Cluster:
    """Soft-delete a cluster (FC-003): refused while it has active customers (BR-C01). Its history stays."""
    require(user, DELETE_CLUSTER)
    cluster = Cluster.all_objects.select_for_update().get(pk=cluster.pk)
    if cluster.is_deleted:
        raise DomainError(CLUSTER_ALREADY_DELETED.format(name=cluster.name))
    active = cluster.customers.filter(is_active=True).count()
    if active:
        raise DomainError(CLUSTER_HAS_ACTIVE_CUSTOMERS.format(name=cluster.name, count=active))
    cluster.deleted_at = timezone.now()
    cluster.save(update_fields=["deleted_at", "updated_at"])
    record_event(action=EventAction.CLUSTER_DELETED, user=user, object_repr=cluster.name, cluster=cluster)
    return cluster


@transaction.atomic
def cluster_restore(*, cluster: Cluster, user) -> Cluster:
    """Bring a deleted cluster back, unless another cluster took its name meanwhile."""
    require(user, DELETE_CLUSTER)
    cluster = Cluster.all_objects.select_for_update().get(pk=cluster.pk)
    if not cluster.is_deleted:
        raise DomainError(CLUSTER_NOT_DELETED.format(name=cluster.name))
    cluster.deleted_at = None
    _save(cluster)
    record_event(action=EventAction.CLUSTER_RESTORED, user=user, object_repr=cluster.name, cluster=cluster)
    if cluster.is_active:
        join_covering_releases(customers=cluster.customers.all(), user=user)
    return cluster
