"""Service tests for the template-step layer: add (FS-001), edit (FS-002, FCS-007, BR-R02, BR-S07, BR-S08),
reorder (FS-003) and delete (FS-004) template steps, before and after activation."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.errors import DomainError
from customers.services import customer_delete
from history.choices import EventAction
from history.models import Event
from releases.rules import RELEASE_ARCHIVED
from releases.services import release_activate, release_add_customers, release_archive
from steps.models import STEP_ORDER, CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_reopen,
    customer_step_revert,
    customer_step_skip,
    template_step_add,
    template_step_delete,
    template_step_update,
    template_steps_reorder,
)
from steps.services.rules import (
    CATEGORY_FIXED,
    CONTENT_REQUIRED,
    REORDER_MISMATCH,
    TEMPLATE_STEP_REMOVED,
    UNKNOWN_CATEGORY,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

ORIGINAL = "echo 'Deploy app'"
NEW_CONTENT = "helm upgrade app ./chart --atomic"


@pytest.fixture
def active(world):
    """The example world with its release activated: every customer has the three template steps."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


@pytest.fixture
def acted_on(active):
    """'Deploy app' in every state: customer-a overridden, -b done, -c skipped, -d reverted, -e and demo pending."""
    steps = steps_by_customer(active.templates[0])
    user = active.user
    customer_step_override(step=steps["customer-a"], user=user, content="echo 'only for a'")
    customer_step_mark_done(step=steps["customer-b"], user=user)
    customer_step_skip(step=steps["customer-c"], user=user, reason="Not deployed on this tenant")
    customer_step_mark_done(step=steps["customer-d"], user=user)
    customer_step_revert(step=steps["customer-d"], user=user)
    return active


def steps_by_customer(template_step) -> dict[str, CustomerStep]:
    """The live customer steps of a template step, by customer name."""
    steps = CustomerStep.objects.filter(template=template_step).select_related("customer")
    return {step.customer.name: step for step in steps}


def step_names(release, customer, category="deploy") -> list[str]:
    """A customer's step names in the order the checklist shows them."""
    steps = CustomerStep.objects.filter(release=release, customer=customer, category=category)
    return list(steps.order_by(*STEP_ORDER).values_list("name", flat=True))


def template_order(release, category="deploy") -> list[tuple[str, int]]:
    """The live template steps of a category as (name, order_index), in order."""
    templates = StepTemplate.objects.filter(release=release, category=category).order_by("order_index")
    return list(templates.values_list("name", "order_index"))


def database_state(release):
    """Everything a refused template change must leave as it was."""
    return (
        list(StepTemplate.all_objects.filter(release=release).order_by("pk").values()),
        list(CustomerStep.all_objects.filter(release=release).order_by("pk").values()),
        Event.objects.count(),
    )


def add_step(world, name="Smoke test", *, category="deploy", type="bash", content="curl -f https://app/health", **kw):
    return template_step_add(
        release=world.release, user=world.user, name=name, category=category, type=type, content=content, **kw
    )


def events(action, **subjects):
    return Event.objects.filter(action=action, **subjects)


# --- FS-001: add a template step -------------------------------------------------------------------------------


def test_fs_001_add_in_draft_appends_at_the_end_of_its_category(world):
    added = add_step(world)

    assert template_order(world.release) == [("Deploy app", 0), ("Run migration", 1), ("Smoke test", 2)]
    assert template_order(world.release, "verify") == [("Health check", 0)]
    assert not CustomerStep.objects.filter(template=added).exists()
    event = events(EventAction.TEMPLATE_STEP_ADDED, template_step=added).get()
    assert event.after["content"] == "curl -f https://app/health"
    assert event.actor == world.user


@pytest.mark.parametrize(
    ("index", "expected"),
    [
        (0, [("Smoke test", 0), ("Deploy app", 1), ("Run migration", 2)]),
        (1, [("Deploy app", 0), ("Smoke test", 1), ("Run migration", 2)]),
        (2, [("Deploy app", 0), ("Run migration", 1), ("Smoke test", 2)]),
    ],
)
def test_fs_001_add_at_an_index_shifts_the_steps_after_it(world, index, expected):
    add_step(world, index=index)

    assert template_order(world.release) == expected
    assert template_order(world.release, "verify") == [("Health check", 0)]


