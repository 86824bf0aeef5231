"""The template layer of a release: add, edit, reorder and delete template steps (FS-001..FS-004).

Template edits reach only customer steps that are pending and not overridden (BR-R02, BR-S07, BR-S08); a deleted
template step keeps every customer step someone acted on, detached, in the place it had.
"""

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from accounts.permissions import ADD_TEMPLATE_STEP, CHANGE_TEMPLATE_STEP, DELETE_TEMPLATE_STEP, require
from core.errors import DomainError
from core.models import validate_or_refuse
from history.choices import EventAction
from history.services import apply_changes, record_event, record_step_events, snapshot
from releases.choices import ReleaseStatus
from releases.rules import refuse_if_archived
from steps.choices import StepCategory, StepStatus
from steps.enrollment import enrolled_customers, materialize_template_steps
from steps.models import CustomerStep, StepTemplate
from steps.progress import count_steps_removed
from steps.services.rules import (
    CATEGORY_FIXED,
    PROPAGATED_FIELDS,
    REORDER_MISMATCH,
    content_variable_names,
    locked_release,
    locked_template,
    refuse_blank_content,
    refuse_unknown_category,
)

TEMPLATE_FIELDS = ("name", "category", "type", "content", "description")


@transaction.atomic
def template_step_add(
    *,
    release,
    user,
    name: str,
    category: str,
    type: str,
    content: str,
    description: str = "",
    index: int | None = None,
) -> StepTemplate:
    """Add a template step (FS-001) at `index` in its category (default: last). In an active release every
    customer of the release gets it at once."""
    require(user, ADD_TEMPLATE_STEP)
    release = locked_release(release)
    refuse_if_archived(release)
    refuse_unknown_category(category)
    refuse_blank_content(content)
    variable_names = content_variable_names(content)
    siblings = StepTemplate.objects.filter(release=release, category=category)
    count = siblings.count()
    index = count if index is None else max(0, min(index, count))
    template_step = StepTemplate(
        release=release,
        name=name.strip(),
        category=category,
        type=type,
        content=content,
        description=description,
        variable_names=variable_names,
        order_index=index,
    )
    validate_or_refuse(template_step)
    if index < count:
        siblings.filter(order_index__gte=index).update(order_index=F("order_index") + 1)
    template_step.save()
    when = timezone.now()
    record_event(
        action=EventAction.TEMPLATE_STEP_ADDED,
        user=user,
        object_repr=template_step.name,
        template_step=template_step,
        when=when,
        after=snapshot(template_step, (*TEMPLATE_FIELDS, "order_index")),
    )
    if release.status == ReleaseStatus.ACTIVE:
        materialize_template_steps(
            release=release,
            customers=enrolled_customers(release),
            user=user,
            when=when,
            templates=StepTemplate.objects.filter(pk=template_step.pk),
        )
    return template_step


@transaction.atomic
def template_step_update(*, template_step: StepTemplate, user, **changes) -> StepTemplate:
    """Edit a template step (FS-002, FCS-007). The change reaches only customer steps that are pending and not
    overridden (BR-R02, BR-S07); overridden, done, skipped and reverted steps keep their content (BR-S08)."""
    require(user, CHANGE_TEMPLATE_STEP)
    template_step = locked_template(template_step)
    old, new = apply_changes(template_step, changes, TEMPLATE_FIELDS, strip=("name",))
    if not new:
        return template_step
    refuse_blank_content(template_step.content)
    template_step.variable_names = content_variable_names(template_step.content)
    if "category" in new:
        refuse_unknown_category(template_step.category)
        if template_step.release.status != ReleaseStatus.DRAFT:
            raise DomainError(CATEGORY_FIXED, field="category")
        template_step.order_index = StepTemplate.objects.filter(
            release=template_step.release, category=template_step.category
        ).count()
    validate_or_refuse(template_step)
    template_step.save()
    when = timezone.now()
    record_event(
        action=EventAction.TEMPLATE_STEP_UPDATED,
        user=user,
        object_repr=template_step.name,
        template_step=template_step,
        when=when,
        before=old,
        after=new,
    )
    if "category" in new:
        _renumber_templates(template_step.release, old["category"])
    propagated = {field: new[field] for field in PROPAGATED_FIELDS if field in new}
    if propagated:
        followers = CustomerStep.objects.filter(template=template_step, status=StepStatus.PENDING, is_overridden=False)
        # Locked in id order before they are written, the order bulk actions and Mark All lock steps in: an UPDATE
        # locks rows in the order it finds them, and two transactions locking the same steps in different orders
        # deadlock on PostgreSQL.
        list(followers.select_for_update(of=("self",)).order_by("pk").values_list("pk", flat=True))
        record_step_events(
            action=EventAction.STEP_UPDATED_FROM_TEMPLATE,
            steps=followers,
            user=user,
            when=when,
            before={field: old[field] for field in propagated},
            after=propagated,
        )
        if "content" in propagated:
            propagated["variable_names"] = template_step.variable_names
        followers.update(**propagated, version=F("version") + 1, updated_at=when)
    return template_step


