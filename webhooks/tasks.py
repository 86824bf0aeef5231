"""Sending deliveries, in the task queue (django-tasks, database backend; `manage.py db_worker` runs it).

A delivery is claimed before it is sent: one conditional UPDATE moves it from pending to sending, and only the
worker whose UPDATE changed the row sends it, so two workers (or a retry and a redelivery) never send one delivery
twice. A 2xx answer delivers it; anything else schedules the next attempt with exponential backoff (30 s * 2^n by
default) as a new task with `run_after`, until the limit of attempts, when it fails.
"""

import json
import os
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_tasks import task

from core import crypto
from webhooks.choices import DeliveryStatus, PayloadFormat
from webhooks.models import Delivery, Subscription
from webhooks.payloads import slack_text
from webhooks.signing import SIGNATURE_HEADER, signature
from webhooks.targets import refused_target

TIMEOUT_SECONDS = 10
# A claim older than this is a worker that died while sending: the delivery may be claimed again
# (ROLLCALL_WEBHOOK_CLAIM_LEASE_SECONDS, default 300; scripts/drill_worker.py shortens it to see it happen).
CLAIM_LEASE = timedelta(seconds=int(os.environ.get("ROLLCALL_WEBHOOK_CLAIM_LEASE_SECONDS", "300")))
SUBSCRIPTION_INACTIVE = "Not sent: the subscription was deactivated."
SECRET_UNREADABLE = (
    "Not sent: the signing secret can't be decrypted with ROLLCALL_ENCRYPTION_KEY (unset, or the key that encrypted "
    "it is no longer listed)."
)


def max_attempts() -> int:
    """How many times a delivery is tried before it fails (ROLLCALL_WEBHOOK_MAX_ATTEMPTS, default 8)."""
    return int(os.environ.get("ROLLCALL_WEBHOOK_MAX_ATTEMPTS", "8"))


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: ROLLCALL_WEBHOOK_BACKOFF_SECONDS (30) * 2^(attempts - 1)."""
    return timedelta(seconds=int(os.environ.get("ROLLCALL_WEBHOOK_BACKOFF_SECONDS", "30")) * 2 ** (attempts - 1))


@task()
def deliver(delivery_ids: list[int]) -> dict[str, str]:
    """Send each of the deliveries (those still pending and due); returns what became of each. Then queue again
    the deliveries a dead worker left behind (requeue_stalled)."""
    outcomes = {str(pk): attempt_delivery(pk) for pk in delivery_ids}
    requeue_stalled()
    return outcomes


def requeue_stalled() -> list[int]:
    """Deliveries whose task died with its worker: claimed (sending) or due (pending) for longer than the lease.
    Each is made pending and due now and queued in one new task (at most 500 at a time); a delivery queued twice
    is still sent once, by the first task that claims it."""
    now = timezone.now()
    cutoff = now - CLAIM_LEASE
    stalled_rows = Q(status=DeliveryStatus.PENDING, next_attempt_at__lt=cutoff) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=cutoff
    )
    with transaction.atomic():
        stalled = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(stalled_rows)
            .order_by("pk")
            .values_list("pk", flat=True)[:500]
        )
        if stalled:
            Delivery.objects.filter(stalled_rows, pk__in=stalled).update(
                status=DeliveryStatus.PENDING, next_attempt_at=now, claimed_at=None
            )
            deliver.enqueue(stalled)
    return stalled


def signing_secret(subscription: Subscription) -> str:
    return crypto.decrypt(subscription.secret) if subscription.secret_encrypted else subscription.secret


def request_body(delivery: Delivery) -> bytes:
    """The body sent: the payload, or for a Slack-compatible subscription {"text": one line}."""
    if delivery.subscription.format == PayloadFormat.SLACK:
        return json.dumps({"text": slack_text(delivery.payload)}).encode()
    return json.dumps(delivery.payload, separators=(",", ":"), ensure_ascii=False).encode()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer like any other non-2xx: the body is not sent on to another URL."""

    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirect)