def test_fs_001_add_in_active_release_reaches_every_enrolled_customer_at_once(active):
    customer_delete(customer=active.customers["customer-e"], user=active.user)

    added = add_step(active)

    reached = steps_by_customer(added)
    assert sorted(reached) == ["customer-a", "customer-b", "customer-c", "customer-d", "demo-customer"]
    assert all(step.content == "curl -f https://app/health" and step.status == "pending" for step in reached.values())
    created = events(EventAction.STEP_CREATED, template_step=added)
    assert sorted(created.values_list("customer__name", flat=True)) == sorted(reached)
    assert set(created.values_list("customer_step", flat=True)) == {step.pk for step in reached.values()}
    assert step_names(active.release, active.customers["customer-a"]) == ["Deploy app", "Run migration", "Smoke test"]


def test_fs_001_add_at_an_index_in_active_release_puts_it_there_for_every_customer(active):
    add_step(active, index=0)

    for customer in active.customers.values():
        assert step_names(active.release, customer) == ["Smoke test", "Deploy app", "Run migration"]
        assert step_names(active.release, customer, "verify") == ["Health check"]


def test_fs_001_add_refused_in_archived_release(active):
    release_archive(release=active.release, user=active.user)
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        add_step(active)

    assert refused.value.message == RELEASE_ARCHIVED.format(name=active.release.name)
    assert database_state(active.release) == before


@pytest.mark.parametrize("content", ["", "   \n\t"])
def test_fs_001_add_refuses_blank_content(active, content):
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        add_step(active, content=content)

    assert refused.value.message == CONTENT_REQUIRED
    assert refused.value.field == "content"
    assert database_state(active.release) == before


@pytest.mark.parametrize(
    ("category", "type", "field"),
    [("rollback", "bash", "category"), ("deploy", "python", "type")],
)
def test_fs_001_add_refuses_unknown_category_or_type(active, category, type, field):
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        add_step(active, category=category, type=type)

    assert refused.value.field == field
    if field == "category":
        assert refused.value.message == UNKNOWN_CATEGORY.format(category="rollback")
    assert database_state(active.release) == before


# --- FS-002, FCS-007, BR-R02, BR-S07, BR-S08: edit a template step ------------------------------------------------


def test_fs_002_edit_in_draft_changes_the_template_and_records_it(world):
    deploy = world.templates[0]

    template_step_update(template_step=deploy, user=world.user, content=NEW_CONTENT, name=" Deploy the app ")

    deploy.refresh_from_db()
    assert (deploy.name, deploy.content) == ("Deploy the app", NEW_CONTENT)
    event = events(EventAction.TEMPLATE_STEP_UPDATED, template_step=deploy).get()
    assert event.before == {"name": "Deploy app", "content": ORIGINAL}
    assert event.after == {"name": "Deploy the app", "content": NEW_CONTENT}


def test_fs_002_edit_refuses_blank_content(active):
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_step_update(template_step=active.templates[0], user=active.user, content="  ")

    assert (refused.value.message, refused.value.field) == (CONTENT_REQUIRED, "content")
    assert database_state(active.release) == before


def test_fs_002_edit_refused_in_archived_release(active):
    release_archive(release=active.release, user=active.user)
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_step_update(template_step=active.templates[0], user=active.user, content=NEW_CONTENT)

    assert refused.value.message == RELEASE_ARCHIVED.format(name=active.release.name)
    assert database_state(active.release) == before


def test_br_s07_template_edit_reaches_pending_steps_that_are_not_overridden(acted_on):
    template_step_update(template_step=acted_on.templates[0], user=acted_on.user, content=NEW_CONTENT)

    steps = steps_by_customer(acted_on.templates[0])
    assert steps["customer-e"].content == NEW_CONTENT
    assert steps["demo-customer"].content == NEW_CONTENT
    assert steps["customer-a"].content == "echo 'only for a'"


