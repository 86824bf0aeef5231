"""Who a release covers, and how its template steps become customer steps.

Activation and Add customers enroll customers; a customer that is created, restored, re-activated or moved (or whose
cluster comes back) joins every active release that covers all customers; a template step added to an active release
reaches every enrolled customer. All of it is INSERT … SELECT: a constant number of queries, however many customers.

The inventory (clusters, customers) calls `join_covering_releases` from its services: the one way a lower layer
reaches into releases.
"""

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from customers.models import Customer
from customers.selectors import eligible_customers
from history.choices import EventAction
from history.services import record_event, record_step_events, step_events_insert
from releases.choices import ReleaseStatus
from releases.models import Enrollment, Release
from steps.choices import StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.progress import count_steps_added, counters_insert


def enrolled_customers(release) -> QuerySet[Customer]:
    """The customers in a release, archived ones left out."""
    return Customer.objects.filter(enrollments__release=release)


def materialize_template_steps(
    *, release, customers: QuerySet[Customer], user, when, templates: QuerySet[StepTemplate] | None = None
) -> int:
    """Create the customer step of every (template step, customer) pair that has none yet, with its history and its
    progress counted. Returns how many steps were created.

    On PostgreSQL one statement does all three: the steps' INSERT … SELECT returns the new rows, from which the
    "Created from template" events and the counters are written (WITH queries), instead of reading the new steps
    back twice; a pair that already has its step is skipped by the unique index (ON CONFLICT DO NOTHING) rather than
    searched for row by row. Elsewhere (SQLite) three statements: the steps, then the counters and the events of the
    steps created at `when`.
    """
    if templates is None:
        templates = StepTemplate.objects.filter(release=release)
    templates_sql, templates_params = templates.order_by().values("pk").query.sql_with_params()
    customers_sql, customers_params = customers.order_by().values("pk").query.sql_with_params()
    stamp = CustomerStep._meta.get_field("created_at").get_db_prep_save(when, connection)
    steps_table = CustomerStep._meta.db_table
    insert = (
        f"INSERT INTO {steps_table} (release_id, customer_id, template_id, anchor_id, anchor_offset, name, "
        "category, type, content, description, variable_names, status, skip_reason, evidence_sha256, notes, "
        "is_custom, is_overridden, version, created_at, updated_at) "
        "SELECT t.release_id, c.id, t.id, t.id, 0, t.name, t.category, t.type, t.content, t.description, "
        "t.variable_names, %s, '', '', '', %s, %s, 1, %s, %s "
        f"FROM {StepTemplate._meta.db_table} t, {Customer._meta.db_table} c "
        f"WHERE t.id IN ({templates_sql}) AND c.id IN ({customers_sql})"
    )
    params = [StepStatus.PENDING.value, False, False, stamp, stamp, *templates_params, *customers_params]
    if connection.vendor == "postgresql":
        return _materialize_in_one_statement(insert, params, user=user, when=when)
    with connection.cursor() as cursor:
        cursor.execute(
            f"{insert} AND NOT EXISTS "
            f"(SELECT 1 FROM {steps_table} x WHERE x.customer_id = c.id AND x.template_id = t.id)",
            params,
        )
        created = cursor.rowcount
    if created:
        new_steps = CustomerStep.objects.filter(
            release=release, created_at=when, template__in=templates, customer__in=customers
        )
        count_steps_added(new_steps)
        record_step_events(action=EventAction.STEP_CREATED, steps=new_steps, user=user, when=when)
    return created


def _materialize_in_one_statement(insert: str, params: list, *, user, when) -> int:
    """PostgreSQL: the steps, their events and their counters in one statement (see materialize_template_steps)."""
    events_sql, events_params = step_events_insert(
        action=EventAction.STEP_CREATED,
        user=user,
        when=when,
        before=None,
        after=None,
        steps_source="new_steps",
        customer_model=Customer,
    )
    counters_sql, counters_params = counters_insert(steps_source="new_steps")
    sql = (
        f"WITH new_steps AS ({insert} ON CONFLICT (customer_id, template_id) WHERE template_id IS NOT NULL DO NOTHING "
        "RETURNING id, release_id, customer_id, template_id, name, category, status), "
        f"events AS ({events_sql}), counted AS ({counters_sql}) SELECT COUNT(*) FROM new_steps"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *events_params, *counters_params])
        return cursor.fetchone()[0]


def enroll(*, release: Release, customers: QuerySet[Customer], user, when) -> tuple[list[str], int]:
    """Give `customers` every current template step they lack and record the newcomers' enrollment.

    A fixed number of INSERT … SELECT statements (steps, their history and counters, enrollments) whatever the
    number of customers.
    Returns the names of the customers that joined and the number of steps created.
    """
    newcomers = customers.exclude(enrollments__release=release).order_by()
    names = list(newcomers.order_by("name").values_list("name", flat=True))
    created = materialize_template_steps(release=release, customers=customers, user=user, when=when)
    if names:
        newcomers_sql, newcomers_params = newcomers.values("pk").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {Enrollment._meta.db_table} (release_id, customer_id, enrolled_at, enrolled_by_id) "
                f"SELECT %s, c.id, %s, %s FROM {Customer._meta.db_table} c WHERE c.id IN ({newcomers_sql})",
                [
                    release.pk,
                    Enrollment._meta.get_field("enrolled_at").get_db_prep_save(when, connection),
                    user.pk if user is not None else None,
                    *newcomers_params,
                ],
            )
    return names, created


def join_covering_releases(*, customers: QuerySet[Customer], user) -> None:
    """Bring customers that are (again) active into every active release that covers all customers (BR-S06).

    Called when a customer is created, restored, re-activated or moved, or its cluster re-activated or restored.
    Customers already in such a release only catch up on template steps they lack.
    """
    joining = customers.filter(pk__in=eligible_customers().values("pk"))
    if not joining.exists():
        return
    when = timezone.now()
    covering = Release.objects.select_for_update().filter(status=ReleaseStatus.ACTIVE, covers_all_customers=True)
    for release in covering:
        names, created = enroll(release=release, customers=joining, user=user, when=when)
        if names or created:
            record_event(
                action=EventAction.RELEASE_CUSTOMERS_ADDED,
                user=user,
                object_repr=release.name,
                release=release,
                when=when,
                after={"customers": names, "steps_created": created},
            )
