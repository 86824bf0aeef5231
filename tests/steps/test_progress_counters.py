"""Progress counters (issue 10, item 1): every service that creates, removes or changes the status of customer steps
keeps steps.ProgressCounter in the same transaction, so that progress (spec §8.2) is read from one row per customer and
category instead of counting the release's steps. They must always say what counting the steps says: checked after
random sequences of every kind of change, on SQLite and on PostgreSQL. An action's queries don't grow with the release.
"""

import contextlib
from collections import defaultdict

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Q
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core.errors import DomainError
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_restore
from releases.models import Enrollment
from releases.services import release_activate, release_add_customers
from steps.choices import StepCategory, StepStatus
from steps.models import CustomerStep, ProgressCounter, StepTemplate
from steps.progress import (
    ALL_CATEGORIES,
    StepCounts,
    counter_mismatches,
    progress_around,
    rebuild_counters,
    release_progress,
)
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_remove_custom,
    customer_step_reopen,
    customer_step_revert,
    customer_step_skip,
    customer_steps_bulk_transition,
    customer_steps_mark_all_done,
    template_step_add,
    template_step_delete,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.steps.test_views import ACTION_QUERIES, MARK_ALL_QUERIES

pytestmark = pytest.mark.django_db
CATEGORIES = StepCategory.values
HTMX = {"HTTP_HX_REQUEST": "true"}


def _progress_from_steps(release):
    """Progress counted from the steps themselves, as steps.progress did before the counters: the reference."""
    cluster_of = dict(
        Enrollment.objects.filter(release=release, customer__deleted_at__isnull=True).values_list(
            "customer_id", "customer__cluster_id"
        )
    )
    counts = defaultdict(dict)
    rows = (
        CustomerStep.objects.filter(release=release, customer__deleted_at__isnull=True)
        .values_list("customer_id", "category")
        .annotate(
            total=Count("id"),
            done=Count("id", filter=Q(status=StepStatus.DONE)),
            skipped=Count("id", filter=Q(status=StepStatus.SKIPPED)),
        )
        .order_by()
    )
    for customer_id, category, total, done, skipped in rows:
        counts[customer_id][category] = StepCounts(total, done, skipped)
        counts[customer_id][ALL_CATEGORIES] = counts[customer_id].get(ALL_CATEGORIES, StepCounts()) + StepCounts(
            total, done, skipped
        )
    return cluster_of, counts


def _close(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and abs(a - b) < 1e-9)


def assert_counters_right(release) -> None:
    """The counters equal the steps, and every way of reading progress says what counting the steps says."""
    assert counter_mismatches() == {}
    cluster_of, counts = _progress_from_steps(release)
    progress = release_progress(release)
    assert progress.cluster_of == cluster_of
    for category in [*CATEGORIES, ALL_CATEGORIES]:
        for customer_id in cluster_of:
            assert progress.customer(customer_id, category) == counts[customer_id].get(category, StepCounts())

        def average(ids, category=category):
            known = [counts[i][category].percent for i in ids if category in counts[i] and counts[i][category].total]
            return sum(known) / len(known) if known else None

        def complete(ids, category=category):
            return sum((counts[i].get(category, StepCounts()) for i in ids), StepCounts()).complete

        assert _close(progress.overall_percent(category), average(cluster_of))
        assert progress.overall_complete(category) == complete(cluster_of)
        for cluster_id in set(cluster_of.values()):
            members = [i for i, cluster in cluster_of.items() if cluster == cluster_id]
            assert _close(progress.cluster_percent(cluster_id, category), average(members))
            assert progress.cluster_complete(cluster_id, category) == complete(members)
    for customer in Customer.all_objects.filter(enrollments__release=release):
        for category in CATEGORIES:
            around = progress_around(release_id=release.pk, customer=customer, category=category)
            assert around.customer(customer.pk, category) == progress.customer(customer.pk, category)
            assert _close(
                around.cluster_percent(customer.cluster_id, category),
                progress.cluster_percent(customer.cluster_id, category),
            )
            assert around.cluster_complete(customer.cluster_id, category) == progress.cluster_complete(
                customer.cluster_id, category
            )
            assert _close(around.overall_percent(category), progress.overall_percent(category))
            assert around.overall_complete(category) == progress.overall_complete(category)


# --- random sequences of changes --------------------------------------------------------------------------------

