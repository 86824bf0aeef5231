"""Bulk actions on the step screens (issue 9, item 5): the checkboxes and bar of the cross-customer view, the matrix's
Select button and bar loaded after the page, the htmx answer (summary with every refused step, rows or cells and
progress out of band), the refusals of the whole request (422, nothing changed), PRG without JavaScript, roles."""

from html import unescape

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from accounts.permissions import OPERATOR, VIEWER
from history.models import Event
from releases.models import Release
from releases.services import release_activate
from steps.forms import BULK_SELECTION_MAX, SELECTION_INVALID, SELECTION_REQUIRED, SELECTION_TOO_LARGE
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip
from steps.services.bulk import BULK_NOT_IN_RELEASE
from steps.services.rules import SKIP_REASON_REQUIRED
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.steps.test_views import HTMX, _all, _html, _one

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def _steps(world, template: int = 0) -> list[CustomerStep]:
    return list(CustomerStep.objects.filter(template=world.templates[template]).order_by("customer__name"))


def _tokens(steps) -> list[str]:
    return [f"{step.pk}:{step.version}" for step in steps]


def _bulk_url(world) -> str:
    return reverse("steps:bulk_action", args=[world.release.pk])


def _cross_url(world, template: int = 0) -> str:
    return reverse("steps:template_step_status", args=[world.templates[template].pk])


def _matrix_url(world) -> str:
    return reverse("steps:matrix", args=[world.release.pk]) + "?category=deploy"


