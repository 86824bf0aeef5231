"""The event row itself: it outlives the user who acted."""

import pytest

from clusters.services import cluster_create
from history.models import Event

pytestmark = pytest.mark.django_db


def test_deleting_a_user_who_acted_keeps_their_events_and_their_name(user):
    cluster_create(user=user, name="prod-ap")
    event = Event.objects.get(actor=user)
    name = event.actor_name

    user.delete()

    event.refresh_from_db()
    assert event.actor is None
    assert event.actor_name == name == "rm"
