"""Enumerations of outbound webhooks: the events a subscription can hear, its body format, a delivery's status."""

from django.db import models


class EventType(models.TextChoices):
    STEP_STATUS_CHANGED = "step.status_changed", "A step's status changed"
    CATEGORY_COMPLETED = "customer.category_completed", "A customer completed a category"
    RELEASE_ACTIVATED = "release.activated", "A release was activated"
    RELEASE_COMPLETED = "release.completed", "A release was completed (no step left to do)"
    RELEASE_ARCHIVED = "release.archived", "A release was archived"
    VARIABLE_CHANGED = "variable.changed", "A variable was added, changed or deleted"


class PayloadFormat(models.TextChoices):
    JSON = "json", "JSON (signed)"
    SLACK = "slack", 'Slack-compatible ({"text": …}, signed)'


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"
