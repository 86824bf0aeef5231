"""What a person does with runs: start one (from a step's panel or the API), start a batch (one template step for
several customers of a cluster), cancel. What the worker records is runs.worker's.

The rules: execution is on (ROLLCALL_EXECUTION; the views answer 404 otherwise), the user may run steps
(RUN_STEPS), only a bash or SQL step still to do, in an active release, for a customer that is not archived, with
every variable resolved, runs, and never two runs of one step at once. The text that runs is the one that was
confirmed: its SHA-256 is checked again when the run is started and when the worker takes it.
"""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.permissions import RUN_STEPS, require
from core.errors import DomainError
from history.choices import EventAction
from history.services import record_event
from runs import commands
from runs.choices import ACTIVE_STATES, RunState
from runs.models import Run, RunBatch
from runs.tasks import execute
from steps.choices import RunMark
from steps.models import CustomerStep, StepTemplate
from steps.rendering import UNRESOLVED
from steps.services.execution import customer_step_mark_run
from steps.services.rules import locked_step
from steps.transitions import OUTSTANDING

EXECUTION_OFF = "Running steps on the clusters is turned off here (ROLLCALL_EXECUTION)."
NOT_OUTSTANDING = "{step} for {customer} is {status}: only a pending or reverted step can run."
ALREADY_ACTIVE = "{step} for {customer} is already {state} (run #{run}): wait for it to end, or cancel it."
TEXT_CHANGED = (
    "The text of {step} for {customer} changed after it was shown (its content or one of its variables): "
    "look at it again and start the run again."
)
ALREADY_ENDED = "Run #{run} has already ended: {state}."
NO_CUSTOMERS = "Select at least one customer to run the step for."
BAD_CONCURRENCY = "Run 1 to 20 customers at a time."
CANCELLED_QUEUED = "Cancelled before it started."
MAX_CONCURRENCY = 20


class RunRefused(DomainError):
    """A run that can't start or be cancelled as things stand (a text step, a done step, an unresolved variable, a
    run already going…): the screens and the API answer 409 with the message."""


def execution_enabled() -> bool:
    return settings.ROLLCALL_EXECUTION


def _where(step) -> dict:
    return {"step": step.name, "customer": step.customer.name}


def refuse_unrunnable(step: CustomerStep) -> None:
    """What makes a step not runnable before its text is even built: its type, its status, a run already going."""
    if step.type not in commands.RUNNABLE_TYPES:
        raise RunRefused(commands.NOT_RUNNABLE.format(step=step.name, type=step.get_type_display()))
    if step.status not in OUTSTANDING:
        raise RunRefused(NOT_OUTSTANDING.format(**_where(step), status=step.get_status_display().lower()))
    active = Run.objects.filter(step=step, state__in=ACTIVE_STATES).first()
    if active is not None:
        raise RunRefused(ALREADY_ACTIVE.format(**_where(step), state=active.get_state_display().lower(), run=active.pk))


def run_plan(*, step: CustomerStep, user) -> commands.Plan:
    """What a run of `step` would execute, for the confirmation: refused as the start would refuse it."""
    require(user, RUN_STEPS)
    refuse_unrunnable(step)
    try:
        plan = commands.plan(step)
    except DomainError as error:
        raise RunRefused(error.message) from None
    if plan.missing:
        raise RunRefused(UNRESOLVED.format(**_where(step), verb="run", names=", ".join(plan.missing)))
    return plan


def _queue(step: CustomerStep, plan: commands.Plan, *, user, batch: RunBatch | None = None) -> Run:
    run = Run.objects.create(
        step=step,
        batch=batch,
        started_by=user,
        cluster_name=plan.cluster_name,
        context=plan.context,
        namespace=plan.namespace,
        command=list(plan.argv),
        shown_text=plan.shown_text,
        text_sha256=plan.sha256,
        timeout_seconds=step.release.run_timeout_minutes * 60,
    )
    customer_step_mark_run(step=step, mark=RunMark.RUNNING)
    record_event(
        action=EventAction.RUN_STARTED,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        after={
            "run": run.pk,
            "sha256": plan.sha256,
            "context": plan.context,
            "namespace": plan.namespace,
            **({"batch": batch.pk} if batch else {}),
        },
    )
    return run


