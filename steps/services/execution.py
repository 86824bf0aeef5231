"""Carrying out customer steps: mark done, skip, revert, undo a skip, notes, and Mark All (FET-001..FET-004).

A step's status changes only along steps.transitions.STEP_TRANSITIONS; every change stamps who and when, bumps the
step's version and is recorded.
"""

from django.db import transaction
from django.utils import timezone

from accounts.permissions import EXECUTE_STEPS, require
from core.errors import DomainError
from core.models import validate_or_refuse
from customers.models import Customer
from history.choices import EventAction
from history.services import record_event, record_step_events_each
from releases.rules import refuse_if_not_active
from steps.choices import RunMark, StepCategory, StepStatus
from steps.models import STEP_ORDER, CustomerStep
from steps.progress import count_status_change, count_status_changes
from steps.rendering import refuse_unresolved, step_text
from steps.services.rules import (
    NOTHING_PENDING,
    PROPAGATED_FIELDS,
    SKIP_REASON_REQUIRED,
    locked_release,
    locked_step,
    next_status,
    refuse_archived_customer,
    refuse_unknown_category,
    save_step,
)
from steps.transitions import OUTSTANDING
from variables.selectors import resolved_values
from webhooks.choices import EventType
from webhooks.payloads import step_status_events
from webhooks.services import notify

RUN_NOTE = "run #{number}"
BEING_RUN = (
    "{step} for {customer} is being run on its cluster: its run marks it done when it succeeds. Wait for it, or "
    "cancel the run to mark it done yourself."
)
MARK_ALL_BEING_RUN = (
    "Nothing was marked: these steps of {customer} are being run on their cluster: {steps}. Their runs mark them "
    "done; wait for them, or cancel them."
)
MARK_ALL_BLOCKED = (
    "Nothing was marked: these steps of {customer} use variables with no value: {steps}. Set the values, or skip "
    "those steps."
)


def _execute(
    step: CustomerStep,
    *,
    action: str,
    event: EventAction,
    user,
    notes: str | None = None,
    recorded: dict | None = None,
    **fields,
):
    """Move a locked step along STEP_TRANSITIONS, stamp who and when, count it in its progress and record it (with
    `recorded` added to the event's after: what caused it, when it is not the person alone)."""
    target = next_status(step, action)
    before = {"status": step.status}
    after = {"status": target}
    step.status = target
    step.executed_at = timezone.now() if target != StepStatus.PENDING else None
    step.executed_by = user if target != StepStatus.PENDING else None
    changed = ["status", "executed_at", "executed_by"]
    if notes is not None and notes != step.notes:
        before["notes"], after["notes"] = step.notes, notes
        step.notes = notes
        changed.append("notes")
    for field, value in fields.items():
        before[field], after[field] = getattr(step, field), value
        setattr(step, field, value)
        changed.append(field)
    save_step(step, changed)
    count_status_change(step, before["status"])
    record_event(
        action=event,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        when=step.executed_at,
        before=before,
        after=after | (recorded or {}),
    )
    notify(EventType.STEP_STATUS_CHANGED, lambda: step_status_events([step], {step.pk: before["status"]}, user=user))
    return step


@transaction.atomic
def customer_step_mark_done(
    *, step: CustomerStep, user, notes: str | None = None, expected_version: int | None = None
) -> CustomerStep:
    """Mark a pending or reverted step done, with optional execution notes (FET-001)."""
    require(user, EXECUTE_STEPS)
    step = locked_step(step, expected_version)
    next_status(step, "mark_done")  # a step that can't be done says so first
    if step.run_mark == RunMark.RUNNING:
        raise DomainError(BEING_RUN.format(step=step.name, customer=step.customer.name))
    text = step_text(step)
    refuse_unresolved(step, text.missing, verb="marked as done")
    return _execute(
        step, action="mark_done", event=EventAction.STEP_DONE, user=user, notes=notes, evidence_sha256=text.sha256
    )


@transaction.atomic
def customer_step_mark_done_by_run(*, step: CustomerStep, user, run_number: int, evidence_sha256: str) -> CustomerStep:
    """A run of the step on its cluster succeeded (runs/): the step is done by whoever started the run, its notes
    name the run, and the history event links it."""
    require(user, EXECUTE_STEPS)
    step = locked_step(step)
    next_status(step, "mark_done")
    line = RUN_NOTE.format(number=run_number)
    return _execute(
        step,
        action="mark_done",
        event=EventAction.STEP_DONE,
        user=user,
        notes=f"{step.notes}\n{line}" if step.notes else line,
        recorded={"run": run_number},
        evidence_sha256=evidence_sha256,
        run_mark=RunMark.NONE,
    )


@transaction.atomic
def customer_step_mark_run(*, step: CustomerStep, mark: str) -> CustomerStep:
    """Show on the step that it is being run or that its last run failed (RunMark), whatever its release or
    customer has become meanwhile: a new version, so that open screens pick it up. Not an event of its own: the
    run's events are the record."""
    step = CustomerStep.objects.select_for_update(of=("self",)).get(pk=step.pk)
    if step.run_mark != mark:
        step.run_mark = mark
        save_step(step, ["run_mark"])
    return step


