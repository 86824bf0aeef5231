"""Reading customers."""

from django.db.models import Count, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast, NullIf

from customers.models import Customer
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.models import Enrollment
from steps.choices import StepStatus
from steps.models import CustomerStep

# How the customers list can be sorted (spec §8.3); the first is the default, the spec's grouping by cluster.
# Progress puts the customers furthest behind first, and those with no step in an active release last.
CUSTOMER_ORDERINGS = {
    "cluster": ("cluster__name", "name", "pk"),
    "name": ("name", "cluster__name", "pk"),
    "progress": (F("progress").asc(nulls_last=True), "cluster__name", "name", "pk"),
}

CUSTOMER_EVENTS = [action for action in EventAction if action.value.startswith("customer.")]


def eligible_customers() -> QuerySet[Customer]:
    """Customers a release is activated for: active, not archived, in an active cluster that is not deleted."""
    return Customer.objects.filter(is_active=True, cluster__is_active=True, cluster__deleted_at__isnull=True)


def customers_with_progress() -> QuerySet[Customer]:
    """Customers that are not archived, with their cluster, sorted by cluster then name, each annotated with
    `steps_total` and `steps_done` (its steps in active releases) and `progress`: done / total * 100 over all
    those steps together (spec §8.2 per customer), None when it has no step in an active release."""
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
        .order_by(*CUSTOMER_ORDERINGS["cluster"])
    )


def customer_release_history(customer: Customer) -> list[Enrollment]:
    """Every release the customer is in, newest first, each with the customer's `steps_total`, `steps_done` and
    `steps_skipped` in it, and `progress`: done / total * 100 (spec §8.2), None when it has no step there.

    Two queries whatever the number of releases: the enrollments and one aggregate of the customer's steps.
    """
    enrollments = list(
        Enrollment.objects.filter(customer=customer)
        .select_related("release")
        .order_by("-release__created_at", "-release_id")
    )
    counts = {
        row["release_id"]: (row["total"], row["done"], row["skipped"])
        for row in CustomerStep.objects.filter(customer=customer)
        .values("release_id")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(status=StepStatus.DONE)),
            skipped=Count("id", filter=Q(status=StepStatus.SKIPPED)),
        )
        .order_by()
    }
    for enrollment in enrollments:
        total, done, skipped = counts.get(enrollment.release_id, (0, 0, 0))
        enrollment.steps_total, enrollment.steps_done, enrollment.steps_skipped = total, done, skipped
        enrollment.progress = 100 * done / total if total else None
    return enrollments


def customer_events(customer: Customer, *, limit: int = 20) -> QuerySet[Event]:
    """The latest changes to the customer itself (created, edited, moved, archived, restored), newest first."""
    return Event.objects.filter(customer=customer, action__in=CUSTOMER_EVENTS).order_by("-occurred_at", "-id")[:limit]
