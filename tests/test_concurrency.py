"""Races: two people acting on the same thing at the same moment end with one winner and a consistent database."""

import pytest

from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip
from tests.races import at_once

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def test_two_people_marking_the_same_step_done_one_wins(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(release=world.release).first()

    outcomes = at_once(
        lambda: customer_step_mark_done(step=step, user=world.user, notes="first"),
        lambda: customer_step_mark_done(step=step, user=world.user, notes="second"),
    )

    winners = [outcome for outcome in outcomes if isinstance(outcome, CustomerStep)]
    refusals = [outcome for outcome in outcomes if isinstance(outcome, DomainError)]
    assert len(winners) == 1 and len(refusals) == 1, outcomes
    assert "it is done" in refusals[0].message
    step.refresh_from_db()
    assert step.status == StepStatus.DONE
    assert step.notes == winners[0].notes
    assert Event.objects.filter(customer_step=step, action=EventAction.STEP_DONE).count() == 1


def test_done_and_skip_at_once_leave_one_status_and_its_history(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(release=world.release).first()

    outcomes = at_once(
        lambda: customer_step_mark_done(step=step, user=world.user),
        lambda: customer_step_skip(step=step, user=world.user, reason="not needed"),
    )

    assert sum(isinstance(outcome, CustomerStep) for outcome in outcomes) == 1, outcomes
    step.refresh_from_db()
    last = Event.objects.filter(customer_step=step).exclude(action=EventAction.STEP_CREATED).get()
    assert last.after["status"] == step.status


def test_two_people_activating_the_same_release_one_wins(world):
    outcomes = at_once(
        lambda: release_activate(release=world.release, user=world.user),
        lambda: release_activate(release=world.release, user=world.user),
    )

    assert sum(not isinstance(outcome, Exception) for outcome in outcomes) == 1, outcomes
    refusal = next(outcome for outcome in outcomes if isinstance(outcome, Exception))
    assert isinstance(refusal, DomainError) and "cannot be activated" in refusal.message
    world.release.refresh_from_db()
    assert world.release.status == ReleaseStatus.ACTIVE
    assert CustomerStep.objects.filter(release=world.release).count() == len(world.customers) * len(world.templates)
    assert Event.objects.filter(action=EventAction.RELEASE_ACTIVATED).count() == 1
    assert Event.objects.filter(action=EventAction.STEP_CREATED).count() == len(world.customers) * len(world.templates)
