"""Template steps (defined once per release) and customer steps (the unit that is carried out)."""

from django.conf import settings
from django.db import models
from django.urls import reverse

from core.models import SoftDeleteModel
from core.validators import validate_step_content_size
from steps.choices import RunMark, StepCategory, StepStatus, StepType


class StepTemplate(SoftDeleteModel):
    """A step common to every customer of a release. `order_index` is 0, 1, 2… within its category."""

    release = models.ForeignKey(
        "releases.Release", on_delete=models.PROTECT, related_name="template_steps", db_index=False
    )
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=10, choices=StepCategory.choices)
    type = models.CharField(max_length=10, choices=StepType.choices)
    content = models.TextField(validators=[validate_step_content_size])
    description = models.TextField(blank=True)
    # The variable names the content uses (`#{name}`), sorted and space-separated (a name has no space): kept when
    # the content is saved, so that screens tell which customers can't render the step without rendering it.
    variable_names = models.TextField(blank=True, editable=False)
    order_index = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["release", "category", "order_index"]
        verbose_name = "template step"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=StepCategory.values),
                name="steptemplate_category_valid",
                violation_error_message="Unknown step category.",
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=StepType.values),
                name="steptemplate_type_valid",
                violation_error_message="Unknown step type.",
            ),
        ]
        indexes = [models.Index(fields=["release", "category", "order_index"], name="steptemplate_order_idx")]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("steps:template_step_status", args=[self.pk])

    @property
    def variables(self) -> tuple[str, ...]:
        """The variable names the content uses, sorted."""
        return tuple(self.variable_names.split())


# The order of customer steps within a category: the anchor template step's position, then the offset after it.
STEP_ORDER = (models.F("anchor__order_index").asc(nulls_first=True), "anchor_offset", "id")


class CustomerStep(SoftDeleteModel):
    """One step of one release for one customer: copied from a template step, or custom to this customer.

    Order within a category is exact and needs no renumbering of other customers: a step sits in the group of
    its `anchor` template step (the template step itself at offset 0, custom steps inserted after it at offsets
    1, 2, …; anchor NULL is the group before the first template step). Reordering template steps moves each
    group with its anchor, so a custom step stays next to the step it was inserted after.
    """

    # Indexes: the composite ones below serve lookups by release; single-column ones only where used alone.
    release = models.ForeignKey(
        "releases.Release", on_delete=models.PROTECT, related_name="customer_steps", db_index=False
    )
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="steps")
    template = models.ForeignKey(
        StepTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="customer_steps"
    )
    anchor = models.ForeignKey(
        StepTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="anchored_steps", editable=False
    )
    anchor_offset = models.PositiveIntegerField(default=0, editable=False)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=10, choices=StepCategory.choices)
    type = models.CharField(max_length=10, choices=StepType.choices)
    content = models.TextField(validators=[validate_step_content_size])
    description = models.TextField(blank=True)
    # The variable names the content uses, sorted and space-separated (see StepTemplate.variable_names).
    variable_names = models.TextField(blank=True, editable=False)
    status = models.CharField(max_length=10, choices=StepStatus.choices, default=StepStatus.PENDING, editable=False)
    executed_at = models.DateTimeField(null=True, blank=True, editable=False)
    executed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
        db_index=False,
    )
    skip_reason = models.TextField(blank=True, editable=False)
    # Evidence of what was run: the SHA-256 of the exact rendered text (as Copy and Download give it) when the step
    # was marked done; empty otherwise.
    evidence_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    notes = models.TextField(blank=True)
    # Set by the runs of the step on its cluster (runs.services): queued or running now, or the last run failed.
    run_mark = models.CharField(
        max_length=10, choices=RunMark.choices, blank=True, default="", db_default="", editable=False
    )
    is_custom = models.BooleanField(default=False, editable=False)
    is_overridden = models.BooleanField(default=False, editable=False)
    # Incremented by every change: a form or action that carries the version it saw is refused when it is stale.
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "customer step"
        # Carrying out a step (done, skip, revert, notes) is the operator's job; changing it is the release manager's.
        permissions = [("execute_customerstep", "Can carry out customer steps")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(category__in=StepCategory.values),
                name="customerstep_category_valid",
                violation_error_message="Unknown step category.",
            ),
            models.CheckConstraint(
                condition=models.Q(type__in=StepType.values),
                name="customerstep_type_valid",
                violation_error_message="Unknown step type.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=StepStatus.values),
                name="customerstep_status_valid",
                violation_error_message="Unknown step status.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status=StepStatus.SKIPPED) | ~models.Q(skip_reason=""),
                name="customerstep_skip_needs_reason",
                violation_error_message="Skipping a step needs a reason.",
            ),
            models.CheckConstraint(
                condition=models.Q(is_custom=True, template__isnull=True, is_overridden=False)
                | models.Q(is_custom=False, template__isnull=False),
                name="customerstep_custom_xor_template",
                violation_error_message="A step is either custom (no template) or copied from a template step.",
            ),
            models.UniqueConstraint(
                fields=["customer", "template"],
                condition=models.Q(template__isnull=False),
                name="customerstep_one_per_template_and_customer",
                violation_error_message="This customer already has this template step.",
            ),
        ]
        indexes = [
            models.Index(fields=["release", "customer"], name="customerstep_release_cust_idx"),
            models.Index(fields=["release", "template"], name="customerstep_release_tmpl_idx"),
            models.Index(fields=["release", "category", "status"], name="customerstep_rel_cat_stat_idx"),
            # Live updates (steps/live.py) ask "what changed in this release since X?" every few seconds per screen.
            models.Index(fields=["release", "updated_at"], name="customerstep_release_upd_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer})"

    def get_absolute_url(self) -> str:
        return reverse("steps:step_detail", args=[self.pk])

    @property
    def variables(self) -> tuple[str, ...]:
        """The variable names the content uses, sorted."""
        return tuple(self.variable_names.split())

    @property
    def is_detached(self) -> bool:
        """A step whose template step was deleted after someone acted on it: kept, but no longer follows it."""
        return self.template_id is not None and self.anchor_id != self.template_id


class ProgressCounter(models.Model):
    """How many steps one customer has in one category of a release, and how many of them are done or skipped: the
    figures progress is made of (spec §8.2), kept so that an action never counts the whole release's steps again.

    Every service that creates, removes or changes the status of customer steps adds its change to these rows in
    the same transaction (steps.progress: `count_*`), as increments, so that concurrent actions add up. Removed
    (soft-deleted) steps are not counted; archived customers are, and are left out when progress is read, so that
    archiving or restoring a customer changes no row. `manage.py progress_counters` checks them against the steps.
    """

    release = models.ForeignKey("releases.Release", on_delete=models.PROTECT, related_name="+", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.PROTECT, related_name="progress_counters")
    category = models.CharField(max_length=10, choices=StepCategory.choices)
    total = models.IntegerField(default=0)
    done = models.IntegerField(default=0)
    skipped = models.IntegerField(default=0)

    class Meta:
        verbose_name = "progress counter"
        constraints = [
            # Also the index every read of a release's progress uses: (release, category) first.
            models.UniqueConstraint(
                fields=["release", "category", "customer"],
                name="progresscounter_one_per_customer_category",
                violation_error_message="A customer has one progress counter per category of a release.",
            ),
            models.CheckConstraint(
                condition=models.Q(done__gte=0, skipped__gte=0, total__gte=models.F("done") + models.F("skipped")),
                name="progresscounter_counts_valid",
                violation_error_message="Done and skipped steps can't be negative nor more than the steps.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.category}: {self.done}+{self.skipped}/{self.total}"
