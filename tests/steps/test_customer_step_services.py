"""Customer steps: what each customer inherits, how one customer's steps are adapted (override, reset, custom
steps) and how they are carried out (done, skip, revert, reopen, notes, mark all done). Every refusal leaves the
database as it was."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import DomainError
from core.validators import STEP_CONTENT_MAX_CHARS
from customers.services import customer_delete
from history.choices import EventAction
from history.models import Event
from releases.rules import RELEASE_NOT_ACTIVE
from releases.services import release_activate, release_archive
from steps.choices import StepCategory, StepStatus
from steps.models import CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_edit_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_reopen,
    customer_step_reset_to_template,
    customer_step_revert,
    customer_step_skip,
    customer_step_update_notes,
    customer_steps_mark_all_done,
    template_step_delete,
    template_step_update,
)
from steps.services.rules import (
    CONTENT_LOCKED,
    CONTENT_REQUIRED,
    CONTENT_UNCHANGED,
    CUSTOM_NOT_OVERRIDDEN,
    CUSTOMER_ARCHIVED,
    CUSTOMER_NOT_IN_RELEASE,
    NOT_CUSTOM,
    NOT_OVERRIDDEN,
    NOTHING_PENDING,
    POSITION_STEP_MISMATCH,
    SKIP_REASON_REQUIRED,
    TEMPLATE_GONE,
    UNKNOWN_CATEGORY,
    UNKNOWN_POSITION,
)
from tests.factories import ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(world):
    """The example world with its release activated for every customer."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def step_of(world, customer: str = "customer-a", template: int = 0) -> CustomerStep:
    """The customer step a customer has for one of the world's template steps."""
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def add_custom(world, customer: str = "customer-a", **fields) -> CustomerStep:
    """A custom deploy step for one customer, added through the service."""
    values = {"name": "Flush cache", "category": "deploy", "type": "bash", "content": "redis-cli FLUSHALL", **fields}
    return customer_step_add_custom(
        release=world.release, customer=world.customers[customer], user=world.user, **values
    )


def database_state() -> dict:
    """Everything a refused step change could have touched."""
    return {
        "steps": sorted(
            CustomerStep.all_objects.values_list(
                "pk",
                "template_id",
                "anchor_id",
                "anchor_offset",
                "name",
                "content",
                "status",
                "skip_reason",
                "notes",
                "is_custom",
                "is_overridden",
                "deleted_at",
            )
        ),
        "templates": sorted(StepTemplate.all_objects.values_list("pk", "name", "content", "order_index", "deleted_at")),
        "events": Event.objects.count(),
    }


def events_of(step: CustomerStep, action: EventAction):
    return Event.objects.filter(customer_step=step, action=action)


# --- FCS-001: inherited steps ---------------------------------------------------------------------------------


def test_fcs_001_every_customer_sees_each_template_step_once(active):
    for customer in active.customers.values():
        steps = CustomerStep.objects.filter(release=active.release, customer=customer)
        assert sorted(steps.values_list("template_id", flat=True)) == sorted(t.pk for t in active.templates)
        for step in steps.select_related("template"):
            assert not step.is_custom
            assert not step.is_overridden
            assert step.status == StepStatus.PENDING
            assert (step.name, step.category, step.type, step.content) == (
                step.template.name,
                step.template.category,
                step.template.type,
                step.template.content,
            )


# --- FCS-002 / BR-S02: override -------------------------------------------------------------------------------


def test_fcs_002_br_s02_override_after_activation_keeps_template_link(active):
    step = step_of(active)
    original = step.content

    customer_step_override(step=step, user=active.user, content="helm upgrade app --set replicas=5")

    step.refresh_from_db()
    assert step.content == "helm upgrade app --set replicas=5"
    assert step.is_overridden
    assert step.template == active.templates[0]
    assert not step.is_custom
    assert step_of(active, "customer-b").content == original
    event = events_of(step, EventAction.STEP_OVERRIDDEN).get()
    assert event.before == {"content": original, "is_overridden": False}
    assert event.after == {"content": "helm upgrade app --set replicas=5", "is_overridden": True}
    assert event.actor == active.user


