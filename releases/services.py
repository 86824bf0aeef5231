"""Every change to releases: create, edit, activate, add customers, clone, archive.

A release moves draft → active → archived and no other way (RELEASE_TRANSITIONS). Activation copies every template
step to every covered customer with a constant number of queries, however many customers there are.
"""

from itertools import groupby
from operator import attrgetter

from django.db import transaction
from django.utils import timezone

from accounts.permissions import ADD_ENROLLMENT, ADD_RELEASE, CHANGE_RELEASE, require
from core.errors import DomainError
from core.models import validate_or_refuse
from customers.models import Customer
from customers.selectors import eligible_customers
from history.choices import EventAction
from history.services import apply_changes, record_event, snapshot
from releases.choices import ReleaseStatus, ReleaseType
from releases.models import Release
from releases.rules import refuse_if_archived, refuse_if_not_active
from steps.enrollment import enroll
from steps.models import StepTemplate
from variables.services import variables_copy
from webhooks.choices import EventType
from webhooks.payloads import release_event
from webhooks.services import notify

# The release lifecycle (FR-002): status → the statuses it may move to, and the word for that move.
RELEASE_TRANSITIONS: dict[str, dict[str, str]] = {
    ReleaseStatus.DRAFT: {ReleaseStatus.ACTIVE: "activate"},
    ReleaseStatus.ACTIVE: {ReleaseStatus.ARCHIVED: "archive"},
    ReleaseStatus.ARCHIVED: {},
}
TRANSITION_REFUSED = "Release {name} is {status}; it cannot be {verb}d."
SELECTION_EMPTY = "The selection leaves no customer in release {name}; select at least one active customer."
CUSTOMERS_NEED_ACTIVE_RELEASE = "Release {name} is {status}; customers can only be added to an active release."
CUSTOMERS_NOT_ELIGIBLE = "Only active customers in active clusters can join a release: {names}."
NOTHING_TO_ADD = "Every selected customer is already in release {name}."

VERSION_NUMBER_REQUIRED = "A release of type 'release' needs a version number (e.g. v2.5.0)."
RELEASE_DATE_REQUIRED = "A release of type 'release' needs a target release date."

EDITABLE_FIELDS = (
    "name",
    "type",
    "version_number",
    "release_date",
    "description",
    "metadata",
    "context_guard",
    "run_timeout_minutes",
)


def _refuse_incomplete(release: Release) -> None:
    """A regular release is planned: it has a version number and a target date (FR-001, spec §7.2)."""
    if release.type == ReleaseType.RELEASE:
        if not release.version_number:
            raise DomainError(VERSION_NUMBER_REQUIRED, field="version_number")
        if release.release_date is None:
            raise DomainError(RELEASE_DATE_REQUIRED, field="release_date")


def _locked(release: Release) -> Release:
    return Release.objects.select_for_update().get(pk=release.pk)


def _refuse_transition(release: Release, target: str) -> None:
    if target not in RELEASE_TRANSITIONS[release.status]:
        verb = {ReleaseStatus.ACTIVE: "activate", ReleaseStatus.ARCHIVED: "archive"}.get(target, f"made {target}")
        raise DomainError(
            TRANSITION_REFUSED.format(name=release.name, status=release.get_status_display().lower(), verb=verb)
        )


@transaction.atomic
def release_create(
    *,
    user,
    name: str,
    type: str,
    version_number: str = "",
    release_date=None,
    description: str = "",
    metadata=None,
    context_guard: bool = False,
    run_timeout_minutes: int = 10,
) -> Release:
    """Create a draft release (FR-001); a release of type 'release' needs a version number."""
    require(user, ADD_RELEASE)
    release = Release(
        name=name.strip(),
        type=type,
        version_number=version_number.strip(),
        release_date=release_date,
        description=description,
        metadata={} if metadata is None else metadata,
        context_guard=context_guard,
        run_timeout_minutes=run_timeout_minutes,
    )
    _refuse_incomplete(release)
    validate_or_refuse(release)
    release.save()
    record_event(
        action=EventAction.RELEASE_CREATED,
        user=user,
        object_repr=release.name,
        release=release,
        after=snapshot(release, EDITABLE_FIELDS),
    )
    return release


@transaction.atomic
def release_update(*, release: Release, user, **changes) -> Release:
    """Edit a release's name, type, version, date, description or metadata; archived releases are closed."""
    require(user, CHANGE_RELEASE)
    release = _locked(release)
    refuse_if_archived(release)
    old, new = apply_changes(release, changes, EDITABLE_FIELDS, strip=("name", "version_number"))
    if not new:
        return release
    _refuse_incomplete(release)
    validate_or_refuse(release)
    release.save()
    record_event(
        action=EventAction.RELEASE_UPDATED, user=user, object_repr=release.name, release=release, before=old, after=new
    )
    return release