def _renumber_templates(release, category: str) -> None:
    """Give the template steps of a category the positions 0, 1, 2… in their current order."""
    templates = list(StepTemplate.objects.filter(release=release, category=category).order_by("order_index", "id"))
    moved = []
    for index, template in enumerate(templates):
        if template.order_index != index:
            template.order_index = index
            moved.append(template)
    StepTemplate.objects.bulk_update(moved, ["order_index"])


def previous_template(template_step: StepTemplate) -> StepTemplate | None:
    """The live template step right before this one in its category, or None for the first."""
    return (
        StepTemplate.objects.filter(
            release_id=template_step.release_id,
            category=template_step.category,
            order_index__lt=template_step.order_index,
        )
        .exclude(pk=template_step.pk)
        .order_by("-order_index")
        .first()
    )


@transaction.atomic
def template_step_delete(*, template_step: StepTemplate, user) -> StepTemplate:
    """Delete a template step (FS-004). Its customer steps that are pending and not overridden go with it; every
    step someone acted on (done, skipped, reverted or overridden) is kept, detached from the template, in the
    place it had, with its history. Custom steps that followed it stay where they were."""
    require(user, DELETE_TEMPLATE_STEP)
    template_step = locked_template(template_step)
    when = timezone.now()
    # Locked first, so that the steps counted out of progress, recorded and removed are the same ones, even if
    # someone marks one of them done meanwhile.
    locked = list(
        CustomerStep.objects.select_for_update(of=("self",))
        .filter(template=template_step, status=StepStatus.PENDING, is_overridden=False)
        .values_list("pk", "customer_id", "category", "status")
    )
    count_steps_removed(template_step.release_id, [row[1:] for row in locked])
    removed = 0
    if locked:
        removable = CustomerStep.objects.filter(pk__in=[row[0] for row in locked])
        removed = record_step_events(
            action=EventAction.STEP_REMOVED_WITH_TEMPLATE, steps=removable, user=user, when=when
        )
        removable.update(deleted_at=when, version=F("version") + 1, updated_at=when)
    kept = CustomerStep.objects.filter(template=template_step)
    kept_count = record_step_events(action=EventAction.STEP_DETACHED, steps=kept, user=user, when=when)

    # Every step still in this template step's group joins the end of the previous group, in the same order.
    previous = previous_template(template_step)
    staying = list(CustomerStep.objects.filter(anchor=template_step).order_by("customer_id", "anchor_offset", "id"))
    if staying:
        group_ends = dict(
            CustomerStep.objects.filter(
                release_id=template_step.release_id,
                category=template_step.category,
                anchor=previous,
                customer_id__in={step.customer_id for step in staying},
            )
            .values_list("customer_id")
            .annotate(last=Max("anchor_offset"))
        )
        for step in staying:
            group_ends[step.customer_id] = group_ends.get(step.customer_id, 0) + 1
            step.anchor = previous
            step.anchor_offset = group_ends[step.customer_id]
        CustomerStep.objects.bulk_update(staying, ["anchor", "anchor_offset"])

    template_step.deleted_at = when
    template_step.save(update_fields=["deleted_at", "updated_at"])
    _renumber_templates(template_step.release, template_step.category)
    record_event(
        action=EventAction.TEMPLATE_STEP_DELETED,
        user=user,
        object_repr=template_step.name,
        template_step=template_step,
        when=when,
        after={"customer_steps_removed": removed, "customer_steps_kept": kept_count},
    )
    return template_step


@transaction.atomic
def template_steps_reorder(*, release, category: str, ordered_ids: list[int], user) -> list[StepTemplate]:
    """Put the template steps of a category in the given order (FS-003). Custom steps move with the step they
    were inserted after. `ordered_ids` must name exactly the category's template steps."""
    require(user, CHANGE_TEMPLATE_STEP)
    release = locked_release(release)
    refuse_if_archived(release)
    refuse_unknown_category(category)
    templates = {t.pk: t for t in StepTemplate.objects.filter(release=release, category=category)}
    try:
        ordered_ids = [int(pk) for pk in ordered_ids]
    except (TypeError, ValueError) as error:
        raise DomainError(REORDER_MISMATCH.format(category=category, release=release.name)) from error
    if len(ordered_ids) != len(templates) or set(ordered_ids) != set(templates):
        raise DomainError(REORDER_MISMATCH.format(category=category, release=release.name))
    before = [t.name for t in sorted(templates.values(), key=lambda t: t.order_index)]
    moved = []
    for index, pk in enumerate(ordered_ids):
        if templates[pk].order_index != index:
            templates[pk].order_index = index
            moved.append(templates[pk])
    ordered = [templates[pk] for pk in ordered_ids]
    if moved:
        StepTemplate.objects.bulk_update(moved, ["order_index"])
        record_event(
            action=EventAction.TEMPLATE_STEP_REORDERED,
            user=user,
            object_repr=f"{release.name}: {StepCategory(category).label} steps",
            release=release,
            before={"order": before},
            after={"order": [t.name for t in ordered]},
        )
    return ordered
