"""Progress, as spec §8.2 defines it, for every screen: done ÷ total per customer (a skipped step counts in the
total), the average of its customers per cluster, the average of all customers overall, each per category too.

Beside the percentage, "complete" (issue 9, "Finished"): nothing pending or reverted, every step done or skipped, so a
customer with one skipped step of ten is complete at 90 %. A cluster or the release is complete when the counts of its
customers added together are: no customer has anything left. Completeness has the scope of the percentage it sits
beside: per category where the screen shows one category (a matrix tab, a checklist section), every category
together where it shows the whole release (release list, dashboard, "Ready to archive"): a release is complete only
when no step of any category is pending or reverted, as `archive_releases` requires.

The counts come from `ProgressCounter` rows (one per release, customer and category: its steps, done and skipped),
which every service that creates, removes or changes the status of steps keeps in the same transaction with the
`count_*` functions below, as increments that concurrent transactions add up. So an action reads one customer's row and
the averages of the release in one small aggregate (`progress_around`), and no screen counts a release's steps again.
`counter_mismatches` compares them with the steps themselves and `rebuild_counters` recounts them
(`manage.py progress_counters`).
"""

from collections import defaultdict
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Count, ExpressionWrapper, F, FloatField, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Cast, Coalesce, NullIf

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepStatus
from steps.models import CustomerStep, ProgressCounter
from webhooks.choices import EventType
from webhooks.payloads import category_completed_event, release_event
from webhooks.services import notify

ALL_CATEGORIES = None  # the key for "every category together"
# The aggregates every count below is made of.
COUNTS = {
    "total": Count("id"),
    "done": Count("id", filter=Q(status=StepStatus.DONE)),
    "skipped": Count("id", filter=Q(status=StepStatus.SKIPPED)),
}


def percent(done: int, total: int) -> float | None:
    """done / total * 100 (spec §8.2); None when there is no step to count."""
    return 100 * done / total if total else None


class StepCounts(NamedTuple):
    """How many steps there are, and how many are done or skipped. A tuple: the matrix adds up thousands."""

    total: int = 0
    done: int = 0
    skipped: int = 0

    def __add__(self, other: "StepCounts") -> "StepCounts":  # type: ignore[override]  # counts, not concatenation
        return StepCounts(self.total + other.total, self.done + other.done, self.skipped + other.skipped)

    @classmethod
    def of(cls, steps) -> "StepCounts":
        """The counts of steps already loaded (a customer's checklist shows them all anyway)."""
        steps = list(steps)
        return cls(
            total=len(steps),
            done=sum(step.status == StepStatus.DONE for step in steps),
            skipped=sum(step.status == StepStatus.SKIPPED for step in steps),
        )

    @property
    def percent(self) -> float | None:
        return percent(self.done, self.total)

    @property
    def complete(self) -> bool:
        """Nothing pending or reverted: every step done or skipped (and there is at least one step)."""
        return bool(self.total) and self.done + self.skipped == self.total


def _average(percents) -> float | None:
    known = [value for value in percents if value is not None]
    return sum(known) / len(known) if known else None


NO_STEPS = StepCounts()