def test_br_r02_template_edit_leaves_done_skipped_and_reverted_steps_alone(acted_on):
    template_step_update(
        template_step=acted_on.templates[0], user=acted_on.user, content=NEW_CONTENT, name="Deploy the app"
    )

    steps = steps_by_customer(acted_on.templates[0])
    for name, status in [("customer-b", "done"), ("customer-c", "skipped"), ("customer-d", "reverted")]:
        assert (steps[name].status, steps[name].name, steps[name].content) == (status, "Deploy app", ORIGINAL)
    assert (steps["customer-e"].name, steps["customer-e"].content) == ("Deploy the app", NEW_CONTENT)


def test_br_s08_override_survives_template_edits(acted_on):
    deploy = acted_on.templates[0]

    template_step_update(template_step=deploy, user=acted_on.user, content=NEW_CONTENT)
    template_step_update(template_step=deploy, user=acted_on.user, content="kubectl rollout restart deploy/app")

    overridden = steps_by_customer(deploy)["customer-a"]
    assert overridden.content == "echo 'only for a'"
    assert overridden.is_overridden
    assert overridden.template_id == deploy.pk


def test_fcs_007_edit_after_activation_records_history_only_for_the_steps_it_changed(acted_on):
    deploy = acted_on.templates[0]

    template_step_update(template_step=deploy, user=acted_on.user, content=NEW_CONTENT)

    steps = steps_by_customer(deploy)
    updated = events(EventAction.STEP_UPDATED_FROM_TEMPLATE)
    assert sorted(updated.values_list("customer_step", flat=True)) == sorted(
        [steps["customer-e"].pk, steps["demo-customer"].pk]
    )
    for event in updated:
        assert (event.before, event.after) == ({"content": ORIGINAL}, {"content": NEW_CONTENT})
        assert event.actor == acted_on.user
    template_event = events(EventAction.TEMPLATE_STEP_UPDATED, template_step=deploy).get()
    assert (template_event.before, template_event.after) == ({"content": ORIGINAL}, {"content": NEW_CONTENT})


def test_br_s07_a_reopened_step_catches_up_with_the_template(active):
    """A skipped step keeps its old content while the template changes; once reopened it is pending again, so it
    takes the template's current content (with history), and the next edit reaches it like any pending step."""
    deploy = active.templates[0]
    step = steps_by_customer(deploy)["customer-e"]
    customer_step_skip(step=step, user=active.user, reason="Paused for the customer")
    template_step_update(template_step=deploy, user=active.user, content="echo 'second'")
    step.refresh_from_db()
    assert step.content == ORIGINAL

    customer_step_reopen(step=step, user=active.user)

    step.refresh_from_db()
    assert step.content == "echo 'second'"
    reopened = events(EventAction.STEP_REOPENED, customer_step=step).get()
    assert (reopened.before["content"], reopened.after["content"]) == (ORIGINAL, "echo 'second'")

    template_step_update(template_step=deploy, user=active.user, content="echo 'third'")
    step.refresh_from_db()
    assert step.content == "echo 'third'"
    event = events(EventAction.STEP_UPDATED_FROM_TEMPLATE, customer_step=step).get()
    assert (event.before, event.after) == ({"content": "echo 'second'"}, {"content": "echo 'third'"})


def _release_with_customers(count: int, user):
    cluster = ClusterFactory()
    customers = CustomerFactory.create_batch(count, cluster=cluster)
    release = ReleaseFactory()
    template_step = StepTemplateFactory(release=release, order_index=0)
    release_activate(release=release, user=user)
    return release, template_step, customers


def _queries_of_an_edit(template_step, user, content) -> int:
    with CaptureQueriesContext(connection) as queries:
        template_step_update(template_step=template_step, user=user, content=content)
    return len(queries)


def test_fcs_007_edit_queries_do_not_grow_with_the_number_of_customers(user):
    release, template_step, customers = _release_with_customers(5, user)
    with_five = _queries_of_an_edit(template_step, user, "echo 'five'")
    late_joiners = CustomerFactory.create_batch(45, cluster=customers[0].cluster)
    release_add_customers(release=release, customers=late_joiners, user=user)

    with_fifty = _queries_of_an_edit(template_step, user, "echo 'fifty'")

    assert with_fifty == with_five
    assert CustomerStep.objects.filter(template=template_step, content="echo 'fifty'").count() == 50
    assert events(EventAction.STEP_UPDATED_FROM_TEMPLATE, after={"content": "echo 'fifty'"}).count() == 50