def post(url: str, body: bytes, headers: dict) -> tuple[int | None, str]:
    """POST `body`; (the answer's status code, "") or (None or the code, why it failed, without secrets)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as error:
        return error.code, f"HTTP {error.code}"
    except urllib.error.URLError as error:
        return None, f"Could not connect: {error.reason}"[:300]
    except (TimeoutError, OSError, ValueError) as error:
        return None, f"{type(error).__name__}: {error}"[:300]


def _claim(delivery_id: int) -> datetime | None:
    """Take the delivery for this worker (pending and due, or sending under an expired claim); the claim's time, or
    None when another worker has it, it is not due yet (a second task queued for it must not send a retry before
    its backoff) or it is no longer pending."""
    now = timezone.now()
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    claimable = (Q(status=DeliveryStatus.PENDING) & due) | Q(
        status=DeliveryStatus.SENDING, claimed_at__lt=now - CLAIM_LEASE
    )
    with transaction.atomic():
        claimed = Delivery.objects.filter(claimable, pk=delivery_id).update(
            status=DeliveryStatus.SENDING, claimed_at=now
        )
    return now if claimed else None


def attempt_delivery(delivery_id: int) -> str:
    """Send one delivery if this worker can claim it, and record how it went: delivered, retry, failed or skipped.

    Whatever goes wrong once it is claimed is recorded as a failed attempt (and retried), so a claim is always
    released: a delivery never stays "sending" with no task left to send it.
    """
    claimed_at = _claim(delivery_id)
    if claimed_at is None:
        return "skipped"
    delivery = Delivery.objects.select_related("subscription").get(pk=delivery_id)
    if not delivery.subscription.is_active:
        _record_attempt(
            delivery, claimed_at=claimed_at, outcome=DeliveryStatus.FAILED, code=None, error=SUBSCRIPTION_INACTIVE
        )
        return str(DeliveryStatus.FAILED)
    try:
        code, error = _send(delivery)
    except (crypto.EncryptionNotConfigured, crypto.UndecryptableValue):
        code, error = None, SECRET_UNREADABLE
    except Exception as unexpected:  # recorded on the delivery (its class only: a message could quote the secret)
        code, error = None, f"Not sent: {type(unexpected).__name__}"
    if code is not None and 200 <= code < 300:
        outcome = DeliveryStatus.DELIVERED
    elif delivery.attempts + 1 >= max_attempts():
        outcome = DeliveryStatus.FAILED
    else:
        outcome = DeliveryStatus.PENDING
    _record_attempt(delivery, claimed_at=claimed_at, outcome=outcome, code=code, error=error)
    return "retry" if outcome == DeliveryStatus.PENDING else str(outcome)


def _send(delivery: Delivery) -> tuple[int | None, str]:
    """POST the delivery's body, signed now, to its subscription's URL (unless it resolves to a refused address)."""
    subscription = delivery.subscription
    refused = refused_target(subscription.target_url, resolve=True)
    if refused:
        return None, refused[:300]
    body = request_body(delivery)
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Rollcall-Webhooks/1",
        "X-Rollcall-Event": delivery.event_type,
        "X-Rollcall-Event-Id": str(delivery.event_id),
        "X-Rollcall-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature(signing_secret(subscription), body, int(time.time())),
    }
    return post(subscription.target_url, body, headers)


@transaction.atomic
def _record_attempt(delivery: Delivery, *, claimed_at, outcome: str, code: int | None, error: str) -> None:
    """Write the attempt's result under this worker's claim; a retry's task is enqueued in the same transaction."""
    now = timezone.now()
    attempts = delivery.attempts + (0 if error == SUBSCRIPTION_INACTIVE else 1)
    changes = {"status": outcome, "attempts": attempts, "response_code": code, "last_error": error, "claimed_at": None}
    if outcome == DeliveryStatus.DELIVERED:
        changes |= {"delivered_at": now, "next_attempt_at": None}
    elif outcome == DeliveryStatus.PENDING:
        changes["next_attempt_at"] = now + backoff(attempts)
    else:
        changes["next_attempt_at"] = None
    Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENDING, claimed_at=claimed_at).update(**changes)
    if outcome == DeliveryStatus.PENDING:
        deliver.using(run_after=changes["next_attempt_at"]).enqueue([delivery.pk])