@dataclass
class ReleaseProgress:
    """Progress of one release: per customer, per cluster (average of its customers), overall (average of all
    customers), each for one category or, with category None, for all steps together."""

    counts: dict[int, dict[str | None, StepCounts]] = field(default_factory=dict)
    cluster_of: dict[int, int] = field(default_factory=dict)

    @cached_property
    def _members(self) -> dict[int, list[int]]:
        """Each cluster's customers (a matrix asks for every cluster's figures: one pass, not one per cluster)."""
        members: dict[int, list[int]] = defaultdict(list)
        for customer_id, cluster_id in self.cluster_of.items():
            members[cluster_id].append(customer_id)
        return members

    def customer(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> StepCounts:
        return self.counts.get(customer_id, {}).get(category, NO_STEPS)

    def customer_percent(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> float | None:
        return self.customer(customer_id, category).percent

    def cluster_percent(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> float | None:
        return _average(
            self.customer_percent(customer_id, category) for customer_id in self._members.get(cluster_id, ())
        )

    def overall_percent(self, category: str | None = ALL_CATEGORIES) -> float | None:
        return _average(self.customer_percent(customer_id, category) for customer_id in self.cluster_of)

    def customer_complete(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> bool:
        return self.customer(customer_id, category).complete

    def cluster_complete(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> bool:
        customers = self._members.get(cluster_id, ())
        return sum((self.customer(customer_id, category) for customer_id in customers), NO_STEPS).complete

    def overall_complete(self, category: str | None = ALL_CATEGORIES) -> bool:
        return sum((self.customer(customer_id, category) for customer_id in self.cluster_of), NO_STEPS).complete


def release_progress(release: Release) -> ReleaseProgress:
    """Progress of a release over its customers that are not archived, from two queries: the enrollments and the
    counters (a few rows per customer, however many steps)."""
    progress = ReleaseProgress()
    progress.cluster_of = dict(
        Enrollment.objects.filter(release=release, customer__deleted_at__isnull=True).values_list(
            "customer_id", "customer__cluster_id"
        )
    )
    rows = ProgressCounter.objects.filter(release=release, customer__deleted_at__isnull=True).values_list(
        "customer_id", "category", "total", "done", "skipped"
    )
    counts: dict[int, dict[str | None, StepCounts]] = defaultdict(dict)
    for customer_id, category, total, done, skipped in rows:
        category_counts = StepCounts(total, done, skipped)
        of_customer = counts[customer_id]
        of_customer[category] = category_counts
        of_customer[ALL_CATEGORIES] = of_customer.get(ALL_CATEGORIES, StepCounts()) + category_counts
    progress.counts = dict(counts)
    return progress


@dataclass(frozen=True)
class ProgressAround:
    """What one action changes on the screens, in one category: the customer's counts, its cluster's and the
    release's percentage and completeness. It answers like ReleaseProgress for that customer, cluster and category."""

    category: str
    customer_id: int
    cluster_id: int
    customer_counts: StepCounts
    cluster: tuple[float | None, bool]
    overall: tuple[float | None, bool]

    def _check(self, category, cluster_id=None) -> None:
        if category != self.category or cluster_id not in (None, self.cluster_id):
            raise KeyError("ProgressAround holds one customer, its cluster and one category only")

    def customer(self, customer_id: int, category: str | None = ALL_CATEGORIES) -> StepCounts:
        self._check(category)
        if customer_id != self.customer_id:
            raise KeyError("ProgressAround holds one customer, its cluster and one category only")
        return self.customer_counts

    def cluster_percent(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> float | None:
        self._check(category, cluster_id)
        return self.cluster[0]

    def cluster_complete(self, cluster_id: int, category: str | None = ALL_CATEGORIES) -> bool:
        self._check(category, cluster_id)
        return self.cluster[1]

    def overall_percent(self, category: str | None = ALL_CATEGORIES) -> float | None:
        self._check(category)
        return self.overall[0]

    def overall_complete(self, category: str | None = ALL_CATEGORIES) -> bool:
        self._check(category)
        return self.overall[1]


@cache
def _around_statement() -> str:
    """progress_around's statement, written once per process: the ORM took longer to write this aggregate of nine
    filtered sums and averages (2.5 ms on SQLite, 5 ms on PostgreSQL) than the database took to answer it (0.2 and
    0.8 ms at 500 customers), on every action. Parameters: the customer three times, its cluster three times, the
    release, the category."""
    quote = connection.ops.quote_name
    counters, customers = quote(ProgressCounter._meta.db_table), quote(Customer._meta.db_table)
    percent = "CAST(p.done AS DOUBLE PRECISION) * 100.0 / p.total"
    return (
        "SELECT SUM(CASE WHEN p.customer_id = %s THEN p.total END), SUM(CASE WHEN p.customer_id = %s THEN p.done END),"
        " SUM(CASE WHEN p.customer_id = %s THEN p.skipped END),"
        f" AVG(CASE WHEN c.cluster_id = %s AND p.total > 0 THEN {percent} END),"
        " SUM(CASE WHEN c.cluster_id = %s THEN p.total END),"
        " SUM(CASE WHEN c.cluster_id = %s THEN p.done + p.skipped END),"
        f" AVG(CASE WHEN p.total > 0 THEN {percent} END), SUM(p.total), SUM(p.done + p.skipped)"
        f" FROM {counters} p INNER JOIN {customers} c ON c.id = p.customer_id"
        " WHERE p.release_id = %s AND p.category = %s AND c.deleted_at IS NULL"
    )


def progress_around(*, release_id: int, customer, category: str) -> ProgressAround:
    """The progress an action on a step of `customer` in `category` changes: one aggregate over the counters of the
    release in that category (one row per customer), never over its steps. Archived customers are left out, as in
    release_progress; an archived customer's own counts are then empty, as there."""
    with connection.cursor() as cursor:
        cursor.execute(
            _around_statement(),
            [*[customer.pk] * 3, *[customer.cluster_id] * 3, release_id, category],
        )
        (
            customer_total,
            customer_done,
            customer_skipped,
            cluster_percent,
            cluster_total,
            cluster_finished,
            overall_percent,
            overall_total,
            overall_finished,
        ) = cursor.fetchone()

    def complete(total, finished) -> bool:
        return StepCounts(total or 0, finished or 0).complete

    def as_float(value) -> float | None:
        return None if value is None else float(value)

    return ProgressAround(
        category=category,
        customer_id=customer.pk,
        cluster_id=customer.cluster_id,
        customer_counts=StepCounts(customer_total or 0, customer_done or 0, customer_skipped or 0),
        cluster=(as_float(cluster_percent), complete(cluster_total, cluster_finished)),
        overall=(as_float(overall_percent), complete(overall_total, overall_finished)),
    )


@dataclass(frozen=True)
class OverallProgress:
    """A whole release at a glance: its overall percentage (spec §8.2) and whether it is complete (every category)."""

    percent: float | None = None
    complete: bool = False


def overall_by_release(releases) -> dict[int, OverallProgress]:
    """Overall progress and completeness of several releases, from one aggregate query over their counters."""
    rows = (
        ProgressCounter.objects.filter(release__in=releases, customer__deleted_at__isnull=True)
        .values("release_id", "customer_id")
        .annotate(total=Sum("total"), done=Sum("done"), skipped=Sum("skipped"))
        .order_by()
    )
    percents: dict[int, list[float | None]] = defaultdict(list)
    totals: dict[int, StepCounts] = defaultdict(StepCounts)
    for row in rows:
        percents[row["release_id"]].append(percent(row["done"], row["total"]))
        totals[row["release_id"]] += StepCounts(row["total"], row["done"], row["skipped"])
    return {
        release.pk: OverallProgress(_average(percents.get(release.pk, [])), totals[release.pk].complete)
        for release in releases
    }


def customers_with_progress() -> QuerySet[Customer]:
    """Customers that are not archived, with their cluster, each annotated with `steps_total` and `steps_done` (its
    steps in active releases) and `progress`: done / total * 100 over all those steps together (spec §8.2 per
    customer), None when it has no step in an active release. In SQL, so that the list can sort by it: from the
    progress counters, a few rows per customer, not its steps."""
    counters = ProgressCounter.objects.filter(customer=OuterRef("pk"), release__status=ReleaseStatus.ACTIVE).order_by()
    return (
        Customer.objects.select_related("cluster")
        .annotate(
            steps_total=Coalesce(Subquery(counters.values("customer").annotate(n=Sum("total")).values("n")), 0),
            steps_done=Coalesce(Subquery(counters.values("customer").annotate(n=Sum("done")).values("n")), 0),
        )
        .annotate(
            progress=ExpressionWrapper(
                Cast("steps_done", FloatField()) * 100 / NullIf("steps_total", 0), output_field=FloatField()
            )
        )
        .order_by("cluster__name", "name", "pk")
    )


def annotate_customers_progress(customers: list[Customer]) -> list[Customer]:
    """Give each of `customers` (a page of the customers list) the `steps_total`, `steps_done` and `progress` that
    customers_with_progress annotates, from one query over their progress counters."""
    counts = {
        row["customer_id"]: row
        for row in ProgressCounter.objects.filter(customer__in=customers, release__status=ReleaseStatus.ACTIVE)
        .values("customer_id")
        .annotate(total=Sum("total"), done=Sum("done"))
        .order_by()
    }
    for customer in customers:
        row = counts.get(customer.pk, {"total": 0, "done": 0})
        customer.steps_total, customer.steps_done = row["total"], row["done"]
        customer.progress = percent(row["done"], row["total"])
    return customers


def customer_release_history(customer: Customer) -> list[Enrollment]:
    """Every release the customer is in, newest first, each with `.counts`: the customer's StepCounts in it.

    Two queries whatever the number of releases: the enrollments and one aggregate of the customer's steps.
    """
    enrollments = list(
        Enrollment.objects.filter(customer=customer)
        .select_related("release")
        .order_by("-release__created_at", "-release_id")
    )
    counts = {
        row["release_id"]: StepCounts(row["total"], row["done"], row["skipped"])
        for row in CustomerStep.objects.filter(customer=customer).values("release_id").annotate(**COUNTS).order_by()
    }
    for enrollment in enrollments:
        enrollment.counts = counts.get(enrollment.release_id, StepCounts())
    return enrollments


@dataclass(frozen=True)
class ReleaseCell:
    """One customer in one active release: whether it is in it, and its step counts there."""

    release: Release
    enrolled: bool
    counts: StepCounts = field(default_factory=StepCounts)


@dataclass(frozen=True)
class CustomerReleaseRow:
    """A customer of the cluster and its cell in each active release, in the order of the releases."""

    customer: Customer
    cells: list[ReleaseCell]


@dataclass(frozen=True)
class ClusterReleaseTotal:
    """The cluster's customers together in one active release: the average of their percentages, and whether all of
    them are complete."""

    release: Release
    percent: float | None
    complete: bool


def cluster_release_status(
    cluster: Cluster,
) -> tuple[list[Release], list[CustomerReleaseRow], list[ClusterReleaseTotal]]:
    """The active releases, every customer of `cluster` (archived ones left out) with its progress in each, and the
    cluster's total in each (from the same counts).

    Four queries whatever the number of customers: customers, active releases, enrollments, and one aggregate of
    the step counts per (customer, release).
    """
    customers = list(Customer.objects.filter(cluster=cluster).order_by("name", "pk"))
    releases = list(Release.objects.filter(status=ReleaseStatus.ACTIVE).order_by("-activated_at", "-pk"))
    in_cluster = {"customer__cluster": cluster, "customer__deleted_at__isnull": True}
    enrolled = set(
        Enrollment.objects.filter(release__status=ReleaseStatus.ACTIVE, **in_cluster).values_list(
            "customer_id", "release_id"
        )
    )
    counts = {
        (row["customer_id"], row["release_id"]): StepCounts(row["total"], row["done"], row["skipped"])
        for row in CustomerStep.objects.filter(release__status=ReleaseStatus.ACTIVE, **in_cluster)
        .values("customer_id", "release_id")
        .annotate(**COUNTS)
        .order_by()
    }
    rows = [
        CustomerReleaseRow(
            customer=customer,
            cells=[
                ReleaseCell(
                    release,
                    (customer.pk, release.pk) in enrolled,
                    counts.get((customer.pk, release.pk), StepCounts()),
                )
                for release in releases
            ],
        )
        for customer in customers
    ]
    totals = []
    for index, release in enumerate(releases):
        cells = [row.cells[index] for row in rows if row.cells[index].enrolled]
        totals.append(
            ClusterReleaseTotal(
                release,
                _average(cell.counts.percent for cell in cells),
                sum((cell.counts for cell in cells), StepCounts()).complete,
            )
        )
    return releases, rows, totals


# --- keeping the counters ---------------------------------------------------------------------------------------
# Each function adds what a change did to the counters, in the caller's transaction. Increments, never a recount:
# two transactions that change steps of the same customer both add theirs, whatever the order they commit in.

Delta = tuple[int, int, int]  # (total, done, skipped)


def _counted(status: str) -> Delta:
    """What one step in `status` counts for."""
    return (1, int(status == StepStatus.DONE), int(status == StepStatus.SKIPPED))


def _upsert_sql(select_sql: str) -> str:
    table = connection.ops.quote_name(ProgressCounter._meta.db_table)
    return (
        f"INSERT INTO {table} (release_id, customer_id, category, total, done, skipped) {select_sql} "
        "ON CONFLICT (release_id, category, customer_id) DO UPDATE SET "
        f"total = {table}.total + excluded.total, done = {table}.done + excluded.done, "
        f"skipped = {table}.skipped + excluded.skipped"
    )


def _is_counts(delta: Delta) -> bool:
    """Whether a delta could itself be a counter (steps added): only then may it be proposed as a new row, whose
    CHECK constraint the database tests before it finds the row it adds to."""
    total, done, skipped = delta
    return done >= 0 and skipped >= 0 and total >= done + skipped


def add_to_counters(release_id: int, deltas: dict[tuple[int, str], Delta]) -> None:
    """Add (total, done, skipped) to the counter of each (customer id, category): one statement whatever their
    number, rows in one order so that two of them can't deadlock. Steps added (every delta a count) create the rows
    missing; a change of status or a removal adds to the rows that counted those steps when they were created."""
    rows = sorted((key, delta) for key, delta in deltas.items() if any(delta))
    if not rows:
        return
    if all(_is_counts(delta) for _, delta in rows):
        values = ", ".join(["(%s, %s, %s, %s, %s, %s)"] * len(rows))
        params = [
            value for (customer_id, category), delta in rows for value in (release_id, customer_id, category, *delta)
        ]
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(f"VALUES {values}"), params)
        return
    table = connection.ops.quote_name(ProgressCounter._meta.db_table)
    which = " OR ".join(["(customer_id = %s AND category = %s)"] * len(rows))
    keys = [value for (customer_id, category), _ in rows for value in (customer_id, category)]
    sets, params = [], []
    for index, column in enumerate(("total", "done", "skipped")):
        cases = " ".join(["WHEN customer_id = %s AND category = %s THEN %s"] * len(rows))
        sets.append(f"{column} = {column} + CASE {cases} ELSE 0 END")
        params += [value for (customer_id, category), delta in rows for value in (customer_id, category, delta[index])]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {', '.join(sets)} WHERE release_id = %s AND ({which})", [*params, release_id, *keys]
        )
        updated = cursor.rowcount
    if updated != len(rows):  # a counter that was never made (data written around the services): count it anew
        recount(release_id, {customer_id for (customer_id, _), _ in rows})


def recount(release_id: int, customer_ids) -> None:
    """Set the counters of some customers of a release from their steps (an aggregate over their steps only)."""
    counted = {
        (customer_id, category): counts
        for customer_id, category, *counts in CustomerStep.objects.filter(
            release_id=release_id, customer_id__in=customer_ids
        )
        .values_list("customer_id", "category")
        .annotate(**COUNTS)
        .order_by()
    }
    existing = ProgressCounter.objects.filter(release_id=release_id, customer_id__in=customer_ids)
    for counter in existing.select_for_update():
        counter.total, counter.done, counter.skipped = counted.pop((counter.customer_id, counter.category), (0, 0, 0))
        counter.save(update_fields=["total", "done", "skipped"])
    ProgressCounter.objects.bulk_create(
        ProgressCounter(release_id=release_id, customer_id=customer_id, category=category, total=t, done=d, skipped=k)
        for (customer_id, category), (t, d, k) in counted.items()
    )


def count_status_changes(steps, before: dict[int, str]) -> None:
    """Count steps whose status changed from `before[step.pk]` to `step.status` (an action, Mark All, a bulk action):
    one statement for any number of steps."""
    deltas: dict[tuple[int, str], Delta] = defaultdict(lambda: (0, 0, 0))
    release_ids = set()
    for step in steps:
        _, done_before, skipped_before = _counted(before[step.pk])
        _, done_after, skipped_after = _counted(step.status)
        total, done, skipped = deltas[step.customer_id, step.category]
        deltas[step.customer_id, step.category] = (
            total,
            done + done_after - done_before,
            skipped + skipped_after - skipped_before,
        )
        release_ids.add(step.release_id)
    if len(release_ids) > 1:
        raise ValueError("count_status_changes counts the steps of one release at a time")
    if release_ids:
        release_id = release_ids.pop()
        add_to_counters(release_id, deltas)
        notify(
            (EventType.CATEGORY_COMPLETED, EventType.RELEASE_COMPLETED),
            lambda: completion_events(release_id, deltas, steps),
        )


def completion_events(release_id: int, deltas: dict[tuple[int, str], Delta], steps) -> list[dict]:
    """The webhook events of status changes just counted: each customer whose category they completed (nothing
    left pending or reverted), and the release when that left nothing to do in it. Read only when a webhook hears
    them: the counters of the categories that gained done or skipped steps, and the release's totals."""
    finishing = {key: delta for key, delta in deltas.items() if delta[1] + delta[2] > 0}
    if not finishing:
        return []
    which = Q()
    for customer_id, category in finishing:
        which |= Q(customer_id=customer_id, category=category)
    step_of = {(step.customer_id, step.category): step for step in steps}
    events = []
    for customer_id, category, total, done, skipped in ProgressCounter.objects.filter(
        which, release_id=release_id
    ).values_list("customer_id", "category", "total", "done", "skipped"):
        _, done_added, skipped_added = finishing[customer_id, category]
        if (
            StepCounts(total, done, skipped).complete
            and not StepCounts(total, done - done_added, skipped - skipped_added).complete
        ):
            step = step_of[customer_id, category]
            events.append(
                category_completed_event(
                    release=step.release, customer=step.customer, category=category, user=step.executed_by
                )
            )
    if events:
        release = ProgressCounter.objects.filter(release_id=release_id, customer__deleted_at__isnull=True).aggregate(
            total=Sum("total"), finished=Sum(F("done") + F("skipped"))
        )
        if StepCounts(release["total"] or 0, release["finished"] or 0).complete:
            step = steps[0]
            events.append(
                release_event(
                    EventType.RELEASE_COMPLETED,
                    release=step.release,
                    user=step.executed_by,
                    status_before=ReleaseStatus.ACTIVE,
                )
            )
    return events


def count_status_change(step, before: str) -> None:
    """Count one step whose status changed from `before` to `step.status`."""
    count_status_changes([step], {step.pk: before})


def count_step_added(step) -> None:
    """Count one step created (a custom step)."""
    add_to_counters(step.release_id, {(step.customer_id, step.category): _counted(step.status)})


def count_steps_added(steps: QuerySet[CustomerStep]) -> None:
    """Count the steps `steps` selects as created (activation, a late joiner, a template step added): one
    INSERT … SELECT … GROUP BY whatever their number. The steps are new rows of the caller's transaction: nobody else
    can change them before it commits."""
    selected_sql, selected_params = steps.order_by().values("pk").query.sql_with_params()
    sql, params = counters_insert(
        steps_source=connection.ops.quote_name(CustomerStep._meta.db_table), where=f"WHERE s.id IN ({selected_sql})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *selected_params])


def counters_insert(*, steps_source: str, where: str = "") -> tuple[str, list]:
    """The INSERT … SELECT (SQL and parameters) that counts new customer steps into their counters: the steps of
    `steps_source` (the steps table, or a WITH query returning release_id, customer_id, category and status), as
    `s`, that `where` selects."""
    select_sql = (
        "SELECT s.release_id, s.customer_id, s.category, COUNT(*), SUM(CASE WHEN s.status = %s THEN 1 ELSE 0 END), "
        f"SUM(CASE WHEN s.status = %s THEN 1 ELSE 0 END) FROM {steps_source} s {where} "
        "GROUP BY s.release_id, s.customer_id, s.category ORDER BY s.release_id, s.category, s.customer_id"
    )
    return _upsert_sql(select_sql), [StepStatus.DONE.value, StepStatus.SKIPPED.value]


def count_steps_removed(release_id: int, steps) -> None:
    """Count steps out of progress before they are removed: (customer id, category, status) of each, rows the caller
    has locked."""
    deltas: dict[tuple[int, str], Delta] = defaultdict(lambda: (0, 0, 0))
    for customer_id, category, status in steps:
        total, done, skipped = deltas[customer_id, category]
        removed_total, removed_done, removed_skipped = _counted(status)
        deltas[customer_id, category] = (total - removed_total, done - removed_done, skipped - removed_skipped)
    add_to_counters(release_id, deltas)


# --- checking the counters --------------------------------------------------------------------------------------


def _counts_of_steps(releases) -> dict[tuple[int, int, str], Delta]:
    rows = (
        CustomerStep.objects.filter(release__in=releases)
        .values_list("release_id", "customer_id", "category")
        .annotate(**COUNTS)
        .order_by()
    )
    return {(release_id, customer_id, category): counts for release_id, customer_id, category, *counts in rows}


def _counts_of_counters(releases) -> dict[tuple[int, int, str], Delta]:
    rows = ProgressCounter.objects.filter(release__in=releases).values_list(
        "release_id", "customer_id", "category", "total", "done", "skipped"
    )
    return {(release_id, customer_id, category): counts for release_id, customer_id, category, *counts in rows}


def counter_mismatches(releases=None) -> dict[tuple[int, int, str], tuple[Delta, Delta]]:
    """Every (release id, customer id, category) whose counter differs from its steps: (counter, steps), a missing
    counter or no step being (0, 0, 0). Empty when the counters are right. Two queries over all the steps."""
    releases = Release.objects.all() if releases is None else releases
    counters, steps = _counts_of_counters(releases), _counts_of_steps(releases)
    empty = (0, 0, 0)
    return {
        key: (tuple(counters.get(key, empty)), tuple(steps.get(key, empty)))
        for key in counters.keys() | steps.keys()
        if tuple(counters.get(key, empty)) != tuple(steps.get(key, empty))
    }


def rebuild_counters(releases=None) -> int:
    """Count the steps of `releases` (default: all) again into their counters; returns how many rows were wrong.

    The counters of a release are locked first: an action that changes a step meanwhile waits to add its change to
    the recount, which either sees that step as it was (the action adds it after) or sees it committed.
    """
    releases = Release.objects.all() if releases is None else releases
    with transaction.atomic():
        list(ProgressCounter.objects.select_for_update().filter(release__in=releases).values_list("pk"))
        wrong = counter_mismatches(releases)
        for (release_id, customer_id, category), (_, counts) in sorted(wrong.items()):
            total, done, skipped = counts
            ProgressCounter.objects.update_or_create(
                release_id=release_id,
                customer_id=customer_id,
                category=category,
                defaults={"total": total, "done": done, "skipped": skipped},
            )
    return len(wrong)
