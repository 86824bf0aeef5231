"""A release (a checklist carried out for many customers) and who it covers."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse

from core.validators import validate_json_object
from releases.choices import ReleaseStatus, ReleaseType


class Release(models.Model):
    """A deployment cycle: template steps defined once, copied to every covered customer on activation."""

    name = models.CharField(max_length=200)
    type = models.CharField(max_length=20, choices=ReleaseType.choices, default=ReleaseType.RELEASE)
    status = models.CharField(max_length=20, choices=ReleaseStatus.choices, default=ReleaseStatus.DRAFT, editable=False)
    version_number = models.CharField(max_length=50, blank=True)
    release_date = models.DateField(null=True, blank=True)
    description = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    # Set on activation: True when the release was activated for every active customer, so that customers created
    # or re-activated later join it; False when it was activated for a selection, which never grows by itself.
    covers_all_customers = models.BooleanField(default=False, editable=False)
    # Bash steps start with a guard that stops unless kubectl's current context is the customer's cluster.
    context_guard = models.BooleanField(
        default=False,
        verbose_name="kubectl context guard",
        help_text="Copied and downloaded bash steps stop unless kubectl's current context is the customer's cluster.",
    )
    # How long a step of this release may run on its cluster before it is stopped (runs/, ROLLCALL_EXECUTION).
    run_timeout_minutes = models.PositiveIntegerField(
        "run time limit (minutes)",
        default=10,
        validators=[MinValueValidator(1), MaxValueValidator(24 * 60)],
        help_text="A step run on its cluster is stopped after this long.",
    )
    cloned_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="clones", editable=False
    )
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(type__in=ReleaseType.values),
                name="release_type_valid",
                violation_error_message="Unknown release type.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=ReleaseStatus.values),
                name="release_status_valid",
                violation_error_message="Unknown release status.",
            ),
            models.CheckConstraint(
                condition=~models.Q(type=ReleaseType.RELEASE) | ~models.Q(version_number=""),
                name="release_needs_version_number",
                violation_error_message="A release of type 'release' needs a version number (e.g. v2.5.0).",
            ),
        ]
        indexes = [models.Index(fields=["status"], name="release_status_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("releases:release_detail", args=[self.pk])


class Enrollment(models.Model):
    """A customer covered by a release: recorded when it is activated for them or when they join later."""

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="enrollments")
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="enrollments")
    enrolled_at = models.DateTimeField()
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["release", "customer__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["release", "customer"],
                name="enrollment_unique_customer_per_release",
                violation_error_message="This customer is already in the release.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer} in {self.release}"
