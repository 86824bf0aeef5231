"""Bulk actions (issue 9, item 5): Mark as Done, Skip with one reason and Revert on many customer steps in one
service call and one transaction. Steps that can't take the action are reported with the reason and left unchanged;
a step changed since the page showed it is reported, never overwritten; one history event per changed step; a
constant number of queries; Operator and up."""

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.permissions import OPERATOR, VIEWER
from customers.services import customer_delete
from history.choices import EventAction
from history.models import Event
from releases.models import Release
from releases.rules import RELEASE_NOT_ACTIVE
from releases.services import release_activate
from steps.models import CustomerStep
from steps.rendering import step_text
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_remove_custom,
    customer_step_skip,
    customer_steps_bulk_transition,
    customer_steps_mark_all_done,
    template_step_add,
    template_step_update,
)
from steps.services.bulk import (
    BULK_NOT_IN_RELEASE,
    REFUSED_ALREADY,
    REFUSED_BLOCKED,
    REFUSED_CUSTOMER_ARCHIVED,
    REFUSED_REMOVED,
    REFUSED_TRANSITION,
)
from steps.services.rules import SKIP_REASON_REQUIRED
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from variables.services import variable_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(world):
    """The example world with its release activated for every customer."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def _steps(world, template: int = 0) -> list[CustomerStep]:
    """Every customer's copy of one template step, by customer name."""
    return list(
        CustomerStep.objects.filter(template=world.templates[template])
        .select_related("customer__cluster", "release")
        .order_by("customer__name")
    )


def _selection(steps) -> dict[int, int]:
    return {step.pk: step.version for step in steps}


def _state() -> tuple:
    """Everything a refused bulk action could have touched."""
    return (
        sorted(
            CustomerStep.all_objects.values_list(
                "pk", "status", "version", "executed_at", "executed_by", "skip_reason", "evidence_sha256"
            )
        ),
        Event.objects.count(),
    )


def _reasons(result) -> dict[str, str]:
    return {refusal.step.customer.name: refusal.reason for refusal in result.refused}


# --- what each action does ------------------------------------------------------------------------------------------


def test_mark_as_done_marks_every_selected_step_stamped_with_its_evidence_and_one_event_each(active):
    steps = _steps(active)
    events_before = Event.objects.count()

    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=_selection(steps), action="mark_done", user=active.user
    )

    assert len(result.changed) == 6 and result.refused == []
    assert result.headline == "Marked 6 steps done."
    for step in steps:
        fresh = CustomerStep.objects.get(pk=step.pk)
        assert fresh.status == "done" and fresh.executed_by == active.user and fresh.executed_at is not None
        assert fresh.version == step.version + 1
        assert fresh.evidence_sha256 == step_text(step).sha256
        event = Event.objects.get(customer_step=step, action=EventAction.STEP_DONE)
        assert event.actor == active.user and event.customer == step.customer and event.cluster == step.customer.cluster
        assert event.before == {"status": "pending", "evidence_sha256": ""}
        assert event.after == {"status": "done", "evidence_sha256": fresh.evidence_sha256}
    assert Event.objects.count() == events_before + 6


def test_br_s03_skip_with_one_reason_skips_every_selected_step(active):
    steps = _steps(active)[:3]

    result = customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions=_selection(steps),
        action="skip",
        user=active.user,
        reason="  Not licensed for this module  ",
    )

    assert result.headline == "Skipped 3 steps."
    for step in steps:
        fresh = CustomerStep.objects.get(pk=step.pk)
        assert (fresh.status, fresh.skip_reason) == ("skipped", "Not licensed for this module")
        event = Event.objects.get(customer_step=step, action=EventAction.STEP_SKIPPED)
        assert event.after == {"status": "skipped", "skip_reason": "Not licensed for this module"}


@pytest.mark.parametrize("reason", [None, "", "   \n "])
def test_br_s03_skip_without_a_reason_is_refused_for_all_and_changes_nothing(active, reason):
    before = _state()

    with pytest.raises(Exception) as refused:
        customer_steps_bulk_transition(
            release=active.release,
            steps_with_versions=_selection(_steps(active)),
            action="skip",
            user=active.user,
            reason=reason,
        )

    assert refused.value.message == SKIP_REASON_REQUIRED and refused.value.field == "reason"
    assert _state() == before