def test_fcs_002_br_r03_override_refused_on_done_step(active):
    step = customer_step_mark_done(step=step_of(active), user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_override(step=step, user=active.user, content="something else")

    assert refused.value.message == CONTENT_LOCKED.format(step=step.name, customer="customer-a")
    assert database_state() == before


def test_fcs_002_override_refused_for_custom_step(active):
    step = add_custom(active)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_override(step=step, user=active.user, content="something else")

    assert refused.value.message == CUSTOM_NOT_OVERRIDDEN.format(step="Flush cache")
    assert database_state() == before


def test_fcs_002_override_refused_when_content_unchanged(active):
    step = step_of(active)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_override(step=step, user=active.user, content=step.content)

    assert refused.value.message == CONTENT_UNCHANGED
    assert database_state() == before


@pytest.mark.parametrize("content", ["", "  \n\t "])
def test_fcs_002_override_refused_with_blank_content(active, content):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_override(step=step_of(active), user=active.user, content=content)

    assert refused.value.message == CONTENT_REQUIRED
    assert refused.value.field == "content"
    assert database_state() == before


def test_fcs_002_override_refused_over_256_kb(active):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_override(step=step_of(active), user=active.user, content="x" * (STEP_CONTENT_MAX_CHARS + 1))

    assert refused.value.field == "content"
    assert "256 KB" in refused.value.message
    assert database_state() == before


def test_fcs_002_override_accepts_exactly_256_kb(active):
    step = customer_step_override(step=step_of(active), user=active.user, content="x" * STEP_CONTENT_MAX_CHARS)

    step.refresh_from_db()
    assert len(step.content) == STEP_CONTENT_MAX_CHARS


# --- FCS-005: reset to template -------------------------------------------------------------------------------


def test_fcs_005_reset_takes_the_templates_current_content(active):
    step = customer_step_override(step=step_of(active), user=active.user, content="customer-a only")
    template_step_update(template_step=active.templates[0], user=active.user, content="helm upgrade app v2")
    step.refresh_from_db()
    assert step.content == "customer-a only"

    customer_step_reset_to_template(step=step, user=active.user)

    step.refresh_from_db()
    assert step.content == "helm upgrade app v2"
    assert not step.is_overridden
    assert step.template == active.templates[0]
    event = events_of(step, EventAction.STEP_RESET).get()
    assert event.before == {"content": "customer-a only", "is_overridden": True}
    assert event.after == {"content": "helm upgrade app v2", "is_overridden": False}


def test_fcs_005_reset_refused_when_not_overridden(active):
    step = step_of(active)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_reset_to_template(step=step, user=active.user)

    assert refused.value.message == NOT_OVERRIDDEN.format(step=step.name, customer="customer-a")
    assert database_state() == before


def test_fcs_005_br_r03_reset_refused_on_done_step(active):
    step = customer_step_override(step=step_of(active), user=active.user, content="customer-a only")
    customer_step_mark_done(step=step, user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_reset_to_template(step=step, user=active.user)

    assert refused.value.message == CONTENT_LOCKED.format(step=step.name, customer="customer-a")
    assert database_state() == before


def test_fcs_005_reset_refused_when_template_step_deleted(active):
    step = customer_step_override(step=step_of(active), user=active.user, content="customer-a only")
    template_step_delete(template_step=active.templates[0], user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_reset_to_template(step=step, user=active.user)

    assert refused.value.message == TEMPLATE_GONE.format(step=step.name)
    assert database_state() == before


# --- FCS-003 / BR-S01 / BR-S06: custom steps ------------------------------------------------------------------


def test_fcs_003_br_s01_custom_step_is_for_one_customer_only(active):
    others = {
        name: list(CustomerStep.objects.filter(customer=customer).values_list("pk", "content", "status"))
        for name, customer in active.customers.items()
        if name != "customer-a"
    }
    templates = sorted(StepTemplate.all_objects.values_list("pk", "name", "content", "order_index"))

    step = add_custom(active, description="Clear stale sessions")

    step.refresh_from_db()
    assert step.is_custom
    assert step.template is None
    assert not step.is_overridden
    assert (step.customer, step.release, step.category, step.status) == (
        active.customers["customer-a"],
        active.release,
        StepCategory.DEPLOY,
        StepStatus.PENDING,
    )
    assert CustomerStep.objects.filter(customer=active.customers["customer-a"]).count() == 4
    for name, steps in others.items():
        customer = active.customers[name]
        assert list(CustomerStep.objects.filter(customer=customer).values_list("pk", "content", "status")) == steps
    assert sorted(StepTemplate.all_objects.values_list("pk", "name", "content", "order_index")) == templates
    event = events_of(step, EventAction.STEP_CUSTOM_ADDED).get()
    assert event.after["content"] == "redis-cli FLUSHALL"
    assert event.customer == active.customers["customer-a"]


def test_fcs_003_br_s06_add_to_template_reaches_every_customer_at_once(active):
    step = add_custom(active, add_to_template=True)

    template_step = StepTemplate.objects.get(release=active.release, name="Flush cache")
    assert step.template == template_step
    assert not step.is_custom
    assert template_step.content == "redis-cli FLUSHALL"
    copies = CustomerStep.objects.filter(template=template_step)
    assert sorted(copies.values_list("customer__name", flat=True)) == sorted(active.customers)
    assert set(copies.values_list("is_custom", "content", "status")) == {(False, "redis-cli FLUSHALL", "pending")}


def test_fcs_003_custom_step_refused_in_draft_release(world):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(world)

    assert refused.value.message == RELEASE_NOT_ACTIVE.format(name="v2.5.0", status="draft")
    assert database_state() == before


def test_fcs_003_custom_step_refused_in_archived_release(active):
    release_archive(release=active.release, user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active)

    assert refused.value.message == RELEASE_NOT_ACTIVE.format(name="v2.5.0", status="archived")
    assert database_state() == before


def test_fcs_003_custom_step_refused_for_archived_customer(active):
    customer_delete(customer=active.customers["customer-a"], user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active)

    assert refused.value.message == CUSTOMER_ARCHIVED.format(customer="customer-a")
    assert database_state() == before


def test_fcs_003_custom_step_refused_for_customer_not_in_release(world):
    release_activate(release=world.release, user=world.user, exclude_customers=[world.customers["demo-customer"]])
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(world, customer="demo-customer")

    assert refused.value.message == CUSTOMER_NOT_IN_RELEASE.format(customer="demo-customer", release="v2.5.0")
    assert database_state() == before


def test_fcs_003_custom_step_refused_with_unknown_position(active):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active, position="between", relative_to=step_of(active))

    assert refused.value.message == UNKNOWN_POSITION
    assert refused.value.field == "position"
    assert database_state() == before


@pytest.mark.parametrize(
    ("customer", "template"),
    [("customer-b", 0), ("customer-a", 2)],
    ids=["another-customers-step", "another-categorys-step"],
)
def test_fcs_003_custom_step_refused_next_to_unrelated_step(active, customer, template):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active, position="after", relative_to=step_of(active, customer, template))

    assert refused.value.message == POSITION_STEP_MISMATCH
    assert refused.value.field == "relative_to"
    assert database_state() == before


def test_fcs_003_custom_step_refused_with_unknown_category(active):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active, category="rollback")

    assert refused.value.message == UNKNOWN_CATEGORY.format(category="rollback")
    assert database_state() == before