@transaction.atomic
def run_start(*, step: CustomerStep, user, expected_sha256: str = "") -> Run:
    """Queue a run of `step` on its customer's cluster (its text as confirmed, when `expected_sha256` is given)."""
    require(user, RUN_STEPS)
    step = locked_step(step)
    plan = run_plan(step=step, user=user)
    if expected_sha256 and expected_sha256 != plan.sha256:
        raise RunRefused(TEXT_CHANGED.format(**_where(step)))
    run = _queue(step, plan, user=user)
    # The task row is written in this transaction (the queue is in the same database): no run without its task.
    _enqueue([run.pk], concurrency=1, stop_on_failure=False)
    return run


@transaction.atomic
def batch_start(*, template: StepTemplate, customer_ids, user, concurrency: int, stop_on_failure: bool) -> RunBatch:
    """Queue a run of `template`'s step for each selected customer, `concurrency` at a time. A customer whose step
    can't run (done, unresolved, already running…) is not queued: the batch keeps it with why."""
    require(user, RUN_STEPS)
    customer_ids = {int(pk) for pk in customer_ids}
    if not customer_ids:
        raise DomainError(NO_CUSTOMERS, field="customers")
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise DomainError(BAD_CONCURRENCY, field="concurrency")
    steps = list(
        CustomerStep.objects.select_for_update(of=("self",))
        .select_related("release", "customer__cluster", "template")
        .filter(template=template, customer_id__in=customer_ids)
        .order_by("customer__cluster__name", "customer__name", "pk")
    )
    batch = RunBatch.objects.create(
        release=template.release,
        template=template,
        started_by=user,
        concurrency=concurrency,
        stop_on_failure=stop_on_failure,
    )
    runs, refused = [], []
    for step in steps:
        try:
            locked_step(step)  # an active release, a customer not archived
            runs.append(_queue(step, run_plan(step=step, user=user), user=user, batch=batch))
        except DomainError as error:
            refused.append({"customer": step.customer.name, "reason": error.message})
    batch.refused = refused
    batch.save(update_fields=["refused"])
    record_event(
        action=EventAction.RUN_BATCH_STARTED,
        user=user,
        object_repr=f"{template.name}: {len(runs)} run(s)",
        template_step=template,
        after={
            "batch": batch.pk,
            "runs": len(runs),
            "refused": len(refused),
            "concurrency": concurrency,
            "stop_on_failure": stop_on_failure,
        },
    )
    if runs:
        _enqueue([run.pk for run in runs], concurrency=concurrency, stop_on_failure=stop_on_failure)
    return batch


def _enqueue(run_ids: list[int], *, concurrency: int, stop_on_failure: bool) -> None:
    execute.enqueue(run_ids, concurrency, stop_on_failure)


@transaction.atomic
def run_cancel(*, run: Run, user) -> Run:
    """Cancel a run: one still queued ends at once; a running one is stopped by its worker within a second or so."""
    require(user, RUN_STEPS)
    run = Run.objects.select_for_update().select_related("step__customer").get(pk=run.pk)
    if run.state not in ACTIVE_STATES:
        raise RunRefused(ALREADY_ENDED.format(run=run.pk, state=run.get_state_display().lower()))
    now = timezone.now()
    run.cancelled_by = user
    run.cancel_requested_at = now
    fields = ["cancelled_by", "cancel_requested_at"]
    if run.state == RunState.QUEUED:
        run.state, run.finished_at, run.reason = RunState.CANCELLED, now, CANCELLED_QUEUED
        fields += ["state", "finished_at", "reason"]
        customer_step_mark_run(step=run.step, mark=RunMark.NONE)
    run.save(update_fields=fields)
    record_event(
        action=EventAction.RUN_CANCELLED,
        user=user,
        object_repr=f"{run.step.customer.name}: {run.step.name}",
        customer_step=run.step,
        after={"run": run.pk, "state": run.state},
    )
    return run
