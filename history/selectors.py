"""Reading the history."""

from django.db.models import QuerySet

from history.models import Event


def events_for_customer_step(customer_step) -> QuerySet[Event]:
    """The history of one customer step, oldest first, as the side panel shows it."""
    return Event.objects.filter(customer_step=customer_step).select_related("actor").order_by("occurred_at", "id")


def recent_events(*, limit: int = 20) -> QuerySet[Event]:
    """The latest changes everywhere, newest first, with what the dashboard needs to show and link them."""
    return Event.objects.select_related("release", "customer", "cluster", "customer_step").order_by(
        "-occurred_at", "-id"
    )[:limit]
