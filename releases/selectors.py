"""Reading releases: the list with progress, the template steps, what a template edit reaches, who can join (and
which variables they would miss), the template step preview, and which releases are finished. Progress itself is
computed in steps.progress."""

from collections.abc import Iterable

from django.db.models import Count, Q, QuerySet

from core.variables import Rendered
from customers.models import Customer
from customers.selectors import eligible_customers
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.choices import StepCategory, StepStatus
from steps.enrollment import enrolled_customers
from steps.models import CustomerStep, StepTemplate
from steps.progress import overall_by_release
from steps.rendering import displayed
from steps.transitions import OUTSTANDING
from variables.selectors import defined_names


def releases_ready_to_archive() -> QuerySet[Release]:
    """Active releases that are ✓ Complete: current customers have steps in them, and none is pending or reverted.

    The same rule as the dashboard's "Ready to archive" (steps.progress: a release nobody has a step in is not
    complete, there is nothing finished to archive)."""
    current = CustomerStep.objects.filter(customer__deleted_at__isnull=True)
    outstanding = current.filter(status__in=OUTSTANDING)
    return Release.objects.filter(status=ReleaseStatus.ACTIVE, pk__in=current.values("release_id")).exclude(
        pk__in=outstanding.values("release_id")
    )


def releases_with_progress() -> list[Release]:
    """Every release, newest first, each with `.progress`: the overall percentage of an active release, else None;
    and `.complete`: an active release with nothing pending or reverted in any category."""
    releases = list(Release.objects.all())
    overall = overall_by_release([release for release in releases if release.status == ReleaseStatus.ACTIVE])
    for release in releases:
        release.progress = overall[release.pk].percent if release.pk in overall else None
        release.complete = release.pk in overall and overall[release.pk].complete
    return releases


def template_steps_by_category(release: Release) -> dict[str, list[StepTemplate]]:
    """The release's template steps that are not deleted, in order, per category (every category present)."""
    steps: dict[str, list[StepTemplate]] = {category: [] for category in StepCategory.values}
    for template_step in StepTemplate.objects.filter(release=release).order_by("category", "order_index", "id"):
        steps[template_step.category].append(template_step)
    return steps


def outstanding_step_count(release: Release) -> int:
    """How many steps of the release's current (not archived) customers are still pending or reverted."""
    return CustomerStep.objects.filter(
        release=release, status__in=OUTSTANDING, customer__deleted_at__isnull=True
    ).count()


def template_step_delete_impact(template_step: StepTemplate) -> tuple[int, int]:
    """What deleting a template step does (FS-004), from one aggregate query: how many of its customer steps go with
    it (pending and not overridden) and how many are kept (done, skipped, reverted or overridden)."""
    follows = Q(status=StepStatus.PENDING, is_overridden=False)
    counts = CustomerStep.objects.filter(template=template_step).aggregate(
        removed=Count("id", filter=follows), kept=Count("id", filter=~follows)
    )
    return counts["removed"], counts["kept"]


def template_step_follower_count(template_step: StepTemplate) -> int:
    """How many customer steps an edit of this template step reaches: those still pending and not overridden."""
    removed, _kept = template_step_delete_impact(template_step)
    return removed


def customers_to_enroll(release: Release) -> QuerySet[Customer]:
    """The customers Activate and Add customers offer: active, in an active cluster, not yet in the release; with
    their cluster, ordered by cluster then name so that they group by cluster."""
    return (
        eligible_customers()
        .exclude(enrollments__release=release)
        .select_related("cluster")
        .order_by("cluster__name", "cluster_id", "name", "id")
    )


def template_variable_names(release: Release) -> frozenset[str]:
    """Every variable name the release's template steps use. One query."""
    names: set[str] = set()
    for variable_names in StepTemplate.objects.filter(release=release).values_list("variable_names", flat=True):
        names.update(variable_names.split())
    return frozenset(names)


def with_unresolved(customers: list[Customer], *, release: Release, names: Iterable[str]) -> list[Customer]:
    """`customers`, each with `.unresolved`: the names among `names` that have no value for it in `release`, sorted
    (empty when all resolve). One query (variables.selectors.defined_names), however many customers."""
    names = frozenset(names)
    defined = defined_names(release=release, customers=customers)
    for customer in customers:
        customer.unresolved = tuple(sorted(names - defined[customer.pk]))
    return customers


def customers_to_enroll_with_unresolved(release: Release) -> list[Customer]:
    """What Activate and Add customers offer (customers_to_enroll), each with `.unresolved`: the variables the
    release's template steps use that have no value for it, so its steps would start blocked. Three queries."""
    return with_unresolved(list(customers_to_enroll(release)), release=release, names=template_variable_names(release))


def template_step_preview_customers(template_step: StepTemplate) -> list[Customer]:
    """The customers the template step editor previews for, by cluster then name, with their cluster: those enrolled
    in the release, or for a draft the ones activation would enroll. Each has `.unresolved`: the variables of the
    step's (saved) content with no value for it. Two queries, however many customers."""
    release = template_step.release
    if release.status == ReleaseStatus.DRAFT:
        customers = customers_to_enroll(release)
    else:
        customers = (
            enrolled_customers(release).select_related("cluster").order_by("cluster__name", "cluster_id", "name", "id")
        )
    return with_unresolved(list(customers), release=release, names=template_step.variables)


def template_step_preview(template_step: StepTemplate, customer: Customer) -> Rendered | None:
    """The template step's content as `customer` would get it, as a screen shows it: sensitive values masked, nothing
    decrypted (steps.rendering.displayed); None when its `#{` syntax is broken. One query."""
    return displayed(template_step.content, customer=customer, release=template_step.release)