def test_fcs_007_category_change_refused_after_activation(active):
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_step_update(template_step=active.templates[0], user=active.user, category="verify")

    assert (refused.value.message, refused.value.field) == (CATEGORY_FIXED, "category")
    assert database_state(active.release) == before


def test_fs_002_category_change_allowed_in_draft(world):
    template_step_update(template_step=world.templates[0], user=world.user, category="verify")

    assert template_order(world.release) == [("Run migration", 0)]
    assert template_order(world.release, "verify") == [("Health check", 0), ("Deploy app", 1)]


# --- FS-003: reorder template steps ------------------------------------------------------------------------------


def test_fs_003_reorder_sets_positions_in_the_given_order(world):
    smoke = add_step(world)
    deploy, migration, _ = world.templates

    ordered = template_steps_reorder(
        release=world.release, category="deploy", ordered_ids=[smoke.pk, deploy.pk, migration.pk], user=world.user
    )

    assert [t.name for t in ordered] == ["Smoke test", "Deploy app", "Run migration"]
    assert template_order(world.release) == [("Smoke test", 0), ("Deploy app", 1), ("Run migration", 2)]
    event = events(EventAction.TEMPLATE_STEP_REORDERED, release=world.release).get()
    assert event.before == {"order": ["Deploy app", "Run migration", "Smoke test"]}
    assert event.after == {"order": ["Smoke test", "Deploy app", "Run migration"]}


def test_fs_003_customer_steps_follow_the_new_order(active):
    deploy, migration, _ = active.templates

    template_steps_reorder(
        release=active.release, category="deploy", ordered_ids=[migration.pk, deploy.pk], user=active.user
    )

    for customer in active.customers.values():
        assert step_names(active.release, customer) == ["Run migration", "Deploy app"]
        assert step_names(active.release, customer, "verify") == ["Health check"]


@pytest.mark.parametrize(
    "ids_of",
    [
        pytest.param(lambda deploy, migration, check: [deploy.pk], id="one-missing"),
        pytest.param(lambda deploy, migration, check: [deploy.pk, migration.pk, check.pk], id="other-category"),
        pytest.param(lambda deploy, migration, check: [deploy.pk, deploy.pk], id="duplicate"),
        pytest.param(lambda deploy, migration, check: [deploy.pk, migration.pk + 1000], id="unknown"),
        pytest.param(lambda deploy, migration, check: [migration.pk, "first"], id="not-an-id"),
        pytest.param(lambda deploy, migration, check: [], id="empty"),
    ],
)
def test_fs_003_reorder_refuses_a_list_that_is_not_exactly_the_category(active, ids_of):
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_steps_reorder(
            release=active.release, category="deploy", ordered_ids=ids_of(*active.templates), user=active.user
        )

    assert refused.value.message == REORDER_MISMATCH.format(category="deploy", release=active.release.name)
    assert database_state(active.release) == before


def test_fs_003_reorder_refuses_a_deleted_template_step(world):
    smoke = add_step(world)
    deploy, migration, _ = world.templates
    template_step_delete(template_step=migration, user=world.user)
    before = database_state(world.release)

    with pytest.raises(DomainError) as refused:
        template_steps_reorder(
            release=world.release, category="deploy", ordered_ids=[smoke.pk, migration.pk], user=world.user
        )

    assert refused.value.message == REORDER_MISMATCH.format(category="deploy", release=world.release.name)
    assert database_state(world.release) == before
    assert deploy.pk in StepTemplate.objects.values_list("pk", flat=True)


def test_fs_003_reorder_refused_in_archived_release(active):
    deploy, migration, _ = active.templates
    release_archive(release=active.release, user=active.user)
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_steps_reorder(
            release=active.release, category="deploy", ordered_ids=[migration.pk, deploy.pk], user=active.user
        )

    assert refused.value.message == RELEASE_ARCHIVED.format(name=active.release.name)
    assert database_state(active.release) == before


# --- FS-004: delete a template step ------------------------------------------------------------------------------