# Each operation picks its step, customer or template step by an index taken modulo what there is.
OPERATIONS = st.one_of(
    st.tuples(st.sampled_from(["done", "skip", "revert", "reopen", "remove_custom"]), st.integers(0, 999)),
    st.tuples(
        st.just("bulk"),
        st.sampled_from(["mark_done", "skip", "revert"]),
        st.lists(st.integers(0, 999), min_size=1, max_size=6),
    ),
    st.tuples(st.sampled_from(["mark_all", "add_custom"]), st.integers(0, 99), st.sampled_from(CATEGORIES)),
    st.tuples(st.just("add_template_step"), st.sampled_from(CATEGORIES)),
    st.tuples(st.sampled_from(["delete_template_step", "archive", "restore", "new_customer"]), st.integers(0, 99)),
)


def _apply(world, operation) -> None:
    """Run one operation through the services; a refusal (a step that can't take the action…) changes nothing."""
    user, release = world.user, world.release
    kind, *args = operation
    steps = list(CustomerStep.objects.filter(release=release).order_by("pk"))
    enrolled = list(Customer.all_objects.filter(enrollments__release=release).order_by("pk"))
    live = [customer for customer in enrolled if not customer.is_deleted]

    def pick(items, index):
        return items[index % len(items)] if items else None

    step = pick(steps, args[0]) if args and isinstance(args[0], int) else None
    if kind == "done" and step:
        customer_step_mark_done(step=step, user=user)
    elif kind == "skip" and step:
        customer_step_skip(step=step, user=user, reason="not here")
    elif kind == "revert" and step:
        customer_step_revert(step=step, user=user)
    elif kind == "reopen" and step:
        customer_step_reopen(step=step, user=user)
    elif kind == "remove_custom":
        custom = [s for s in steps if s.is_custom]
        if custom:
            customer_step_remove_custom(step=pick(custom, args[0]), user=user)
    elif kind == "bulk" and steps:
        action, indexes = args
        chosen = {pick(steps, index).pk: None for index in indexes}
        customer_steps_bulk_transition(
            release=release, steps_with_versions=chosen, action=action, user=user, reason="bulk reason"
        )
    elif kind == "mark_all" and live:
        customer_steps_mark_all_done(release=release, customer=pick(live, args[0]), category=args[1], user=user)
    elif kind == "add_custom" and live:
        customer_step_add_custom(
            release=release,
            customer=pick(live, args[0]),
            user=user,
            name="Extra",
            category=args[1],
            type="text",
            content="by hand",
        )
    elif kind == "add_template_step":
        template_step_add(release=release, user=user, name="Added", category=args[0], type="text", content="new")
    elif kind == "delete_template_step":
        templates = list(StepTemplate.objects.filter(release=release).order_by("pk"))
        if templates:
            template_step_delete(template_step=pick(templates, args[0]), user=user)
    elif kind == "archive" and live:
        customer_delete(customer=pick(live, args[0]), user=user)
    elif kind == "restore":
        archived = [customer for customer in enrolled if customer.is_deleted]
        if archived:
            customer_restore(customer=pick(archived, args[0]), user=user)
    elif kind == "new_customer":
        cluster = pick(list(world.clusters.values()), args[0])
        customer = customer_create(
            user=user,
            cluster=cluster,
            name=f"new-{args[0]}-{Customer.all_objects.count()}",
            namespace=f"ns-{Customer.all_objects.count()}",
        )
        if not release.covers_all_customers:
            release_add_customers(release=release, customers=[customer], user=user)


@pytest.fixture
def started(world):
    """The spec's world, activated, with one customer left out (so that adding customers has someone to add)."""
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["demo-customer"]])
    world.release.refresh_from_db()
    return world


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=12))
def test_counters_always_equal_the_counts_of_the_steps(started, operations):
    for operation in operations:
        with contextlib.suppress(DomainError):  # a refusal changes nothing
            _apply(started, operation)
    assert_counters_right(started.release)


def test_counters_of_a_new_activation_count_every_step(world):
    release_activate(release=world.release, user=world.user)

    # 6 customers with 2 deploy and 1 verify step each: 12 rows, all pending.
    assert ProgressCounter.objects.filter(release=world.release).count() == 12
    assert set(ProgressCounter.objects.values_list("total", "done", "skipped")) == {(2, 0, 0), (1, 0, 0)}
    assert_counters_right(world.release)


def test_an_archived_customer_keeps_its_counters_and_is_left_out_of_progress(started):
    customer = started.customers["customer-a"]
    for step in CustomerStep.objects.filter(release=started.release, customer=customer):
        customer_step_mark_done(step=step, user=started.user)
    before = set(ProgressCounter.objects.values_list("customer_id", "category", "total", "done", "skipped"))

    customer_delete(customer=customer, user=started.user)

    assert set(ProgressCounter.objects.values_list("customer_id", "category", "total", "done", "skipped")) == before
    assert customer.pk not in release_progress(started.release).cluster_of
    assert_counters_right(started.release)


