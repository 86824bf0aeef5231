"""What the dashboard shows (FV-001): active releases, clusters, quick stats, recent activity."""

from django.db.models import Count, Q

from clusters.models import Cluster
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.progress import overall_progress_by_release


def active_releases_with_progress() -> list[Release]:
    """Active releases, newest first, each with `.progress`: its overall percentage (None before any step)."""
    releases = list(Release.objects.filter(status=ReleaseStatus.ACTIVE).order_by("-activated_at", "-id"))
    progress = overall_progress_by_release(releases)
    for release in releases:
        release.progress = progress[release.pk]
    return releases


def clusters_with_customer_counts():
    """Clusters that are not deleted, with `.customer_count`: their customers that are not archived."""
    return Cluster.objects.annotate(
        customer_count=Count("customers", filter=Q(customers__deleted_at__isnull=True))
    ).order_by("name")


def step_status_counts() -> dict[str, int]:
    """How many steps of active releases are pending, done, skipped and reverted (archived customers left out)."""
    counts = dict.fromkeys(StepStatus.values, 0)
    rows = (
        CustomerStep.objects.filter(release__status=ReleaseStatus.ACTIVE, customer__deleted_at__isnull=True)
        .values_list("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    counts.update(dict(rows))
    return counts