def test_fs_004_delete_removes_the_pending_steps_that_follow_the_template(acted_on):
    deploy = acted_on.templates[0]
    pending = steps_by_customer(deploy)
    removed_ids = {pending["customer-e"].pk, pending["demo-customer"].pk}

    template_step_delete(template_step=deploy, user=acted_on.user)

    assert not CustomerStep.objects.filter(pk__in=removed_ids).exists()
    kept_rows = CustomerStep.all_objects.filter(pk__in=removed_ids)
    assert kept_rows.count() == 2
    assert all(step.deleted_at is not None for step in kept_rows)
    removed_events = events(EventAction.STEP_REMOVED_WITH_TEMPLATE)
    assert set(removed_events.values_list("customer_step", flat=True)) == removed_ids
    for name in ("customer-e", "demo-customer"):
        assert step_names(acted_on.release, acted_on.customers[name]) == ["Run migration"]


def test_fs_004_delete_keeps_steps_someone_acted_on_detached_in_their_place(acted_on):
    deploy = acted_on.templates[0]
    steps = steps_by_customer(deploy)
    acted = {name: steps[name] for name in ("customer-a", "customer-b", "customer-c", "customer-d")}

    template_step_delete(template_step=deploy, user=acted_on.user)

    for name, step in acted.items():
        kept = CustomerStep.objects.get(pk=step.pk)
        assert kept.is_detached
        assert (kept.status, kept.content) == (step.status, step.content)
        assert step_names(acted_on.release, acted_on.customers[name]) == ["Deploy app", "Run migration"]
    detached = events(EventAction.STEP_DETACHED)
    assert set(detached.values_list("customer_step", flat=True)) == {step.pk for step in acted.values()}


def test_fs_004_delete_keeps_custom_and_kept_steps_in_their_relative_place(world):
    add_step(world)
    release_activate(release=world.release, user=world.user)
    deploy, migration, _ = world.templates
    a, b = world.customers["customer-a"], world.customers["customer-b"]

    def custom(customer, name, after):
        return customer_step_add_custom(
            release=world.release,
            customer=customer,
            user=world.user,
            name=name,
            category="deploy",
            type="text",
            content=f"Do {name}",
            position="after",
            relative_to=after,
        )

    a_steps = {s.template_id: s for s in CustomerStep.objects.filter(customer=a, category="deploy")}
    custom(a, "A1", a_steps[deploy.pk])
    a2 = custom(a, "A2", a_steps[migration.pk])
    custom(a, "A3", a2)
    customer_step_mark_done(step=a_steps[migration.pk], user=world.user)
    custom(b, "B1", CustomerStep.objects.get(customer=b, template=migration))

    template_step_delete(template_step=migration, user=world.user)

    assert step_names(world.release, a) == ["Deploy app", "A1", "Run migration", "A2", "A3", "Smoke test"]
    assert step_names(world.release, b) == ["Deploy app", "B1", "Smoke test"]
    assert step_names(world.release, world.customers["customer-c"]) == ["Deploy app", "Smoke test"]


def test_fs_004_delete_renumbers_the_remaining_template_steps(world):
    add_step(world)

    template_step_delete(template_step=world.templates[0], user=world.user)

    assert template_order(world.release) == [("Run migration", 0), ("Smoke test", 1)]
    assert template_order(world.release, "verify") == [("Health check", 0)]
    assert StepTemplate.all_objects.get(pk=world.templates[0].pk).deleted_at is not None


def test_fs_004_deleted_event_carries_the_counts(acted_on):
    deploy = acted_on.templates[0]

    template_step_delete(template_step=deploy, user=acted_on.user)

    event = events(EventAction.TEMPLATE_STEP_DELETED, template_step=deploy).get()
    assert event.after == {"customer_steps_removed": 2, "customer_steps_kept": 4}
    assert event.actor == acted_on.user


def test_fs_004_deleting_twice_is_refused(active):
    deploy = active.templates[0]
    template_step_delete(template_step=deploy, user=active.user)
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_step_delete(template_step=deploy, user=active.user)

    assert refused.value.message == TEMPLATE_STEP_REMOVED
    assert database_state(active.release) == before


def test_fs_004_delete_refused_in_archived_release(active):
    release_archive(release=active.release, user=active.user)
    before = database_state(active.release)

    with pytest.raises(DomainError) as refused:
        template_step_delete(template_step=active.templates[0], user=active.user)

    assert refused.value.message == RELEASE_ARCHIVED.format(name=active.release.name)
    assert database_state(active.release) == before
