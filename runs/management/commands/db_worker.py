"""django-tasks-db's worker, which first ends as lost the runs a dead worker left running (runs.worker), so that a
run is never left "running" once a worker is back, and makes sure the periodic sweep (runs.tasks.sweep) is queued.
Listed before django_tasks_db in INSTALLED_APPS, so this is the `db_worker` that `manage.py` runs."""

from datetime import timedelta

from django_tasks_db.management.commands import db_worker

from runs.tasks import schedule_sweep
from runs.worker import runs_mark_lost


class Command(db_worker.Command):
    help = "Run a database background worker (after ending as lost the runs a dead worker left)."

    def handle(self, *args, **options):
        lost = runs_mark_lost()
        if lost:
            self.stderr.write(f"Runs lost by a worker that stopped: {', '.join(f'#{pk}' for pk in lost)}.")
        schedule_sweep(delay=timedelta(0))
        return super().handle(*args, **options)
