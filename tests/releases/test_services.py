"""Release lifecycle, activation and enrollment rules."""

import pytest

from releases.services import release_activate
from steps.models import CustomerStep

pytestmark = pytest.mark.django_db


def test_br_r01_activation_creates_steps_for_all_active_customers(world):
    release_activate(release=world.release, user=world.user)
    assert CustomerStep.objects.filter(release=world.release).count() == 6 * 3
