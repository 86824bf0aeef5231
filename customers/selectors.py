"""Reading customers."""

from django.db.models import QuerySet

from customers.models import Customer


def eligible_customers() -> QuerySet[Customer]:
    """Customers a release is activated for: active, not archived, in an active cluster that is not deleted."""
    return Customer.objects.filter(is_active=True, cluster__is_active=True, cluster__deleted_at__isnull=True)
