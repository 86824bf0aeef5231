"""The worker's periodic sweep (runs.tasks.sweep): a webhook delivery a dead worker left behind is sent again within
a sweep of the lease, even when nothing else is ever queued; a run a dead worker left is ended as lost; the sweep
queues its own next turn, once."""

from datetime import timedelta

import pytest
from django_tasks_db.models import DBTaskResult

from releases.services import release_activate
from runs.tasks import schedule_sweep, sweep
from steps.models import CustomerStep
from steps.services.execution import customer_step_mark_done
from tests.queue import run_due_tasks
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery
from webhooks.tasks import _claim

pytestmark = pytest.mark.django_db


def _waiting_sweeps():
    return DBTaskResult.objects.filter(task_path=sweep.module_path, status="READY")


def test_a_delivery_left_by_a_dead_worker_is_sent_by_the_sweep_with_nothing_else_queued(
    world, receiver, subscribe, clock, settings
):
    release_activate(release=world.release, user=world.user)
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    step = CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])
    customer_step_mark_done(step=step, user=world.user)
    delivery = Delivery.objects.get()
    _claim(delivery.pk)  # a worker claims it…
    DBTaskResult.objects.update(status="RUNNING")  # …and dies while sending: its task never finishes

    assert schedule_sweep(delay=timedelta(0))  # what a worker does when it starts
    assert not schedule_sweep(delay=timedelta(0))  # one sweep waits at a time
    run_due_tasks()
    assert receiver.requests == []  # within the lease: the worker may still be sending it
    assert _waiting_sweeps().count() == 1  # the next turn, a minute later

    clock.advance(seconds=settings.ROLLCALL_SWEEP_SECONDS * 6)  # past the lease (300 s)
    run_due_tasks()  # the sweep, then the delivery it queued again
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.DELIVERED and len(receiver.requests) == 1
    assert _waiting_sweeps().count() == 1
