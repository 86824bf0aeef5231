"""Finished (issue 9, item 6): "✓ Complete" beside the spec's percentage wherever a customer, a cluster or the release
has nothing pending or reverted; the percentage stays done ÷ total (spec §8.2), so a skipped step keeps it below
100 %. Computed from the counts the screens already read, and brought up to date out of band after an action."""

import re

import pytest
from django.urls import reverse

from releases.services import release_activate
from steps.models import CustomerStep
from steps.progress import StepCounts, release_progress
from steps.services import customer_step_mark_done, customer_step_revert, customer_step_skip

pytestmark = pytest.mark.django_db

COMPLETE = "✓ Complete"
HTMX_FROM = "HTTP_HX_CURRENT_URL"


def _steps(world, customer: str, category: str | None = None):
    steps = CustomerStep.objects.filter(release=world.release, customer=world.customers[customer]).order_by("pk")
    return list(steps.filter(category=category) if category else steps)


def _finish(world, customer: str, category: str | None = None, *, skip_first: bool = False) -> None:
    """Do (or skip the first of) every step of a customer, in one category or all."""
    for index, step in enumerate(_steps(world, customer, category)):
        if skip_first and index == 0:
            customer_step_skip(step=step, user=world.user, reason="not for this customer")
        else:
            customer_step_mark_done(step=step, user=world.user)


def _element(page: str, element_id: str) -> str:
    """The text from the element with `element_id` to the next element that carries an id."""
    match = re.search(rf'id="{re.escape(element_id)}".*?(?=\sid="|$)', page, re.S)
    assert match, f"no #{element_id} in the page"
    return match.group(0)