def test_revert_reverts_done_steps_clears_their_evidence_and_reports_the_pending_ones(active):
    steps = _steps(active)
    for step in steps[:4]:
        customer_step_mark_done(step=step, user=active.user)

    result = customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions={step.pk: None for step in steps},
        action="revert",
        user=active.user,
    )

    # Listed as the screens list customers: by cluster (prod-eu before prod-us), then name.
    assert [step.customer.name for step in result.changed] == ["customer-d", "customer-a", "customer-b", "customer-c"]
    for step in steps[:4]:
        fresh = CustomerStep.objects.get(pk=step.pk)
        assert (fresh.status, fresh.evidence_sha256) == ("reverted", "")
    assert _reasons(result) == {
        "customer-e": REFUSED_TRANSITION.format(status="pending", done="reverted"),
        "demo-customer": REFUSED_TRANSITION.format(status="pending", done="reverted"),
    }
    assert result.headline == "Reverted 4 steps. 2 refused:"


# --- what is refused, and left unchanged ----------------------------------------------------------------------------


def test_a_step_already_done_is_reported_and_the_others_are_marked(active):
    steps = _steps(active)
    customer_step_mark_done(step=steps[1], user=active.user)
    done = CustomerStep.objects.get(pk=steps[1].pk)
    selection = _selection(steps) | {done.pk: done.version}

    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=selection, action="mark_done", user=active.user
    )

    assert len(result.changed) == 5
    assert _reasons(result) == {"customer-b": REFUSED_ALREADY.format(status="done")}
    assert result.summary == ("Marked 5 steps done. 1 refused: customer-b (prod-us) · Deploy app — already done.")
    assert CustomerStep.objects.get(pk=done.pk).version == done.version
    assert Event.objects.filter(customer_step=done).count() == 2  # created, done once: nothing more


def test_a_skipped_step_cant_be_reverted_and_a_skipped_one_is_already_skipped(active):
    steps = _steps(active)[:2]
    customer_step_skip(step=steps[0], user=active.user, reason="n/a")

    reverted = customer_steps_bulk_transition(
        release=active.release, steps_with_versions={steps[0].pk: None}, action="revert", user=active.user
    )
    skipped = customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions={step.pk: None for step in steps},
        action="skip",
        user=active.user,
        reason="again",
    )

    assert _reasons(reverted) == {"customer-a": "skipped, so it can't be reverted"}
    assert reverted.headline == "No step was reverted. 1 refused:"
    assert _reasons(skipped) == {"customer-a": "already skipped"}
    assert CustomerStep.objects.get(pk=steps[0].pk).skip_reason == "n/a"


def test_a_step_changed_since_the_page_showed_it_is_reported_not_overwritten(active, operator):
    steps = _steps(active)
    selection = _selection(steps)  # the page was drawn now
    customer_step_skip(step=steps[2], user=operator, reason="Done by hand")  # then a colleague skipped one

    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=selection, action="mark_done", user=active.user
    )

    assert len(result.changed) == 5
    (refusal,) = result.refused
    assert refusal.step.pk == steps[2].pk
    assert refusal.reason.startswith("changed by op at ") and refusal.reason.endswith(
        "since this page showed it; now skipped"
    )
    fresh = CustomerStep.objects.get(pk=steps[2].pk)
    assert (fresh.status, fresh.skip_reason, fresh.executed_by) == ("skipped", "Done by hand", operator)


def test_a_stale_step_is_reported_even_when_it_could_take_the_action(active):
    steps = _steps(active)[:1]
    selection = {steps[0].pk: steps[0].version}
    customer_step_mark_done(step=steps[0], user=active.user)
    customer_steps_bulk_transition(
        release=active.release, steps_with_versions={steps[0].pk: None}, action="revert", user=active.user
    )

    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=selection, action="mark_done", user=active.user
    )

    assert result.changed == [] and "since this page showed it; now reverted" in result.refused[0].reason


def test_a_step_blocked_by_a_variable_with_no_value_is_reported(active):
    template_step_add(
        release=active.release,
        user=active.user,
        name="Migrate",
        category="deploy",
        type="sql",
        content="-- host #{DB_HOST}\nSELECT 1;",
    )
    variable_set(owner=active.clusters["prod-us"], key="DB_HOST", value="db.us.internal", user=active.user)
    variable_set(owner=active.customers["customer-b"], key="DB_HOST", value="db-b.internal", user=active.user)
    steps = list(CustomerStep.objects.filter(name="Migrate").select_related("customer__cluster", "release"))

    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=_selection(steps), action="mark_done", user=active.user
    )

    assert sorted(step.customer.name for step in result.changed) == ["customer-a", "customer-b", "customer-c"]
    blocked = REFUSED_BLOCKED.format(names="DB_HOST")
    assert _reasons(result) == {"customer-d": blocked, "customer-e": blocked, "demo-customer": blocked}
    # Each changed step keeps the evidence of its own text: the customer's value over its cluster's.
    by_customer = {step.customer.name: step for step in steps}
    assert CustomerStep.objects.get(pk=by_customer["customer-b"].pk).evidence_sha256 == (
        step_text(by_customer["customer-b"]).sha256
    )
    assert "db-b.internal" in step_text(by_customer["customer-b"]).text
    assert CustomerStep.objects.get(pk=by_customer["customer-a"].pk).evidence_sha256 == (
        step_text(by_customer["customer-a"]).sha256
    )


