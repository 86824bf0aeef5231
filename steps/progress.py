"""Progress, as spec §8.2 defines it, for every screen: done ÷ total per customer (a skipped step counts in the
total), the average of its customers per cluster, the average of all customers overall, each per category too.

Beside the percentage, "complete" (issue 9, "Finished"): nothing pending or reverted, every step done or skipped, so a
customer with one skipped step of ten is complete at 90 %. A cluster or the release is complete when the counts of its
customers added together are: no customer has anything left. Completeness has the scope of the percentage it sits
beside: per category where the screen shows one category (a matrix tab, a checklist section), every category
together where it shows the whole release (release list, dashboard, "Ready to archive"): a release is complete only
when no step of any category is pending or reverted, as `archive_releases` requires.

Every count is an aggregate query over customer steps; nothing here loads steps one by one.
"""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, ExpressionWrapper, FloatField, Q, QuerySet
from django.db.models.functions import Cast, NullIf

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepStatus
from steps.models import CustomerStep

ALL_CATEGORIES = None  # the key for "every category together"
# The aggregates every count below is made of.
COUNTS = {
    "total": Count("id"),
    "done": Count("id", filter=Q(status=StepStatus.DONE)),
    "skipped": Count("id", filter=Q(status=StepStatus.SKIPPED)),
}


def percent(done: int, total: int) -> float | None:
    """done / total * 100 (spec §8.2); None when there is no step to count."""
    return 100 * done / total if total else None


@dataclass(frozen=True)
class StepCounts:
    """How many steps there are, and how many are done or skipped."""

    total: int = 0
    done: int = 0
    skipped: int = 0

    def __add__(self, other: "StepCounts") -> "StepCounts":
        return StepCounts(self.total + other.total, self.done + other.done, self.skipped + other.skipped)

    @classmethod
    def of(cls, steps) -> "StepCounts":
        """The counts of steps already loaded (a customer's checklist shows them all anyway)."""
        steps = list(steps)
        return cls(
            total=len(steps),
            done=sum(step.status == StepStatus.DONE for step in steps),
            skipped=sum(step.status == StepStatus.SKIPPED for step in steps),
        )

    @property
    def percent(self) -> float | None:
        return percent(self.done, self.total)

    @property
    def complete(self) -> bool:
        """Nothing pending or reverted: every step done or skipped (and there is at least one step)."""
        return bool(self.total) and self.done + self.skipped == self.total


def _average(percents) -> float | None:
    known = [value for value in percents if value is not None]
    return sum(known) / len(known) if known else None


