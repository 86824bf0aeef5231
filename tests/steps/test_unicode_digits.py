"""Digits that aren't ASCII ("²", "٣") pass str.isdigit() but not int(): ids and filters read from a request must
refuse them with a 4xx, or ignore them, never answer 500 (review of issue 9)."""

from html import unescape

import pytest
from django.urls import reverse

from releases.services import release_activate
from steps.forms import SELECTION_INVALID
from steps.models import CustomerStep
from tests.steps.test_views import PANEL, _html

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(world, client, user):
    client.force_login(user)
    release_activate(release=world.release, user=world.user)
    return world


def _step(world) -> CustomerStep:
    return CustomerStep.objects.get(template=world.templates[0], customer=world.customers["customer-a"])


@pytest.mark.parametrize("token", ["²:1", "1:²", "٣:1"])
def test_a_bulk_selection_with_non_ascii_digits_is_refused_not_a_500(client, active, token):
    step = _step(active)
    cross = reverse("steps:template_step_status", args=[active.templates[0].pk])

    response = client.post(
        reverse("steps:bulk_action", args=[active.release.pk]),
        {"action": "mark_done", "steps": [token]},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{cross}",
    )

    assert response.status_code == 422 and SELECTION_INVALID in unescape(_html(response))
    step.refresh_from_db()
    assert step.status == "pending"


def test_an_action_sent_from_a_matrix_filtered_by_a_non_ascii_cluster_still_answers(client, active):
    step = _step(active)
    matrix = reverse("steps:matrix", args=[active.release.pk]) + "?category=deploy&cluster=²"

    response = client.post(
        reverse("steps:step_done", args=[step.pk]), {}, **PANEL, HTTP_HX_CURRENT_URL=f"http://testserver{matrix}"
    )

    assert response.status_code == 200
    step.refresh_from_db()
    assert step.status == "done"
