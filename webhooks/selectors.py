"""Reads of the webhook pages: the subscriptions with their delivery counts, and one subscription's delivery log."""

from django.db.models import Count, Max, Q, QuerySet

from webhooks.choices import DeliveryStatus
from webhooks.models import Delivery, Subscription


def subscriptions_with_counts() -> QuerySet[Subscription]:
    """Every subscription, active first, each with `delivered`, `waiting` (pending or sending) and `failed` counts
    and `last_event_at`: one query however many deliveries."""
    return (
        Subscription.objects.select_related("created_by")
        .annotate(
            delivered=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.DELIVERED)),
            waiting=Count(
                "deliveries", filter=Q(deliveries__status__in=[DeliveryStatus.PENDING, DeliveryStatus.SENDING])
            ),
            failed=Count("deliveries", filter=Q(deliveries__status=DeliveryStatus.FAILED)),
            last_event_at=Max("deliveries__created_at"),
        )
        .order_by("-is_active", "name", "pk")
    )


def delivery_log(subscription: Subscription) -> QuerySet[Delivery]:
    """The deliveries of one subscription, newest first (a page of them at a time)."""
    return Delivery.objects.filter(subscription=subscription).order_by("-created_at", "-id")
