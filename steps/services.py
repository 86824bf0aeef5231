"""Every change to steps: the template layer (add, edit, reorder, delete) and customer steps (override, reset,
custom steps, and execution: done, skip, revert).

Rules this module holds:
- A customer step's status changes only along STEP_TRANSITIONS.
- Template edits reach only customer steps that are pending and not overridden (BR-R02, BR-S07, BR-S08).
- The content of a done step is locked (BR-R03); nothing done is ever lost (deletion is soft, and a template
  step's deletion keeps every customer step someone acted on).
- Order is exact: a customer step sits at (anchor template step's order_index, offset) — see CustomerStep.
"""

from django.db import connection, transaction
from django.db.models import F, Max, QuerySet
from django.utils import timezone

from accounts.permissions import (
    ADD_CUSTOMER_STEP,
    ADD_TEMPLATE_STEP,
    CHANGE_CUSTOMER_STEP,
    CHANGE_TEMPLATE_STEP,
    DELETE_CUSTOMER_STEP,
    DELETE_TEMPLATE_STEP,
    EXECUTE_STEPS,
    require,
)
from core.errors import DomainError, StepChangedError
from core.models import validate_or_refuse
from customers.models import Customer
from history.choices import EventAction
from history.services import changed_values, record_event, record_step_events, snapshot
from releases.choices import ReleaseStatus
from steps.choices import Position, StepCategory, StepStatus
from steps.models import CustomerStep, StepTemplate

# The status transitions of a customer step: status → {action: new status}. Nothing else is allowed.
STEP_TRANSITIONS: dict[str, dict[str, str]] = {
    StepStatus.PENDING: {"mark_done": StepStatus.DONE, "skip": StepStatus.SKIPPED},
    StepStatus.DONE: {"revert": StepStatus.REVERTED},
    StepStatus.SKIPPED: {"reopen": StepStatus.PENDING},
    StepStatus.REVERTED: {"mark_done": StepStatus.DONE, "skip": StepStatus.SKIPPED},
}
ACTION_VERBS = {"mark_done": "mark as done", "skip": "skip", "revert": "revert", "reopen": "undo the skip of"}

TRANSITION_REFUSED = "Cannot {verb} step {step} for {customer}: it is {status}."
SKIP_REASON_REQUIRED = "Skipping a step needs a reason."
CONTENT_LOCKED = "Step {step} for {customer} is done; its content is locked. Revert it first to change it."
CONTENT_REQUIRED = "A step needs content: a script, a query or instructions."
CONTENT_UNCHANGED = "The content is unchanged."
NOT_CUSTOM = "Step {step} comes from the template; only custom steps can be {verb}."
CUSTOM_NOT_OVERRIDDEN = "Step {step} is a custom step; edit it instead of overriding it."
NOT_OVERRIDDEN = "Step {step} for {customer} is not overridden; there is nothing to reset."
TEMPLATE_GONE = "The template step of {step} was deleted; there is no template content to reset to."
RELEASE_NOT_ACTIVE = "Release {release} is {status}; its customer steps cannot change."
RELEASE_ARCHIVED = "Release {release} is archived; it can no longer change."
CUSTOMER_ARCHIVED = "Customer {customer} is archived; restore it before changing its steps."
CUSTOMER_NOT_IN_RELEASE = "Customer {customer} is not in release {release}."
STEP_REMOVED = "This step was removed."
STEP_CHANGED = "This step was changed by {actor} at {when}; here is its current state."
TEMPLATE_STEP_REMOVED = "This template step was deleted."
NOTHING_PENDING = "{customer} has no pending {category} steps in release {release}."
POSITION_STEP_MISMATCH = "Insert the step next to a step of the same customer, release and category."
UNKNOWN_POSITION = "Choose where to insert the step: before or after another step."
UNKNOWN_CATEGORY = "Unknown step category: {category}."
CATEGORY_FIXED = "A template step's category can only change while the release is a draft."
REORDER_MISMATCH = "The steps to reorder do not match the {category} steps of release {release}; reload and retry."

TEMPLATE_FIELDS = ("name", "category", "type", "content", "description")
# What a template edit copies to the customer steps that follow it.
PROPAGATED_FIELDS = ("name", "type", "content", "description")
CUSTOM_FIELDS = ("name", "type", "content", "description")


