"""Bulk actions (issue 9): Mark as Done, Skip with one reason, or Revert many customer steps of one release at once.

One transaction and a constant number of queries however many steps are selected. Every step that can take the
action takes it, stamped and recorded as the single action would (steps.services.execution); every other one is
left as it is and reported with the reason: removed, its customer archived, changed since the page showed it,
already in that status or not allowed by steps.transitions.STEP_TRANSITIONS, blocked by a variable with no value.
"""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from accounts.permissions import EXECUTE_STEPS, require
from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from history.services import record_step_events_each
from releases.rules import refuse_if_not_active
from steps.choices import RunMark, StepStatus
from steps.models import CustomerStep
from steps.progress import count_status_changes
from steps.rendering import step_text
from steps.services.rules import SKIP_REASON_REQUIRED, locked_release
from steps.transitions import STEP_TRANSITIONS
from variables.selectors import resolved_values_of
from webhooks.choices import EventType
from webhooks.payloads import step_status_events
from webhooks.services import notify

# action → (history event, what the summary says was done with the steps, the past participle of a refusal)
BULK_ACTIONS = {
    "mark_done": (EventAction.STEP_DONE, "Marked {count} step{s} done.", "marked done"),
    "skip": (EventAction.STEP_SKIPPED, "Skipped {count} step{s}.", "skipped"),
    "revert": (EventAction.STEP_REVERTED, "Reverted {count} step{s}.", "reverted"),
}
BULK_NOTHING = "No step was {done}."
BULK_REFUSED = "{count} refused:"
BULK_UNKNOWN_ACTION = "Unknown bulk action: {action}."
BULK_NOT_IN_RELEASE = (
    "{count} of the selected steps are not steps of release {release}: reload the page and select again. "
    "Nothing was changed."
)
# Why one step of a bulk action was left as it is.
REFUSED_REMOVED = "removed"
REFUSED_CUSTOMER_ARCHIVED = "customer archived"
REFUSED_CHANGED = "changed by {actor} at {when} since this page showed it; now {status}"
REFUSED_ALREADY = "already {status}"
REFUSED_TRANSITION = "{status}, so it can't be {done}"
REFUSED_BLOCKED = "blocked: no value for {names}"
REFUSED_BEING_RUN = "being run on its cluster: its run marks it done"


@dataclass(frozen=True)
class BulkRefusal:
    """A selected step the action left unchanged, and why."""

    step: CustomerStep
    reason: str

    def __str__(self) -> str:
        return f"{self.step.customer.name} ({self.step.customer.cluster.name}) · {self.step.name} — {self.reason}"


@dataclass(frozen=True)
class BulkResult:
    """What a bulk action did: the steps it changed and the ones it refused, each with its reason."""

    action: str
    changed: list[CustomerStep] = field(default_factory=list)
    refused: list[BulkRefusal] = field(default_factory=list)

    @property
    def headline(self) -> str:
        """ "Marked 29 steps done." and, when some were refused, "1 refused:"."""
        _, done, participle = BULK_ACTIONS[self.action]
        count = len(self.changed)
        text = done.format(count=count, s="" if count == 1 else "s") if count else BULK_NOTHING.format(done=participle)
        if self.refused:
            text += " " + BULK_REFUSED.format(count=len(self.refused))
        return text

    @property
    def summary(self) -> str:
        """The headline followed by every refused step with its reason, on one line (a message without JavaScript)."""
        if not self.refused:
            return self.headline
        return f"{self.headline} " + "; ".join(str(refusal) for refusal in self.refused) + "."


def _status_label(status: str) -> str:
    return StepStatus(status).label.lower()


def _changed_reasons(steps: list[CustomerStep]) -> dict[int, str]:
    """For steps changed since the page showed them: who changed each last, and when. One query."""
    last: dict[int, Event] = {}
    events = Event.objects.filter(customer_step_id__in=[step.pk for step in steps]).order_by(
        "customer_step_id", "-occurred_at", "-id"
    )
    for event in events.only("customer_step_id", "occurred_at", "actor_name"):
        last.setdefault(event.customer_step_id, event)
    reasons = {}
    for step in steps:
        event = last.get(step.pk)
        reasons[step.pk] = REFUSED_CHANGED.format(
            actor=event.actor_name if event else "someone",
            when=timezone.localtime(event.occurred_at).strftime("%Y-%m-%d %H:%M:%S") if event else "some time",
            status=_status_label(step.status),
        )
    return reasons


def _refusal(step: CustomerStep, action: str, expected_version: int | None) -> str | None:
    """Why `step` can't take `action` now (None when it can), except for what blocks Mark as Done."""
    if step.is_deleted:
        return REFUSED_REMOVED
    if step.customer.is_deleted:
        return REFUSED_CUSTOMER_ARCHIVED
    if expected_version is not None and expected_version != step.version:
        return REFUSED_CHANGED  # filled in with who and when once every stale step is known
    target = STEP_TRANSITIONS[step.status].get(action)
    if target is None:
        done = BULK_ACTIONS[action][2]
        if done == _status_label(step.status) or (action == "mark_done" and step.status == StepStatus.DONE):
            return REFUSED_ALREADY.format(status=_status_label(step.status))
        return REFUSED_TRANSITION.format(status=_status_label(step.status), done=done)
    if action == "mark_done" and step.run_mark == RunMark.RUNNING:
        return REFUSED_BEING_RUN
    return None


