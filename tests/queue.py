"""Running the task queue's due tasks in a test, as the production worker does."""

from django.db import transaction
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult


def batch_worker(worker_id: str = "test-worker") -> Worker:
    """django-tasks-db's worker as `manage.py db_worker --batch` makes it, for a test to run tasks with."""
    return Worker(
        queue_names=["default"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    )


def run_due_tasks() -> int:
    """What `manage.py db_worker --batch` does, without its loop's connection handling: claim each task that is due
    (select_for_update skip_locked) and run it. Returns how many ran."""
    worker = batch_worker()
    ran = 0
    while True:
        with transaction.atomic():
            task = DBTaskResult.objects.ready().get_locked()
            if task is None:
                return ran
            task.claim(worker.worker_id)
        worker.run_task(task)
        ran += 1
