"""What one customer's copy of a release says: overrides (FCS-002, FCS-005) and custom steps (FCS-003, FCS-006,
FCS-008). Other customers and the template are untouched (BR-S01); a done step's content is locked (BR-R03).

Order is exact: a customer step sits at (anchor template step's order_index, offset) — see CustomerStep.
"""

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.permissions import ADD_CUSTOMER_STEP, CHANGE_CUSTOMER_STEP, DELETE_CUSTOMER_STEP, require
from core.errors import DomainError
from core.models import validate_or_refuse
from customers.models import Customer
from history.choices import EventAction
from history.services import apply_changes, changed_values, record_event, snapshot
from releases.rules import refuse_if_not_active
from steps.choices import Position, StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.progress import count_step_added, count_steps_removed
from steps.services.rules import (
    CONTENT_LOCKED,
    CONTENT_UNCHANGED,
    CUSTOM_FIELDS,
    CUSTOM_NOT_OVERRIDDEN,
    CUSTOMER_NOT_IN_RELEASE,
    NOT_CUSTOM,
    NOT_OVERRIDDEN,
    POSITION_STEP_MISMATCH,
    PROPAGATED_FIELDS,
    TEMPLATE_GONE,
    UNKNOWN_POSITION,
    content_variable_names,
    locked_release,
    locked_step,
    refuse_archived_customer,
    refuse_blank_content,
    refuse_locked_content,
    refuse_unknown_category,
    save_step,
)
from steps.services.templates import previous_template, template_step_add


def _step_repr(step: CustomerStep) -> str:
    return f"{step.customer.name}: {step.name}"


@transaction.atomic
def customer_step_override(
    *, step: CustomerStep, user, content: str, expected_version: int | None = None
) -> CustomerStep:
    """Give one customer its own content for a template step (FCS-002), even after activation. The link to the
    template stays (BR-S02) and later template edits no longer reach it (BR-S08)."""
    require(user, CHANGE_CUSTOMER_STEP)
    step = locked_step(step, expected_version)
    if step.is_custom:
        raise DomainError(CUSTOM_NOT_OVERRIDDEN.format(step=step.name), field="content")
    refuse_locked_content(step)
    refuse_blank_content(content)
    if content == step.content:
        raise DomainError(CONTENT_UNCHANGED, field="content")
    before = {"content": step.content, "is_overridden": step.is_overridden}
    step.content = content
    step.variable_names = content_variable_names(content)
    step.is_overridden = True
    validate_or_refuse(step, fields=["content"])
    save_step(step, ["content", "variable_names", "is_overridden"])
    record_event(
        action=EventAction.STEP_OVERRIDDEN,
        user=user,
        object_repr=_step_repr(step),
        customer_step=step,
        before=before,
        after={"content": step.content, "is_overridden": True},
    )
    return step


@transaction.atomic
def customer_step_reset_to_template(*, step: CustomerStep, user, expected_version: int | None = None) -> CustomerStep:
    """Drop a customer's override and take the template step's current content again (FCS-005)."""
    require(user, CHANGE_CUSTOMER_STEP)
    step = locked_step(step, expected_version)
    if not step.is_overridden:
        raise DomainError(NOT_OVERRIDDEN.format(step=step.name, customer=step.customer.name))
    refuse_locked_content(step)
    template = step.template
    if template.is_deleted:
        raise DomainError(TEMPLATE_GONE.format(step=step.name))
    fields = (*PROPAGATED_FIELDS, "is_overridden")
    before = snapshot(step, fields)
    for field in PROPAGATED_FIELDS:
        setattr(step, field, getattr(template, field))
    step.variable_names = template.variable_names
    step.is_overridden = False
    save_step(step, [*fields, "variable_names"])
    old, new = changed_values(before, snapshot(step, fields))
    record_event(
        action=EventAction.STEP_RESET,
        user=user,
        object_repr=_step_repr(step),
        customer_step=step,
        before=old,
        after=new,
    )
    return step


def _group_end(*, release, customer, category, anchor: StepTemplate | None) -> int:
    """The last offset used in a group for one customer (0 when only the anchor, or nothing, is there)."""
    last = CustomerStep.objects.filter(release=release, customer=customer, category=category, anchor=anchor).aggregate(
        last=Max("anchor_offset")
    )["last"]
    return last or 0


def _insertion_point(*, release, customer, category, position, relative_to) -> tuple[StepTemplate | None, int]:
    """Where a new step goes, as (anchor, offset): it will sit right after `offset` in the anchor's group."""
    if relative_to is None:
        last_template = StepTemplate.objects.filter(release=release, category=category).order_by("-order_index").first()
        return last_template, _group_end(release=release, customer=customer, category=category, anchor=last_template)
    if position not in Position.values:
        raise DomainError(UNKNOWN_POSITION, field="position")
    if (
        relative_to.release_id != release.pk
        or relative_to.customer_id != customer.pk
        or relative_to.category != category
        or relative_to.is_deleted
    ):
        raise DomainError(POSITION_STEP_MISMATCH, field="relative_to")
    anchor, offset = relative_to.anchor, relative_to.anchor_offset
    if position == Position.AFTER:
        return anchor, offset
    if offset > 0:
        return anchor, offset - 1
    previous = previous_template(anchor)
    return previous, _group_end(release=release, customer=customer, category=category, anchor=previous)