@transaction.atomic
def release_activate(*, release: Release, user, exclude_customers=(), exclude_clusters=()) -> Release:
    """Activate a draft (FR-003, BR-R01): every active customer of every active cluster gets a copy of every
    template step, unless the caller excludes customers or whole clusters.

    Without exclusions the release covers all customers, and customers that become active later join it; a
    release activated for a selection does not grow by itself (customers can still be added: release_add_customers).
    """
    require(user, CHANGE_RELEASE)
    require(user, ADD_ENROLLMENT)
    release = _locked(release)
    _refuse_transition(release, ReleaseStatus.ACTIVE)
    covers_all = not exclude_customers and not exclude_clusters
    customers = eligible_customers()
    if exclude_customers:
        customers = customers.exclude(pk__in=[getattr(c, "pk", c) for c in exclude_customers])
    if exclude_clusters:
        customers = customers.exclude(cluster__in=[getattr(c, "pk", c) for c in exclude_clusters])
    if not covers_all and not customers.exists():
        raise DomainError(SELECTION_EMPTY.format(name=release.name))
    when = timezone.now()
    names, created = enroll(release=release, customers=customers, user=user, when=when)
    release.status = ReleaseStatus.ACTIVE
    release.activated_at = when
    release.covers_all_customers = covers_all
    release.save(update_fields=["status", "activated_at", "covers_all_customers", "updated_at"])
    record_event(
        action=EventAction.RELEASE_ACTIVATED,
        user=user,
        object_repr=release.name,
        release=release,
        when=when,
        before={"status": ReleaseStatus.DRAFT.value},
        after={
            "status": ReleaseStatus.ACTIVE.value,
            "covers_all_customers": covers_all,
            "customers": names,
            "steps_created": created,
        },
    )
    notify(
        EventType.RELEASE_ACTIVATED,
        lambda: release_event(
            EventType.RELEASE_ACTIVATED, release=release, user=user, status_before=ReleaseStatus.DRAFT, when=when
        ),
    )
    return release


@transaction.atomic
def release_add_customers(*, release: Release, customers, user) -> list[str]:
    """Add customers to an active release (a late joiner): they get every current template step.

    Returns the names of the customers added.
    """
    require(user, CHANGE_RELEASE)
    require(user, ADD_ENROLLMENT)
    release = _locked(release)
    refuse_if_not_active(release, CUSTOMERS_NEED_ACTIVE_RELEASE)
    selected = Customer.objects.filter(pk__in=[getattr(c, "pk", c) for c in customers])
    refused = sorted(selected.exclude(pk__in=eligible_customers().values("pk")).values_list("name", flat=True))
    if refused:
        raise DomainError(CUSTOMERS_NOT_ELIGIBLE.format(names=", ".join(refused)), field="customers")
    when = timezone.now()
    names, created = enroll(release=release, customers=selected, user=user, when=when)
    if not names:
        raise DomainError(NOTHING_TO_ADD.format(name=release.name), field="customers")
    record_event(
        action=EventAction.RELEASE_CUSTOMERS_ADDED,
        user=user,
        object_repr=release.name,
        release=release,
        when=when,
        after={"customers": names, "steps_created": created},
    )
    return names


@transaction.atomic
def release_clone(*, release: Release, user, name: str | None = None, version_number: str | None = None) -> Release:
    """Start a new draft from an existing release (FR-004): its template steps are copied, in order, and its
    variables (the defaults), sensitive ones still encrypted."""
    require(user, ADD_RELEASE)
    clone = Release(
        name=(name or f"{release.name} (copy)").strip(),
        type=release.type,
        version_number=(release.version_number if version_number is None else version_number).strip(),
        release_date=release.release_date,
        description=release.description,
        metadata=release.metadata,
        context_guard=release.context_guard,
        run_timeout_minutes=release.run_timeout_minutes,
        cloned_from=release,
    )
    _refuse_incomplete(clone)
    validate_or_refuse(clone)
    clone.save()
    templates = StepTemplate.objects.filter(release=release).order_by("category", "order_index")
    copies = [
        StepTemplate(
            release=clone,
            name=template.name,
            category=template.category,
            type=template.type,
            content=template.content,
            description=template.description,
            variable_names=template.variable_names,
            order_index=index,
        )
        for _category, in_category in groupby(templates, key=attrgetter("category"))
        for index, template in enumerate(in_category)
    ]
    StepTemplate.objects.bulk_create(copies)
    variables = variables_copy(source=release, target=clone, user=user)
    record_event(
        action=EventAction.RELEASE_CLONED,
        user=user,
        object_repr=clone.name,
        release=clone,
        before={"cloned_from": release.name},
        after={"template_steps": len(copies), "variables": [variable.key for variable in variables]},
    )
    return clone


@transaction.atomic
def release_archive(*, release: Release, user) -> Release:
    """Archive an active release (FR-005), finished or abandoned; its record stays readable and unchangeable."""
    require(user, CHANGE_RELEASE)
    release = _locked(release)
    _refuse_transition(release, ReleaseStatus.ARCHIVED)
    when = timezone.now()
    release.status = ReleaseStatus.ARCHIVED
    release.archived_at = when
    release.save(update_fields=["status", "archived_at", "updated_at"])
    record_event(
        action=EventAction.RELEASE_ARCHIVED,
        user=user,
        object_repr=release.name,
        release=release,
        when=when,
        before={"status": ReleaseStatus.ACTIVE.value},
        after={"status": ReleaseStatus.ARCHIVED.value},
    )
    notify(
        EventType.RELEASE_ARCHIVED,
        lambda: release_event(
            EventType.RELEASE_ARCHIVED, release=release, user=user, status_before=ReleaseStatus.ACTIVE, when=when
        ),
    )
    return release
