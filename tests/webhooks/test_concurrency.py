"""Two workers never deliver one event twice: they run at the same moment against a real database (each thread its
own connection), with every delivery queued twice."""

import pytest

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_steps_bulk_transition
from tests.queue import batch_worker
from tests.races import at_once
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery
from webhooks.tasks import attempt_delivery, deliver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _deliveries_queued_twice(world, receiver, subscribe) -> list[int]:
    release_activate(release=world.release, user=world.user)
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    steps = CustomerStep.objects.filter(release=world.release)
    customer_steps_bulk_transition(
        release=world.release,
        steps_with_versions={step.pk: None for step in steps},
        action="mark_done",
        user=world.user,
    )
    ids = list(Delivery.objects.values_list("pk", flat=True))
    for pk in ids:  # the bulk action queued them in one task; each is queued once more on its own
        deliver.enqueue([pk])
    return ids


def test_two_workers_running_the_queue_at_once_send_each_delivery_once(world, receiver, subscribe):
    ids = _deliveries_queued_twice(world, receiver, subscribe)

    outcomes = at_once(batch_worker("worker-1").run, batch_worker("worker-2").run)

    assert outcomes == [None, None]
    sent = sorted(int(request["headers"]["X-Rollcall-Delivery"]) for request in receiver.requests)
    assert sent == sorted(ids) and len(ids) == 18
    assert set(Delivery.objects.values_list("status", "attempts")) == {(DeliveryStatus.DELIVERED, 1)}


def test_two_workers_claiming_one_delivery_at_the_same_moment_send_it_once(world, receiver, subscribe):
    [first, *_] = _deliveries_queued_twice(world, receiver, subscribe)

    outcomes = at_once(*[lambda: attempt_delivery(first)] * 4)

    assert sorted(outcomes) == ["delivered", "skipped", "skipped", "skipped"]
    assert len(receiver.requests) == 1
