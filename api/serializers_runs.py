"""The shape of runs in the API (issue 13): what a pipeline sends to start one, and what it reads back while it
runs and after. The text is never shown in clear: `shown_text` has sensitive values masked, as the output does."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from runs.models import Run

SHA256_INVALID = "A SHA-256 is 64 hexadecimal digits."


class RunStartSerializer(serializers.Serializer):
    """Start a run; `sha256` is the SHA-256 of the text the caller confirmed (`GET /api/steps/{id}/run/`): when the
    text changed since, the run is refused (409) rather than run something else."""

    sha256 = serializers.RegexField(
        r"^[0-9a-fA-F]{64}$",
        required=False,
        allow_blank=True,
        error_messages={"invalid": SHA256_INVALID},
        help_text="The SHA-256 of the text you confirmed (text_sha256 of GET /api/steps/{id}/run/).",
    )

    def validate_sha256(self, value: str) -> str:
        return value.lower()


class RunPlanSerializer(serializers.Serializer):
    """What a run of the step would execute, and where, as the confirmation dialog shows it."""

    step = serializers.IntegerField()
    customer_name = serializers.CharField()
    cluster_name = serializers.CharField()
    context = serializers.CharField(help_text="The kubectl context the run talks to.")
    namespace = serializers.CharField()
    shown_text = serializers.CharField(help_text="The text that would run, sensitive values masked.")
    text_sha256 = serializers.CharField(help_text="The SHA-256 of the exact text: send it back to start the run.")


class RunSerializer(serializers.ModelSerializer):
    """A run: where and what it runs, who started it, where it stands, and its output (sensitive values masked; the
    last ROLLCALL_RUN_OUTPUT_LIMIT characters, `output_size` counting them all). `?output=false` leaves the output
    out (a lighter answer while polling)."""

    step_name = serializers.CharField(source="step.name", read_only=True)
    release = serializers.IntegerField(source="step.release_id", read_only=True)
    customer = serializers.IntegerField(source="step.customer_id", read_only=True)
    customer_name = serializers.CharField(source="step.customer.name", read_only=True)
    started_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    cancelled_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    duration_seconds = serializers.SerializerMethodField()
    output_truncated = serializers.SerializerMethodField()

    class Meta:
        model = Run
        fields = [
            "id",
            "step",
            "step_name",
            "release",
            "customer",
            "customer_name",
            "cluster_name",
            "context",
            "namespace",
            "batch",
            "state",
            "exit_code",
            "started_by",
            "queued_at",
            "started_at",
            "finished_at",
            "duration_seconds",
            "cancel_requested_at",
            "cancelled_by",
            "timeout_seconds",
            "text_sha256",
            "shown_text",
            "reason",
            "output",
            "output_size",
            "output_truncated",
        ]
        read_only_fields = fields

    def __init__(self, *args, with_output: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_output:
            self.fields.pop("output")

    @extend_schema_field(serializers.FloatField(allow_null=True))
    def get_duration_seconds(self, run: Run) -> float | None:
        """How long it ran, so far while it runs; null before it started."""
        duration = run.duration
        return round(duration.total_seconds(), 3) if duration is not None else None

    def get_output_truncated(self, run: Run) -> bool:
        """Whether only the last part of the output was kept (`output_kept`: its length, when it was not read)."""
        kept = getattr(run, "output_kept", None)
        return run.output_truncated if kept is None else run.output_size > kept


class OutputParamSerializer(serializers.Serializer):
    """The `?output=` query parameter: whether the answer carries the runs' output."""

    output = serializers.BooleanField(required=False, allow_null=True, default=None)