def test_fcs_003_custom_step_refused_with_unknown_type(active):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        add_custom(active, type="python")

    assert refused.value.field == "type"
    assert database_state() == before


# --- FCS-006: removing custom steps, editing them -------------------------------------------------------------


def test_fcs_006_remove_custom_step_keeps_it_in_the_database(active):
    step = add_custom(active)

    customer_step_remove_custom(step=step, user=active.user)

    assert not CustomerStep.objects.filter(pk=step.pk).exists()
    assert CustomerStep.all_objects.get(pk=step.pk).is_deleted
    assert events_of(step, EventAction.STEP_CUSTOM_REMOVED).count() == 1


def test_fcs_006_remove_refused_for_template_step(active):
    step = step_of(active)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_remove_custom(step=step, user=active.user)

    assert refused.value.message == NOT_CUSTOM.format(step=step.name, verb="removed; skip it instead")
    assert database_state() == before


def test_fcs_006_br_r03_remove_refused_for_done_custom_step(active):
    step = customer_step_mark_done(step=add_custom(active), user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_remove_custom(step=step, user=active.user)

    assert refused.value.message == CONTENT_LOCKED.format(step="Flush cache", customer="customer-a")
    assert database_state() == before


def test_edit_custom_step_changes_it_and_records_the_change(active):
    step = add_custom(active)

    customer_step_edit_custom(step=step, user=active.user, name=" Flush sessions ", content="redis-cli DEL sessions")

    step.refresh_from_db()
    assert (step.name, step.content) == ("Flush sessions", "redis-cli DEL sessions")
    event = events_of(step, EventAction.STEP_CUSTOM_EDITED).get()
    assert event.before == {"name": "Flush cache", "content": "redis-cli FLUSHALL"}
    assert event.after == {"name": "Flush sessions", "content": "redis-cli DEL sessions"}


def test_edit_custom_refused_for_template_step(active):
    step = step_of(active)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_edit_custom(step=step, user=active.user, content="something else")

    assert refused.value.message == NOT_CUSTOM.format(step=step.name, verb="edited this way")
    assert database_state() == before


# --- FET-001..003: carrying out one step ----------------------------------------------------------------------


def test_fet_001_mark_done_with_notes(active):
    started = timezone.now()

    customer_step_mark_done(step=step_of(active), user=active.user, notes="Took 4 minutes")

    step = step_of(active)
    assert step.status == StepStatus.DONE
    assert started <= step.executed_at <= timezone.now()
    assert step.executed_by == active.user
    assert step.notes == "Took 4 minutes"
    event = events_of(step, EventAction.STEP_DONE).get()
    assert (event.actor, event.actor_name) == (active.user, "rm")
    assert event.before == {"status": "pending", "notes": "", "evidence_sha256": ""}
    assert event.after == {"status": "done", "notes": "Took 4 minutes", "evidence_sha256": step.evidence_sha256}
    assert len(step.evidence_sha256) == 64


def test_fet_001_mark_done_without_notes_keeps_existing_notes(active):
    customer_step_update_notes(step=step_of(active), user=active.user, notes="Check the pods first")

    customer_step_mark_done(step=step_of(active), user=active.user)

    step = step_of(active)
    assert (step.status, step.notes) == (StepStatus.DONE, "Check the pods first")


def test_fet_002_br_r04_revert_keeps_the_history(active):
    customer_step_mark_done(step=step_of(active), user=active.user, notes="Deployed")
    started = timezone.now()

    customer_step_revert(step=step_of(active), user=active.user)

    step = step_of(active)
    assert step.status == StepStatus.REVERTED
    assert started <= step.executed_at <= timezone.now()
    assert step.executed_by == active.user
    assert step.notes == "Deployed"
    assert list(Event.objects.filter(customer_step=step).order_by("id").values_list("action", flat=True)) == [
        EventAction.STEP_CREATED,
        EventAction.STEP_DONE,
        EventAction.STEP_REVERTED,
    ]


@pytest.mark.parametrize("reason", ["", "   "])
def test_fet_003_fcs_004_br_s03_skip_needs_a_reason(active, reason):
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_step_skip(step=step_of(active), user=active.user, reason=reason)

    assert refused.value.message == SKIP_REASON_REQUIRED
    assert refused.value.field == "reason"
    assert step_of(active).status == StepStatus.PENDING
    assert database_state() == before


def test_fet_003_fcs_004_skip_stores_the_reason_stripped(active):
    customer_step_skip(step=step_of(active), user=active.user, reason="  Not on this plan \n")

    step = step_of(active)
    assert (step.status, step.skip_reason) == (StepStatus.SKIPPED, "Not on this plan")
    assert step.executed_by == active.user
    assert events_of(step, EventAction.STEP_SKIPPED).get().after == {
        "status": "skipped",
        "skip_reason": "Not on this plan",
    }


def test_reopen_a_skipped_step_makes_it_pending_again(active):
    customer_step_skip(step=step_of(active), user=active.user, reason="Not on this plan")

    customer_step_reopen(step=step_of(active), user=active.user)

    step = step_of(active)
    assert (step.status, step.skip_reason) == (StepStatus.PENDING, "")
    event = events_of(step, EventAction.STEP_REOPENED).get()
    assert event.before == {"status": "skipped", "skip_reason": "Not on this plan"}
    assert event.after == {"status": "pending", "skip_reason": ""}


def test_update_notes_records_the_change(active):
    customer_step_update_notes(step=step_of(active), user=active.user, notes="Wait for the DBA")

    step = step_of(active)
    assert step.notes == "Wait for the DBA"
    event = events_of(step, EventAction.STEP_NOTES_CHANGED).get()
    assert (event.before, event.after) == ({"notes": ""}, {"notes": "Wait for the DBA"})


def test_update_notes_unchanged_records_nothing(active):
    customer_step_update_notes(step=step_of(active), user=active.user, notes="Wait for the DBA")
    before = database_state()

    customer_step_update_notes(step=step_of(active), user=active.user, notes="Wait for the DBA")

    assert database_state() == before


# --- FET-004: mark all pending steps of a category done -------------------------------------------------------


def test_fet_004_mark_all_done_changes_only_that_customers_outstanding_steps_of_that_category(active):
    customer = active.customers["customer-a"]
    first_custom, second_custom, third_custom = (add_custom(active, name=f"Custom {n}") for n in range(3))
    done = customer_step_mark_done(step=step_of(active), user=active.user)
    skipped = customer_step_skip(step=first_custom, user=active.user, reason="Not needed")
    customer_step_mark_done(step=second_custom, user=active.user)
    reverted = customer_step_revert(step=second_custom, user=active.user)
    untouched = {
        row[0]: row
        for row in CustomerStep.objects.exclude(
            customer=customer, category="deploy", status__in=["pending", "reverted"]
        ).values_list("pk", "status", "executed_at", "executed_by", "notes")
    }
    events_before = Event.objects.count()

    count = customer_steps_mark_all_done(
        release=active.release, customer=customer, category="deploy", user=active.user, notes="Batch"
    )

    assert count == 3
    marked = CustomerStep.objects.filter(pk__in=[step_of(active, template=1).pk, third_custom.pk, reverted.pk])
    assert set(marked.values_list("status", "executed_by", "notes")) == {(StepStatus.DONE, active.user.pk, "Batch")}
    assert all(step.executed_at is not None for step in marked)
    assert {
        row[0]: row
        for row in CustomerStep.objects.filter(pk__in=untouched).values_list(
            "pk", "status", "executed_at", "executed_by", "notes"
        )
    } == untouched
    assert {done.pk, skipped.pk} <= set(untouched)
    new_events = Event.objects.filter(action=EventAction.STEP_DONE, customer_step__in=marked, after__notes="Batch")
    assert sorted(event.before["status"] for event in new_events) == ["pending", "pending", "reverted"]
    assert Event.objects.count() == events_before + 3
    assert set(new_events.values_list("actor_name", "customer_id", "release_id")) == {
        ("rm", customer.pk, active.release.pk)
    }


def _mark_all_done_queries(world, steps: int) -> int:
    """The number of queries marking `steps` pending deploy steps done for one customer takes."""
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(steps, release=release, category="deploy")
    release_activate(release=release, user=world.user)
    customer = world.customers["customer-a"]
    with CaptureQueriesContext(connection) as queries:
        marked = customer_steps_mark_all_done(release=release, customer=customer, category="deploy", user=world.user)
    assert marked == steps
    assert Event.objects.filter(release=release, customer=customer, action=EventAction.STEP_DONE).count() == steps
    return len(queries)


def test_fet_004_mark_all_done_takes_the_same_queries_for_3_or_30_steps(world):
    assert _mark_all_done_queries(world, 3) == _mark_all_done_queries(world, 30)


def test_fet_004_mark_all_done_also_does_reverted_steps(active):
    """A reverted step needs doing again: a customer whose only open step is reverted is not "nothing pending"."""
    customer = active.customers["customer-a"]
    customer_step_mark_done(step=step_of(active, template=2), user=active.user)
    reverted = customer_step_revert(step=step_of(active, template=2), user=active.user)

    count = customer_steps_mark_all_done(release=active.release, customer=customer, category="verify", user=active.user)

    assert count == 1
    reverted.refresh_from_db()
    assert reverted.status == StepStatus.DONE
    event = Event.objects.filter(customer_step=reverted, action=EventAction.STEP_DONE).latest("id")
    assert event.before == {"status": "reverted", "evidence_sha256": ""}
    assert event.after == {"status": "done", "evidence_sha256": reverted.evidence_sha256}


def test_fet_004_mark_all_done_refused_when_nothing_is_pending(active):
    customer = active.customers["customer-a"]
    customer_step_mark_done(step=step_of(active, template=2), user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_steps_mark_all_done(release=active.release, customer=customer, category="verify", user=active.user)

    assert refused.value.message == NOTHING_PENDING.format(customer="customer-a", category="verify", release="v2.5.0")
    assert database_state() == before


def test_fet_004_mark_all_done_refused_for_archived_customer(active):
    customer_delete(customer=active.customers["customer-a"], user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        customer_steps_mark_all_done(
            release=active.release, customer=active.customers["customer-a"], category="deploy", user=active.user
        )

    assert refused.value.message == CUSTOMER_ARCHIVED.format(customer="customer-a")
    assert database_state() == before


# --- steps that can no longer change --------------------------------------------------------------------------

STEP_CHANGES = {
    "mark_done": lambda step, user: customer_step_mark_done(step=step, user=user),
    "skip": lambda step, user: customer_step_skip(step=step, user=user, reason="Not needed"),
    "override": lambda step, user: customer_step_override(step=step, user=user, content="other"),
    "update_notes": lambda step, user: customer_step_update_notes(step=step, user=user, notes="A note"),
    "mark_all_done": lambda step, user: customer_steps_mark_all_done(
        release=step.release, customer=step.customer, category=step.category, user=user
    ),
    "add_custom": lambda step, user: customer_step_add_custom(
        release=step.release, customer=step.customer, user=user, name="X", category="deploy", type="bash", content="x"
    ),
}


@pytest.mark.parametrize("change", STEP_CHANGES.values(), ids=STEP_CHANGES.keys())
def test_steps_of_an_archived_release_cannot_change(active, change):
    release_archive(release=active.release, user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        change(step_of(active), active.user)

    assert refused.value.message == RELEASE_NOT_ACTIVE.format(name="v2.5.0", status="archived")
    assert database_state() == before


@pytest.mark.parametrize("change", STEP_CHANGES.values(), ids=STEP_CHANGES.keys())
def test_steps_of_an_archived_customer_cannot_change(active, change):
    customer_delete(customer=active.customers["customer-a"], user=active.user)
    before = database_state()

    with pytest.raises(DomainError) as refused:
        change(step_of(active), active.user)

    assert refused.value.message == CUSTOMER_ARCHIVED.format(customer="customer-a")
    assert database_state() == before


def test_revert_reopen_and_custom_changes_refused_for_archived_customer(active):
    done = customer_step_mark_done(step=step_of(active), user=active.user)
    skipped = customer_step_skip(step=step_of(active, template=1), user=active.user, reason="Not needed")
    custom = add_custom(active)
    customer_delete(customer=active.customers["customer-a"], user=active.user)
    before = database_state()
    refusals = [
        lambda: customer_step_revert(step=done, user=active.user),
        lambda: customer_step_reopen(step=skipped, user=active.user),
        lambda: customer_step_edit_custom(step=custom, user=active.user, content="other"),
        lambda: customer_step_remove_custom(step=custom, user=active.user),
    ]

    for refusal in refusals:
        with pytest.raises(DomainError) as refused:
            refusal()
        assert refused.value.message == CUSTOMER_ARCHIVED.format(customer="customer-a")

    assert database_state() == before
