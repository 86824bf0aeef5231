"""Reading customer steps for the step screens: the release matrix (FV-003), one customer's steps (FV-004), one
template step across customers (FV-005) and one step for the side panel (FV-007). Each reads a fixed number of
queries, whatever the number of customers and steps."""

from collections import Counter
from dataclasses import dataclass, field
from itertools import groupby
from typing import NamedTuple

from django.db import connection
from django.db.models import Count, F, Q, QuerySet

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseStatus
from steps.choices import BLOCKED, RunMark, StepCategory, StepStatus
from steps.models import STEP_ORDER, CustomerStep, StepTemplate
from steps.progress import ReleaseProgress, release_progress
from steps.rendering import blocked_names, missing_names
from steps.transitions import STEP_TRANSITIONS
from variables.selectors import defined_names

# Steps placed before the first template step (anchor NULL) sort before every template step.
BEFORE_FIRST_TEMPLATE = -1
# The columns the matrix reads of each customer step, as a tuple (10,000 of them for 500 customers by 20 steps): in
# the order of MatrixCell's fields.
MATRIX_CELL_COLUMNS = (
    "id",
    "customer_id",
    "template_id",
    "anchor_id",
    "anchor_offset",
    "anchor__order_index",
    "name",
    "status",
    "version",
    "is_custom",
    "is_overridden",
    "variable_names",
    "run_mark",
)


# --- the side panel ---------------------------------------------------------------------------------------------


def customer_steps_for_screens() -> QuerySet[CustomerStep]:
    """Customer steps, removed ones included (history links to them), with the release, customer, cluster,
    template step and executor the step screens show."""
    return CustomerStep.all_objects.select_related("release", "customer__cluster", "template", "executed_by")


@dataclass(frozen=True)
class StepActions:
    """What the screens offer for one step: the source-type actions of spec §5.7 and the status transitions of
    steps.transitions.STEP_TRANSITIONS. The services still decide; this only keeps refused buttons off the screen."""

    source: str  # "template", "overridden" or "custom" (spec §5.7, "Actions by Source Type")
    editable: bool  # the release is active, the customer not archived and the step not removed
    content_locked: bool  # done: no override or edit, revert first (BR-R03)
    mark_done: bool
    skip: bool
    revert: bool
    reopen: bool
    override: bool
    view_original: bool
    reset: bool
    edit: bool
    delete: bool
    missing: tuple[str, ...] = ()  # variables the content uses that have no value for the customer

    @property
    def blocked(self) -> bool:
        """Still to be carried out, and unresolved: no Mark as Done, Copy or Download until the values are set."""
        return bool(self.missing) and self.mark_done

    @property
    def unresolved(self) -> str:
        """ "DB_HOST, REGION": what the screens say is missing."""
        return ", ".join(self.missing)


def step_actions(step: CustomerStep, missing: tuple[str, ...] = ()) -> StepActions:
    """The actions a step offers now, given the variables it misses. Needs `step.release` and `step.customer`."""
    if step.is_custom:
        source = "custom"
    elif step.is_overridden:
        source = "overridden"
    else:
        source = "template"
    editable = step.release.status == ReleaseStatus.ACTIVE and not step.customer.is_deleted and not step.is_deleted
    moves = STEP_TRANSITIONS[step.status] if editable else {}
    locked = step.status == StepStatus.DONE
    changeable = editable and not locked
    return StepActions(
        source=source,
        editable=editable,
        content_locked=locked,
        # A step being run on its cluster (runs/) is marked done by its run, or its run is cancelled first.
        mark_done="mark_done" in moves and step.run_mark != RunMark.RUNNING,
        skip="skip" in moves,
        revert="revert" in moves,
        reopen="reopen" in moves,
        override=changeable and source == "template",
        view_original=source == "overridden",
        reset=changeable and source == "overridden" and not step.is_detached,
        edit=changeable and source == "custom",
        delete=changeable and source == "custom",
        missing=missing,
    )


# --- the release matrix -----------------------------------------------------------------------------------------


class MatrixCell(NamedTuple):
    """One customer's step in the matrix: a row of MATRIX_CELL_COLUMNS as read, no model instance (the matrix has
    thousands), with what the selector adds: `blocked` (the missing variables that block it) and `dimmed` (filtered
    out)."""

    pk: int
    customer_id: int
    template_id: int | None
    anchor_id: int | None
    anchor_offset: int
    anchor_order: int | None
    name: str
    status: str
    version: int
    is_custom: bool
    is_overridden: bool
    variable_names: str
    run_mark: str
    blocked: tuple[str, ...] = ()
    dimmed: bool = False

    @property
    def variables(self) -> tuple[str, ...]:
        return tuple(self.variable_names.split())


