"""Run for a cluster: what a batch of one template step would run for the customers of one cluster (the form), what
a batch's page shows (its runs, a fingerprint for the poll, the summary), and cancelling a whole batch. Starting a
batch is runs.services.batch_start; each cancel is runs.services.run_cancel's, which records it."""

from collections import Counter
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from accounts.permissions import RUN_STEPS, require
from clusters.models import Cluster
from core.errors import DomainError
from releases.rules import refuse_if_not_active
from runs import commands
from runs.choices import ACTIVE_STATES, FAILED_STATES, RunState
from runs.models import Run, RunBatch
from runs.services import RunRefused, run_cancel
from steps.choices import StepStatus, StepType
from steps.models import CustomerStep, StepTemplate
from steps.rendering import CONTEXT_VARIABLE
from steps.selectors import template_step_across_customers
from steps.transitions import OUTSTANDING
from variables.selectors import resolved_values_of

NO_STEP_IN_CLUSTER = "No customer of {cluster} has the step {step}."
NOTHING_TO_CANCEL = "Batch #{batch} has nothing left to cancel: every run of it has ended."
WHY_DONE = "Done{when}{who}: nothing to run."
WHY_SKIPPED = "Skipped: {reason}"
WHY_ACTIVE = "Already {state} (run #{run})."
# Runs that ended without doing their step but did not fail on the cluster either, counted as skipped.
NOT_RUN_STATES = (RunState.SKIPPED, RunState.CANCELLED)


@dataclass
class BatchPlan:
    """What Run for a cluster offers: `template`'s steps for the current customers of `cluster`, each with
    `selectable` (pending or reverted, no run going) or `why_not`, and `missing` (the variables it would lack: it is
    refused at start); the kubectl contexts the runs would use."""

    template: StepTemplate
    cluster: Cluster
    steps: list[CustomerStep]
    contexts: list[str] = field(default_factory=list)

    @property
    def selectable(self) -> list[CustomerStep]:
        return [step for step in self.steps if step.selectable]

    @property
    def selectable_ids(self) -> list[int]:
        return [step.customer_id for step in self.selectable]


def _why_not(step: CustomerStep, active: Run | None) -> str:
    if active is not None:
        return WHY_ACTIVE.format(state=active.get_state_display().lower(), run=active.pk)
    if step.status == StepStatus.SKIPPED:
        return WHY_SKIPPED.format(reason=step.skip_reason)
    when = f" on {timezone.localtime(step.executed_at):%Y-%m-%d %H:%M}" if step.executed_at else ""
    who = f" by {step.executed_by.get_username()}" if step.executed_by else ""
    return WHY_DONE.format(when=when, who=who)


def batch_plan(*, template: StepTemplate, cluster: Cluster, user) -> BatchPlan:
    """What a batch of `template` for `cluster`'s customers would run, for the form: refused as batch_start would
    refuse it as a whole (the permission, a text step, a release that is not active). A fixed number of queries for
    any number of customers."""
    require(user, RUN_STEPS)
    if template.type not in commands.RUNNABLE_TYPES:
        raise RunRefused(commands.NOT_RUNNABLE.format(step=template.name, type=template.get_type_display()))
    try:
        refuse_if_not_active(template.release)
    except DomainError as error:
        raise RunRefused(error.message) from None
    groups = template_step_across_customers(template, cluster_id=cluster.pk).groups
    steps = groups[0][1] if groups else []
    if not steps:
        raise RunRefused(NO_STEP_IN_CLUSTER.format(cluster=cluster.name, step=template.name))
    active = {run.step_id: run for run in Run.objects.filter(step__in=steps, state__in=ACTIVE_STATES)}
    values = resolved_values_of(release=template.release, customers=[step.customer for step in steps])
    contexts = set()
    for step in steps:
        step.selectable = step.status in OUTSTANDING and step.pk not in active
        step.why_not = "" if step.selectable else _why_not(step, active.get(step.pk))
        customer_values = values[step.customer_id]
        missing = list(step.actions.missing)
        if template.type == StepType.SQL:
            missing += [name for name in commands.SQL_VARIABLES if not customer_values.get(name)]
        step.missing = missing
        if step.selectable:
            contexts.add(customer_values.get(CONTEXT_VARIABLE) or cluster.name)
    return BatchPlan(template=template, cluster=cluster, steps=steps, contexts=sorted(contexts))


def batch_fingerprint(batch_id: int) -> str:
    """Where a batch's runs stand, in one aggregate query: how many in each state and when the last one ended. The
    batch's page polls with it and gets a 204 while it is unchanged."""
    rows = Run.objects.filter(batch_id=batch_id).values("state").annotate(count=Count("id"), last=Max("finished_at"))
    counts = {row["state"]: row["count"] for row in rows}
    last = max((row["last"] for row in rows if row["last"] is not None), default=None)
    return "-".join(str(counts.get(state, 0)) for state in RunState.values) + (
        f".{int(last.timestamp() * 1_000_000)}" if last else ".0"
    )


@dataclass
class BatchProgress:
    """A batch's runs, by customer, and where they stand."""

    runs: list[Run]
    counts: Counter
    refused: list[dict]

    @property
    def active(self) -> bool:
        return any(self.counts[state] for state in ACTIVE_STATES)

    @property
    def succeeded(self) -> int:
        return self.counts[RunState.SUCCEEDED]

    @property
    def failed(self) -> int:
        return sum(self.counts[state] for state in FAILED_STATES)

    @property
    def skipped(self) -> int:
        return sum(self.counts[state] for state in NOT_RUN_STATES) + len(self.refused)


def batch_progress(batch: RunBatch) -> BatchProgress:
    """The batch's runs with their customers (one query) and the counts of its summary."""
    runs = list(batch.runs.select_related("step__customer").order_by("step__customer__name", "pk"))
    return BatchProgress(runs=runs, counts=Counter(run.state for run in runs), refused=list(batch.refused))


def batch_clusters(batch: RunBatch, runs: list[Run]) -> list[str]:
    """The clusters a batch ran on: its runs' (as they were started) and those of the customers refused at start."""
    names = {run.cluster_name for run in runs}
    refused = [item["customer"] for item in batch.refused]
    if refused:
        # `refused` keeps names only: those of the batch's step's customers.
        names.update(
            CustomerStep.objects.filter(template_id=batch.template_id, customer__name__in=refused).values_list(
                "customer__cluster__name", flat=True
            )
        )
    return sorted(names)


@transaction.atomic
def batch_cancel(*, batch: RunBatch, user) -> list[Run]:
    """Cancel every queued or running run of `batch` (run_cancel each, which records it): the queued ones end at
    once, the running ones are stopped by their worker."""
    require(user, RUN_STEPS)
    # Locked first, so that none ends between this read and its cancel.
    runs = list(Run.objects.select_for_update().filter(batch=batch, state__in=ACTIVE_STATES).order_by("pk"))
    if not runs:
        raise RunRefused(NOTHING_TO_CANCEL.format(batch=batch.pk))
    return [run_cancel(run=run, user=user) for run in runs]