@transaction.atomic
def customer_step_skip(*, step: CustomerStep, user, reason: str, expected_version: int | None = None) -> CustomerStep:
    """Skip a step; the reason is mandatory and cannot be blank (FET-003, FCS-004, BR-S03)."""
    require(user, EXECUTE_STEPS)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(SKIP_REASON_REQUIRED, field="reason")
    return _execute(
        locked_step(step, expected_version),
        action="skip",
        event=EventAction.STEP_SKIPPED,
        user=user,
        skip_reason=reason,
    )


@transaction.atomic
def customer_step_revert(
    *, step: CustomerStep, user, notes: str | None = None, expected_version: int | None = None
) -> CustomerStep:
    """Revert a done step (FET-002): it becomes `reverted` and needs doing again; its history stays (BR-R04)."""
    require(user, EXECUTE_STEPS)
    return _execute(
        locked_step(step, expected_version),
        action="revert",
        event=EventAction.STEP_REVERTED,
        user=user,
        notes=notes,
        evidence_sha256="",
    )


@transaction.atomic
def customer_step_reopen(*, step: CustomerStep, user, expected_version: int | None = None) -> CustomerStep:
    """Undo a skip: the step is pending again and its skip reason is cleared (the history keeps it).

    A pending step that is not overridden follows its template step, so it takes the template's current content:
    edits made while it was skipped must not leave a stale script to run.
    """
    require(user, EXECUTE_STEPS)
    step = locked_step(step, expected_version)
    template = step.template
    refreshed = {}
    if template is not None and not template.is_deleted and not step.is_overridden:
        refreshed = {
            field: getattr(template, field)
            for field in PROPAGATED_FIELDS
            if getattr(step, field) != getattr(template, field)
        }
        if "content" in refreshed:
            refreshed["variable_names"] = template.variable_names
    return _execute(step, action="reopen", event=EventAction.STEP_REOPENED, user=user, skip_reason="", **refreshed)


@transaction.atomic
def customer_step_update_notes(
    *, step: CustomerStep, user, notes: str, expected_version: int | None = None
) -> CustomerStep:
    """Change a step's execution notes, whatever its status."""
    require(user, EXECUTE_STEPS)
    step = locked_step(step, expected_version)
    if notes == step.notes:
        return step
    before = {"notes": step.notes}
    step.notes = notes
    validate_or_refuse(step, fields=["notes"])
    save_step(step, ["notes"])
    record_event(
        action=EventAction.STEP_NOTES_CHANGED,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        before=before,
        after={"notes": notes},
    )
    return step


@transaction.atomic
def customer_steps_mark_all_done(*, release, customer: Customer, category: str, user, notes: str | None = None) -> int:
    """Mark every outstanding (pending or reverted) step of one category done for one customer (FET-004).

    Returns how many. Refused, with nothing changed, when one of them is blocked by a variable with no value. Each
    step keeps the SHA-256 of its rendered text; one history event per step, each with the status it had.
    """
    require(user, EXECUTE_STEPS)
    release = locked_release(release)
    refuse_if_not_active(release)
    refuse_unknown_category(category)
    customer = Customer.all_objects.select_related("cluster").get(pk=customer.pk)
    refuse_archived_customer(customer)
    steps = list(
        CustomerStep.objects.select_for_update(of=("self",))
        .filter(release=release, customer=customer, category=category, status__in=OUTSTANDING)
        .order_by(*STEP_ORDER)
    )
    if not steps:
        raise DomainError(
            NOTHING_PENDING.format(
                customer=customer.name, category=StepCategory(category).label.lower(), release=release.name
            )
        )
    values = resolved_values(customer, release)
    texts = {}
    for step in steps:
        step.release, step.customer = release, customer
        texts[step.pk] = step_text(step, values)
    blocked = [f"{step.name} ({', '.join(texts[step.pk].missing)})" for step in steps if texts[step.pk].missing]
    if blocked:
        raise DomainError(MARK_ALL_BLOCKED.format(customer=customer.name, steps="; ".join(blocked)))
    being_run = [step.name for step in steps if step.run_mark == RunMark.RUNNING]
    if being_run:
        raise DomainError(MARK_ALL_BEING_RUN.format(customer=customer.name, steps="; ".join(being_run)))
    when = timezone.now()
    before = {step.pk: step.status for step in steps}
    for step in steps:  # locked rows: their versions can be counted here
        step.status, step.executed_at, step.executed_by = StepStatus.DONE, when, user
        step.version, step.updated_at = step.version + 1, when
        step.evidence_sha256 = texts[step.pk].sha256
        if notes is not None:
            step.notes = notes
    fields = ["status", "executed_at", "executed_by", "version", "updated_at", "evidence_sha256"]
    CustomerStep.objects.bulk_update(steps, [*fields, "notes"] if notes is not None else fields)
    count_status_changes(steps, before)
    after = {"status": StepStatus.DONE.value, **({"notes": notes} if notes is not None else {})}
    record_step_events_each(
        action=EventAction.STEP_DONE,
        steps=steps,
        user=user,
        when=when,
        before_of=lambda step: {"status": before[step.pk], "evidence_sha256": ""},
        after_of=lambda step: {**after, "evidence_sha256": step.evidence_sha256},
    )
    notify(EventType.STEP_STATUS_CHANGED, lambda: step_status_events(steps, before, user=user, when=when))
    return len(steps)