# What a cell read from the database adds before it is marked blocked or dimmed: nothing.
UNMARKED = ((), False)


class PlainCell(NamedTuple):
    """A template step's cell with nothing to mark, the matrix's usual cell: in its template step's row, not
    overridden, custom or detached, using no variable, not being run. Read as five columns rather than MatrixCell's
    thirteen; it answers MatrixCell's other attributes from its class, so the view writes either alike."""

    pk: int
    customer_id: int
    template_id: int
    status: str
    version: int

    # Class attributes, not fields (no annotation): what a plain cell is.
    is_custom = False
    is_overridden = False
    variable_names = ""
    run_mark = ""
    blocked = ()
    dimmed = False

    def dim(self) -> MatrixCell:
        """This cell as a MatrixCell marked `dimmed` (filtered out by the status filter, in a row it keeps). Its anchor
        is its template step, as a plain cell's is; its anchor order and name are None and "": a template step's row
        takes those from the template step."""
        return MatrixCell(
            *(self.pk, self.customer_id, self.template_id, self.template_id, 0, None, "", self.status, self.version),
            *(False, False, "", "", (), True),
        )


PLAIN_CELL = Q(is_custom=False, is_overridden=False, variable_names="", run_mark="", anchor_id=F("template_id"))


def _matrix_cells(steps: QuerySet[CustomerStep]) -> tuple[list[PlainCell], list[MatrixCell]]:
    """The cells of the matrix as plain tuples, read with two SQL statements the ORM wrote, each cell by one of them:
    the plain cells (most) with five columns, the others with every column of MatrixCell. No model instance and no
    field converter per value (SQLite gives booleans as 0 and 1, which the matrix only tests for truth). In no order:
    _matrix_rows places each cell by its template step and customer, and orders the rows itself."""
    steps = steps.order_by()
    make = tuple.__new__
    with connection.cursor() as cursor:
        sql, params = steps.filter(PLAIN_CELL).values_list(*PlainCell._fields).query.sql_with_params()
        cursor.execute(sql, params)
        plain = [make(PlainCell, row) for row in cursor.fetchall()]
        sql, params = steps.exclude(PLAIN_CELL).values_list(*MATRIX_CELL_COLUMNS).query.sql_with_params()
        cursor.execute(sql, params)
        others = [make(MatrixCell, row + UNMARKED) for row in cursor.fetchall()]
    return plain, others


@dataclass(slots=True)
class MatrixCustomer:
    """A customer as the matrix's column header shows it, with its progress in the category."""

    pk: int
    name: str
    namespace: str
    cluster_id: int
    progress: float | None = None
    complete: bool = False


@dataclass
class MatrixRow:
    """One row of the matrix: a template step (a cell for every customer), or a custom or detached step that only
    some customers have (cells for them only)."""

    name: str
    sort_key: tuple
    template: StepTemplate | None = None
    number: int | None = None
    is_custom: bool = False
    is_detached: bool = False
    steps: dict[int, MatrixCell] = field(default_factory=dict)  # customer id → its step in this row


@dataclass
class ClusterTable:
    """The matrix of one cluster (BR-C03): its customers as columns, steps as rows with one cell per customer.

    `rows` is None when the table is not read yet: a large matrix sends its later tables when scrolled to."""

    cluster: Cluster
    customers: list[MatrixCustomer]
    rows: list[tuple[MatrixRow, list[MatrixCell | None]]] | None
    progress: float | None
    complete: bool = False  # nothing pending or reverted in this category for any of its customers


@dataclass
class Matrix:
    """The release matrix of one category (FV-003): one table per cluster, with progress (spec §8.2)."""

    category: str
    tables: list[ClusterTable]
    progress: ReleaseProgress
    status: str | None


def clusters_of_release(release) -> QuerySet[Cluster]:
    """The clusters of the release's customers that are not archived, by name: the matrix's cluster filter."""
    return (
        Cluster.all_objects.filter(customers__enrollments__release=release, customers__deleted_at__isnull=True)
        .distinct()
        .order_by("name", "pk")
    )


