"""Reading clusters: the list with their customers (FC-004). Where a cluster's customers stand in releases
(FV-006) is progress: steps.progress.cluster_release_status."""

from django.db.models import Prefetch, QuerySet

from clusters.models import Cluster
from customers.models import Customer


def clusters_with_customers() -> QuerySet[Cluster]:
    """Clusters that are not deleted, by name, each with `.customer_list`: its customers that are not archived."""
    return Cluster.objects.order_by("name").prefetch_related(
        Prefetch("customers", queryset=Customer.objects.order_by("name", "pk"), to_attr="customer_list")
    )
