"""Events reach a real HTTP receiver on 127.0.0.1 through the task queue: signed, retried with backoff, never sent
for a change rolled back, and without any query when nobody listens."""

import json
import time

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from core.errors import DomainError
from releases.services import release_activate, release_archive
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip, customer_steps_bulk_transition
from tests.queue import run_due_tasks
from variables.services import variable_create
from webhooks import services
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery
from webhooks.signing import SIGNATURE_HEADER, signature, verify


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    return world


def _step(world, customer="customer-a", name="Deploy app") -> CustomerStep:
    return CustomerStep.objects.get(release=world.release, customer=world.customers[customer], name=name)


def test_a_step_marked_done_reaches_the_receiver_signed_with_the_subscription_secret(active, receiver, subscribe):
    _, secret = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    step = _step(active)

    customer_step_mark_done(step=step, user=active.user, notes="ok")
    assert receiver.requests == []  # never inside the request: the worker sends it
    assert run_due_tasks() == 1

    [request] = receiver.requests
    assert verify(secret, request["body"], request["headers"][SIGNATURE_HEADER], now=int(time.time()))
    assert not verify("whsec_other", request["body"], request["headers"][SIGNATURE_HEADER], now=int(time.time()))
    payload = json.loads(request["body"])
    assert payload["type"] == "step.status_changed"
    assert payload["actor"]["username"] == "rm"
    assert payload["release"] == {
        "id": active.release.pk,
        "name": "v2.5.0",
        "version_number": "v2.5.0",
        "status": "active",
    }
    assert payload["customer"]["name"] == "customer-a" and payload["customer"]["cluster"]["name"] == "prod-us"
    assert (payload["step"]["id"], payload["step"]["name"]) == (step.pk, "Deploy app")
    assert (payload["step"]["status_before"], payload["step"]["status"]) == ("pending", "done")
    assert request["headers"]["X-Rollcall-Event"] == "step.status_changed"
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.response_code, delivery.attempts) == (DeliveryStatus.DELIVERED, 200, 1)
    assert str(delivery.event_id) == payload["id"] == request["headers"]["X-Rollcall-Event-Id"]


def test_an_old_or_tampered_signature_does_not_verify():
    body = b'{"type":"release.activated"}'
    header = signature("whsec_s", body, 1_700_000_000)
    assert verify("whsec_s", body, header, now=1_700_000_100)
    assert not verify("whsec_s", body, header, now=1_700_000_000 + 301)  # a replay, five minutes later
    assert not verify("whsec_s", body + b" ", header, now=1_700_000_100)
    assert not verify("whsec_s", body, "t=x,v1=00", now=1_700_000_100)


def test_a_500_is_retried_with_exponential_backoff_until_delivered(active, receiver, subscribe, clock):
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    receiver.codes = [500, 503]
    customer_step_mark_done(step=_step(active), user=active.user)

    assert run_due_tasks() == 1
    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, 500)
    assert delivery.last_error == "HTTP 500"
    assert (delivery.next_attempt_at - clock.now).total_seconds() == 30

    clock.advance(seconds=29)
    assert run_due_tasks() == 0  # not before its time
    clock.advance(seconds=1)
    assert run_due_tasks() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 2, 503)
    assert (delivery.next_attempt_at - clock.now).total_seconds() == 60  # 30 s x 2

    clock.advance(seconds=60)
    assert run_due_tasks() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.DELIVERED, 3, 200)
    assert len(receiver.requests) == 3
    assert len({request["body"] for request in receiver.requests}) == 1  # the same event each time


def test_a_delivery_fails_after_the_limit_of_attempts(active, receiver, subscribe, clock, monkeypatch):
    monkeypatch.setenv("ROLLCALL_WEBHOOK_MAX_ATTEMPTS", "3")
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    receiver.codes = [500] * 10
    customer_step_mark_done(step=_step(active), user=active.user)

    for _ in range(5):
        run_due_tasks()
        clock.advance(hours=1)

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == (DeliveryStatus.FAILED, 3, None)
    assert len(receiver.requests) == 3


def test_a_receiver_that_is_down_loses_nothing(active, subscribe, clock):
    subscribe("http://127.0.0.1:9/nobody-listens", events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)

    run_due_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_code) == (DeliveryStatus.PENDING, 1, None)
    assert delivery.last_error.startswith("Could not connect")
    assert DBTaskResult.objects.filter(status="READY").count() == 1  # the next attempt, queued