def test_removed_steps_and_archived_customers_are_reported(active):
    custom = customer_step_add_custom(
        release=active.release,
        customer=active.customers["customer-a"],
        user=active.user,
        name="Flush cache",
        category="deploy",
        type="bash",
        content="redis-cli FLUSHALL",
    )
    customer_step_remove_custom(step=custom, user=active.user)
    steps = _steps(active)
    customer_delete(customer=active.customers["customer-e"], user=active.user)
    before = CustomerStep.all_objects.get(pk=custom.pk)

    result = customer_steps_bulk_transition(
        release=active.release,
        steps_with_versions={custom.pk: None} | _selection(steps),
        action="mark_done",
        user=active.user,
    )

    assert len(result.changed) == 5
    reasons = {refusal.step.pk: refusal.reason for refusal in result.refused}
    assert reasons == {custom.pk: REFUSED_REMOVED, steps[4].pk: REFUSED_CUSTOMER_ARCHIVED}
    assert CustomerStep.all_objects.get(pk=custom.pk).version == before.version


def test_fr_005_a_release_that_is_not_active_refuses_the_whole_selection(active):
    steps = _steps(active)
    Release.objects.filter(pk=active.release.pk).update(status="archived")
    before = _state()

    with pytest.raises(Exception) as refused:
        customer_steps_bulk_transition(
            release=active.release, steps_with_versions=_selection(steps), action="mark_done", user=active.user
        )

    assert refused.value.message == RELEASE_NOT_ACTIVE.format(name="v2.5.0", status="archived")
    assert _state() == before


def test_steps_of_another_release_or_unknown_refuse_the_whole_selection(active):
    other = ReleaseFactory(name="v9")
    StepTemplateFactory(release=other)
    release_activate(release=other, user=active.user)
    foreign = CustomerStep.objects.filter(release=other).first()
    before = _state()

    for extra in ({foreign.pk: foreign.version}, {10**9: 1}):
        with pytest.raises(Exception) as refused:
            customer_steps_bulk_transition(
                release=active.release,
                steps_with_versions=_selection(_steps(active)) | extra,
                action="mark_done",
                user=active.user,
            )
        assert refused.value.message == BULK_NOT_IN_RELEASE.format(count=1, release="v2.5.0")
    assert _state() == before


def test_one_transaction_a_failure_midway_leaves_nothing_changed(active, monkeypatch):
    def fail(**kwargs):
        raise RuntimeError("the database went away")

    monkeypatch.setattr("steps.services.bulk.record_step_events_each", fail)
    before = _state()

    with pytest.raises(RuntimeError):
        customer_steps_bulk_transition(
            release=active.release, steps_with_versions=_selection(_steps(active)), action="mark_done", user=active.user
        )

    assert _state() == before


# --- roles ----------------------------------------------------------------------------------------------------------


def test_an_operator_may_act_in_bulk_and_a_viewer_may_not(active, user_with_role):
    steps = _steps(active)
    before = _state()

    with pytest.raises(PermissionDenied):
        customer_steps_bulk_transition(
            release=active.release,
            steps_with_versions=_selection(steps),
            action="mark_done",
            user=user_with_role("vic", VIEWER),
        )
    assert _state() == before

    operator = user_with_role("olga", OPERATOR)
    result = customer_steps_bulk_transition(
        release=active.release, steps_with_versions=_selection(steps), action="mark_done", user=operator
    )
    assert len(result.changed) == 6
    assert set(Event.objects.filter(action=EventAction.STEP_DONE).values_list("actor_name", flat=True)) == {"olga"}


# --- cost -----------------------------------------------------------------------------------------------------------


def _release_of(customers: int, user) -> list[CustomerStep]:
    """A release with one step using a variable, activated for `customers` customers on two clusters, each with the
    value: every step can be marked done."""
    release = ReleaseFactory(name=f"r{customers}")
    clusters = [ClusterFactory(), ClusterFactory()]
    for n in range(customers):
        CustomerFactory(cluster=clusters[n % 2])
    template_step_add(release=release, user=user, name="Go", category="deploy", type="bash", content="go #{HOST}")
    variable_set(owner=release, key="HOST", value="h", user=user)
    release_activate(release=release, user=user)
    return list(CustomerStep.objects.filter(release=release))