def _matrix_rows(templates: list[StepTemplate], plain: list[PlainCell], others: list[MatrixCell]) -> list[MatrixRow]:
    """Template steps in order, with each custom or detached step after the step it follows (STEP_ORDER)."""
    by_template = {
        template.pk: MatrixRow(name=template.name, sort_key=(template.order_index, 0, 0), template=template, number=n)
        for n, template in enumerate(templates, start=1)
    }
    for step in plain:
        row = by_template.get(step.template_id)
        if row is not None:  # None: a template step added since the template steps were read, shown next time
            row.steps[step.customer_id] = step
    extra: dict[tuple, MatrixRow] = {}
    for step in others:
        if not step.is_custom and step.template_id == step.anchor_id and step.template_id in by_template:
            by_template[step.template_id].steps[step.customer_id] = step
            continue
        anchor_order = BEFORE_FIRST_TEMPLATE if step.anchor_order is None else step.anchor_order
        sort_key = (anchor_order, step.anchor_offset, step.pk)
        # The same custom step added to several customers at the same place shares one row; a detached step shares
        # the row of the template step it came from.
        key = (
            ("custom", step.anchor_id, step.anchor_offset, step.name)
            if step.is_custom
            else ("detached", step.template_id)
        )
        row = extra.get(key)
        if row is None:
            row = extra[key] = MatrixRow(
                name=step.name, sort_key=sort_key, is_custom=step.is_custom, is_detached=not step.is_custom
            )
        row.sort_key = min(row.sort_key, sort_key)
        row.steps[step.customer_id] = step
    return sorted([*by_template.values(), *extra.values()], key=lambda row: row.sort_key)


def _eager_clusters(
    customers: list[MatrixCustomer], templates: list[StepTemplate], cell_budget: int | None
) -> set[int]:
    """The clusters whose tables the first response carries: in order, as long as their cells (about customers by
    template steps) stay within `cell_budget`; every cluster without a budget."""
    clusters = [customer.cluster_id for customer in customers]
    if cell_budget is None:
        return set(clusters)
    eager: set[int] = set()
    cells = 0
    for cluster_id, members in groupby(clusters):
        cells += len(list(members)) * max(len(templates), 1)
        if cells > cell_budget:
            break
        eager.add(cluster_id)
    return eager


def release_matrix(
    release,
    *,
    category: str,
    cluster: Cluster | None = None,
    status: str | None = None,
    cell_budget: int | None = None,
) -> Matrix:
    """The matrix of one category of a release, for every customer of the release (or of one cluster).

    With a status (or BLOCKED), only rows where some cell of the cluster has that status stay; the other cells of
    those rows are marked `dimmed`. Every cell carries `.blocked`: the missing variables that block it, if any. With a
    `cell_budget`, only the first clusters' tables that fit in it are read; the others have `rows` None.
    At most seven queries: customers, template steps, customer steps (as tuples: the plain cells, then the others),
    the progress (two) and the variables defined (when a cell uses one).
    """
    # Only what the headers show, as rows: thousands of customers at scale.
    customers = Customer.objects.filter(enrollments__release=release)
    if cluster is not None:
        customers = customers.filter(cluster=cluster)
    rows = customers.order_by("cluster__name", "cluster_id", "name", "pk").values_list(
        "pk", "name", "namespace", "cluster_id", "cluster__name"
    )
    clusters: dict[int, Cluster] = {}
    customers = []
    for pk, name, namespace, cluster_id, cluster_name in rows:
        if cluster_id not in clusters:
            clusters[cluster_id] = Cluster(pk=cluster_id, name=cluster_name)
        customers.append(MatrixCustomer(pk, name, namespace, cluster_id))
    templates = list(StepTemplate.objects.filter(release=release, category=category).order_by("order_index", "pk"))
    eager = _eager_clusters(customers, templates, cell_budget)
    steps = CustomerStep.objects.filter(release=release, category=category, customer__deleted_at__isnull=True)
    if cluster is not None:
        steps = steps.filter(customer__cluster=cluster)
    elif cell_budget is not None:
        steps = steps.filter(customer__cluster__in=eager)
    plain, others = _matrix_cells(steps) if eager else ([], [])
    progress = release_progress(release)

    # The variables defined only matter when some cell uses one (not one query for a matrix that uses none).
    uses_variables = any(step.variable_names for step in others)
    defined = (
        defined_names(release=release, customers=[c for c in customers if c.cluster_id in eager])
        if uses_variables
        else {}
    )

    def matches(step) -> bool:
        return bool(step.blocked) if status == BLOCKED else step.status == status

    for customer in customers:
        customer.progress = progress.customer_percent(customer.pk, category)
        customer.complete = progress.customer_complete(customer.pk, category)
    for index, step in enumerate(others if uses_variables or status else ()):
        # Most steps use no variable: nothing to look up for them, nothing to change.
        if step.variable_names:
            step = others[index] = step._replace(blocked=blocked_names(step, defined[step.customer_id]))
        if status:
            others[index] = step._replace(dimmed=not matches(step))
    if status:
        plain = [step if matches(step) else step.dim() for step in plain]
    rows = _matrix_rows(templates, plain, others)

    tables = []
    for cluster_id, members in groupby(customers, key=lambda customer: customer.cluster_id):
        members = list(members)
        table_rows = None
        if cluster_id in eager:
            table_rows = []
            for row in rows:
                cells = [row.steps.get(customer.pk) for customer in members]
                # A row stays when some cell matches the status filter; a custom or detached step's row when some
                # customer of this cluster has it (a template step's row always, hatched where a customer hasn't).
                if status and not any(cell is not None and matches(cell) for cell in cells):
                    continue
                if row.template is None and not any(cell is not None for cell in cells):
                    continue
                table_rows.append((row, cells))
        tables.append(
            ClusterTable(
                cluster=clusters[cluster_id],
                customers=members,
                rows=table_rows,
                progress=progress.cluster_percent(cluster_id, category),
                complete=progress.cluster_complete(cluster_id, category),
            )
        )
    return Matrix(category=category, tables=tables, progress=progress, status=status or None)


