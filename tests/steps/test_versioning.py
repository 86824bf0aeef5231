"""No lost updates: a change made from a stale view of a step is refused with who changed it and when."""

import pytest

from accounts.permissions import OPERATOR
from core.errors import StepChangedError
from history.models import Event
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import (
    customer_step_mark_done,
    customer_step_override,
    customer_step_skip,
    customer_step_update_notes,
    customer_steps_mark_all_done,
    template_step_update,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def step(world):
    release_activate(release=world.release, user=world.user)
    return CustomerStep.objects.get(customer=world.customers["customer-a"], template=world.templates[0])


def test_every_change_gives_the_step_a_new_version(world, step):
    seen = [step.version]
    customer_step_override(step=step, user=world.user, content="echo a", expected_version=seen[-1])
    step.refresh_from_db()
    seen.append(step.version)
    customer_step_update_notes(step=step, user=world.user, notes="n", expected_version=seen[-1])
    step.refresh_from_db()
    seen.append(step.version)
    customer_step_mark_done(step=step, user=world.user, expected_version=seen[-1])
    step.refresh_from_db()
    seen.append(step.version)
    assert seen == [1, 2, 3, 4]


def test_bulk_changes_give_new_versions_too(world, step):
    other = CustomerStep.objects.get(customer=world.customers["customer-b"], template=world.templates[0])
    template_step_update(template_step=world.templates[0], user=world.user, content="echo new")
    customer_steps_mark_all_done(
        release=world.release, customer=world.customers["customer-b"], category="deploy", user=world.user
    )
    step.refresh_from_db()
    other.refresh_from_db()
    assert (step.version, other.version) == (2, 3)


def test_a_stale_action_is_refused_with_who_changed_the_step_and_when(world, step, user_with_role):
    seen = step.version
    colleague = user_with_role("bo", OPERATOR)
    customer_step_mark_done(step=step, user=colleague, notes="ran it")
    events = Event.objects.count()

    with pytest.raises(StepChangedError) as refused:
        customer_step_skip(step=step, user=world.user, reason="not needed", expected_version=seen)

    assert refused.value.message.startswith("This step was changed by bo at ")
    assert refused.value.step.status == "done"
    step.refresh_from_db()
    assert (step.status, step.notes, step.skip_reason) == ("done", "ran it", "")
    assert Event.objects.count() == events


def test_a_stale_override_does_not_overwrite_the_newer_content(world, step):
    seen = step.version
    customer_step_override(step=step, user=world.user, content="echo first", expected_version=seen)
    with pytest.raises(StepChangedError):
        customer_step_override(step=step, user=world.user, content="echo second", expected_version=seen)
    step.refresh_from_db()
    assert step.content == "echo first"