@pytest.mark.parametrize("action", ["mark_done", "skip"])
def test_the_number_of_queries_does_not_grow_with_the_selection(user, action):
    small, large = _release_of(5, user), _release_of(40, user)
    counts = []
    for steps in (small, large):
        user = type(user).objects.get(pk=user.pk)  # a fresh permission cache for each
        with CaptureQueriesContext(connection) as queries:
            result = customer_steps_bulk_transition(
                release=steps[0].release,
                steps_with_versions=_selection(steps),
                action=action,
                user=user,
                reason="n/a",
            )
        assert len(result.changed) == len(steps)
        counts.append(len(queries))

    assert counts[0] == counts[1]


def test_stale_steps_cost_one_query_whatever_their_number(user):
    small, large = _release_of(5, user), _release_of(40, user)
    counts = []
    for steps in (small, large):
        selection = {step.pk: step.version + 1 for step in steps}  # every one changed since
        user = type(user).objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as queries:
            result = customer_steps_bulk_transition(
                release=steps[0].release, steps_with_versions=selection, action="mark_done", user=user
            )
        assert len(result.refused) == len(steps)
        counts.append(len(queries))

    assert counts[0] == counts[1]


# --- a race -------------------------------------------------------------------------------------------------------


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_racing_a_single_action_on_one_of_its_steps_leaves_one_winner(world):
    """Both were drawn from the same page state: whichever commits second finds the step changed and reports it (the
    bulk action) or refuses it (the single action, 409); the other steps are all done, and the history agrees."""
    from tests.races import at_once as _race

    release_activate(release=world.release, user=world.user)
    steps = _steps(world)
    contested = steps[2]

    outcomes = _race(
        lambda: customer_steps_bulk_transition(
            release=world.release, steps_with_versions=_selection(steps), action="mark_done", user=world.user
        ),
        lambda: customer_step_skip(
            step=contested, user=world.user, reason="By hand", expected_version=contested.version
        ),
    )

    bulk, single = outcomes
    assert not isinstance(bulk, Exception), bulk
    contested.refresh_from_db()
    if isinstance(single, CustomerStep):  # the skip went first: the bulk action reports the step, unchanged
        assert [refusal.step.pk for refusal in bulk.refused] == [contested.pk]
        assert contested.status == "skipped"
    else:  # the bulk action went first: the skip is refused as stale
        assert single.__class__.__name__ == "StepChangedError", single
        assert bulk.refused == [] and contested.status == "done"
    assert len(bulk.changed) == 5 + (contested.status == "done")
    for step in steps:
        step.refresh_from_db()
        last = Event.objects.filter(customer_step=step).order_by("-occurred_at", "-id").first()
        assert last.after["status"] == step.status


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_mark_all_racing_a_single_action_on_one_of_its_steps_does_not_deadlock(world):
    """Mark All locks the release, then the customer's steps; a single action holds its step's lock while its history
    event checks its release: the release lock must not stop that check (locked_release: FOR NO KEY UPDATE)."""
    from tests.races import at_once as _race

    release_activate(release=world.release, user=world.user)
    customer = world.customers["customer-a"]
    step = CustomerStep.objects.get(customer=customer, template=world.templates[0])

    outcomes = _race(
        lambda: customer_steps_mark_all_done(
            release=world.release, customer=customer, category="deploy", user=world.user
        ),
        lambda: customer_step_skip(step=step, user=world.user, reason="By hand", expected_version=step.version),
    )

    mark_all, skip = outcomes
    assert mark_all in (1, 2), mark_all
    assert isinstance(skip, CustomerStep) or skip.__class__.__name__ == "StepChangedError", skip


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_a_bulk_action_racing_an_edit_of_the_template_step_does_not_deadlock(world):
    """The edit locks the template step, then updates its pending customer steps; the bulk action holds those steps
    while its history events check their template step (locked_template: FOR NO KEY UPDATE). Either order ends
    consistent: the edit first, every step changed since the page and reported; the skip first, nothing to update."""
    from tests.races import at_once as _race

    release_activate(release=world.release, user=world.user)
    steps = _steps(world)

    bulk, edit = _race(
        lambda: customer_steps_bulk_transition(
            release=world.release, steps_with_versions=_selection(steps), action="skip", user=world.user, reason="n/a"
        ),
        lambda: template_step_update(template_step=world.templates[0], user=world.user, content="echo new"),
    )

    assert not isinstance(bulk, Exception) and not isinstance(edit, Exception), (bulk, edit)
    statuses = set(CustomerStep.objects.filter(template=world.templates[0]).values_list("status", flat=True))
    if bulk.changed:
        assert len(bulk.changed) == 6 and statuses == {"skipped"}
    else:
        assert len(bulk.refused) == 6 and statuses == {"pending"}
