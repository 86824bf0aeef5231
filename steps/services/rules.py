"""What every step service checks first: the messages of its refusals, the row locks, the status transitions.

Shared by the template layer (templates.py), per-customer content (content.py) and execution (execution.py).
"""

from django.utils import timezone

from core.errors import DomainError, StepChangedError
from core.variables import TemplateSyntaxError, referenced_names
from customers.models import Customer
from releases.models import Release
from releases.rules import refuse_if_archived, refuse_if_not_active
from steps.choices import StepCategory, StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.transitions import ACTION_VERBS, STEP_TRANSITIONS

TRANSITION_REFUSED = "Cannot {verb} step {step} for {customer}: it is {status}."
SKIP_REASON_REQUIRED = "Skipping a step needs a reason."
CONTENT_LOCKED = "Step {step} for {customer} is done; its content is locked. Revert it first to change it."
CONTENT_REQUIRED = "A step needs content: a script, a query or instructions."
CONTENT_UNCHANGED = "The content is unchanged."
NOT_CUSTOM = "Step {step} comes from the template; only custom steps can be {verb}."
CUSTOM_NOT_OVERRIDDEN = "Step {step} is a custom step; edit it instead of overriding it."
NOT_OVERRIDDEN = "Step {step} for {customer} is not overridden; there is nothing to reset."
TEMPLATE_GONE = "The template step of {step} was deleted; there is no template content to reset to."
CUSTOMER_ARCHIVED = "Customer {customer} is archived; restore it before changing its steps."
CUSTOMER_NOT_IN_RELEASE = "Customer {customer} is not in release {release}."
STEP_REMOVED = "This step was removed."
STEP_CHANGED = "This step was changed by {actor} at {when}; here is its current state."
TEMPLATE_STEP_REMOVED = "This template step was deleted."
NOTHING_PENDING = "{customer} has no pending or reverted {category} steps in release {release}."
POSITION_STEP_MISMATCH = "Insert the step next to a step of the same customer, release and category."
UNKNOWN_POSITION = "Choose where to insert the step: before or after another step."
UNKNOWN_CATEGORY = "Unknown step category: {category}."
CATEGORY_FIXED = "A template step's category can only change while the release is a draft."
REORDER_MISMATCH = "The steps to reorder do not match the {category} steps of release {release}; reload and retry."

# What a template edit copies to the customer steps that follow it, and what a custom step's edit may change.
PROPAGATED_FIELDS = ("name", "type", "content", "description")
CUSTOM_FIELDS = PROPAGATED_FIELDS


def refuse_blank_content(content: str) -> None:
    if not content or not content.strip():
        raise DomainError(CONTENT_REQUIRED, field="content")


def content_variable_names(content: str) -> str:
    """The variable names content uses (`#{name}`), sorted and space-separated, as steps keep them; a broken `#{` is
    refused next to the content, so that a step that is saved can always be rendered."""
    try:
        return " ".join(sorted(referenced_names(content)))
    except TemplateSyntaxError as error:
        raise DomainError(error.message, field="content") from None


def refuse_unknown_category(category: str) -> None:
    if category not in StepCategory.values:
        raise DomainError(UNKNOWN_CATEGORY.format(category=category), field="category")


def refuse_locked_content(step: CustomerStep) -> None:
    """A done step's content is what was run: it stays as it is until the step is reverted (BR-R03)."""
    if step.status == StepStatus.DONE:
        raise DomainError(CONTENT_LOCKED.format(step=step.name, customer=step.customer.name), field="content")


def refuse_archived_customer(customer: Customer) -> None:
    if customer.is_deleted:
        raise DomainError(CUSTOMER_ARCHIVED.format(customer=customer.name))


def locked_release(release) -> Release:
    """The release, re-read under a row lock: its status can't change until this transaction ends.

    FOR NO KEY UPDATE, not FOR UPDATE: it still waits for and holds off every other lock of the release (activation,
    archive, Mark All, a bulk action), but not the key-share lock PostgreSQL takes on the release to check the foreign
    key of a history event. A single step action holds its step's lock while it writes its event: with FOR UPDATE
    here, a service that locks the release and then that step would deadlock with it.
    """
    return Release.objects.select_for_update(no_key=True).get(pk=release.pk)


def locked_step(step: CustomerStep, expected_version: int | None = None) -> CustomerStep:
    """The step, re-read under a row lock, in an active release, for a customer that is not archived.

    With `expected_version` (the version the person saw), a step changed by someone else since then is refused
    with who changed it and when, instead of being silently overwritten (optimistic versioning).
    """
    try:
        step = (
            CustomerStep.objects.select_for_update(of=("self",))
            .select_related("release", "customer__cluster", "template", "executed_by")
            .get(pk=step.pk)
        )
    except CustomerStep.DoesNotExist as error:
        raise DomainError(STEP_REMOVED) from error
    if expected_version is not None and str(expected_version) != str(step.version):
        last = step.events.order_by("-occurred_at", "-id").first()
        raise StepChangedError(
            STEP_CHANGED.format(
                actor=last.actor_name if last else "someone",
                when=timezone.localtime(last.occurred_at).strftime("%Y-%m-%d %H:%M:%S") if last else "just now",
            ),
            step=step,
        )
    refuse_if_not_active(step.release)
    refuse_archived_customer(step.customer)
    return step


def save_step(step: CustomerStep, fields: list[str]) -> None:
    """Write the changed fields of a locked step with a new version, so that stale forms are detected."""
    step.version += 1
    step.save(update_fields=[*fields, "version", "updated_at"])


def locked_template(template_step: StepTemplate) -> StepTemplate:
    """The template step, re-read under a row lock, in a release that is not archived.

    FOR NO KEY UPDATE, as in locked_release: a step action holding its step's lock may still write a history event
    naming this template step while an edit of it waits for that step.
    """
    try:
        template_step = (
            StepTemplate.objects.select_for_update(of=("self",), no_key=True)
            .select_related("release")
            .get(pk=template_step.pk)
        )
    except StepTemplate.DoesNotExist as error:
        raise DomainError(TEMPLATE_STEP_REMOVED) from error
    refuse_if_archived(template_step.release)
    return template_step


def next_status(step: CustomerStep, action: str) -> str:
    """The status `action` moves the step to (STEP_TRANSITIONS), or a refusal naming the step and its status."""
    target = STEP_TRANSITIONS[step.status].get(action)
    if target is None:
        raise DomainError(
            TRANSITION_REFUSED.format(
                verb=ACTION_VERBS[action],
                step=step.name,
                customer=step.customer.name,
                status=step.get_status_display().lower(),
            )
        )
    return target
