"""Reading releases: progress (spec §8.2) and which releases are finished."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepStatus
from steps.models import CustomerStep

ALL_CATEGORIES = None  # the key for "every category together"
OUTSTANDING = (StepStatus.PENDING, StepStatus.REVERTED)


@dataclass(frozen=True)
class StepCounts:
    """How many of a customer's steps there are, and how many are done or skipped."""

    total: int = 0
    done: int = 0
    skipped: int = 0

    def __add__(self, other: "StepCounts") -> "StepCounts":
        return StepCounts(self.total + other.total, self.done + other.done, self.skipped + other.skipped)

    @property
    def percent(self) -> float | None:
        """done / total * 100 (spec §8.2); None when there is no step to count."""
        return None if self.total == 0 else 100 * self.done / self.total


def _average(percents) -> float | None:
    known = [percent for percent in percents if percent is not None]
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
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(status=StepStatus.DONE)),
            skipped=Count("id", filter=Q(status=StepStatus.SKIPPED)),
        )
        .order_by()
    )
    counts: dict[int, dict[str | None, StepCounts]] = defaultdict(dict)
    for row in rows:
        category_counts = StepCounts(row["total"], row["done"], row["skipped"])
        counts[row["customer_id"]][row["category"]] = category_counts
        counts[row["customer_id"]][ALL_CATEGORIES] = (
            counts[row["customer_id"]].get(ALL_CATEGORIES, StepCounts()) + category_counts
        )
    progress.counts = dict(counts)
    return progress


def releases_ready_to_archive() -> QuerySet[Release]:
    """Active releases in which no step of a current customer is pending or reverted."""
    outstanding = CustomerStep.objects.filter(status__in=OUTSTANDING, customer__deleted_at__isnull=True)
    return Release.objects.filter(status=ReleaseStatus.ACTIVE).exclude(pk__in=outstanding.values("release_id"))
