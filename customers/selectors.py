"""Reading customers."""

from django.db.models import Count, F, QuerySet

from customers.models import Customer
from history.choices import EventAction
from history.models import Event

# How the customers list can be sorted (spec §8.3); the first is the default, the spec's grouping by cluster.
# Progress puts the customers furthest behind first, and those with no step in an active release last.
CUSTOMER_ORDERINGS = {
    "cluster": ("cluster__name", "name", "pk"),
    "name": ("name", "cluster__name", "pk"),
    "progress": (F("progress").asc(nulls_last=True), "cluster__name", "name", "pk"),
}

# Customers on one page of the list: a screenful or two, as many as a person reads before narrowing the filter.
CUSTOMER_PAGE_SIZE = 100

# The changes to the customer itself, its variables included (the history already masks sensitive values).
CUSTOMER_EVENTS = [action for action in EventAction if action.value.startswith(("customer.", "variable."))]


def eligible_customers() -> QuerySet[Customer]:
    """Customers a release is activated for: active, not archived, in an active cluster that is not deleted."""
    return Customer.objects.filter(is_active=True, cluster__is_active=True, cluster__deleted_at__isnull=True)


def customer_events(customer: Customer, *, limit: int = 20) -> QuerySet[Event]:
    """The latest changes to the customer itself (created, edited, moved, archived, restored, its variables), newest
    first."""
    return Event.objects.filter(customer=customer, action__in=CUSTOMER_EVENTS).order_by("-occurred_at", "-id")[:limit]


def customers_per_cluster(clusters=None) -> dict[int, int]:
    """How many customers (not archived) each cluster has, of `clusters` when given: one aggregate query. The customers
    list heads each cluster's group with it and counts its pages from it."""
    customers = Customer.objects.filter(cluster__in=clusters) if clusters else Customer.objects.all()
    return dict(customers.values_list("cluster_id").annotate(count=Count("id")).order_by())
