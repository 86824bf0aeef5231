"""Runs in the task queue (django-tasks, database backend; `manage.py db_worker` runs it)."""

from django_tasks import task

from runs.runner import Runner
from runs.worker import DatabaseStore, runs_mark_lost


@task()
def execute(run_ids: list[int], concurrency: int = 1, stop_on_failure: bool = False) -> dict[str, int]:
    """Run the given runs, `concurrency` at a time, in order; with `stop_on_failure`, those not started yet are
    skipped after the first that does not succeed. First, end as lost the runs of workers that died."""
    lost = runs_mark_lost()
    Runner(DatabaseStore(), concurrency=concurrency, stop_on_failure=stop_on_failure).run(run_ids)
    return {"runs": len(run_ids), "lost_found": len(lost)}