@transaction.atomic
def customer_steps_bulk_transition(
    *, release, steps_with_versions: dict[int, int | None], action: str, user, reason: str | None = None
) -> BulkResult:
    """Apply one action (mark_done, skip or revert) to the selected steps of `release`, in one transaction.

    `steps_with_versions` maps each selected step's id to the version the page showed (None: as it is now); a step
    changed since is reported, never overwritten. Skip needs a reason, refused for all when blank. Ids that are not
    steps of the release refuse the whole request. Each changed step is stamped (who, when, for Mark as Done the
    SHA-256 of its text), gets a new version and one history event; the refused ones are listed with their reasons.
    """
    require(user, EXECUTE_STEPS)
    if action not in BULK_ACTIONS:
        raise DomainError(BULK_UNKNOWN_ACTION.format(action=action), field="action")
    reason = (reason or "").strip()
    if action == "skip" and not reason:
        raise DomainError(SKIP_REASON_REQUIRED, field="reason")
    release = locked_release(release)
    refuse_if_not_active(release)
    steps = list(
        CustomerStep.all_objects.select_for_update(of=("self",))
        .select_related("customer__cluster", "template")
        .filter(pk__in=list(steps_with_versions))
        .order_by("pk")
    )
    foreign = len(steps_with_versions) - sum(step.release_id == release.pk for step in steps)
    if foreign:
        raise DomainError(BULK_NOT_IN_RELEASE.format(count=foreign, release=release.name))

    reasons: dict[int, str] = {}
    for step in steps:
        step.release = release
        refusal = _refusal(step, action, steps_with_versions[step.pk])
        if refusal is not None:
            reasons[step.pk] = refusal
    stale = [step for step in steps if reasons.get(step.pk) == REFUSED_CHANGED]
    if stale:
        reasons.update(_changed_reasons(stale))
    candidates = [step for step in steps if step.pk not in reasons]

    evidence: dict[int, str] = {}
    if action == "mark_done" and candidates:
        values = resolved_values_of(release=release, customers={step.customer for step in candidates})
        for step in candidates:
            try:
                text = step_text(step, values[step.customer_id])
            except DomainError as error:  # content whose #{ syntax is broken
                reasons[step.pk] = error.message
                continue
            if text.missing:
                reasons[step.pk] = REFUSED_BLOCKED.format(names=", ".join(text.missing))
            else:
                evidence[step.pk] = text.sha256
        candidates = [step for step in candidates if step.pk not in reasons]

    changed = _apply(candidates, action=action, user=user, reason=reason, evidence=evidence)
    refused = [BulkRefusal(step, reasons[step.pk]) for step in sorted(steps, key=_by_place) if step.pk in reasons]
    return BulkResult(action=action, changed=sorted(changed, key=_by_place), refused=refused)


def _by_place(step: CustomerStep) -> tuple:
    """The order the screens list customers in: by cluster, then customer (rows were locked in id order)."""
    return (step.customer.cluster.name, step.customer.cluster_id, step.customer.name, step.customer_id, step.pk)


def _apply(steps: list[CustomerStep], *, action: str, user, reason: str, evidence: dict[int, str]) -> list:
    """Move locked steps along STEP_TRANSITIONS as the single actions do, in one UPDATE, one upsert of their progress
    counters and one INSERT of events."""
    if not steps:
        return []
    when = timezone.now()
    befores, afters = {}, {}
    for step in steps:
        target = STEP_TRANSITIONS[step.status][action]
        before, after = {"status": step.status}, {"status": target}
        if action == "skip":
            before["skip_reason"], after["skip_reason"] = step.skip_reason, reason
            step.skip_reason = reason
        else:  # done keeps the evidence of what was run; revert clears it
            before["evidence_sha256"] = step.evidence_sha256
            after["evidence_sha256"] = step.evidence_sha256 = evidence.get(step.pk, "")
        befores[step.pk], afters[step.pk] = before, after
        step.status, step.executed_at, step.executed_by = target, when, user
        step.version, step.updated_at = step.version + 1, when
    extra = ["skip_reason"] if action == "skip" else ["evidence_sha256"]
    CustomerStep.all_objects.bulk_update(
        steps, ["status", "executed_at", "executed_by", "version", "updated_at", *extra]
    )
    count_status_changes(steps, {pk: before["status"] for pk, before in befores.items()})
    record_step_events_each(
        action=BULK_ACTIONS[action][0],
        steps=steps,
        user=user,
        when=when,
        before_of=lambda step: befores[step.pk],
        after_of=lambda step: afters[step.pk],
    )
    notify(
        EventType.STEP_STATUS_CHANGED,
        lambda: step_status_events(steps, {pk: before["status"] for pk, before in befores.items()}, user=user),
    )
    return steps
