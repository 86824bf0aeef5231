"""Runs in the task queue (django-tasks, database backend; `manage.py db_worker` runs it), and the worker's sweep.

The sweep is what no single task can promise: a run whose worker died is ended as lost, and a webhook delivery
whose worker died is queued again (webhooks.tasks.requeue_stalled), within a minute or so, even when nothing else
is queued. It queues its own next turn (ROLLCALL_SWEEP_SECONDS later); a worker that starts queues one if none is
waiting, so the chain outlives any worker.
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResultStatus, task
from django_tasks_db.models import DBTaskResult

from runs.runner import Runner
from runs.worker import DatabaseStore, runs_mark_lost
from webhooks.tasks import requeue_stalled


@task()
def execute(run_ids: list[int], concurrency: int = 1, stop_on_failure: bool = False) -> dict[str, int]:
    """Run the given runs, `concurrency` at a time, in order; with `stop_on_failure`, those not started yet are
    skipped after the first that does not succeed. First, end as lost the runs of workers that died."""
    lost = runs_mark_lost()
    Runner(DatabaseStore(), concurrency=concurrency, stop_on_failure=stop_on_failure).run(run_ids)
    return {"runs": len(run_ids), "lost_found": len(lost)}


@task()
def sweep() -> dict[str, int]:
    """End the runs a dead worker left as lost, queue again the webhook deliveries a dead worker left, and queue the
    next sweep."""
    lost = runs_mark_lost()
    requeued = requeue_stalled()
    schedule_sweep(delay=timedelta(seconds=settings.ROLLCALL_SWEEP_SECONDS))
    return {"runs_lost": len(lost), "deliveries_requeued": len(requeued)}


def schedule_sweep(*, delay: timedelta) -> bool:
    """Queue a sweep `delay` from now, unless one is already waiting; True when one was queued."""
    waiting = DBTaskResult.objects.filter(task_path=sweep.module_path, status=TaskResultStatus.READY)
    if waiting.exists():
        return False
    sweep.using(run_after=timezone.now() + delay).enqueue()
    return True
