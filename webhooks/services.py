"""Every change to webhooks: subscribe a URL, edit, deactivate or reactivate it, redeliver; and `notify`, which the
services where events happen call, once each, inside their transaction.

`notify` costs no query when no active subscription hears the event: the event types that active subscriptions
hear are kept in the default cache (a file cache every process of the host shares), keyed by database, and set
again after each change to a subscription. When one does, it writes a Delivery per subscription and event and
enqueues one task for them all, in the caller's transaction (ENQUEUE_ON_COMMIT is off): a change rolled back
sends nothing, and a delivery waits in the database while its receiver is down.
"""

import os
from collections.abc import Callable, Iterable

from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db import connections, transaction
from django.utils import timezone

from accounts.permissions import CHANGE_RELEASE
from core import crypto
from core.errors import DomainError
from core.models import validate_or_refuse
from history.choices import EventAction
from history.services import changed_values, record_event
from webhooks.choices import DeliveryStatus, EventType, PayloadFormat
from webhooks.models import Delivery, Subscription
from webhooks.signing import new_secret
from webhooks.targets import refused_target
from webhooks.tasks import deliver

MANAGE_WEBHOOKS = CHANGE_RELEASE  # whoever may change releases manages their webhooks
WEBHOOKS_REFUSED = "You ({user}) may not manage webhooks: your role does not allow it."
NAME_IN_USE = "A webhook named {name} already exists: choose another name."
NO_EVENTS = "Choose at least one event."
UNKNOWN_EVENTS = "Unknown event types: {names}."
UNKNOWN_FORMAT = "Unknown format: {format}."
ALREADY_INACTIVE = "Webhook {name} is already inactive."
ALREADY_ACTIVE = "Webhook {name} is already active."
INACTIVE_CANT_REDELIVER = "Webhook {name} is inactive: activate it to send a delivery again."
CANT_REDELIVER = "Only a delivered or failed delivery can be sent again; this one is {status}."
EDITABLE_FIELDS = ("name", "target_url", "events", "format")


def require_manager(user) -> None:
    """Refuse (PermissionDenied) unless `user` may manage webhooks."""
    if user is not None and not user.has_perm(MANAGE_WEBHOOKS):
        raise PermissionDenied(WEBHOOKS_REFUSED.format(user=user))


# --- which events someone hears -----------------------------------------------------------------------------------


# How long a process keeps the event types heard before reading the subscriptions again, by default: a change
# refreshes the cache at once for every process that shares it; hosts that don't share ROLLCALL_CACHE_DIR see it
# within this time (one query a minute per host, not one per action).
DEFAULT_SUMMARY_SECONDS = 60


def _summary_timeout() -> int:
    """ROLLCALL_WEBHOOK_EVENTS_TTL seconds, or DEFAULT_SUMMARY_SECONDS."""
    ttl = os.environ.get("ROLLCALL_WEBHOOK_EVENTS_TTL", "")
    return int(ttl) if ttl.isdigit() and int(ttl) > 0 else DEFAULT_SUMMARY_SECONDS


def heard_events_key() -> str:
    """The cache key of the event types heard, per database (the test suite's workers each have their own)."""
    return f"webhooks:heard-events:{connections['default'].settings_dict['NAME']}"


def _heard_in_database() -> frozenset[str]:
    events = set()
    for subscribed in Subscription.objects.filter(is_active=True).values_list("events", flat=True):
        events.update(subscribed)
    return frozenset(events)


def heard_events() -> frozenset[str]:
    """The event types some active subscription hears: from the cache, or one query when it has none (then kept).

    `add`, not `set`: a process that read the subscriptions just before a change committed must not overwrite
    what the change set after its commit.
    """
    heard = cache.get(heard_events_key())
    if heard is None:
        heard = _heard_in_database()
        cache.add(heard_events_key(), heard, timeout=_summary_timeout())
    return heard


def refresh_heard_events() -> None:
    """Set the cached event types from the subscriptions as they are (after a change commits, after migrate)."""
    cache.set(heard_events_key(), _heard_in_database(), timeout=_summary_timeout())


def forget_heard_events() -> None:
    """Drop the cached event types: the next notify() reads the subscriptions."""
    cache.delete(heard_events_key())


def _subscriptions_changed() -> None:
    """Forget the cached event types now (this transaction reads them again) and set them once it commits."""
    forget_heard_events()
    transaction.on_commit(refresh_heard_events)


# --- events ---------------------------------------------------------------------------------------------------------


def notify(event_types: str | Iterable[str], build: Callable[[], dict | list[dict]]) -> list[Delivery]:
    """Queue the events `build` returns for every active subscription that hears their type.

    `event_types` are the types `build` may return: when no active subscription hears any of them, `build` is not
    called and nothing is read or written. Call it inside the transaction of the change, after the change.
    """
    types = {event_types} if isinstance(event_types, str) else set(event_types)
    if not types & heard_events():
        return []
    events = build()
    events = [events] if isinstance(events, dict) else list(events)
    if not events:
        return []
    subscriptions = list(Subscription.objects.filter(is_active=True).only("pk", "events"))
    deliveries = Delivery.objects.bulk_create(
        Delivery(
            subscription=subscription,
            event_id=event["id"],
            event_type=event["type"],
            payload=event,
            next_attempt_at=timezone.now(),
        )
        for event in events
        for subscription in subscriptions
        if event["type"] in subscription.events
    )
    if deliveries:
        deliver.enqueue([delivery.pk for delivery in deliveries])
    return deliveries


# --- subscriptions --------------------------------------------------------------------------------------------------


