"""A run: one customer step's rendered text executed on its customer's cluster by the task queue's worker, kept as
evidence (who, when, the exact text's SHA-256, exit code, output, duration). A batch: one template step run for
several customers of a cluster, a few at a time."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from runs.choices import ACTIVE_STATES, STATE_LABELS, RunState


class RunBatch(models.Model):
    """One template step run for a selection of customers, `concurrency` at a time, stopping at the first failure
    when asked. The customers that could not be queued at all are kept in `refused` with why."""

    release = models.ForeignKey("releases.Release", on_delete=models.PROTECT, related_name="+")
    template = models.ForeignKey("steps.StepTemplate", on_delete=models.PROTECT, related_name="run_batches")
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    concurrency = models.PositiveSmallIntegerField()
    stop_on_failure = models.BooleanField()
    # [{"customer": name, "reason": why}] for each selected customer whose step could not be queued.
    refused = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "run batch"
        verbose_name_plural = "run batches"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(concurrency__gte=1, concurrency__lte=20),
                name="runbatch_concurrency_range",
                violation_error_message="Run 1 to 20 customers at a time.",
            ),
        ]

    def __str__(self) -> str:
        return f"Batch #{self.pk}: {self.template}"

    def get_absolute_url(self) -> str:
        return reverse("runs:batch_detail", args=[self.pk])


class Run(models.Model):
    """One execution of one customer step. The text that ran is not stored in clear: `shown_text` is what the
    confirmation showed (sensitive values masked) and `text_sha256` the SHA-256 of the exact text, checked again
    by the worker before it starts; the output has sensitive values masked too."""

    step = models.ForeignKey("steps.CustomerStep", on_delete=models.PROTECT, related_name="runs")
    batch = models.ForeignKey(RunBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="runs")
    state = models.CharField(max_length=10, choices=RunState.choices, default=RunState.QUEUED)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    queued_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written by the worker every second or so while the run is its own: an active run whose heartbeat stopped
    # belongs to a worker that died (runs.services.runs_mark_lost).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Where it runs, as it was when the run was started.
    cluster_name = models.CharField(max_length=100)
    context = models.CharField("kubectl context", max_length=200)
    namespace = models.CharField(max_length=63)
    command = models.JSONField(
        default=list, help_text="The argument list, without the text (given as a file or stdin)."
    )
    shown_text = models.TextField(help_text="The text that runs, as it was shown: sensitive values masked.")
    text_sha256 = models.CharField("SHA-256 of the text", max_length=64)
    timeout_seconds = models.PositiveIntegerField()
    exit_code = models.IntegerField(null=True, blank=True)
    # The last ROLLCALL_RUN_OUTPUT_LIMIT characters of stdout and stderr together; output_size counts them all.
    output = models.TextField(blank=True)
    output_size = models.BigIntegerField(default=0)
    # Why the run ended as it did when the exit code does not say it (timed out, cancelled, lost, refused at start).
    reason = models.TextField(blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-queued_at", "-id"]
        permissions = [("run_steps", "Can run steps on the clusters")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=RunState.values),
                name="run_state_valid",
                violation_error_message="Unknown run state.",
            ),
            models.UniqueConstraint(
                fields=["step"],
                condition=models.Q(state__in=ACTIVE_STATES),
                name="run_one_active_per_step",
                violation_error_message="This step is already queued or running.",
            ),
        ]
        indexes = [models.Index(fields=["state", "heartbeat_at"], name="run_state_heartbeat_idx")]

    def __str__(self) -> str:
        return f"Run #{self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("runs:run_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def state_label(self) -> str:
        return STATE_LABELS[self.state]

    @property
    def duration(self):
        """How long it ran (so far, while running); None before it started."""
        if self.started_at is None:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    @property
    def output_truncated(self) -> bool:
        return self.output_size > len(self.output)
