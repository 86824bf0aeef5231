"""The history record: each cluster and customer service writes exactly its event(s), naming the actor (or
"system"); events are never rewritten by later changes; a customer step's history reads oldest first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from clusters.services import cluster_create, cluster_delete, cluster_restore, cluster_update
from customers.services import customer_create, customer_delete, customer_restore, customer_update
from history.choices import EventAction
from history.models import SYSTEM_ACTOR, Event
from history.selectors import events_for_customer_step
from history.services import record_event
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_revert, customer_step_skip

pytestmark = pytest.mark.django_db


def _archive_staging_customers(world):
    customer_delete(customer=world.customers["demo-customer"], user=None)


def _delete_staging(world):
    _archive_staging_customers(world)
    cluster_delete(cluster=world.clusters["staging"], user=None)


def _archive_customer_a(world):
    customer_delete(customer=world.customers["customer-a"], user=None)


# (what to set up first, the change whose events are checked, the events it must write)
CHANGES = {
    "create cluster": (None, lambda w, u: cluster_create(user=u, name="prod-ap"), [EventAction.CLUSTER_CREATED]),
    "edit cluster": (
        None,
        lambda w, u: cluster_update(cluster=w.clusters["staging"], user=u, description="demos"),
        [EventAction.CLUSTER_UPDATED],
    ),
    "delete cluster": (
        _archive_staging_customers,
        lambda w, u: cluster_delete(cluster=w.clusters["staging"], user=u),
        [EventAction.CLUSTER_DELETED],
    ),
    "restore cluster": (
        _delete_staging,
        lambda w, u: cluster_restore(cluster=w.clusters["staging"], user=u),
        [EventAction.CLUSTER_RESTORED],
    ),
    "create customer": (
        None,
        lambda w, u: customer_create(user=u, cluster=w.clusters["prod-us"], name="customer-f", namespace="cust-f"),
        [EventAction.CUSTOMER_CREATED],
    ),
    "edit customer": (
        None,
        lambda w, u: customer_update(customer=w.customers["customer-a"], user=u, description="big"),
        [EventAction.CUSTOMER_UPDATED],
    ),
    "move customer": (
        None,
        lambda w, u: customer_update(customer=w.customers["customer-a"], user=u, cluster=w.clusters["prod-eu"]),
        [EventAction.CUSTOMER_MOVED],
    ),
    "move and rename customer": (
        None,
        lambda w, u: customer_update(
            customer=w.customers["customer-a"], user=u, cluster=w.clusters["prod-eu"], name="Acme"
        ),
        [EventAction.CUSTOMER_MOVED, EventAction.CUSTOMER_UPDATED],
    ),
    "archive customer": (
        None,
        lambda w, u: customer_delete(customer=w.customers["customer-a"], user=u),
        [EventAction.CUSTOMER_DELETED],
    ),
    "restore customer": (
        _archive_customer_a,
        lambda w, u: customer_restore(customer=w.customers["customer-a"], user=u),
        [EventAction.CUSTOMER_RESTORED],
    ),
}


@pytest.mark.parametrize("change_name", CHANGES)
@pytest.mark.parametrize("as_user", [True, False], ids=["user", "system"])
def test_each_service_writes_exactly_its_events_naming_the_actor(world, change_name, as_user):
    prepare, change, actions = CHANGES[change_name]
    if prepare is not None:
        prepare(world)
    already_written = set(Event.objects.values_list("pk", flat=True))
    user = world.user if as_user else None

    change(world, user)

    events = list(Event.objects.exclude(pk__in=already_written).order_by("id"))
    assert [event.action for event in events] == actions
    for event in events:
        assert event.actor == user
        assert event.actor_name == ("rm" if as_user else SYSTEM_ACTOR)


def test_bulk_written_step_events_name_system_when_no_user_acts(world):
    release_activate(release=world.release, user=None)

    created = Event.objects.filter(action=EventAction.STEP_CREATED)
    assert created.count() == CustomerStep.objects.count() == 6 * 3
    assert set(created.values_list("actor", "actor_name")) == {(None, SYSTEM_ACTOR)}


def test_bulk_written_step_events_name_the_user(world):
    release_activate(release=world.release, user=world.user)

    created = Event.objects.filter(action=EventAction.STEP_CREATED)
    assert set(created.values_list("actor", "actor_name")) == {(world.user.pk, "rm")}


def test_later_edits_never_change_an_earlier_event(world):
    cluster = cluster_create(user=world.user, name="prod-ap", description="first")
    cluster_update(cluster=cluster, user=world.user, description="second")
    first_edit = Event.objects.get(action=EventAction.CLUSTER_UPDATED)

    cluster_update(cluster=cluster, user=world.user, description="third", name="prod-apac")
    cluster_delete(cluster=cluster, user=world.user)

    first_edit.refresh_from_db()
    assert (first_edit.before, first_edit.after) == ({"description": "first"}, {"description": "second"})
    assert first_edit.object_repr == "prod-ap"
    created = Event.objects.get(action=EventAction.CLUSTER_CREATED)
    assert created.after["name"] == "prod-ap"
    assert created.after["description"] == "first"


def test_move_event_keeps_the_cluster_names_of_its_time(world):
    customer = world.customers["customer-a"]
    customer_update(customer=customer, user=world.user, cluster=world.clusters["prod-eu"])

    cluster_update(cluster=world.clusters["prod-us"], user=world.user, name="prod-us-old")
    cluster_update(cluster=world.clusters["prod-eu"], user=world.user, name="prod-eu-west")
    customer_update(customer=customer, user=world.user, name="Acme")

    moved = Event.objects.get(action=EventAction.CUSTOMER_MOVED)
    assert (moved.before, moved.after) == ({"cluster": "prod-us"}, {"cluster": "prod-eu"})
    assert moved.object_repr == "customer-a"


def test_step_history_is_not_rewritten_by_later_transitions(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(customer=world.customers["customer-a"]).order_by("id").first()
    evidence = customer_step_mark_done(step=step, user=world.user, notes="ran at 10:30").evidence_sha256
    done = Event.objects.get(action=EventAction.STEP_DONE)

    customer_step_revert(step=step, user=world.user, notes="rolled back")
    customer_step_skip(step=step, user=world.user, reason="not needed after all")

    done.refresh_from_db()
    assert done.before == {"status": "pending", "notes": "", "evidence_sha256": ""}
    assert done.after == {"status": "done", "notes": "ran at 10:30", "evidence_sha256": evidence}


def test_events_for_customer_step_returns_oldest_first(world, django_assert_num_queries):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(customer=world.customers["customer-a"]).order_by("id").first()
    other = CustomerStep.objects.filter(customer=world.customers["customer-b"]).order_by("id").first()
    customer_step_mark_done(step=step, user=world.user)
    customer_step_mark_done(step=other, user=world.user)
    customer_step_revert(step=step, user=None)
    customer_step_skip(step=step, user=world.user, reason="done by hand")

    with django_assert_num_queries(1):
        history = [
            (event.action, event.actor.username if event.actor else None) for event in events_for_customer_step(step)
        ]

    assert history == [
        (EventAction.STEP_CREATED, "rm"),
        (EventAction.STEP_DONE, "rm"),
        (EventAction.STEP_REVERTED, None),
        (EventAction.STEP_SKIPPED, "rm"),
    ]


def test_events_for_customer_step_orders_by_when_it_happened_not_by_when_it_was_written(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(customer=world.customers["customer-a"]).order_by("id").first()
    created_at = Event.objects.get(customer_step=step).occurred_at
    earlier = record_event(
        action=EventAction.STEP_NOTES_CHANGED,
        user=world.user,
        object_repr="customer-a: Deploy app",
        customer_step=step,
        when=created_at - timedelta(minutes=5),
        after={"notes": "prepared"},
    )
    later = record_event(
        action=EventAction.STEP_DONE,
        user=world.user,
        object_repr="customer-a: Deploy app",
        customer_step=step,
        when=timezone.now() + timedelta(minutes=5),
    )

    history = list(events_for_customer_step(step))

    assert [event.pk for event in history] == [earlier.pk, history[1].pk, later.pk]
    assert history[1].action == EventAction.STEP_CREATED