def _clean_events(events) -> list[str]:
    events = list(dict.fromkeys(events or []))
    if not events:
        raise DomainError(NO_EVENTS, field="events")
    unknown = [event for event in events if event not in EventType.values]
    if unknown:
        raise DomainError(UNKNOWN_EVENTS.format(names=", ".join(map(str, unknown))), field="events")
    return [event for event in EventType.values if event in events]  # in the order the form lists them


def _check_format(format: str) -> None:
    if format not in PayloadFormat.values:
        raise DomainError(UNKNOWN_FORMAT.format(format=format), field="format")


def _recorded(subscription: Subscription) -> dict:
    """What the history keeps of a subscription: never its secret, and of its URL only the host (a Slack URL's path is
    itself a secret)."""
    return {
        "name": subscription.name,
        "target": subscription.target_display,
        "events": sorted(subscription.events),
        "format": subscription.format,
    }


def _record(action: EventAction, subscription: Subscription, user, before=None, after=None) -> None:
    record_event(action=action, user=user, object_repr=f"Webhook {subscription.name}", before=before, after=after)


def _check_target(url: str) -> None:
    refused = refused_target(url)
    if refused:
        raise DomainError(refused, field="target_url")


def _check_name_free(name: str, subscription: Subscription | None = None) -> None:
    others = Subscription.objects.filter(name__iexact=name)
    if subscription is not None:
        others = others.exclude(pk=subscription.pk)
    if name and others.exists():
        raise DomainError(NAME_IN_USE.format(name=name), field="name")


@transaction.atomic
def subscription_create(
    *, name: str, target_url: str, events, format: str = PayloadFormat.JSON, user
) -> tuple[Subscription, str]:
    """Subscribe a URL to events; returns the subscription and its new signing secret, which is shown this once.

    The secret is stored encrypted (core.crypto) when ROLLCALL_ENCRYPTION_KEY is set.
    """
    require_manager(user)
    _check_format(format)
    secret = new_secret()
    encrypted = crypto.encryption_configured()
    subscription = Subscription(
        name=(name or "").strip(),
        target_url=(target_url or "").strip(),
        events=_clean_events(events),
        format=format,
        secret=crypto.encrypt(secret) if encrypted else secret,
        secret_encrypted=encrypted,
        created_by=user,
    )
    validate_or_refuse(subscription, fields=["name", "target_url"])
    _check_target(subscription.target_url)
    _check_name_free(subscription.name)
    subscription.save()
    _record(EventAction.WEBHOOK_CREATED, subscription, user, after=_recorded(subscription))
    _subscriptions_changed()
    return subscription, secret


@transaction.atomic
def subscription_update(*, subscription: Subscription, user, **changes) -> Subscription:
    """Change a subscription's name, URL, events or format; its secret stays."""
    require_manager(user)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    before, old_url = _recorded(subscription), subscription.target_url
    if "events" in changes:
        changes["events"] = _clean_events(changes["events"])
    if "format" in changes:
        _check_format(changes["format"])
    for field in ("name", "target_url"):
        if field in changes:
            changes[field] = (changes[field] or "").strip()
    for field, value in changes.items():
        setattr(subscription, field, value)
    validate_or_refuse(subscription, fields=["name", "target_url"])
    _check_target(subscription.target_url)
    _check_name_free(subscription.name, subscription)
    subscription.save()
    before, after = changed_values(before, _recorded(subscription))
    if subscription.target_url != old_url and "target" not in after:  # same host, another path: say so, not what
        before["target"], after["target"] = subscription.target_display, "(the same host, another path)"
    if before or after:
        _record(EventAction.WEBHOOK_UPDATED, subscription, user, before=before, after=after)
    _subscriptions_changed()
    return subscription


@transaction.atomic
def subscription_set_active(*, subscription: Subscription, active: bool, user) -> Subscription:
    """Deactivate a subscription (it hears nothing more; its deliveries still pending are not sent) or activate it
    again. Nothing is deleted: its delivery log stays."""
    require_manager(user)
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.is_active == active:
        raise DomainError((ALREADY_ACTIVE if active else ALREADY_INACTIVE).format(name=subscription.name))
    subscription.is_active = active
    subscription.save(update_fields=["is_active", "updated_at"])
    action = EventAction.WEBHOOK_ACTIVATED if active else EventAction.WEBHOOK_DEACTIVATED
    _record(action, subscription, user, before={"active": not active}, after={"active": active})
    _subscriptions_changed()
    return subscription


@transaction.atomic
def delivery_redeliver(*, delivery: Delivery, user) -> Delivery:
    """Send a delivered or failed delivery again, as a new delivery of the same event (same event id, so that a
    receiver can tell); the first one's record stays as it was."""
    require_manager(user)
    delivery = Delivery.objects.select_for_update().select_related("subscription").get(pk=delivery.pk)
    if not delivery.subscription.is_active:
        raise DomainError(INACTIVE_CANT_REDELIVER.format(name=delivery.subscription.name))
    if delivery.status not in (DeliveryStatus.DELIVERED, DeliveryStatus.FAILED):
        raise DomainError(CANT_REDELIVER.format(status=delivery.get_status_display().lower()))
    again = Delivery.objects.create(
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        event_type=delivery.event_type,
        payload=delivery.payload,
        redelivery_of=delivery,
        next_attempt_at=timezone.now(),
    )
    _record(
        EventAction.WEBHOOK_REDELIVERED,
        delivery.subscription,
        user,
        after={"event": delivery.event_type, "event_id": str(delivery.event_id)},
    )
    deliver.enqueue([again.pk])
    return again
