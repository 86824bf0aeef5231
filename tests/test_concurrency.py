"""Races: two people acting on the same thing at the same moment end with one winner and a consistent database."""

import threading

import pytest
from django.db import connection

from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.services import release_activate
from steps.choices import StepStatus
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]


def _race(*actions):
    """Run the actions in threads released at the same moment; return what each returned or raised."""
    barrier = threading.Barrier(len(actions))
    outcomes = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait()
            outcomes[index] = action()
        except Exception as error:  # the outcome is what the test inspects
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index, action)) for index, action in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_two_people_marking_the_same_step_done_one_wins(world):
    release_activate(release=world.release, user=world.user)
    step = CustomerStep.objects.filter(release=world.release).first()

    outcomes = _race(
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

    outcomes = _race(
        lambda: customer_step_mark_done(step=step, user=world.user),
        lambda: customer_step_skip(step=step, user=world.user, reason="not needed"),
    )

    assert sum(isinstance(outcome, CustomerStep) for outcome in outcomes) == 1, outcomes
    step.refresh_from_db()
    last = Event.objects.filter(customer_step=step).exclude(action=EventAction.STEP_CREATED).get()
    assert last.after["status"] == step.status


def test_two_people_activating_the_same_release_one_wins(world):
    outcomes = _race(
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