def test_a_change_rolled_back_sends_nothing(active, receiver, subscribe):
    subscribe(receiver.url)

    with pytest.raises(RuntimeError), transaction.atomic():
        customer_step_mark_done(step=_step(active), user=active.user)
        assert Delivery.objects.count() == 1  # queued in the change's own transaction…
        raise RuntimeError("the change fails after the step was marked")

    assert Delivery.objects.count() == 0  # …and gone with it
    assert run_due_tasks() == 0
    assert receiver.requests == []


def test_slack_format_posts_one_line_of_text(active, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED], format="slack")
    customer_step_skip(step=_step(active), user=active.user, reason="not needed here")

    run_due_tasks()

    [payload] = receiver.payloads()
    assert payload == {"text": "customer-a (prod-us) · Deploy app: pending → skipped in v2.5.0, by rm"}
    assert SIGNATURE_HEADER in receiver.requests[0]["headers"]


def test_a_subscription_hears_only_its_events(active, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.RELEASE_ARCHIVED])
    customer_step_mark_done(step=_step(active), user=active.user)

    release_archive(release=active.release, user=active.user)
    run_due_tasks()

    assert [payload["type"] for payload in receiver.payloads()] == ["release.archived"]
    assert receiver.payloads()[0]["release"]["status_before"] == "active"


def test_release_activated_event(world, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.RELEASE_ACTIVATED])
    release_activate(release=world.release, user=world.user)
    run_due_tasks()
    [payload] = receiver.payloads()
    assert (payload["type"], payload["release"]["name"], payload["release"]["status"]) == (
        "release.activated",
        "v2.5.0",
        "active",
    )


def test_a_customer_completing_a_category_and_then_the_release_is_announced(active, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.CATEGORY_COMPLETED, EventType.RELEASE_COMPLETED])
    customer_step_mark_done(step=_step(active), user=active.user)
    run_due_tasks()
    assert receiver.requests == []  # one deploy step of customer-a is still pending

    customer_step_skip(step=_step(active, name="Run migration"), user=active.user, reason="none")
    run_due_tasks()
    [payload] = receiver.payloads()
    assert (payload["type"], payload["customer"]["name"], payload["category"]) == (
        "customer.category_completed",
        "customer-a",
        "deploy",
    )

    rest = list(CustomerStep.objects.filter(release=active.release, status=StepStatus.PENDING))
    customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions={step.pk: None for step in rest},
        action="mark_done",
        user=active.user,
    )
    run_due_tasks()
    types = [payload["type"] for payload in receiver.payloads()[1:]]
    # 6 customers x 2 categories, less customer-a's deploy, then the release itself.
    assert types == ["customer.category_completed"] * 11 + ["release.completed"]


def test_a_bulk_action_queues_one_task_for_all_its_deliveries(active, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    steps = list(CustomerStep.objects.filter(release=active.release, category="deploy"))

    customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions={step.pk: None for step in steps},
        action="skip",
        user=active.user,
        reason="n/a",
    )

    assert Delivery.objects.count() == len(steps) == 12
    assert DBTaskResult.objects.count() == 1
    run_due_tasks()
    assert sorted(payload["step"]["id"] for payload in receiver.payloads()) == sorted(step.pk for step in steps)


def test_a_variable_change_names_the_variable_never_its_value(world, receiver, subscribe, monkeypatch):
    from core import crypto

    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    subscribe(receiver.url, events=[EventType.VARIABLE_CHANGED])

    variable_create(
        owner=world.customers["customer-a"],
        key="DB_PASSWORD",
        value="hunter2-secret",
        is_sensitive=True,
        user=world.user,
    )
    run_due_tasks()

    [request] = receiver.requests
    assert b"hunter2-secret" not in request["body"]
    variable = json.loads(request["body"])["variable"]
    assert variable == {
        "key": "DB_PASSWORD",
        "action": "added",
        "is_sensitive": True,
        "owner": {"type": "customer", "id": world.customers["customer-a"].pk, "name": "customer-a"},
    }


def test_nobody_listening_costs_no_query_and_queues_nothing(active, django_assert_num_queries):
    services.heard_events()  # the cache knows there is no subscription

    with django_assert_num_queries(0):
        assert services.notify(EventType.STEP_STATUS_CHANGED, lambda: pytest.fail("built for nobody")) == []

    customer_step_mark_done(step=_step(active), user=active.user)
    assert Delivery.objects.count() == 0 and DBTaskResult.objects.count() == 0