@dataclass
class ReleaseProgress:
    """Progress of one release: per customer, per cluster (average of its customers), overall (average of all
    customers), each for one category or, with category None, for all steps together."""

    counts: dict[int, dict[str | None, StepCounts]] = field(default_factory=dict)
    cluster_of: dict[int, int] = field(default_factory=dict)

    def customer(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> StepCounts:
        return self.counts.get(customer_id, {}).get(category, StepCounts())

    def customer_percent(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> float | None:
        return self.customer(customer_id, category).percent

    def cluster_percent(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> float | None:
        return _average(
            self.customer_percent(customer_id, category)
            for customer_id, cluster in self.cluster_of.items()
            if cluster == cluster_id
        )

    def overall_percent(self, category: str | None = ALL_CATEGORIES) -> float | None:
        return _average(self.customer_percent(customer_id, category) for customer_id in self.cluster_of)

    def customer_complete(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> bool:
        return self.customer(customer_id, category).complete

    def cluster_complete(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> bool:
        customers = [customer_id for customer_id, cluster in self.cluster_of.items() if cluster == cluster_id]
        return sum((self.customer(customer_id, category) for customer_id in customers), StepCounts()).complete

    def overall_complete(self, category: str | None = ALL_CATEGORIES) -> bool:
        return sum((self.customer(customer_id, category) for customer_id in self.cluster_of), StepCounts()).complete


def release_progress(release: Release) -> ReleaseProgress:
    """Progress of a release over its customers that are not archived, from two aggregate queries."""
    progress = ReleaseProgress()
    progress.cluster_of = dict(
        Enrollment.objects.filter(release=release, customer__deleted_at__isnull=True).values_list(
            "customer_id", "customer__cluster_id"
        )
    )
    rows = (
        CustomerStep.objects.filter(release=release, customer__deleted_at__isnull=True)
        .values("customer_id", "category")
        .annotate(**COUNTS)
        .order_by()
    )
    counts: dict[int, dict[str | None, StepCounts]] = defaultdict(dict)
    for row in rows:
        category_counts = StepCounts(row["total"], row["done"], row["skipped"])
        of_customer = counts[row["customer_id"]]
        of_customer[row["category"]] = category_counts
        of_customer[ALL_CATEGORIES] = of_customer.get(ALL_CATEGORIES, StepCounts()) + category_counts
    progress.counts = dict(counts)
    return progress


@dataclass(frozen=True)
class OverallProgress:
    """A whole release at a glance: its overall percentage (spec §8.2) and whether it is complete (every category)."""

    percent: float | None = None
    complete: bool = False


def overall_by_release(releases) -> dict[int, OverallProgress]:
    """Overall progress and completeness of several releases, from one aggregate query."""
    rows = (
        CustomerStep.objects.filter(release__in=releases, customer__deleted_at__isnull=True)
        .values("release_id", "customer_id")
        .annotate(**COUNTS)
        .order_by()
    )
    percents: dict[int, list[float | None]] = defaultdict(list)
    totals: dict[int, StepCounts] = defaultdict(StepCounts)
    for row in rows:
        percents[row["release_id"]].append(percent(row["done"], row["total"]))
        totals[row["release_id"]] += StepCounts(row["total"], row["done"], row["skipped"])
    return {
        release.pk: OverallProgress(_average(percents.get(release.pk, [])), totals[release.pk].complete)
        for release in releases
    }


def overall_progress_by_release(releases) -> dict[int, float | None]:
    """Overall progress (average of the customers' done / total) of several releases, from one aggregate query."""
    return {pk: overall.percent for pk, overall in overall_by_release(releases).items()}


def customers_with_progress() -> QuerySet[Customer]:
    """Customers that are not archived, with their cluster, each annotated with `steps_total` and `steps_done` (its
    steps in active releases) and `progress`: done / total * 100 over all those steps together (spec §8.2 per
    customer), None when it has no step in an active release. In SQL, so that the list can sort by it."""
    in_active_release = Q(steps__release__status=ReleaseStatus.ACTIVE, steps__deleted_at__isnull=True)
    return (
        Customer.objects.select_related("cluster")
        .annotate(
            steps_total=Count("steps", filter=in_active_release),
            steps_done=Count("steps", filter=in_active_release & Q(steps__status=StepStatus.DONE)),
        )
        .annotate(
            progress=ExpressionWrapper(
                Cast("steps_done", FloatField()) * 100 / NullIf("steps_total", 0), output_field=FloatField()
            )
        )
        .order_by("cluster__name", "name", "pk")
    )


def annotate_customers_progress(customers: list[Customer]) -> list[Customer]:
    """Give each of `customers` (a page of the customers list) the `steps_total`, `steps_done` and `progress` that
    customers_with_progress annotates, from one aggregate query over their steps only."""
    counts = {
        row["customer_id"]: row
        for row in CustomerStep.objects.filter(customer__in=customers, release__status=ReleaseStatus.ACTIVE)
        .values("customer_id")
        .annotate(total=COUNTS["total"], done=COUNTS["done"])
        .order_by()
    }
    for customer in customers:
        row = counts.get(customer.pk, {"total": 0, "done": 0})
        customer.steps_total, customer.steps_done = row["total"], row["done"]
        customer.progress = percent(row["done"], row["total"])
    return customers


def customer_release_history(customer: Customer) -> list[Enrollment]:
    """Every release the customer is in, newest first, each with `.counts`: the customer's StepCounts in it.

    Two queries whatever the number of releases: the enrollments and one aggregate of the customer's steps.
    """
    enrollments = list(
        Enrollment.objects.filter(customer=customer)
        .select_related("release")
        .order_by("-release__created_at", "-release_id")
    )
    counts = {
        row["release_id"]: StepCounts(row["total"], row["done"], row["skipped"])
        for row in CustomerStep.objects.filter(customer=customer).values("release_id").annotate(**COUNTS).order_by()
    }
    for enrollment in enrollments:
        enrollment.counts = counts.get(enrollment.release_id, StepCounts())
    return enrollments


@dataclass(frozen=True)
class ReleaseCell:
    """One customer in one active release: whether it is in it, and its step counts there."""

    release: Release
    enrolled: bool
    counts: StepCounts = StepCounts()


@dataclass(frozen=True)
class CustomerReleaseRow:
    """A customer of the cluster and its cell in each active release, in the order of the releases."""

    customer: Customer
    cells: list[ReleaseCell]


@dataclass(frozen=True)
class ClusterReleaseTotal:
    """The cluster's customers together in one active release: the average of their percentages, and whether all of
    them are complete."""

    release: Release
    percent: float | None
    complete: bool


def cluster_release_status(
    cluster: Cluster,
) -> tuple[list[Release], list[CustomerReleaseRow], list[ClusterReleaseTotal]]:
    """The active releases, every customer of `cluster` (archived ones left out) with its progress in each, and the
    cluster's total in each (from the same counts).

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
        (row["customer_id"], row["release_id"]): StepCounts(row["total"], row["done"], row["skipped"])
        for row in CustomerStep.objects.filter(release__status=ReleaseStatus.ACTIVE, **in_cluster)
        .values("customer_id", "release_id")
        .annotate(**COUNTS)
        .order_by()
    }
    rows = [
        CustomerReleaseRow(
            customer=customer,
            cells=[
                ReleaseCell(
                    release,
                    (customer.pk, release.pk) in enrolled,
                    counts.get((customer.pk, release.pk), StepCounts()),
                )
                for release in releases
            ],
        )
        for customer in customers
    ]
    totals = []
    for index, release in enumerate(releases):
        cells = [row.cells[index] for row in rows if row.cells[index].enrolled]
        totals.append(
            ClusterReleaseTotal(
                release,
                _average(cell.counts.percent for cell in cells),
                sum((cell.counts for cell in cells), StepCounts()).complete,
            )
        )
    return releases, rows, totals
