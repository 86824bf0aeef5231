"""Enumerations of steps: where a step belongs, what it holds, where it stands."""

from django.db import models


class StepCategory(models.TextChoices):
    DEPLOY = "deploy", "Deploy"
    VERIFY = "verify", "Verify"


class StepType(models.TextChoices):
    BASH = "bash", "Bash"
    SQL = "sql", "SQL"
    TEXT = "text", "Text"


class StepStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DONE = "done", "Done"
    SKIPPED = "skipped", "Skipped"
    REVERTED = "reverted", "Reverted"


class RunMark(models.TextChoices):
    """What the runs of a step on its cluster (runs/) show on it: being run, or its last run failed."""

    NONE = "", "No run"
    RUNNING = "running", "⏳ Running"
    FAILED = "failed", "❗ Last run failed"


# The matrix's status filter also takes this: steps still to do that use a variable with no value for their customer.
BLOCKED = "blocked"

# How a status shows on every screen: one place, so the matrix, the panel and the lists agree.
STATUS_LABELS = {
    StepStatus.DONE: "✅ Done",
    StepStatus.PENDING: "🔄 Pending",
    StepStatus.SKIPPED: "⏸️ Skipped",
    StepStatus.REVERTED: "↩️ Reverted",
}


class Position(models.TextChoices):
    """Where a custom step goes relative to the step it is placed next to."""

    BEFORE = "before", "Before"
    AFTER = "after", "After"
