"""Where a run of a step on its customer's cluster stands."""

from django.db import models


class RunState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    TIMED_OUT = "timed_out", "Timed out"
    CANCELLED = "cancelled", "Cancelled"
    # Never started: a batch stopped at an earlier failure, or the step was carried out another way meanwhile.
    SKIPPED = "skipped", "Skipped"
    # Its worker died while it ran (found when a worker starts): whatever it did on the cluster is not known.
    LOST = "lost", "Lost"


# A run that still holds its step: no other run of that step may start.
ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)
# A run that ended without doing its step: the step keeps a "last run failed" mark until it is run or carried out.
FAILED_STATES = (RunState.FAILED, RunState.TIMED_OUT, RunState.LOST)

STATE_LABELS = {
    RunState.QUEUED: "⏳ Queued",
    RunState.RUNNING: "▶️ Running",
    RunState.SUCCEEDED: "✅ Succeeded",
    RunState.FAILED: "❌ Failed",
    RunState.TIMED_OUT: "⏱️ Timed out",
    RunState.CANCELLED: "⏹️ Cancelled",
    RunState.SKIPPED: "⏭️ Skipped",
    RunState.LOST: "❓ Lost",
}