def test_a_counter_gone_wrong_is_found_and_rebuilt(started, capsys):
    counter = ProgressCounter.objects.filter(release=started.release).first()
    ProgressCounter.objects.filter(pk=counter.pk).update(done=counter.done + 1, total=counter.total + 1)
    ProgressCounter.objects.filter(release=started.release).exclude(pk=counter.pk).first().delete()

    assert len(counter_mismatches()) == 2
    with pytest.raises(CommandError, match="2 progress counters differ"):
        call_command("progress_counters")
    assert f"customer {counter.customer_id}" in capsys.readouterr().err

    call_command("progress_counters", "--rebuild")

    assert counter_mismatches() == {}
    assert rebuild_counters() == 0
    assert_counters_right(started.release)


def test_a_change_to_a_step_whose_counter_is_missing_counts_it_anew(started):
    step = CustomerStep.objects.filter(release=started.release).first()
    ProgressCounter.objects.filter(release=started.release, customer=step.customer).delete()

    customer_step_mark_done(step=step, user=started.user)

    assert_counters_right(started.release)


# --- what an action costs ---------------------------------------------------------------------------------------


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture(params=[3, 30], ids=["3-customers", "30-customers"])
def sized(request, user):
    """A release of 3 deploy and 2 verify steps activated for N customers on 3 clusters."""
    clusters = ClusterFactory.create_batch(3)
    customers = [CustomerFactory(cluster=clusters[index % 3]) for index in range(request.param)]
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(3, release=release, category="deploy")
    StepTemplateFactory.create_batch(2, release=release, category="verify")
    release_activate(release=release, user=user)
    steps = list(CustomerStep.objects.filter(customer=customers[0], category="deploy").order_by("pk"))
    return {"release": release, "customer": customers[0], "steps": steps}


def _from(url: str) -> dict:
    """The headers of an htmx request sent from the side panel of the page at `url`."""
    return {**HTMX, "HTTP_HX_TARGET": "side-panel", "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}


@pytest.mark.parametrize("page", ["matrix", "customer_steps"])
@pytest.mark.parametrize(("action", "data"), [("done", {"notes": "ok"}), ("skip", {"reason": "not today"})])
def test_an_action_from_the_matrix_or_the_checklist_costs_the_same_at_any_size(
    client, sized, page, action, data, django_assert_max_num_queries
):
    release, customer, step = sized["release"], sized["customer"], sized["steps"][0]
    url = {
        "matrix": reverse("steps:matrix", args=[release.pk]),
        "customer_steps": reverse("steps:customer_steps", args=[release.pk, customer.pk]),
    }[page]

    with django_assert_max_num_queries(ACTION_QUERIES):
        response = client.post(reverse(f"steps:step_{action}", args=[step.pk]), data, **_from(url))

    assert response.status_code == 200
    assert f'id="progress-customer-{customer.pk}-deploy"' in response.content.decode()
    assert_counters_right(release)


def test_mark_all_costs_the_same_at_any_size(client, sized, django_assert_max_num_queries):
    url = reverse("steps:mark_all", args=[sized["release"].pk, sized["customer"].pk, "deploy"])

    with django_assert_max_num_queries(MARK_ALL_QUERIES):
        response = client.post(url, **HTMX)

    assert response.status_code == 200
    assert_counters_right(sized["release"])


# --- races ------------------------------------------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_concurrent_changes_to_one_customer_all_add_up(world):
    """Increments, not recounts: actions on several steps of one customer at the same moment, a bulk action and the
    deletion of a template step among them, leave counters that equal the steps."""
    from tests.races import at_once as _race

    release_activate(release=world.release, user=world.user)
    customer = world.customers["customer-a"]
    mine = list(CustomerStep.objects.filter(release=world.release, customer=customer).order_by("pk"))
    others = list(CustomerStep.objects.filter(release=world.release, template=world.templates[0]).order_by("pk"))
    user = world.user

    outcomes = _race(
        lambda: customer_step_mark_done(step=mine[0], user=user),
        lambda: customer_step_skip(step=mine[1], user=user, reason="not here"),
        lambda: customer_step_mark_done(step=mine[2], user=user),
        lambda: customer_steps_bulk_transition(
            release=world.release,
            steps_with_versions={step.pk: None for step in others[1:4]},
            action="mark_done",
            user=user,
        ),
        lambda: template_step_delete(template_step=world.templates[0], user=user),
    )

    # A step removed with its template step before its action is refused; nothing else fails (no deadlock).
    assert not [
        outcome for outcome in outcomes if isinstance(outcome, Exception) and not isinstance(outcome, DomainError)
    ]
    assert_counters_right(world.release)