def _get(client, world, url: str) -> str:
    client.force_login(world.user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.parametrize(
    ("counts", "percent", "complete"),
    [
        (StepCounts(total=10, done=9, skipped=1), 90, True),
        (StepCounts(total=10, done=10), 100, True),
        (StepCounts(total=10, done=9), 90, False),  # one pending or reverted: not complete
        (StepCounts(total=2, skipped=2), 0, True),
        (StepCounts(), None, False),  # nothing to count is not "complete"
    ],
)
def test_complete_is_nothing_pending_or_reverted_beside_the_unchanged_percentage(counts, percent, complete):
    assert counts.percent == percent
    assert counts.complete is complete


def test_a_cluster_and_the_release_are_complete_when_all_their_customers_are(world):
    release_activate(release=world.release, user=world.user)
    prod_us = world.clusters["prod-us"]
    for customer in ("customer-a", "customer-b"):
        _finish(world, customer, "deploy", skip_first=True)

    progress = release_progress(world.release)
    assert progress.customer_complete(world.customers["customer-a"].pk, "deploy")
    assert progress.customer_percent(world.customers["customer-a"].pk, "deploy") == 50
    assert not progress.customer_complete(world.customers["customer-a"].pk)  # its verify step is pending
    assert not progress.cluster_complete(prod_us.pk, "deploy")  # customer-c has not started

    _finish(world, "customer-c", "deploy")
    progress = release_progress(world.release)
    assert progress.cluster_complete(prod_us.pk, "deploy")
    assert not progress.overall_complete("deploy")

    for step in CustomerStep.objects.filter(release=world.release, status="pending"):
        customer_step_mark_done(step=step, user=world.user)
    progress = release_progress(world.release)
    assert progress.overall_complete() and progress.overall_complete("deploy") and progress.overall_complete("verify")

    customer_step_revert(step=_steps(world, "customer-c", "verify")[0], user=world.user)
    progress = release_progress(world.release)
    assert not progress.overall_complete()  # a reverted step needs doing again
    assert progress.overall_complete("deploy")


def test_matrix_marks_complete_customer_cluster_and_overall_of_its_category(client, world):
    release_activate(release=world.release, user=world.user)
    for customer in ("customer-d", "customer-e"):
        _finish(world, customer, "deploy", skip_first=customer == "customer-d")

    page = _get(client, world, reverse("steps:matrix", args=[world.release.pk]) + "?category=deploy")

    customer_d = _element(page, f"progress-customer-{world.customers['customer-d'].pk}-deploy")
    assert COMPLETE in customer_d and "50%" in customer_d  # one done, one skipped: 50 %, and complete
    assert COMPLETE in _element(page, f"progress-cluster-{world.clusters['prod-eu'].pk}-deploy")
    assert COMPLETE not in _element(page, f"progress-customer-{world.customers['customer-a'].pk}-deploy")
    assert COMPLETE not in _element(page, f"progress-cluster-{world.clusters['prod-us'].pk}-deploy")
    assert COMPLETE not in _element(page, "progress-overall-deploy")


def test_an_action_that_completes_a_customer_swaps_the_complete_mark_in_out_of_band(client, world):
    release_activate(release=world.release, user=world.user)
    for customer in world.customers:
        if customer != "demo-customer":
            _finish(world, customer, "deploy")
    first, last = _steps(world, "demo-customer", "deploy")
    customer_step_skip(step=first, user=world.user, reason="staging has no database")
    client.force_login(world.user)
    matrix = reverse("steps:matrix", args=[world.release.pk]) + "?category=deploy"

    response = client.post(
        reverse("steps:step_done", args=[last.pk]),
        {"notes": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="side-panel",
        **{HTMX_FROM: f"http://testserver{matrix}"},
    )

    assert response.status_code == 200
    page = response.content.decode()
    customer = world.customers["demo-customer"]
    swapped = _element(page, f"progress-customer-{customer.pk}-deploy")
    assert 'hx-swap-oob="true"' in swapped and COMPLETE in swapped and "50%" in swapped
    assert COMPLETE in _element(page, f"progress-cluster-{customer.cluster_id}-deploy")
    assert COMPLETE in _element(page, "progress-overall-deploy")

    response = client.post(
        reverse("steps:step_revert", args=[last.pk]),
        {"notes": ""},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="side-panel",
        **{HTMX_FROM: f"http://testserver{matrix}"},
    )
    assert COMPLETE not in _element(response.content.decode(), "progress-overall-deploy")


def test_checklist_customer_detail_and_cluster_detail_show_complete(client, world):
    release_activate(release=world.release, user=world.user)
    _finish(world, "customer-d", skip_first=True)
    _finish(world, "customer-e")
    customer = world.customers["customer-d"]

    checklist = _get(client, world, reverse("steps:customer_steps", args=[world.release.pk, customer.pk]))
    assert COMPLETE in _element(checklist, f"progress-customer-{customer.pk}-deploy")
    assert COMPLETE in _element(checklist, f"progress-customer-{customer.pk}-verify")

    detail = _get(client, world, reverse("customers:customer_detail", args=[customer.pk]))
    assert COMPLETE in _element(detail, f"release-{world.release.pk}")
    other = _get(client, world, reverse("customers:customer_detail", args=[world.customers["customer-a"].pk]))
    assert COMPLETE not in _element(other, f"release-{world.release.pk}")

    prod_eu = _get(client, world, reverse("clusters:cluster_detail", args=[world.clusters["prod-eu"].pk]))
    assert COMPLETE in _element(prod_eu, f"customer-{customer.pk}")
    assert COMPLETE in _element(prod_eu, f"cluster-total-{world.release.pk}")
    prod_us = _get(client, world, reverse("clusters:cluster_detail", args=[world.clusters["prod-us"].pk]))
    assert COMPLETE not in _element(prod_us, f"cluster-total-{world.release.pk}")


def test_release_list_and_dashboard_mark_a_complete_release_ready_to_archive(client, world):
    release_activate(release=world.release, user=world.user)
    for customer in world.customers:
        _finish(world, customer, skip_first=customer == "customer-a")

    releases = _get(client, world, reverse("releases:release_list"))
    assert COMPLETE in _element(releases, f"release-{world.release.pk}")

    dashboard = _get(client, world, reverse("dashboard:dashboard"))
    assert COMPLETE in dashboard
    ready = dashboard.split('id="ready-to-archive"', 1)[1]
    assert "v2.5.0" in ready and reverse("releases:release_detail", args=[world.release.pk]) in ready

    customer_step_revert(step=_steps(world, "customer-b")[0], user=world.user)
    dashboard = _get(client, world, reverse("dashboard:dashboard"))
    assert COMPLETE not in dashboard and "Ready to archive" not in dashboard
    releases = _get(client, world, reverse("releases:release_list"))
    assert COMPLETE not in _element(releases, f"release-{world.release.pk}")


def test_the_release_page_that_ready_to_archive_links_to_shows_complete_beside_its_percentage(client, world):
    """A skipped step keeps the percentage below 100 %: the page must still say the release is finished."""
    release_activate(release=world.release, user=world.user)
    page = reverse("releases:release_detail", args=[world.release.pk])
    for customer in world.customers:
        _finish(world, customer, skip_first=customer == "customer-a")

    html = _get(client, world, page)
    progress = html.split("<dt>Progress</dt>", 1)[1].split("</dd>", 1)[0]
    assert COMPLETE in progress and "%" in progress and "100%" not in progress

    customer_step_revert(step=_steps(world, "customer-b")[0], user=world.user)
    html = _get(client, world, page)
    assert COMPLETE not in html.split("<dt>Progress</dt>", 1)[1].split("</dd>", 1)[0]
