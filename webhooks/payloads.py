"""What an event says: the JSON payload of each event type, and the one line a Slack-compatible body carries.

Builders take the objects the calling service already holds (a step with its customer and release, a release, a
variable) and read nothing else from the database. A variable's value is never in a payload: only its name, owner
and whether it is sensitive.
"""

import uuid

from django.utils import timezone

from history.context import current_via
from history.services import actor_name
from webhooks.choices import EventType


def _event(event_type: str, *, user, when=None, **subjects) -> dict:
    """The envelope every event shares: its id and type, when it happened and who did it."""
    return {
        "id": str(uuid.uuid4()),
        "type": str(event_type),
        "occurred_at": (when or timezone.now()).isoformat(),
        "actor": {"username": actor_name(user), "via": current_via() or None},
        **subjects,
    }


def release_fields(release) -> dict:
    return {"id": release.pk, "name": release.name, "version_number": release.version_number, "status": release.status}


def customer_fields(customer) -> dict:
    return {
        "id": customer.pk,
        "name": customer.name,
        "namespace": customer.namespace,
        "cluster": {"id": customer.cluster_id, "name": customer.cluster.name},
    }


def step_status_events(steps, before: dict[int, str], *, user, when=None) -> list[dict]:
    """One step.status_changed event per step whose status went from `before[step.pk]` to `step.status`."""
    return [
        _event(
            EventType.STEP_STATUS_CHANGED,
            user=user,
            when=when or step.executed_at,
            release=release_fields(step.release),
            customer=customer_fields(step.customer),
            step={
                "id": step.pk,
                "name": step.name,
                "category": step.category,
                "custom": step.template_id is None,
                "status_before": before[step.pk],
                "status": step.status,
                "version": step.version,
                "skip_reason": step.skip_reason,
            },
        )
        for step in steps
    ]


def category_completed_event(*, release, customer, category: str, user) -> dict:
    """A customer has no step left to do in one category of a release (every step done or skipped)."""
    return _event(
        EventType.CATEGORY_COMPLETED,
        user=user,
        release=release_fields(release),
        customer=customer_fields(customer),
        category=category,
    )


def release_event(event_type: str, *, release, user, status_before: str, when=None) -> dict:
    """A release activated, completed (no step of any customer left to do) or archived."""
    return _event(event_type, user=user, when=when, release={**release_fields(release), "status_before": status_before})


def variable_event(*, action: str, owner_scope: str, owner, key: str, is_sensitive: bool, user) -> dict:
    """A variable added, changed or deleted on a customer, a cluster or a release: its name, never its value."""
    return _event(
        EventType.VARIABLE_CHANGED,
        user=user,
        variable={
            "key": key,
            "action": action,
            "is_sensitive": is_sensitive,
            "owner": {"type": owner_scope, "id": owner.pk, "name": str(owner)},
        },
    )


def slack_text(payload: dict) -> str:
    """The one line a Slack-compatible body ({"text": …}) says about an event."""
    actor = payload["actor"]["username"]
    if payload["actor"].get("via"):  # "ana via API token 'jenkins'", as the history says it
        actor = f"{actor} via {payload['actor']['via']}"
    release = payload.get("release", {}).get("name", "")
    match payload["type"]:
        case EventType.STEP_STATUS_CHANGED:
            step, customer = payload["step"], payload["customer"]
            return (
                f"{customer['name']} ({customer['cluster']['name']}) · {step['name']}: "
                f"{step['status_before']} → {step['status']} in {release}, by {actor}"
            )
        case EventType.CATEGORY_COMPLETED:
            return f"✅ {payload['customer']['name']} completed the {payload['category']} steps of {release}"
        case EventType.RELEASE_ACTIVATED:
            return f"🚀 Release {release} was activated by {actor}"
        case EventType.RELEASE_COMPLETED:
            return f"🏁 Release {release} is complete: every step of every customer is done or skipped"
        case EventType.RELEASE_ARCHIVED:
            return f"📦 Release {release} was archived by {actor}"
        case EventType.VARIABLE_CHANGED:
            variable = payload["variable"]
            return f"🔧 Variable {variable['key']} of {variable['owner']['name']} was {variable['action']} by {actor}"
    return f"{payload['type']} by {actor}"
