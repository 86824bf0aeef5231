"""What the step screens read: the release matrix (FV-003: grouped by cluster, custom and detached steps placed after
the step they follow, filters, progress), the actions a step offers (§5.7 "Actions by Source Type"), one customer's
steps (FV-004) and one template step across customers (FV-005) — each in a fixed number of queries."""

import pytest

from customers.services import customer_delete
from releases.services import release_activate, release_archive
from steps.choices import Position, RunMark, StepStatus
from steps.models import CustomerStep
from steps.selectors import (
    PlainCell,
    _matrix_cells,
    clusters_of_release,
    release_matrix,
    step_actions,
    steps_of_customer,
    template_step_across_customers,
    template_step_counts,
)
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_revert,
    customer_step_skip,
    template_step_delete,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(world):
    """The example world with its release activated for every customer."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def _step(world, customer: str, template: int) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _custom(world, customer: str, name: str, *, position=None, relative_to=None, category="deploy"):
    return customer_step_add_custom(
        release=world.release,
        customer=world.customers[customer],
        user=world.user,
        name=name,
        category=category,
        type="bash",
        content=f"echo {name}",
        position=position,
        relative_to=relative_to,
    )


def _table(matrix, cluster: str):
    return next(table for table in matrix.tables if table.cluster.name == cluster)


def _row_names(table) -> list[str]:
    return [row.name for row, _ in table.rows]


def _cells(table, row_name: str) -> dict[str, str | None]:
    """customer name → the status of its cell in the row, or None for an empty cell."""
    cells = next(cells for row, cells in table.rows if row.name == row_name)
    return {
        customer.name: (cell.status if cell is not None else None)
        for customer, cell in zip(table.customers, cells, strict=True)
    }


# --- the matrix ---------------------------------------------------------------------------------------------------


def test_br_c03_matrix_has_one_table_per_cluster_with_its_customers_as_columns(active):
    matrix = release_matrix(active.release, category="deploy")

    assert [table.cluster.name for table in matrix.tables] == ["prod-eu", "prod-us", "staging"]
    assert [c.name for c in _table(matrix, "prod-us").customers] == ["customer-a", "customer-b", "customer-c"]
    assert [c.name for c in _table(matrix, "staging").customers] == ["demo-customer"]
    assert _row_names(_table(matrix, "prod-us")) == ["Deploy app", "Run migration"]
    assert [row.number for row, _ in _table(matrix, "prod-us").rows] == [1, 2]
    assert sum(len(table.customers) for table in matrix.tables) == 6


def test_fv_003_each_category_has_its_own_matrix(active):
    matrix = release_matrix(active.release, category="verify")

    assert _row_names(_table(matrix, "prod-eu")) == ["Health check"]
    verify = set(CustomerStep.objects.filter(category="verify").values_list("pk", flat=True))
    assert {cell.pk for table in matrix.tables for _, cells in table.rows for cell in cells} == verify


def test_fcs_008_custom_steps_are_rows_after_the_step_they_follow_with_cells_for_their_customer_only(active):
    after_deploy = _custom(
        active, "customer-a", "Flush cache", position=Position.AFTER, relative_to=_step(active, "customer-a", 0)
    )
    _custom(active, "customer-b", "Warm up", position=Position.BEFORE, relative_to=_step(active, "customer-b", 0))
    _custom(active, "customer-a", "Last words")

    table = _table(release_matrix(active.release, category="deploy"), "prod-us")

    assert _row_names(table) == ["Warm up", "Deploy app", "Flush cache", "Run migration", "Last words"]
    assert _cells(table, "Flush cache") == {"customer-a": "pending", "customer-b": None, "customer-c": None}
    assert _cells(table, "Warm up") == {"customer-a": None, "customer-b": "pending", "customer-c": None}
    row, _ = table.rows[2]
    assert row.is_custom and row.template is None and row.steps[active.customers["customer-a"].pk].pk == after_deploy.pk
    # A custom step of prod-us customers is no row of the other clusters.
    assert _row_names(_table(release_matrix(active.release, category="deploy"), "prod-eu")) == [
        "Deploy app",
        "Run migration",
    ]


def test_fv_003_the_same_custom_step_of_several_customers_shares_one_row(active):
    for customer in ("customer-a", "customer-c"):
        _custom(active, customer, "Flush cache", position=Position.AFTER, relative_to=_step(active, customer, 0))

    table = _table(release_matrix(active.release, category="deploy"), "prod-us")

    assert _row_names(table) == ["Deploy app", "Flush cache", "Run migration"]
    assert _cells(table, "Flush cache") == {"customer-a": "pending", "customer-b": None, "customer-c": "pending"}


def test_fv_003_a_detached_step_stays_in_the_matrix_after_its_template_step_is_deleted(active):
    customer_step_mark_done(step=_step(active, "customer-a", 1), user=active.user)
    template_step_delete(template_step=active.templates[1], user=active.user)

    table = _table(release_matrix(active.release, category="deploy"), "prod-us")

    assert _row_names(table) == ["Deploy app", "Run migration"]
    row, _ = table.rows[1]
    assert row.is_detached and row.template is None
    assert _cells(table, "Run migration") == {"customer-a": "done", "customer-b": None, "customer-c": None}
    assert _row_names(_table(release_matrix(active.release, category="deploy"), "prod-eu")) == ["Deploy app"]


def test_fcs_006_removed_custom_steps_leave_the_matrix(active):
    step = _custom(active, "customer-a", "Flush cache")
    customer_step_remove_custom(step=step, user=active.user)

    assert _row_names(_table(release_matrix(active.release, category="deploy"), "prod-us")) == [
        "Deploy app",
        "Run migration",
    ]


def test_fr_007_matrix_filtered_by_cluster_shows_only_that_cluster(active):
    matrix = release_matrix(active.release, category="deploy", cluster=active.clusters["prod-eu"])

    assert [table.cluster.name for table in matrix.tables] == ["prod-eu"]
    assert [c.name for c in matrix.tables[0].customers] == ["customer-d", "customer-e"]
    assert list(clusters_of_release(active.release).values_list("name", flat=True)) == [
        "prod-eu",
        "prod-us",
        "staging",
    ]


def test_fr_007_status_filter_keeps_rows_with_a_matching_cell_and_dims_the_others(active):
    customer_step_mark_done(step=_step(active, "customer-a", 1), user=active.user)

    matrix = release_matrix(active.release, category="deploy", status=StepStatus.DONE)

    table = _table(matrix, "prod-us")
    assert _row_names(table) == ["Run migration"]
    _, cells = table.rows[0]
    names = {customer.pk: customer.name for customer in table.customers}
    assert [(names[cell.customer_id], cell.dimmed) for cell in cells] == [
        ("customer-a", False),
        ("customer-b", True),
        ("customer-c", True),
    ]
    # A cluster without a matching step keeps its header, with no row.
    assert _table(matrix, "prod-eu").rows == []


def test_fet_005_matrix_carries_progress_per_customer_cluster_and_category(active):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)
    customer_step_mark_done(step=_step(active, "customer-a", 1), user=active.user)
    customer_step_mark_done(step=_step(active, "customer-b", 0), user=active.user)

    matrix = release_matrix(active.release, category="deploy")

    table = _table(matrix, "prod-us")
    assert [customer.progress for customer in table.customers] == [100, 50, 0]
    assert [matrix.progress.customer(customer.pk, "deploy").done for customer in table.customers] == [2, 1, 0]
    assert table.progress == 50
    assert matrix.progress.overall_percent("deploy") == 25
    assert matrix.progress.overall_percent("verify") == 0


def test_fm_003_archived_customers_leave_the_matrix(active):
    customer_delete(customer=active.customers["customer-b"], user=active.user)

    matrix = release_matrix(active.release, category="deploy")

    assert [c.name for c in _table(matrix, "prod-us").customers] == ["customer-a", "customer-c"]


def test_fv_003_every_step_of_the_category_is_one_cell_whatever_marks_it_carries(active):
    # The matrix reads plain cells and marked ones with two statements: each step must be read by exactly one.
    customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo overridden")
    customer_step_override(step=_step(active, "customer-b", 0), user=active.user, content="echo #{region}")
    CustomerStep.objects.filter(pk=_step(active, "customer-c", 0).pk).update(run_mark=RunMark.RUNNING)
    custom = _custom(active, "customer-d", "Flush cache")
    customer_step_mark_done(step=_step(active, "customer-e", 1), user=active.user)
    template_step_delete(template_step=active.templates[1], user=active.user)  # customer-e's step 2 is detached
    deploy = CustomerStep.objects.filter(release=active.release, category="deploy")

    plain, others = _matrix_cells(deploy)

    assert not {cell.pk for cell in plain} & {cell.pk for cell in others}
    assert sorted(cell.pk for cell in plain + others) == sorted(deploy.values_list("pk", flat=True))
    marked = {
        _step(active, "customer-a", 0).pk,
        _step(active, "customer-b", 0).pk,
        _step(active, "customer-c", 0).pk,
        custom.pk,
        CustomerStep.objects.get(customer=active.customers["customer-e"], template=active.templates[1]).pk,
    }
    assert {cell.pk for cell in others} == marked
    assert all(type(cell) is PlainCell for cell in plain) and _step(active, "customer-d", 0).pk in {
        cell.pk for cell in plain
    }

    cells = {
        cell.pk: cell
        for table in release_matrix(active.release, category="deploy").tables
        for _, row in table.rows
        for cell in row
        if cell is not None
    }
    assert sorted(cells) == sorted(deploy.values_list("pk", flat=True))
    assert cells[_step(active, "customer-a", 0).pk].is_overridden
    assert cells[_step(active, "customer-b", 0).pk].blocked == ("region",)
    assert cells[_step(active, "customer-c", 0).pk].run_mark == RunMark.RUNNING
    assert cells[custom.pk].is_custom
    plain_cell = cells[_step(active, "customer-d", 0).pk]
    assert not (plain_cell.is_overridden or plain_cell.is_custom or plain_cell.blocked or plain_cell.run_mark)


@pytest.mark.parametrize("customers", [10, 200])
def test_fv_003_matrix_takes_seven_queries_whatever_the_size(customers, user, django_assert_num_queries):
    clusters = ClusterFactory.create_batch(4)
    for index in range(customers):
        CustomerFactory(cluster=clusters[index % 4])
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(20, release=release, category="deploy")
    release_activate(release=release, user=user)
    first = CustomerStep.objects.filter(release=release).order_by("pk").first()
    customer_step_add_custom(
        release=release,
        customer=first.customer,
        user=user,
        name="Extra",
        category="deploy",
        type="sql",
        content="select '#{customer}'",
    )

    # customers, template steps, customer steps (plain cells, then the others), progress (two), the variables
    # defined (a step uses one)
    with django_assert_num_queries(7):
        matrix = release_matrix(release, category="deploy")

    assert sum(len(table.customers) for table in matrix.tables) == customers
    assert sum(cell is not None for table in matrix.tables for _, cells in table.rows for cell in cells) == (
        customers * 20 + 1
    )


# --- what a step offers -------------------------------------------------------------------------------------------


def _actions(step):
    step = CustomerStep.all_objects.select_related("release", "customer", "template").get(pk=step.pk)
    actions = step_actions(step)
    return actions.source, {
        name
        for name in ("mark_done", "skip", "revert", "reopen", "override", "view_original", "reset", "edit", "delete")
        if getattr(actions, name)
    }


def test_fv_007_a_template_step_offers_override_mark_done_and_skip(active):
    assert _actions(_step(active, "customer-a", 0)) == ("template", {"mark_done", "skip", "override"})


def test_fv_007_an_overridden_step_offers_view_original_reset_mark_done_and_skip(active):
    step = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo mine")

    assert _actions(step) == ("overridden", {"mark_done", "skip", "view_original", "reset"})


def test_fv_007_a_custom_step_offers_edit_delete_mark_done_and_skip(active):
    step = _custom(active, "customer-a", "Flush cache")

    assert _actions(step) == ("custom", {"mark_done", "skip", "edit", "delete"})


def test_br_r03_a_done_step_offers_only_revert_its_content_is_locked(active):
    overridden = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo mine")
    customer_step_mark_done(step=overridden, user=active.user)
    custom = _custom(active, "customer-a", "Flush cache")
    customer_step_mark_done(step=custom, user=active.user)

    assert _actions(overridden) == ("overridden", {"revert", "view_original"})
    assert _actions(custom) == ("custom", {"revert"})


def test_fet_003_a_skipped_step_offers_undo_skip(active):
    step = customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason="not needed")

    assert _actions(step) == ("template", {"reopen", "override"})


def test_fv_007_a_detached_overridden_step_cannot_be_reset(active):
    step = customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="select 2")
    customer_step_mark_done(step=step, user=active.user)
    template_step_delete(template_step=active.templates[1], user=active.user)
    step = CustomerStep.objects.get(pk=step.pk)
    customer_step_revert(step=step, user=active.user)

    assert _actions(step) == ("overridden", {"mark_done", "skip", "view_original"})


def test_fr_005_nothing_changes_in_an_archived_release(active):
    step = _step(active, "customer-a", 0)
    release_archive(release=active.release, user=active.user)

    actions = step_actions(CustomerStep.objects.select_related("release", "customer").get(pk=step.pk))

    assert not actions.editable
    assert _actions(step) == ("template", set())


# --- one customer, one template step ------------------------------------------------------------------------------


def test_fv_004_steps_of_a_customer_per_category_in_execution_order(active):
    deploy = _step(active, "customer-a", 0)
    _custom(active, "customer-a", "Flush cache", position=Position.AFTER, relative_to=deploy)
    _custom(active, "customer-b", "Not mine")

    steps = steps_of_customer(active.release, active.customers["customer-a"])

    assert [step.name for step in steps["deploy"]] == ["Deploy app", "Flush cache", "Run migration"]
    assert [step.name for step in steps["verify"]] == ["Health check"]
    assert steps["deploy"][1].actions.source == "custom"


def test_fv_004_steps_of_a_customer_take_one_query_and_a_second_when_a_step_uses_a_variable(
    active, django_assert_num_queries
):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)

    with django_assert_num_queries(1):  # the steps: none uses a variable, so none can miss one
        steps = steps_of_customer(active.release, active.customers["customer-a"])
        assert steps["deploy"][0].executed_by.get_username() == "rm"

    customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="psql -h #{DB_HOST}")
    with django_assert_num_queries(2):  # the steps, and the variables defined for the customer
        steps = steps_of_customer(active.release, active.customers["customer-a"])
        assert steps["deploy"][1].actions.missing == ("DB_HOST",)


def test_fv_005_template_step_across_customers_grouped_by_cluster(active, django_assert_num_queries):
    customer_step_mark_done(step=_step(active, "customer-d", 0), user=active.user)
    customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason="done by hand")

    with django_assert_num_queries(2):  # the steps, and the variables defined for their customers
        status = template_step_across_customers(active.templates[0])
        grouped = [(cluster.name, [(s.customer.name, s.status) for s in steps]) for cluster, steps in status.groups]

    assert grouped == [
        ("prod-eu", [("customer-d", "done"), ("customer-e", "pending")]),
        ("prod-us", [("customer-a", "skipped"), ("customer-b", "pending"), ("customer-c", "pending")]),
        ("staging", [("demo-customer", "pending")]),
    ]
    assert status.counts == {"done": 1, "skipped": 1, "pending": 4}
    assert status.total == 6
    assert template_step_counts(active.templates[0]) == status.counts