# --- one customer's steps ---------------------------------------------------------------------------------------


def steps_of_customer(release, customer: Customer) -> dict[str, list[CustomerStep]]:
    """A customer's steps in a release, per category in execution order (STEP_ORDER), each with `.actions`. Two
    queries; one when no step uses a variable (nothing can be missing then)."""
    by_category: dict[str, list[CustomerStep]] = {category: [] for category in StepCategory.values}
    steps = list(
        CustomerStep.objects.filter(release=release, customer=customer)
        .select_related("template", "executed_by")
        .order_by(*STEP_ORDER)
    )
    uses_variables = any(step.variable_names for step in steps)
    defined = defined_names(release=release, customers=[customer])[customer.pk] if uses_variables else frozenset()
    for step in steps:
        step.release = release
        step.customer = customer
        step.actions = step_actions(step, missing_names(step, defined))
        by_category[step.category].append(step)
    return by_category


# --- one template step across customers -------------------------------------------------------------------------


@dataclass
class TemplateStepStatus:
    """One template step's customer steps, grouped by cluster, with how many are in each status."""

    groups: list[tuple[Cluster, list[CustomerStep]]]
    counts: Counter

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def template_step_counts(template_step: StepTemplate) -> Counter:
    """How many customer steps of a template step (customers not archived) are in each status: one query."""
    rows = (
        CustomerStep.objects.filter(template=template_step, customer__deleted_at__isnull=True)
        .values("status")
        .annotate(count=Count("id"))
        .order_by()
    )
    return Counter({row["status"]: row["count"] for row in rows})


def template_step_clusters(template_step: StepTemplate) -> list[tuple[int, str, int]]:
    """The clusters whose current customers have a step of `template_step`, by name: (id, name, how many), one
    query."""
    return list(
        CustomerStep.objects.filter(template=template_step, customer__deleted_at__isnull=True)
        .values_list("customer__cluster_id", "customer__cluster__name")
        .annotate(count=Count("id"))
        .order_by("customer__cluster__name", "customer__cluster_id")
    )


def template_step_across_customers(template_step: StepTemplate, *, cluster_id: int | None = None) -> TemplateStepStatus:
    """Every current customer's step for one template step (FV-005), by cluster then customer, each with `.actions`;
    with `cluster_id`, those of that cluster only (the counts are then that cluster's)."""
    in_cluster = {"customer__cluster_id": cluster_id} if cluster_id is not None else {}
    steps = list(
        CustomerStep.objects.filter(template=template_step, customer__deleted_at__isnull=True, **in_cluster)
        .select_related("customer__cluster", "executed_by")
        .order_by("customer__cluster__name", "customer__cluster_id", "customer__name", "pk")
    )
    defined = defined_names(release=template_step.release, customers={step.customer for step in steps})
    for step in steps:
        step.release = template_step.release
        step.actions = step_actions(step, missing_names(step, defined[step.customer_id]))
    groups = [
        (members[0].customer.cluster, members)
        for members in (list(group) for _, group in groupby(steps, key=lambda step: step.customer.cluster_id))
    ]
    return TemplateStepStatus(groups=groups, counts=Counter(step.status for step in steps))
