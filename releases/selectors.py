"""Reading releases: progress (spec §8.2) and which releases are finished."""

from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q, QuerySet

from customers.models import Customer
from customers.selectors import eligible_customers
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepCategory, StepStatus
from steps.models import CustomerStep, StepTemplate

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


def overall_progress_by_release(releases) -> dict[int, float | None]:
    """Overall progress (average of the customers' done / total) of several releases, from one aggregate query."""
    rows = (
        CustomerStep.objects.filter(release__in=releases, customer__deleted_at__isnull=True)
        .values("release_id", "customer_id")
        .annotate(total=Count("id"), done=Count("id", filter=Q(status=StepStatus.DONE)))
        .order_by()
    )
    percents: dict[int, list[float]] = defaultdict(list)
    for row in rows:
        percents[row["release_id"]].append(100 * row["done"] / row["total"])
    return {release.pk: _average(percents.get(release.pk, [])) for release in releases}


def releases_with_progress() -> list[Release]:
    """Every release, newest first, each with `.progress`: the overall percentage of an active release, else None."""
    releases = list(Release.objects.all())
    progress = overall_progress_by_release([release for release in releases if release.status == ReleaseStatus.ACTIVE])
    for release in releases:
        release.progress = progress.get(release.pk)
    return releases


def template_steps_by_category(release: Release) -> dict[str, list[StepTemplate]]:
    """The release's template steps that are not deleted, in order, per category (every category present)."""
    steps: dict[str, list[StepTemplate]] = {category: [] for category in StepCategory.values}
    for template_step in StepTemplate.objects.filter(release=release).order_by("category", "order_index", "id"):
        steps[template_step.category].append(template_step)
    return steps


def outstanding_step_count(release: Release) -> int:
    """How many steps of the release's current (not archived) customers are still pending or reverted."""
    return CustomerStep.objects.filter(
        release=release, status__in=OUTSTANDING, customer__deleted_at__isnull=True
    ).count()


def template_step_delete_impact(template_step: StepTemplate) -> tuple[int, int]:
    """What deleting a template step does (FS-004), from one aggregate query: how many of its customer steps go with
    it (pending and not overridden) and how many are kept (done, skipped, reverted or overridden)."""
    follows = Q(status=StepStatus.PENDING, is_overridden=False)
    counts = CustomerStep.objects.filter(template=template_step).aggregate(
        removed=Count("id", filter=follows), kept=Count("id", filter=~follows)
    )
    return counts["removed"], counts["kept"]


def template_step_follower_count(template_step: StepTemplate) -> int:
    """How many customer steps an edit of this template step reaches: those still pending and not overridden."""
    removed, _kept = template_step_delete_impact(template_step)
    return removed


def customers_to_enroll(release: Release) -> QuerySet[Customer]:
    """The customers Activate and Add customers offer: active, in an active cluster, not yet in the release; with
    their cluster, ordered by cluster then name so that they group by cluster."""
    return (
        eligible_customers()
        .exclude(enrollments__release=release)
        .select_related("cluster")
        .order_by("cluster__name", "cluster_id", "name", "id")
    )
