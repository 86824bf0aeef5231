"""The history: an append-only record of every change that matters, written by the service that made it."""

from django.conf import settings
from django.db import models

from history.choices import NOT_RECENT_ACTIVITY, EventAction

SYSTEM_ACTOR = "system"


class Event(models.Model):
    """One change: when, who (a user, or "system"), what, to which object, and the values before → after.

    The subject foreign keys (release, cluster, customer, template step, customer step) are all the objects the
    change concerns, so each object's history is one indexed filter. Nothing in the application updates or
    deletes an event; the records it points at are never deleted either (soft delete), so the links hold. A user
    may be deleted: their events stay, without the link, and `actor_name` still says who acted.

    The subject links are not foreign key constraints in the database (db_constraint=False), as netbox's ObjectChange
    names its changed object by id: the history only ever writes the ids of rows its own transaction has just read
    or written, and nothing deletes those rows. A constraint costs a check per link of every event, which PostgreSQL
    runs row by row: five per step for the 20,000 "Created from template" events of an activation of 500 customers
    by 40 steps, about 40 % of it (issue 10). The actor stays a constraint (a user can be deleted: SET NULL).
    """

    # No index of its own: event_occurred_idx (occurred_at, id) serves every filter and order on it, and one index
    # fewer is one entry fewer for each event written (20,000 of them in an activation of 500 customers by 40 steps).
    occurred_at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="rollcall_events"
    )
    actor_name = models.CharField(max_length=150)
    # What the change came through when not the screens or a command: "API token 'jenkins'" (history.context).
    # The database default serves the INSERT … SELECT statements that write events in bulk.
    via = models.CharField(max_length=200, blank=True, default="", db_default="")
    action = models.CharField(max_length=40, choices=EventAction.choices)
    # No index of its own: event_release_idx (release, occurred_at) serves it.
    release = models.ForeignKey(
        "releases.Release",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    cluster = models.ForeignKey(
        "clusters.Cluster", null=True, blank=True, on_delete=models.PROTECT, related_name="events", db_constraint=False
    )
    customer = models.ForeignKey(
        "customers.Customer",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
    )
    template_step = models.ForeignKey(
        "steps.StepTemplate",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
    )
    customer_step = models.ForeignKey(
        "steps.CustomerStep",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # event_customer_step_idx (customer_step, occurred_at) serves it
        db_constraint=False,
    )
    object_repr = models.CharField(max_length=400)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(action__in=EventAction.values),
                name="event_action_valid",
                violation_error_message="Unknown event action.",
            ),
        ]
        indexes = [
            models.Index(fields=["customer_step", "occurred_at"], name="event_customer_step_idx"),
            models.Index(fields=["release", "occurred_at"], name="event_release_idx"),
            # The audit page's order, newest first: its first page reads 50 entries, not a sort of every event.
            models.Index(fields=["occurred_at", "id"], name="event_occurred_idx"),
            # The dashboard's recent activity: the latest changes without the per-step events that follow from them
            # (after an activation for 2,000 customers, 200,000 of those would be read past first).
            models.Index(
                # Descending, as read: SQLite would otherwise take event_occurred_idx, the same columns, instead.
                fields=["-occurred_at", "-id"],
                name="event_recent_change_idx",
                condition=~models.Q(action__in=NOT_RECENT_ACTIVITY),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.actor_label}: {self.get_action_display()} — {self.object_repr}"

    @property
    def actor_label(self) -> str:
        """Who acted, and through what when it was not the screens: "ana via API token 'jenkins'"."""
        return f"{self.actor_name} via {self.via}" if self.via else self.actor_name
