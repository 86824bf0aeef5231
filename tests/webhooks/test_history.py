"""Every change to a webhook is in the history, with who and when; never its secret nor its URL's path."""

import json

import pytest

from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from webhooks import services
from webhooks.models import Delivery, Subscription

SECRET_PATH = "/services/T000/B000/very-secret-path"


def _events(action) -> list[Event]:
    return list(Event.objects.filter(action=action).order_by("pk"))


def _all_text() -> str:
    return json.dumps(list(Event.objects.values("object_repr", "before", "after")))


def test_subscribing_records_who_the_name_the_host_and_the_events_never_the_secret_or_the_path(user, subscribe):
    subscription, secret = subscribe(f"https://hooks.example.com{SECRET_PATH}", events=["release.archived"])

    (event,) = _events(EventAction.WEBHOOK_CREATED)
    assert (event.actor, event.object_repr) == (user, f"Webhook {subscription.name}")
    assert event.after == {
        "name": "CI",
        "target": "https://hooks.example.com/…",
        "events": ["release.archived"],
        "format": "json",
    }
    assert secret not in _all_text() and SECRET_PATH not in _all_text()


def test_an_edit_records_what_changed_and_a_new_path_only_as_changed(user, subscribe):
    subscription, _ = subscribe(f"https://hooks.example.com{SECRET_PATH}")

    services.subscription_update(subscription=subscription, user=user, name="Slack #releases")
    services.subscription_update(subscription=subscription, user=user, target_url="https://hooks.example.com/other")

    renamed, moved = _events(EventAction.WEBHOOK_UPDATED)
    assert (renamed.before, renamed.after) == ({"name": "CI"}, {"name": "Slack #releases"})
    assert moved.after == {"target": "(the same host, another path)"}
    assert SECRET_PATH not in _all_text() and "/other" not in _all_text()


def test_deactivating_activating_and_redelivering_are_recorded(user, subscribe):
    subscription, _ = subscribe("https://hooks.example.com/x")
    delivery = Delivery.objects.create(
        subscription=subscription, event_type="release.archived", payload={}, status="failed"
    )

    services.subscription_set_active(subscription=subscription, active=False, user=user)
    services.subscription_set_active(subscription=subscription, active=True, user=user)
    services.delivery_redeliver(delivery=delivery, user=user)

    assert [event.after for event in _events(EventAction.WEBHOOK_DEACTIVATED)] == [{"active": False}]
    assert [event.after for event in _events(EventAction.WEBHOOK_ACTIVATED)] == [{"active": True}]
    (redelivered,) = _events(EventAction.WEBHOOK_REDELIVERED)
    assert redelivered.after == {"event": "release.archived", "event_id": str(delivery.event_id)}


def test_a_subscription_whose_history_cannot_be_written_is_not_made(user, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the history is unavailable")

    monkeypatch.setattr(services, "record_event", fail)

    with pytest.raises(RuntimeError):
        services.subscription_create(
            name="CI", target_url="https://ci.example.com/x", events=["release.archived"], user=user
        )

    assert not Subscription.objects.exists()


def test_a_second_webhook_of_the_same_name_is_refused_as_a_reload_of_the_form_would_make_it(user, subscribe):
    subscribe("https://hooks.example.com/x", name="Jenkins")

    with pytest.raises(DomainError, match="A webhook named jenkins already exists"):
        subscribe("https://hooks.example.com/x", name="jenkins")

    assert Subscription.objects.count() == 1
