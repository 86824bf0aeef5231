"""Issue 9, item 2 "Never stale": every HTML page and fragment a logged-in user sees tells browsers not to keep it,
so Back asks again; static files, and answers that chose their own caching, keep theirs."""

import pytest
from django.http import HttpResponse
from django.test import Client
from django.urls import reverse

from core.middleware import NeverStaleMiddleware
from releases.services import release_activate
from steps.models import CustomerStep


@pytest.fixture
def active(world):
    """The example world with its release activated: every customer has a copy of every step."""
    release_activate(release=world.release, user=world.user)
    world.step = CustomerStep.objects.filter(release=world.release).order_by("pk").first()
    return world


def _pages(world) -> list[tuple[str, list]]:
    release, step = world.release.pk, world.step
    return [
        ("dashboard:dashboard", []),
        ("clusters:cluster_list", []),
        ("clusters:cluster_detail", [world.clusters["prod-us"].pk]),
        ("customers:customer_list", []),
        ("customers:customer_detail", [world.customers["customer-a"].pk]),
        ("releases:release_list", []),
        ("releases:release_detail", [release]),
        ("steps:matrix", [release]),
        ("steps:customer_steps", [release, step.customer_id]),
        ("steps:step_detail", [step.pk]),
        ("audit:audit", []),
    ]


def test_every_live_page_is_never_stored(client, active):
    client.force_login(active.user)

    for name, args in _pages(active):
        response = client.get(reverse(name, args=args))

        assert response.status_code == 200, name
        assert "no-store" in response["Cache-Control"], name
        assert "must-revalidate" in response["Cache-Control"], name


def test_htmx_fragments_are_never_stored_either(client, active):
    client.force_login(active.user)

    panel = client.get(
        reverse("steps:step_detail", args=[active.step.pk]), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="side-panel"
    )
    done = client.post(
        reverse("steps:step_done", args=[active.step.pk]), {"version": active.step.version}, HTTP_HX_REQUEST="true"
    )

    assert panel.status_code == 200
    assert "no-store" in panel["Cache-Control"]
    assert done.status_code == 200
    assert "no-store" in done["Cache-Control"]


def test_the_login_page_is_never_stored(db):
    response = Client().get(reverse("login"))

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(
    "response",
    [
        HttpResponse("<p>kept for a minute</p>", headers={"Cache-Control": "max-age=60"}),
        HttpResponse("ok", content_type="text/plain", headers={"Cache-Control": "max-age=60"}),
        HttpResponse("ok", content_type="text/plain"),
        HttpResponse(b"#!/bin/sh", content_type="text/x-shellscript"),
    ],
    ids=["html-with-its-own", "text-with-its-own", "text", "script"],
)
def test_an_answer_that_chose_its_caching_or_is_not_html_is_left_alone(rf, response):
    before = response.get("Cache-Control")

    after = NeverStaleMiddleware(lambda request: response)(rf.get("/"))

    assert after.get("Cache-Control") == before
    assert not after.has_header("Expires")


def test_a_static_file_keeps_whitenoise_caching(db, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True

    response = Client().get("/static/vendor/htmx-2.0.11.min.js")

    assert response.status_code == 200
    assert "no-store" not in response["Cache-Control"]
    assert "max-age" in response["Cache-Control"]
