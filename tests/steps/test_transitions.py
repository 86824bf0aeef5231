"""The status transitions of a customer step, pair by pair: every (status, action) either moves the step to the
status the table names or is refused with the step left as it was."""

import pytest
from django.utils import timezone

from core.errors import DomainError
from history.models import Event
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_reopen, customer_step_revert, customer_step_skip
from steps.services.rules import TRANSITION_REFUSED
from steps.transitions import ACTION_VERBS

pytestmark = pytest.mark.django_db

ACTIONS = {
    "mark_done": lambda step, user: customer_step_mark_done(step=step, user=user),
    "skip": lambda step, user: customer_step_skip(step=step, user=user, reason="Not on this plan"),
    "revert": lambda step, user: customer_step_revert(step=step, user=user),
    "reopen": lambda step, user: customer_step_reopen(step=step, user=user),
}

# How a step gets into each status through the services, starting from pending.
PATHS = {
    StepStatus.PENDING: [],
    StepStatus.DONE: ["mark_done"],
    StepStatus.SKIPPED: ["skip"],
    StepStatus.REVERTED: ["mark_done", "revert"],
}

# The table as the release manager knows it; every pair missing here is refused.
ALLOWED = {
    (StepStatus.PENDING, "mark_done"): StepStatus.DONE,
    (StepStatus.PENDING, "skip"): StepStatus.SKIPPED,
    (StepStatus.DONE, "revert"): StepStatus.REVERTED,
    (StepStatus.SKIPPED, "reopen"): StepStatus.PENDING,
    (StepStatus.REVERTED, "mark_done"): StepStatus.DONE,
    (StepStatus.REVERTED, "skip"): StepStatus.SKIPPED,
}

GRID = [(status, action) for status in PATHS for action in ACTIONS]


@pytest.fixture
def step(world) -> CustomerStep:
    """customer-a's first deploy step in the activated example release."""
    release_activate(release=world.release, user=world.user)
    return CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])


def step_in(step: CustomerStep, status: StepStatus, user) -> CustomerStep:
    """The step, brought into `status` through the services."""
    for action in PATHS[status]:
        ACTIONS[action](step, user)
    step.refresh_from_db()
    assert step.status == status
    return step


@pytest.mark.parametrize(("status", "action"), [pair for pair in GRID if pair in ALLOWED], ids=str)
def test_allowed_transition_moves_the_step(step, user, status, action):
    step = step_in(step, status, user)
    events = Event.objects.count()

    ACTIONS[action](step, user)

    step.refresh_from_db()
    assert step.status == ALLOWED[(status, action)]
    assert Event.objects.count() == events + 1


@pytest.mark.parametrize(("status", "action"), [pair for pair in GRID if pair not in ALLOWED], ids=str)
def test_refused_transition_leaves_the_step_as_it_was(step, user, status, action):
    step = step_in(step, status, user)
    before = (step.status, step.executed_at, step.executed_by_id, step.skip_reason)
    events = Event.objects.count()

    with pytest.raises(DomainError) as refused:
        ACTIONS[action](step, user)

    assert refused.value.message == TRANSITION_REFUSED.format(
        verb=ACTION_VERBS[action], step="Deploy app", customer="customer-a", status=status.value
    )
    step.refresh_from_db()
    assert (step.status, step.executed_at, step.executed_by_id, step.skip_reason) == before
    assert Event.objects.count() == events


@pytest.mark.parametrize("status", [StepStatus.DONE, StepStatus.SKIPPED, StepStatus.REVERTED])
def test_executed_at_and_by_are_set_when_a_step_is_acted_on(step, user, status):
    started = timezone.now()

    step = step_in(step, status, user)

    assert started <= step.executed_at <= timezone.now()
    assert step.executed_by == user


def test_executed_at_and_by_are_cleared_on_reopen(step, user):
    step = step_in(step, StepStatus.SKIPPED, user)

    customer_step_reopen(step=step, user=user)

    step.refresh_from_db()
    assert (step.executed_at, step.executed_by) == (None, None)
