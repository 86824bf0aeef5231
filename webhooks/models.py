"""Outbound webhooks: a subscription (a URL that hears some events) and the deliveries of events to it."""

import uuid
from urllib.parse import urlsplit

from django.conf import settings
from django.core.validators import URLValidator
from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from webhooks.choices import DeliveryStatus, PayloadFormat

validate_target_url = URLValidator(
    schemes=["http", "https"],
    message="Enter an http:// or https:// URL, such as https://ci.example.com/hooks/rollcall.",
)


class Subscription(models.Model):
    """A URL that receives the events it subscribed to, signed with its own secret."""

    name = models.CharField(max_length=200)
    target_url = models.CharField("Target URL", max_length=2000, validators=[validate_target_url])
    events = models.JSONField(default=list, help_text="The event types (webhooks.choices.EventType) it receives.")
    format = models.CharField(max_length=10, choices=PayloadFormat.choices, default=PayloadFormat.JSON)
    # The HMAC key: a Fernet token (core.crypto) when ROLLCALL_ENCRYPTION_KEY is set, else the key itself. Shown
    # once, when the subscription is created; never on a page, in a log, in the history or an export after that.
    secret = models.CharField(max_length=500, editable=False)
    secret_encrypted = models.BooleanField(default=False, editable=False)
    is_active = models.BooleanField("Active", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            # Pages, the audit trail and the delivery log name a webhook by its name.
            models.UniqueConstraint(
                Lower("name"), name="subscription_name_unique", violation_error_message="A webhook has this name."
            )
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("webhooks:subscription_detail", args=[self.pk])

    @property
    def target_display(self) -> str:
        """The URL's scheme and host only: its path may itself be a secret (a Slack incoming webhook's is)."""
        parts = urlsplit(self.target_url)
        return f"{parts.scheme}://{parts.hostname or ''}{f':{parts.port}' if parts.port else ''}/…"


class Delivery(models.Model):
    """One event sent (or to be sent) to one subscription: its payload, and how its attempts went."""

    subscription = models.ForeignKey(Subscription, on_delete=models.PROTECT, related_name="deliveries")
    # The event's id, the same in every subscription's delivery of it; receivers can use it to drop a redelivery.
    event_id = models.UUIDField(default=uuid.uuid4)
    event_type = models.CharField(max_length=50)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # When a worker claimed it (status sending): a claim older than the lease is taken as a crashed worker's.
    claimed_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # A delivery sent again from the delivery log by hand: a new row, the first one's record stays as it was.
    redelivery_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["subscription", "-created_at", "-id"], name="webhooks_delivery_log_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["subscription", "event_id"],
                condition=models.Q(redelivery_of__isnull=True),
                name="webhooks_one_delivery_per_event",
                violation_error_message="An event is delivered to a subscription once (a redelivery is a new row).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} → {self.subscription}"