@transaction.atomic
def customer_step_add_custom(
    *,
    release,
    customer: Customer,
    user,
    name: str,
    category: str,
    type: str,
    content: str,
    description: str = "",
    position: str | None = None,
    relative_to: CustomerStep | None = None,
    add_to_template: bool = False,
) -> CustomerStep:
    """Add a step for one customer (FCS-003), before or after any of its steps of that category (FCS-008), or
    last. Other customers and the template are untouched (BR-S01) — unless `add_to_template`: then it becomes a
    template step at that place and every customer of the release gets it at once (BR-S06)."""
    require(user, ADD_CUSTOMER_STEP)
    release = locked_release(release)
    refuse_if_not_active(release)
    customer = Customer.all_objects.get(pk=customer.pk)
    refuse_archived_customer(customer)
    if not release.enrollments.filter(customer=customer).exists():
        raise DomainError(CUSTOMER_NOT_IN_RELEASE.format(customer=customer.name, release=release.name))
    refuse_unknown_category(category)
    refuse_blank_content(content)
    variable_names = content_variable_names(content)
    if relative_to is not None:
        relative_to = CustomerStep.all_objects.select_related("anchor").get(pk=relative_to.pk)
    anchor, offset = _insertion_point(
        release=release, customer=customer, category=category, position=position, relative_to=relative_to
    )
    if add_to_template:
        template_step = template_step_add(
            release=release,
            user=user,
            name=name,
            category=category,
            type=type,
            content=content,
            description=description,
            index=anchor.order_index + 1 if anchor is not None else 0,
        )
        # This customer's custom steps that stood after the insertion point now follow the new step.
        CustomerStep.objects.filter(
            release=release, customer=customer, category=category, anchor=anchor, anchor_offset__gt=offset
        ).update(anchor=template_step, anchor_offset=F("anchor_offset") - offset)
        return CustomerStep.objects.get(customer=customer, template=template_step)

    step = CustomerStep(
        release=release,
        customer=customer,
        anchor=anchor,
        anchor_offset=offset + 1,
        name=name.strip(),
        category=category,
        type=type,
        content=content,
        description=description,
        variable_names=variable_names,
        is_custom=True,
    )
    validate_or_refuse(step)
    CustomerStep.objects.filter(
        release=release, customer=customer, category=category, anchor=anchor, anchor_offset__gt=offset
    ).update(anchor_offset=F("anchor_offset") + 1)
    step.save()
    count_step_added(step)
    record_event(
        action=EventAction.STEP_CUSTOM_ADDED,
        user=user,
        object_repr=_step_repr(step),
        customer_step=step,
        after=snapshot(step, (*CUSTOM_FIELDS, "category")),
    )
    return step


@transaction.atomic
def customer_step_edit_custom(
    *, step: CustomerStep, user, expected_version: int | None = None, **changes
) -> CustomerStep:
    """Edit a custom step's name, type, content or description; a done step's content stays locked."""
    require(user, CHANGE_CUSTOMER_STEP)
    step = locked_step(step, expected_version)
    if not step.is_custom:
        raise DomainError(NOT_CUSTOM.format(step=step.name, verb="edited this way"))
    refuse_locked_content(step)
    old, new = apply_changes(step, changes, CUSTOM_FIELDS, strip=("name",))
    if not new:
        return step
    refuse_blank_content(step.content)
    step.variable_names = content_variable_names(step.content)
    validate_or_refuse(step, fields=list(new))
    save_step(step, [*new, "variable_names"])
    record_event(
        action=EventAction.STEP_CUSTOM_EDITED,
        user=user,
        object_repr=_step_repr(step),
        customer_step=step,
        before=old,
        after=new,
    )
    return step


@transaction.atomic
def customer_step_remove_custom(*, step: CustomerStep, user, expected_version: int | None = None) -> CustomerStep:
    """Remove a custom step (FCS-006). Template steps cannot be removed per customer (skip them instead), and a
    done step is never lost: revert it first."""
    require(user, DELETE_CUSTOMER_STEP)
    step = locked_step(step, expected_version)
    if not step.is_custom:
        raise DomainError(NOT_CUSTOM.format(step=step.name, verb="removed; skip it instead"))
    if step.status == StepStatus.DONE:
        raise DomainError(CONTENT_LOCKED.format(step=step.name, customer=step.customer.name))
    step.deleted_at = timezone.now()
    save_step(step, ["deleted_at"])
    count_steps_removed(step.release_id, [(step.customer_id, step.category, step.status)])
    record_event(action=EventAction.STEP_CUSTOM_REMOVED, user=user, object_repr=_step_repr(step), customer_step=step)
    return step