def _from(url: str) -> dict:
    """The headers htmx sends for the bulk bar of the page at `url`."""
    return {**HTMX, "HTTP_HX_TARGET": "bulk-bar", "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}


def _state() -> tuple:
    return (
        sorted(CustomerStep.all_objects.values_list("pk", "status", "version", "skip_reason")),
        Event.objects.count(),
    )


# --- the screens ----------------------------------------------------------------------------------------------------


def test_the_cross_customer_view_has_a_checkbox_per_customer_select_all_per_cluster_and_the_bulk_bar(client, active):
    html = _html(client.get(_cross_url(active)))

    steps = _steps(active)
    for step in steps:
        row = _one(html, f"status-row-{step.pk}")["html"]
        assert f'name="steps" value="{step.pk}:{step.version}" form="bulk-form"' in row
    assert html.count("data-bulk-all=") == 3  # prod-eu, prod-us, staging
    bar = _one(html, "bulk-bar")
    assert 'action="' + _bulk_url(active) + '"' in bar["html"]
    for label in ("0 selected", "Mark as Done", "Skip with reason", "Revert", "Clear selection"):
        assert label in bar["text"]


def test_a_viewer_sees_no_checkbox_nor_bulk_bar(client, active, user_with_role):
    client.force_login(user_with_role("vic", VIEWER))

    html = _html(client.get(_cross_url(active)))

    assert "bulk-select" not in html and 'id="bulk-bar"' not in html and "data-bulk-all" not in html
    assert client.get(_bulk_url(active)).status_code == 204  # the matrix's bar is not given either


def test_the_matrix_loads_its_select_button_and_bar_after_the_page_for_an_operator(client, active, user_with_role):
    client.force_login(user_with_role("olga", OPERATOR))
    page = _html(client.get(_matrix_url(active)))
    assert f'hx-get="{_bulk_url(active)}" hx-trigger="load"' in page

    html = _html(client.get(_bulk_url(active), **HTMX))

    assert _one(html, "bulk-toggle")["attrs"]["hx-swap-oob"] == "true"
    bar = _one(html, "bulk-bar")
    assert "data-bulk-matrix" in bar["attrs"] and "hidden" in bar["attrs"]
    assert 'name="steps" value="" data-bulk-steps' in bar["html"]


def test_a_release_that_is_not_active_offers_no_bulk_action(client, active):
    Release.objects.filter(pk=active.release.pk).update(status="archived")

    assert client.get(_bulk_url(active)).status_code == 204
    assert "bulk-select" not in _html(client.get(_cross_url(active)))


# --- the htmx answer ------------------------------------------------------------------------------------------------


def test_a_bulk_mark_as_done_from_the_cross_customer_view_reports_the_refused_step_and_redraws_the_rows(client, active):
    steps = _steps(active)
    tokens = _tokens(steps)
    customer_step_mark_done(step=steps[1], user=active.user)  # customer-b, by someone, after the page was drawn

    response = client.post(
        _bulk_url(active),
        {"action": "mark_done", "steps": tokens, "next": _cross_url(active)},
        **_from(_cross_url(active)),
    )

    assert response.status_code == 200
    html = _html(response)
    result = _one(html, "bulk-result")["text"]
    assert "Marked 5 steps done. 1 refused:" in result
    assert "customer-b (prod-us/cust-b-prod) — changed by rm at " in result and "now done" in result
    for step in steps:
        row = _one(html, f"status-row-{step.pk}")
        assert row["attrs"]["hx-swap-oob"] == "true" and "✅ Done" in row["text"]
    summary = _one(html, f"summary-template-{active.templates[0].pk}")
    assert summary["attrs"]["hx-swap-oob"] == "true" and "✅ Done 6" in summary["text"]
    assert "step-panel" not in html  # no side panel: the page keeps what it shows


def test_a_bulk_skip_from_the_matrix_updates_cells_and_progress_once_per_customer(client, active):
    steps = _steps(active)[:3] + _steps(active, 1)[:3]  # customer-a..c, two rows

    response = client.post(
        _bulk_url(active),
        {"action": "skip", "reason": "Not licensed", "steps": " ".join(_tokens(steps))},
        **_from(_matrix_url(active)),
    )

    assert response.status_code == 200
    html = _html(response)
    assert _one(html, "bulk-result")["text"].startswith("Skipped 6 steps.")
    for step in steps:
        cell = _one(html, f"cell-{step.pk}")
        assert cell["attrs"]["hx-swap-oob"] == "true" and "⏸️ Skipped" in cell["text"]
        assert cell["attrs"]["data-version"] == str(step.version + 1)
    for customer in ("customer-a", "customer-b", "customer-c"):
        pk = active.customers[customer].pk
        assert len(_all(html, f"progress-customer-{pk}-deploy")) == 1
    assert _all(html, "progress-overall-deploy")
    assert set(CustomerStep.objects.filter(pk__in=[s.pk for s in steps]).values_list("skip_reason", flat=True)) == {
        "Not licensed"
    }


def test_br_s03_a_bulk_skip_without_a_reason_is_refused_next_to_the_reason_field(client, active):
    before = _state()

    response = client.post(
        _bulk_url(active),
        {"action": "skip", "reason": "  ", "steps": _tokens(_steps(active))},
        **_from(_cross_url(active)),
    )

    assert response.status_code == 422
    assert _one(_html(response), "bulk-reason-error")["text"] == SKIP_REASON_REQUIRED
    assert _state() == before


@pytest.mark.parametrize(
    ("steps", "message"),
    [([], SELECTION_REQUIRED), (["12x:1"], SELECTION_INVALID), (["1:2:3"], SELECTION_INVALID)],
)
def test_a_selection_that_cant_be_read_is_refused(client, active, steps, message):
    before = _state()

    response = client.post(_bulk_url(active), {"action": "mark_done", "steps": steps}, **_from(_cross_url(active)))

    assert response.status_code == 422 and message in unescape(_html(response))
    assert _state() == before


def test_a_selection_of_more_than_5000_steps_is_refused(client, active):
    tokens = " ".join(f"{pk}:1" for pk in range(1, BULK_SELECTION_MAX + 2))

    response = client.post(_bulk_url(active), {"action": "mark_done", "steps": tokens}, **_from(_cross_url(active)))

    assert response.status_code == 422
    assert SELECTION_TOO_LARGE.format(max=BULK_SELECTION_MAX) in _html(response)


def test_steps_of_another_release_are_refused_with_a_clear_message_not_a_500(client, active):
    other = ReleaseFactory(name="v9")
    StepTemplateFactory(release=other)
    release_activate(release=other, user=active.user)
    foreign = CustomerStep.objects.filter(release=other).first()
    before = _state()

    response = client.post(
        _bulk_url(active),
        {"action": "mark_done", "steps": [*_tokens(_steps(active)), f"{foreign.pk}:{foreign.version}"]},
        **_from(_cross_url(active)),
    )

    assert response.status_code == 422
    assert BULK_NOT_IN_RELEASE.format(count=1, release="v2.5.0") in _html(response)
    assert _state() == before


def test_an_unknown_action_is_refused(client, active):
    response = client.post(
        _bulk_url(active), {"action": "reopen", "steps": _tokens(_steps(active))}, **_from(_cross_url(active))
    )

    assert response.status_code == 422 and "Unknown bulk action." in _html(response)


# --- without JavaScript, and roles ----------------------------------------------------------------------------------


def test_without_javascript_the_form_posts_and_redirects_back_with_the_summary(client, active):
    steps = _steps(active)
    customer_step_skip(step=steps[0], user=active.user, reason="n/a")
    tokens = [f"{steps[0].pk}:{steps[0].version + 1}", *_tokens(steps[1:])]

    response = client.post(_bulk_url(active), {"action": "mark_done", "steps": tokens, "next": _cross_url(active)})

    assert response.status_code == 302 and response.url == _cross_url(active)
    (message,) = [str(message) for message in get_messages(response.wsgi_request)]
    assert (
        message
        == "Marked 5 steps done. 1 refused: customer-a (prod-us) · Deploy app — skipped, so it can't be marked done."
    )


def test_without_javascript_a_refusal_comes_back_as_an_error_message(client, active):
    response = client.post(_bulk_url(active), {"action": "skip", "steps": _tokens(_steps(active))})

    assert response.status_code == 302 and response.url == reverse("steps:matrix", args=[active.release.pk])
    assert [str(message) for message in get_messages(response.wsgi_request)] == [SKIP_REASON_REQUIRED]


def test_a_viewer_is_refused_with_403_and_nothing_changes(client, active, user_with_role):
    client.force_login(user_with_role("vic", VIEWER))
    before = _state()

    plain = client.post(_bulk_url(active), {"action": "mark_done", "steps": _tokens(_steps(active))})
    htmx = client.post(
        _bulk_url(active), {"action": "mark_done", "steps": _tokens(_steps(active))}, **_from(_cross_url(active))
    )

    assert plain.status_code == 403 and htmx.status_code == 403
    assert _state() == before


def test_an_operator_may_act_in_bulk(client, active, user_with_role):
    client.force_login(user_with_role("olga", OPERATOR))

    response = client.post(
        _bulk_url(active), {"action": "mark_done", "steps": _tokens(_steps(active))}, **_from(_cross_url(active))
    )

    assert response.status_code == 200
    assert set(CustomerStep.objects.filter(template=active.templates[0]).values_list("status", flat=True)) == {"done"}


def test_bulk_action_is_get_or_post_only(client, active):
    assert client.put(_bulk_url(active)).status_code == 405


# --- cost -----------------------------------------------------------------------------------------------------------


def _release_of(customers: int, user):
    clusters = ClusterFactory.create_batch(2)
    for index in range(customers):
        CustomerFactory(cluster=clusters[index % 2])
    release = ReleaseFactory()
    template = StepTemplateFactory(release=release)
    release_activate(release=release, user=user)
    return release, template, list(CustomerStep.objects.filter(release=release))


@pytest.mark.parametrize("page", ["matrix", "template_step_status"])
def test_a_bulk_action_answers_in_a_constant_number_of_queries(client, user, page):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (5, 40):
        release, template, steps = _release_of(size, user)
        url = (
            reverse("steps:matrix", args=[release.pk])
            if page == "matrix"
            else reverse("steps:template_step_status", args=[template.pk])
        )
        with CaptureQueriesContext(connection) as queries:
            response = client.post(
                reverse("steps:bulk_action", args=[release.pk]),
                {"action": "mark_done", "steps": _tokens(steps)},
                **_from(url),
            )
        assert response.status_code == 200 and f"Marked {len(steps)} steps done." in _html(response)
        counts.append(len(queries))

    assert counts[0] == counts[1]