# --- shared checks -------------------------------------------------------------------------------------------


def _refuse_archived(release) -> None:
    if release.status == ReleaseStatus.ARCHIVED:
        raise DomainError(RELEASE_ARCHIVED.format(release=release.name))


def _refuse_inactive(release) -> None:
    if release.status != ReleaseStatus.ACTIVE:
        raise DomainError(RELEASE_NOT_ACTIVE.format(release=release.name, status=release.get_status_display().lower()))


def _refuse_blank_content(content: str) -> None:
    if not content or not content.strip():
        raise DomainError(CONTENT_REQUIRED, field="content")


def _refuse_unknown_category(category: str) -> None:
    if category not in StepCategory.values:
        raise DomainError(UNKNOWN_CATEGORY.format(category=category), field="category")


def _locked_step(step: CustomerStep, expected_version: int | None = None) -> CustomerStep:
    """The step, re-read under a row lock, in an active release, for a customer that is not archived.

    With `expected_version` (the version the person saw), a step changed by someone else since then is refused
    with who changed it and when, instead of being silently overwritten (optimistic versioning).
    """
    try:
        step = (
            CustomerStep.objects.select_for_update(of=("self",))
            .select_related("release", "customer__cluster", "template")
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
    _refuse_inactive(step.release)
    if step.customer.is_deleted:
        raise DomainError(CUSTOMER_ARCHIVED.format(customer=step.customer.name))
    return step


def _save_step(step: CustomerStep, fields: list[str]) -> None:
    """Write the changed fields of a locked step with a new version, so that stale forms are detected."""
    step.version += 1
    step.save(update_fields=[*fields, "version", "updated_at"])


def _locked_template(template_step: StepTemplate) -> StepTemplate:
    try:
        template_step = (
            StepTemplate.objects.select_for_update(of=("self",)).select_related("release").get(pk=template_step.pk)
        )
    except StepTemplate.DoesNotExist as error:
        raise DomainError(TEMPLATE_STEP_REMOVED) from error
    _refuse_archived(template_step.release)
    return template_step


def _next_status(step: CustomerStep, action: str) -> str:
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


def _refuse_locked_content(step: CustomerStep) -> None:
    if step.status == StepStatus.DONE:
        raise DomainError(CONTENT_LOCKED.format(step=step.name, customer=step.customer.name), field="content")


def _enrolled_customers(release) -> QuerySet[Customer]:
    return Customer.objects.filter(enrollments__release=release)


# --- creating customer steps from template steps --------------------------------------------------------------


def materialize_template_steps(
    *, release, customers: QuerySet[Customer], user, when, templates: QuerySet[StepTemplate] | None = None
) -> int:
    """Create the customer step of every (template step, customer) pair that has none yet, with its history.

    One INSERT … SELECT for the steps and one for their "Created from template" events, whatever the number of
    customers and template steps. Returns how many steps were created.
    """
    if templates is None:
        templates = StepTemplate.objects.filter(release=release)
    templates_sql, templates_params = templates.order_by().values("pk").query.sql_with_params()
    customers_sql, customers_params = customers.order_by().values("pk").query.sql_with_params()
    stamp = CustomerStep._meta.get_field("created_at").get_db_prep_save(when, connection)
    steps_table = CustomerStep._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {steps_table} (release_id, customer_id, template_id, anchor_id, anchor_offset, name, "
            "category, type, content, description, status, skip_reason, notes, is_custom, is_overridden, "
            "version, created_at, updated_at) "
            "SELECT t.release_id, c.id, t.id, t.id, 0, t.name, t.category, t.type, t.content, t.description, "
            "%s, '', '', %s, %s, 1, %s, %s "
            f"FROM {StepTemplate._meta.db_table} t, {Customer._meta.db_table} c "
            f"WHERE t.id IN ({templates_sql}) AND c.id IN ({customers_sql}) AND NOT EXISTS "
            f"(SELECT 1 FROM {steps_table} x WHERE x.customer_id = c.id AND x.template_id = t.id)",
            [StepStatus.PENDING.value, False, False, stamp, stamp, *templates_params, *customers_params],
        )
        created = cursor.rowcount
    if created:
        record_step_events(
            action=EventAction.STEP_CREATED,
            steps=CustomerStep.objects.filter(
                release=release, created_at=when, template__in=templates, customer__in=customers
            ),
            user=user,
            when=when,
        )
    return created


# --- the template layer ---------------------------------------------------------------------------------------


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
    from releases.models import Release

    release = Release.objects.select_for_update().get(pk=release.pk)
    _refuse_archived(release)
    _refuse_unknown_category(category)
    _refuse_blank_content(content)
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
            customers=_enrolled_customers(release),
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
    unknown = set(changes) - set(TEMPLATE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    template_step = _locked_template(template_step)
    before = snapshot(template_step, TEMPLATE_FIELDS)
    for field, value in changes.items():
        setattr(template_step, field, value.strip() if field == "name" else value)
    old, new = changed_values(before, snapshot(template_step, TEMPLATE_FIELDS))
    if not new:
        return template_step
    _refuse_blank_content(template_step.content)
    if "category" in new:
        _refuse_unknown_category(template_step.category)
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
        _renumber_templates(template_step.release, before["category"])
    propagated = {field: new[field] for field in PROPAGATED_FIELDS if field in new}
    if propagated:
        followers = CustomerStep.objects.filter(template=template_step, status=StepStatus.PENDING, is_overridden=False)
        record_step_events(
            action=EventAction.STEP_UPDATED_FROM_TEMPLATE,
            steps=followers,
            user=user,
            when=when,
            before={field: old[field] for field in propagated},
            after=propagated,
        )
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


def _previous_template(template_step: StepTemplate) -> StepTemplate | None:
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
    template_step = _locked_template(template_step)
    when = timezone.now()
    removable = CustomerStep.objects.filter(template=template_step, status=StepStatus.PENDING, is_overridden=False)
    removed = record_step_events(action=EventAction.STEP_REMOVED_WITH_TEMPLATE, steps=removable, user=user, when=when)
    removable.update(deleted_at=when, version=F("version") + 1, updated_at=when)
    kept = CustomerStep.objects.filter(template=template_step)
    kept_count = record_step_events(action=EventAction.STEP_DETACHED, steps=kept, user=user, when=when)

    # Every step still in this template step's group joins the end of the previous group, in the same order.
    previous = _previous_template(template_step)
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
    from releases.models import Release

    release = Release.objects.select_for_update().get(pk=release.pk)
    _refuse_archived(release)
    _refuse_unknown_category(category)
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


# --- customer steps: content ----------------------------------------------------------------------------------


@transaction.atomic
def customer_step_override(
    *, step: CustomerStep, user, content: str, expected_version: int | None = None
) -> CustomerStep:
    """Give one customer its own content for a template step (FCS-002), even after activation. The link to the
    template stays (BR-S02) and later template edits no longer reach it (BR-S08)."""
    require(user, CHANGE_CUSTOMER_STEP)
    step = _locked_step(step, expected_version)
    if step.is_custom:
        raise DomainError(CUSTOM_NOT_OVERRIDDEN.format(step=step.name), field="content")
    _refuse_locked_content(step)
    _refuse_blank_content(content)
    if content == step.content:
        raise DomainError(CONTENT_UNCHANGED, field="content")
    before = {"content": step.content, "is_overridden": step.is_overridden}
    step.content = content
    step.is_overridden = True
    validate_or_refuse(step, fields=["content"])
    _save_step(step, ["content", "is_overridden"])
    record_event(
        action=EventAction.STEP_OVERRIDDEN,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        before=before,
        after={"content": step.content, "is_overridden": True},
    )
    return step


@transaction.atomic
def customer_step_reset_to_template(*, step: CustomerStep, user, expected_version: int | None = None) -> CustomerStep:
    """Drop a customer's override and take the template step's current content again (FCS-005)."""
    require(user, CHANGE_CUSTOMER_STEP)
    step = _locked_step(step, expected_version)
    if not step.is_overridden:
        raise DomainError(NOT_OVERRIDDEN.format(step=step.name, customer=step.customer.name))
    _refuse_locked_content(step)
    template = step.template
    if template.is_deleted:
        raise DomainError(TEMPLATE_GONE.format(step=step.name))
    fields = (*PROPAGATED_FIELDS, "is_overridden")
    before = snapshot(step, fields)
    for field in PROPAGATED_FIELDS:
        setattr(step, field, getattr(template, field))
    step.is_overridden = False
    _save_step(step, list(fields))
    old, new = changed_values(before, snapshot(step, fields))
    record_event(
        action=EventAction.STEP_RESET,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
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
    previous = _previous_template(anchor)
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
    from releases.models import Release

    release = Release.objects.select_for_update().get(pk=release.pk)
    _refuse_inactive(release)
    customer = Customer.all_objects.get(pk=customer.pk)
    if customer.is_deleted:
        raise DomainError(CUSTOMER_ARCHIVED.format(customer=customer.name))
    if not release.enrollments.filter(customer=customer).exists():
        raise DomainError(CUSTOMER_NOT_IN_RELEASE.format(customer=customer.name, release=release.name))
    _refuse_unknown_category(category)
    _refuse_blank_content(content)
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
        is_custom=True,
    )
    validate_or_refuse(step)
    CustomerStep.objects.filter(
        release=release, customer=customer, category=category, anchor=anchor, anchor_offset__gt=offset
    ).update(anchor_offset=F("anchor_offset") + 1)
    step.save()
    record_event(
        action=EventAction.STEP_CUSTOM_ADDED,
        user=user,
        object_repr=f"{customer.name}: {step.name}",
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
    unknown = set(changes) - set(CUSTOM_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    step = _locked_step(step, expected_version)
    if not step.is_custom:
        raise DomainError(NOT_CUSTOM.format(step=step.name, verb="edited this way"))
    _refuse_locked_content(step)
    before = snapshot(step, CUSTOM_FIELDS)
    for field, value in changes.items():
        setattr(step, field, value.strip() if field == "name" else value)
    old, new = changed_values(before, snapshot(step, CUSTOM_FIELDS))
    if not new:
        return step
    _refuse_blank_content(step.content)
    validate_or_refuse(step, fields=list(new))
    _save_step(step, list(new))
    record_event(
        action=EventAction.STEP_CUSTOM_EDITED,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
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
    step = _locked_step(step, expected_version)
    if not step.is_custom:
        raise DomainError(NOT_CUSTOM.format(step=step.name, verb="removed; skip it instead"))
    if step.status == StepStatus.DONE:
        raise DomainError(CONTENT_LOCKED.format(step=step.name, customer=step.customer.name))
    step.deleted_at = timezone.now()
    _save_step(step, ["deleted_at"])
    record_event(
        action=EventAction.STEP_CUSTOM_REMOVED,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
    )
    return step


# --- customer steps: execution --------------------------------------------------------------------------------


def _execute(step: CustomerStep, *, action: str, event: EventAction, user, notes: str | None = None, **fields):
    """Move a locked step along STEP_TRANSITIONS, stamp who and when, and record it."""
    target = _next_status(step, action)
    before = {"status": step.status}
    after = {"status": target}
    step.status = target
    step.executed_at = timezone.now() if target != StepStatus.PENDING else None
    step.executed_by = user if target != StepStatus.PENDING else None
    changed = ["status", "executed_at", "executed_by"]
    if notes is not None and notes != step.notes:
        before["notes"], after["notes"] = step.notes, notes
        step.notes = notes
        changed.append("notes")
    for field, value in fields.items():
        before[field], after[field] = getattr(step, field), value
        setattr(step, field, value)
        changed.append(field)
    _save_step(step, changed)
    record_event(
        action=event,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        when=step.executed_at,
        before=before,
        after=after,
    )
    return step


@transaction.atomic
def customer_step_mark_done(
    *, step: CustomerStep, user, notes: str | None = None, expected_version: int | None = None
) -> CustomerStep:
    """Mark a pending or reverted step done, with optional execution notes (FET-001)."""
    require(user, EXECUTE_STEPS)
    return _execute(
        _locked_step(step, expected_version), action="mark_done", event=EventAction.STEP_DONE, user=user, notes=notes
    )


@transaction.atomic
def customer_step_skip(*, step: CustomerStep, user, reason: str, expected_version: int | None = None) -> CustomerStep:
    """Skip a step; the reason is mandatory and cannot be blank (FET-003, FCS-004, BR-S03)."""
    require(user, EXECUTE_STEPS)
    reason = (reason or "").strip()
    if not reason:
        raise DomainError(SKIP_REASON_REQUIRED, field="reason")
    return _execute(
        _locked_step(step, expected_version),
        action="skip",
        event=EventAction.STEP_SKIPPED,
        user=user,
        skip_reason=reason,
    )


@transaction.atomic
def customer_step_revert(
    *, step: CustomerStep, user, notes: str | None = None, expected_version: int | None = None
) -> CustomerStep:
    """Revert a done step (FET-002): it becomes `reverted` and needs doing again; its history stays (BR-R04)."""
    require(user, EXECUTE_STEPS)
    return _execute(
        _locked_step(step, expected_version), action="revert", event=EventAction.STEP_REVERTED, user=user, notes=notes
    )


@transaction.atomic
def customer_step_reopen(*, step: CustomerStep, user, expected_version: int | None = None) -> CustomerStep:
    """Undo a skip: the step is pending again and its skip reason is cleared (the history keeps it).

    A pending step that is not overridden follows its template step, so it takes the template's current content:
    edits made while it was skipped must not leave a stale script to run.
    """
    require(user, EXECUTE_STEPS)
    step = _locked_step(step, expected_version)
    template = step.template
    refreshed = {}
    if template is not None and not template.is_deleted and not step.is_overridden:
        refreshed = {
            field: getattr(template, field)
            for field in PROPAGATED_FIELDS
            if getattr(step, field) != getattr(template, field)
        }
    return _execute(step, action="reopen", event=EventAction.STEP_REOPENED, user=user, skip_reason="", **refreshed)


@transaction.atomic
def customer_step_update_notes(
    *, step: CustomerStep, user, notes: str, expected_version: int | None = None
) -> CustomerStep:
    """Change a step's execution notes, whatever its status."""
    require(user, EXECUTE_STEPS)
    step = _locked_step(step, expected_version)
    if notes == step.notes:
        return step
    before = {"notes": step.notes}
    step.notes = notes
    validate_or_refuse(step, fields=["notes"])
    _save_step(step, ["notes"])
    record_event(
        action=EventAction.STEP_NOTES_CHANGED,
        user=user,
        object_repr=f"{step.customer.name}: {step.name}",
        customer_step=step,
        before=before,
        after={"notes": notes},
    )
    return step


@transaction.atomic
def customer_steps_mark_all_done(*, release, customer: Customer, category: str, user, notes: str | None = None) -> int:
    """Mark every pending step of one category done for one customer (FET-004). Returns how many."""
    require(user, EXECUTE_STEPS)
    from releases.models import Release

    release = Release.objects.select_for_update().get(pk=release.pk)
    _refuse_inactive(release)
    _refuse_unknown_category(category)
    customer = Customer.all_objects.get(pk=customer.pk)
    if customer.is_deleted:
        raise DomainError(CUSTOMER_ARCHIVED.format(customer=customer.name))
    pending_ids = list(
        CustomerStep.objects.select_for_update()
        .filter(release=release, customer=customer, category=category, status=StepStatus.PENDING)
        .values_list("pk", flat=True)
    )
    if not pending_ids:
        raise DomainError(
            NOTHING_PENDING.format(
                customer=customer.name, category=StepCategory(category).label.lower(), release=release.name
            )
        )
    when = timezone.now()
    steps = CustomerStep.objects.filter(pk__in=pending_ids)
    changes = {
        "status": StepStatus.DONE,
        "executed_at": when,
        "executed_by": user,
        "version": F("version") + 1,
        "updated_at": when,
    }
    if notes is not None:
        changes["notes"] = notes
    steps.update(**changes)
    after = {"status": StepStatus.DONE.value, **({"notes": notes} if notes is not None else {})}
    record_step_events(
        action=EventAction.STEP_DONE,
        steps=steps,
        user=user,
        when=when,
        before={"status": StepStatus.PENDING.value},
        after=after,
    )
    return len(pending_ids)
