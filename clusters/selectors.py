"""Reading clusters: the list with their customers (FC-004), and where a cluster's customers stand (FV-006)."""

from dataclasses import dataclass

from django.db.models import Count, Prefetch, Q, QuerySet

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepStatus
from steps.models import CustomerStep


def clusters_with_customers() -> QuerySet[Cluster]:
    """Clusters that are not deleted, by name, each with `.customer_list`: its customers that are not archived."""
    return Cluster.objects.order_by("name").prefetch_related(
        Prefetch("customers", queryset=Customer.objects.order_by("name", "pk"), to_attr="customer_list")
    )


@dataclass(frozen=True)
class ReleaseCell:
    """One customer in one active release: whether it is in it, and how many of its steps there are done."""

    release: Release
    enrolled: bool
    total: int = 0
    done: int = 0

    @property
    def percent(self) -> float | None:
        """done / total * 100 (spec §8.2); None when the customer has no step in the release."""
        return 100 * self.done / self.total if self.total else None


@dataclass(frozen=True)
class CustomerReleaseRow:
    """A customer of the cluster and its cell in each active release, in the order of the releases."""

    customer: Customer
    cells: list[ReleaseCell]


def cluster_release_status(cluster: Cluster) -> tuple[list[Release], list[CustomerReleaseRow]]:
    """The active releases, and every customer of `cluster` (archived ones left out) with its progress in each.

    Four queries whatever the number of customers: customers, active releases, enrollments, and one aggregate of
    the step counts per (customer, release).
    """
    customers = list(Customer.objects.filter(cluster=cluster).order_by("name", "pk"))
    releases = list(Release.objects.filter(status=ReleaseStatus.ACTIVE).order_by("-activated_at", "-pk"))
    in_cluster = {"customer__cluster": cluster, "customer__deleted_at__isnull": True}
    enrolled = set(
        Enrollment.objects.filter(release__status=ReleaseStatus.ACTIVE, **in_cluster).values_list(
            "customer_id", "release_id"
        )
    )
    counts = {
        (row["customer_id"], row["release_id"]): (row["total"], row["done"])
        for row in CustomerStep.objects.filter(release__status=ReleaseStatus.ACTIVE, **in_cluster)
        .values("customer_id", "release_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status=StepStatus.DONE)))
        .order_by()
    }
    rows = [
        CustomerReleaseRow(
            customer=customer,
            cells=[
                ReleaseCell(
                    release,
                    (customer.pk, release.pk) in enrolled,
                    *counts.get((customer.pk, release.pk), (0, 0)),
                )
                for release in releases
            ],
        )
        for customer in customers
    ]
    return releases, rows
