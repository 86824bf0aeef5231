"""The worker's side of runs, in the database: take a queued run, keep its output and heartbeat, record how it ended
(success marks the step done), and find the runs a dead worker left (lost). runs.tasks.execute drives it with
runs.runner.Runner; a worker that starts looks for lost runs first (runs/management/commands/db_worker.py).
"""

import shutil
import tempfile
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.errors import DomainError
from history.choices import EventAction
from history.services import record_event
from runs import commands
from runs.choices import ACTIVE_STATES, FAILED_STATES, RunState
from runs.models import Run
from runs.runner import Job, OutputTail, Store
from steps.choices import RunMark
from steps.rendering import UNRESOLVED
from steps.services.execution import customer_step_mark_done_by_run, customer_step_mark_run
from steps.transitions import OUTSTANDING

STEP_NOT_MARKED = "It succeeded, but the step was not marked done: {error}"
LOST = (
    "Its worker stopped while it ran (no sign of life since {since}): what it did on the cluster is not known. "
    "Check the cluster before running it again."
)
CARRIED_OUT = "Not run: the step was {status} meanwhile."
TEXT_CHANGED_SINCE = (
    "Not run: the step's text changed after the run was started (its content or one of its variables); "
    "start it again to run the new text."
)


def run_take(run_id: int) -> Run | None:
    """Take a queued run: it is running from now on. None when it was cancelled or taken meanwhile."""
    now = timezone.now()
    taken = Run.objects.filter(pk=run_id, state=RunState.QUEUED).update(
        state=RunState.RUNNING, started_at=now, heartbeat_at=now
    )
    if not taken:
        return None
    return Run.objects.select_related("step__release", "step__customer__cluster").get(pk=run_id)


@transaction.atomic
def run_end(run_id: int, *, state: str, exit_code: int | None, output: str = "", output_size: int = 0, reason=""):
    """Record how a run ended. Success marks its step done (for who started it, "run #N" in the notes, the run in
    the history); a failure, a timeout or a lost run marks the step "last run failed"; a cancel or a skip clears
    the step's mark. A run that has already ended is left as it is."""
    run = Run.objects.select_for_update().select_related("started_by", "step__customer").get(pk=run_id)
    if run.state not in ACTIVE_STATES:
        return run
    now = timezone.now()
    run.state, run.exit_code, run.finished_at = state, exit_code, now
    run.output, run.output_size, run.reason = output, output_size, reason
    step = run.step
    if state == RunState.SUCCEEDED:
        try:
            customer_step_mark_done_by_run(
                step=step, user=run.started_by, run_number=run.pk, evidence_sha256=run.text_sha256
            )
        except DomainError as error:
            run.reason = STEP_NOT_MARKED.format(error=error.message)
            customer_step_mark_run(step=step, mark=RunMark.NONE)
    else:
        customer_step_mark_run(step=step, mark=RunMark.FAILED if state in FAILED_STATES else RunMark.NONE)
    run.save()
    duration = (now - run.started_at).total_seconds() if run.started_at else None
    record_event(
        action=EventAction.RUN_FINISHED,
        user=run.started_by,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        when=now,
        after={
            "run": run.pk,
            "state": state,
            "exit_code": exit_code,
            "duration_seconds": round(duration, 3) if duration is not None else None,
            **({"reason": run.reason} if run.reason else {}),
        },
    )
    return run


def runs_mark_lost(*, lease: timedelta | None = None) -> list[int]:
    """Runs whose worker died: queued or running, taken by a worker (they have a heartbeat), and silent for longer
    than the lease (ROLLCALL_RUN_LEASE_SECONDS). Looked for when a worker starts and before each run task."""
    lease = lease if lease is not None else timedelta(seconds=settings.ROLLCALL_RUN_LEASE_SECONDS)
    lost = list(
        Run.objects.filter(state__in=ACTIVE_STATES, heartbeat_at__lt=timezone.now() - lease).values_list(
            "pk", "heartbeat_at", "output", "output_size"
        )
    )
    for pk, heartbeat, output, size in lost:
        since = timezone.localtime(heartbeat).strftime("%Y-%m-%d %H:%M:%S")
        run_end(
            pk, state=RunState.LOST, exit_code=None, output=output, output_size=size, reason=LOST.format(since=since)
        )
    return [pk for pk, *_ in lost]


class DatabaseStore(Store):
    """runs.runner's store: the runs' rows."""

    def begin(self, run_id: int) -> Job | None:
        run = run_take(run_id)
        if run is None:
            return None
        step = run.step
        if step.status not in OUTSTANDING:
            run_end(run.pk, state=RunState.SKIPPED, exit_code=None, reason=CARRIED_OUT.format(status=step.status))
            return None
        try:
            plan = commands.plan(step)
        except DomainError as error:
            run_end(run.pk, state=RunState.FAILED, exit_code=None, reason=f"Not run: {error.message}")
            return None
        if plan.missing:
            why = UNRESOLVED.format(
                step=step.name, customer=step.customer.name, verb="run", names=", ".join(plan.missing)
            )
            run_end(run.pk, state=RunState.FAILED, exit_code=None, reason=f"Not run: {why}")
            return None
        if plan.sha256 != run.text_sha256:
            run_end(run.pk, state=RunState.FAILED, exit_code=None, reason=TEXT_CHANGED_SINCE)
            return None
        workdir = Path(tempfile.mkdtemp(prefix=f"rollcall-run-{run.pk}-", dir=settings.ROLLCALL_RUN_DIR))
        argv, env, stdin = commands.prepare(plan, workdir=workdir, kubeconfig=step.customer.cluster.kubeconfig_path)
        return Job(
            run_id=run.pk,
            argv=argv,
            env=env,
            cwd=str(workdir),
            timeout=run.timeout_seconds,
            output=OutputTail(limit=settings.ROLLCALL_RUN_OUTPUT_LIMIT, secrets=plan.secrets),
            stdin=stdin,
            cleanup=lambda: shutil.rmtree(workdir, ignore_errors=True),
        )

    def save_output(self, jobs: list[Job]) -> None:
        now = timezone.now()
        quiet = []
        for job in jobs:
            if not job.output.changed:
                quiet.append(job.run_id)
                continue
            job.output.changed = False
            Run.objects.filter(pk=job.run_id, state=RunState.RUNNING).update(
                output=job.output.text, output_size=job.output.size, heartbeat_at=now
            )
        if quiet:
            Run.objects.filter(pk__in=quiet, state=RunState.RUNNING).update(heartbeat_at=now)

    def heartbeat(self, run_ids: list[int]) -> None:
        Run.objects.filter(pk__in=run_ids, state=RunState.QUEUED).update(heartbeat_at=timezone.now())

    def cancel_requested(self, run_ids: list[int]) -> set[int]:
        return set(Run.objects.filter(pk__in=run_ids, cancel_requested_at__isnull=False).values_list("pk", flat=True))

    def finish(self, job: Job, exit_code: int | None) -> None:
        run_end(
            job.run_id,
            state=job.state,
            exit_code=exit_code,
            output=job.output.text,
            output_size=job.output.size,
            reason=job.reason,
        )

    def skip(self, run_ids: list[int], reason: str) -> None:
        for run_id in run_ids:
            run_end(run_id, state=RunState.SKIPPED, exit_code=None, reason=reason)