def test_a_new_subscription_is_heard_at_once_and_a_deactivated_one_no_more(active, receiver, subscribe):
    subscription, _ = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    assert EventType.STEP_STATUS_CHANGED in services.heard_events()

    services.subscription_set_active(subscription=subscription, active=False, user=active.user)

    assert services.heard_events() == frozenset()
    customer_step_mark_done(step=_step(active), user=active.user)
    assert Delivery.objects.count() == 0


def test_a_redelivery_sends_the_same_event_again_as_a_new_delivery(active, receiver, subscribe):
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)
    run_due_tasks()
    first = Delivery.objects.get()

    again = services.delivery_redeliver(delivery=first, user=active.user)
    run_due_tasks()

    assert again.pk != first.pk and again.redelivery_of == first
    first.refresh_from_db()
    again.refresh_from_db()
    assert first.status == again.status == DeliveryStatus.DELIVERED
    assert [payload["id"] for payload in receiver.payloads()] == [str(first.event_id)] * 2


def test_a_delivery_already_sent_is_not_sent_again_by_a_second_task(active, receiver, subscribe):
    from webhooks.tasks import deliver

    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)
    deliver.enqueue([Delivery.objects.get().pk])  # the same delivery queued twice

    assert run_due_tasks() == 2
    assert len(receiver.requests) == 1


def test_a_change_through_an_api_token_names_it_in_the_actor(active, receiver, subscribe):
    from history.context import acting_via

    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    with acting_via("API token 'jenkins'"):
        customer_step_mark_done(step=_step(active), user=active.user)
    customer_step_mark_done(step=_step(active, name="Run migration"), user=active.user)
    run_due_tasks()

    actors = sorted((payload["step"]["name"], payload["actor"]["via"]) for payload in receiver.payloads())
    assert actors == [("Deploy app", "API token 'jenkins'"), ("Run migration", None)]


def test_a_delivery_waiting_when_its_subscription_is_deactivated_is_not_sent(active, receiver, subscribe):
    subscription, _ = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)
    services.subscription_set_active(subscription=subscription, active=False, user=active.user)

    run_due_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (
        DeliveryStatus.FAILED,
        0,
        "Not sent: the subscription was deactivated.",
    )
    assert receiver.requests == []
    with pytest.raises(DomainError, match="is inactive: activate it to send a delivery again"):
        services.delivery_redeliver(delivery=delivery, user=active.user)


def test_a_secret_that_cant_be_decrypted_fails_the_attempt_and_releases_the_claim(
    active, receiver, subscribe, monkeypatch, clock
):
    from core import crypto

    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())  # the key was replaced, not rotated

    run_due_tasks()

    delivery = Delivery.objects.get()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)  # retried later, not stuck "sending"
    assert delivery.last_error.startswith("Not sent: the signing secret can't be decrypted")
    assert receiver.requests == []


def test_a_delivery_left_behind_by_a_dead_worker_is_sent_after_the_lease(active, receiver, subscribe, clock):
    from webhooks.tasks import _claim

    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    customer_step_mark_done(step=_step(active), user=active.user)
    first = Delivery.objects.get()
    _claim(first.pk)  # a worker claims it…
    DBTaskResult.objects.update(status="RUNNING")  # …and dies while sending: its task never finishes

    clock.advance(minutes=4)
    customer_step_mark_done(step=_step(active, name="Run migration"), user=active.user)
    run_due_tasks()
    assert [payload["step"]["name"] for payload in receiver.payloads()] == ["Run migration"]  # within the lease

    clock.advance(minutes=2)
    customer_step_mark_done(step=_step(active, name="Health check"), user=active.user)
    run_due_tasks()

    assert sorted(payload["step"]["name"] for payload in receiver.payloads()) == [
        "Deploy app",
        "Health check",
        "Run migration",
    ]
    first.refresh_from_db()
    assert (first.status, first.attempts) == (DeliveryStatus.DELIVERED, 1)


def test_a_second_task_for_a_delivery_waiting_for_its_retry_does_not_send_it_early(active, receiver, subscribe, clock):
    from webhooks.tasks import deliver

    subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    receiver.codes = [500]
    customer_step_mark_done(step=_step(active), user=active.user)
    run_due_tasks()

    deliver.enqueue([Delivery.objects.get().pk])  # due now, while the delivery waits 30 s
    assert run_due_tasks() == 1
    assert len(receiver.requests) == 1
    clock.advance(seconds=30)
    run_due_tasks()
    assert len(receiver.requests) == 2 and Delivery.objects.get().status == DeliveryStatus.DELIVERED
