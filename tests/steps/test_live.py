"""Live updates (issue 9, "Live"): the poll of the matrix, the customer checklist and the cross-customer view of a
template step — 204 in a constant number of queries when nothing changed, the changed step's fragments out of band
(cell or row, progress, the open panel) marked with who changed it, the cursor's overlap, reloads for added or
removed steps, refused query strings, login — and steps/live.py's pure functions."""

import re
import time
from datetime import timedelta
from html import unescape
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.permissions import OPERATOR, VIEWER
from releases.services import release_activate
from steps import live
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_remove_custom, customer_step_skip
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.steps.test_views import _one

pytestmark = pytest.mark.django_db

# A poll that finds nothing new: the window's fingerprint, whatever the release's size (the token the server signed
# stands for the session and the user); without a good token, the user too (the session comes from the cache:
# cached_db sessions).
NOTHING_CHANGED_QUERIES = 1
WITHOUT_TOKEN_QUERIES = NOTHING_CHANGED_QUERIES + 1
# A poll that brings changes: the above, the changed rows, the steps, the customers' variables, who changed them,
# the progress (two), the user's permissions (two) for the actions the fragments offer.
CHANGES_QUERIES = 11


def _page_headers(url: str) -> dict:
    """The headers htmx sends when the page at `url` polls."""
    return {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}


def _backdate():
    """Everything so far happened a minute ago: a screen drawn now has nothing new in its window."""
    a_minute_ago = timezone.now() - timedelta(minutes=1)
    CustomerStep.all_objects.update(updated_at=a_minute_ago, created_at=a_minute_ago)


def _poller_url(html: str) -> str:
    found = re.search(r'<div id="live-updates"[^>]*\bhx-get="([^"]+)"', html)
    assert found, "no poller"
    return unescape(found.group(1))


def _element(html: str, element_id: str) -> str:
    """The HTML of the one element with `element_id`, its own tag included."""
    element = _one(html, element_id)
    attributes = " ".join(f'{name}="{value}"' for name, value in element["attrs"].items())
    return f"<{element['tag']} {attributes}>{element['html']}"


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def ana(user_with_role):
    return user_with_role("ana", OPERATOR)


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    _backdate()
    return world


def _step(world, customer: str, template: int = 0) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _matrix(world) -> str:
    return reverse("steps:matrix", args=[world.release.pk]) + "?category=deploy"


def _checklist(world, customer: str = "customer-a") -> str:
    return reverse("steps:customer_steps", args=[world.release.pk, world.customers[customer].pk])


def _open(client, page: str) -> str:
    """Open a screen as a browser does; the URL its poller asks next."""
    response = client.get(page)
    assert response.status_code == 200
    return _poller_url(response.content.decode())


def _poll(client, url: str, page: str, **params):
    extra = "".join(f"&{name}={value}" for name, value in params.items())
    return client.get(url + extra, **_page_headers(page))


# --- the screens poll ---------------------------------------------------------------------------------------------


def test_every_step_screen_polls_with_a_cursor_from_the_server(client, active):
    template_page = reverse("steps:template_step_status", args=[active.templates[0].pk])
    before = live.to_micros(timezone.now())

    for page, scope in [(_matrix(active), set()), (_checklist(active), {"customer"}), (template_page, {"template"})]:
        html = client.get(page).content.decode()
        url = _poller_url(html)
        assert url.startswith(reverse("steps:live_changes", args=[active.release.pk]) + "?since=")
        since = int(re.search(r"since=(\d+)", url).group(1))
        assert before <= since <= live.to_micros(timezone.now())
        assert {name for name in ("customer", "template") if f"{name}=" in url} == scope
        assert f'hx-trigger="every {live.POLL_SECONDS}s, rollcall:live-poll"' in html
        assert 'id="live-status"' in html


# --- nothing changed ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("customers", [10, 200])
def test_nothing_changed_answers_204_in_a_constant_number_of_queries(
    client, user, customers, django_assert_num_queries
):
    clusters = ClusterFactory.create_batch(4)
    for index in range(customers):
        CustomerFactory(cluster=clusters[index % 4])
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(3, release=release, category="deploy")
    release_activate(release=release, user=user)
    _backdate()
    page = reverse("steps:matrix", args=[release.pk])
    url = _open(client, page)

    with django_assert_num_queries(NOTHING_CHANGED_QUERIES):
        response = _poll(client, url, page)

    assert response.status_code == 204
    assert response.content == b""
    assert "no-store" in response["Cache-Control"]


def test_without_a_good_token_the_poll_reads_the_session_and_answers_a_new_token(
    client, active, django_assert_num_queries
):
    page = _matrix(active)
    url = _open(client, page)
    untrusted = re.sub(r"&token=[^&]+", "&token=forged", url)

    with django_assert_num_queries(WITHOUT_TOKEN_QUERIES):
        response = _poll(client, untrusted, page)

    assert response.status_code == 200
    renewed = _poller_url(response.content.decode())
    assert re.search(r"since=(\d+)", renewed).group(1) == re.search(r"since=(\d+)", url).group(1)
    assert "token=forged" not in renewed
    assert _poll(client, renewed, page).status_code == 204


def test_a_token_is_good_for_its_release_and_session_only_and_for_a_while(user):
    token = live.issue_token(user_id=user.pk, release_id=7, session_key="abc")

    assert live.token_user(token, release_id=7, session_key="abc") == user.pk
    assert live.token_user(token, release_id=8, session_key="abc") is None
    assert live.token_user(token, release_id=7, session_key="another session") is None
    assert live.token_user(token + "x", release_id=7, session_key="abc") is None
    assert live.token_user("", release_id=7, session_key="abc") is None
    later = time.time() + live.TOKEN_MAX_AGE.total_seconds() + 1
    with mock.patch("django.core.signing.time.time", return_value=later):
        assert live.token_user(token, release_id=7, session_key="abc") is None


def test_a_change_elsewhere_leaves_the_checklist_with_204(client, active, ana):
    page = _checklist(active, "customer-a")
    url = _open(client, page)
    customer_step_mark_done(step=_step(active, "customer-b"), user=ana)

    assert _poll(client, url, page).status_code == 204


# --- a colleague's change -----------------------------------------------------------------------------------------


def test_a_change_by_another_user_comes_back_as_the_cell_progress_and_panel_marked_with_who(client, active, ana):
    page = _matrix(active)
    url = _open(client, page)
    step = _step(active, "customer-a")
    customer_step_mark_done(step=step, user=ana)

    response = _poll(client, url, page, panel=step.pk)

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    html = response.content.decode()
    cell = _element(html, f"cell-{step.pk}")
    assert 'hx-swap-oob="true"' in cell and 'data-version="2"' in cell
    assert "status-done" in cell and 'title="Changed by ana just now"' in cell
    customer = active.customers["customer-a"]
    assert "50%" in _element(html, f"progress-customer-{customer.pk}-deploy")
    assert f'id="progress-cluster-{customer.cluster_id}-deploy" hx-swap-oob="true"' in html
    assert 'id="progress-overall-deploy" hx-swap-oob="true"' in html
    # The open panel comes back too, with who changed it.
    panel = html[html.index('hx-swap-oob="innerHTML:#side-panel"') :]
    assert f'data-step="{step.pk}"' in panel and "Changed by ana just now" in panel and "Completed:" in panel
    # What the page's status region will say, for screen readers.
    assert 'data-live-says="Deploy app for customer-a changed by ana: Done."' in cell
    # The answer moves the cursor on: asked again, nothing is new.
    next_url = _poller_url(html)
    assert "seen=1.2" in next_url
    assert _poll(client, next_url, page).status_code == 204


def test_a_change_in_the_other_category_moves_its_overall_progress_on_the_matrix(client, active, ana):
    page = _matrix(active)  # the deploy tab
    url = _open(client, page)
    step = _step(active, "customer-a", 2)  # Health check, a verify step
    customer_step_mark_done(step=step, user=ana)

    html = _poll(client, url, page).content.decode()

    assert f"cell-{step.pk}" not in html
    assert "17%" in _element(html, "progress-overall-verify")  # one customer of six is done


def test_the_panel_of_another_step_is_not_sent(client, active, ana):
    page = _matrix(active)
    url = _open(client, page)
    customer_step_mark_done(step=_step(active, "customer-a"), user=ana)

    html = _poll(client, url, page, panel=_step(active, "customer-b").pk).content.decode()

    assert "#side-panel" not in html


def test_the_users_own_change_comes_back_unmarked(client, active, user):
    page = _matrix(active)
    url = _open(client, page)
    step = _step(active, "customer-a")
    customer_step_mark_done(step=step, user=user)

    html = _poll(client, url, page).content.decode()

    assert "status-done" in _element(html, f"cell-{step.pk}")
    assert "Changed by" not in html


def test_the_checklist_gets_the_row_and_counts_marked_with_who(client, active, ana):
    page = _checklist(active, "customer-a")
    url = _open(client, page)
    step = _step(active, "customer-a", 1)
    customer_step_skip(step=step, user=ana, reason="not on this customer")

    html = _poll(client, url, page).content.decode()

    row = html[html.index(f'<li id="step-{step.pk}"') :]
    assert 'data-version="2"' in row[:200] and 'hx-swap-oob="true"' in row[:200]
    assert "Changed by ana just now" in row and "Skipped: not on this customer" in row
    customer = active.customers["customer-a"]
    assert "(0/2 done)" in _element(html, f"count-customer-{customer.pk}-deploy")


def test_the_cross_customer_view_gets_the_row_and_summary(client, active, ana):
    template_step = active.templates[0]
    page = reverse("steps:template_step_status", args=[template_step.pk])
    url = _open(client, page)
    step = _step(active, "customer-d")
    customer_step_mark_done(step=step, user=ana)
    customer_step_mark_done(step=_step(active, "customer-a", 1), user=ana)  # another template step: not shown

    html = _poll(client, url, page).content.decode()

    assert "Changed by ana just now" in _element(html, f"status-row-{step.pk}")
    assert "✅ Done 1" in _element(html, f"summary-template-{template_step.pk}")
    assert html.count("hx-swap-oob") == 3  # the row, the summary, the poller


def test_a_change_stamped_just_before_the_cursor_and_committed_after_it_is_found(client, active, ana):
    page = _matrix(active)
    url = _open(client, page)
    step = _step(active, "customer-c")
    customer_step_mark_done(step=step, user=ana)
    # Its transaction took the time before the screen's cursor and committed after the screen was drawn.
    since = timezone.now() - timedelta(seconds=1)
    CustomerStep.objects.filter(pk=step.pk).update(updated_at=since - timedelta(seconds=2))
    url = re.sub(r"since=\d+", f"since={live.to_micros(since)}", url)

    html = _poll(client, url, page).content.decode()

    assert "status-done" in _element(html, f"cell-{step.pk}")


def test_constant_number_of_queries_for_changes_to_many_steps(client, active, ana, django_assert_max_num_queries):
    page = _matrix(active)
    url = _open(client, page)
    for customer in active.customers:
        customer_step_mark_done(step=_step(active, customer), user=ana)

    with django_assert_max_num_queries(CHANGES_QUERIES):
        response = _poll(client, url, page)

    assert response.content.decode().count("Changed by ana just now") == len(active.customers) * 2


# --- steps added or removed ---------------------------------------------------------------------------------------


def test_a_step_added_or_removed_after_the_screen_was_drawn_reloads_it(client, active, user):
    page = _checklist(active, "customer-a")
    url = _open(client, page)
    custom = customer_step_add_custom_for(active, user)

    added = _poll(client, url, page)

    assert added.status_code == 200 and added["HX-Trigger"] == "rollcall:live-reload"
    url = _open(client, page)
    customer_step_remove_custom(step=custom, user=user)

    assert _poll(client, url, page)["HX-Trigger"] == "rollcall:live-reload"


def customer_step_add_custom_for(world, user):
    from steps.services import customer_step_add_custom

    return customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-a"],
        user=user,
        name="Flush cache",
        category="deploy",
        type="bash",
        content="redis-cli FLUSHALL",
    )


# --- refused and logged-out polls ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", live.SINCE_INVALID),
        ("since=yesterday", live.SINCE_INVALID),
        ("since=-5", live.SINCE_INVALID),
        ("since=\uff11\uff12\uff13", live.SINCE_INVALID),
        ("since=99999999999999999999", live.SINCE_INVALID),
        ("since=99999999999999999", live.SINCE_AHEAD),
        ("since=1&seen=abc", live.SEEN_INVALID),
        ("since=1&seen=1.2.3", live.SEEN_INVALID),
        ("since=1&customer=x", live.PK_INVALID.format(name="customer")),
        ("since=1&panel=0", live.PK_INVALID.format(name="panel")),
        ("since=1&customer=1&template=2", live.SCOPE_INVALID),
        ("since=1&token=" + "x" * 301, live.TOKEN_INVALID),
    ],
)
def test_a_query_string_the_screens_never_send_is_refused_with_400(client, active, query, message):
    response = client.get(reverse("steps:live_changes", args=[active.release.pk]) + "?" + query)

    assert response.status_code == 400
    assert response.content.decode() == message


def test_a_logged_out_poll_reloads_the_page_instead_of_polling_the_login_page(active):
    url = reverse("steps:live_changes", args=[active.release.pk]) + "?since=1"

    response = Client().get(url, HTTP_HX_REQUEST="true")

    assert response.status_code == 401
    assert response["HX-Refresh"] == "true"
    assert "no-store" in response["Cache-Control"]


def test_after_logging_out_a_poll_is_refused_even_with_the_token(client, active):
    page = _matrix(active)
    url = _open(client, page)
    client.post(reverse("logout"))

    response = _poll(client, url, page)

    assert response.status_code == 401 and response["HX-Refresh"] == "true"


def test_a_token_of_a_session_that_ended_gets_no_fragments(client, active, ana):
    page = _matrix(active)
    url = _open(client, page)
    session_cookie = client.cookies["sessionid"].value
    client.logout()
    client.cookies["sessionid"] = session_cookie  # the old cookie, its session gone from the database
    assert _poll(client, url, page).status_code == 204  # nothing changed: nothing to tell anyway
    customer_step_mark_done(step=_step(active, "customer-a"), user=ana)

    response = _poll(client, url, page)

    assert response.status_code == 401 and b"cell-" not in response.content


def test_a_viewer_sees_changes_without_the_actions_they_may_not_take(active, ana, user_with_role):
    viewer = Client()
    viewer.force_login(user_with_role("vi", VIEWER))
    page = _checklist(active, "customer-a")
    url = _open(viewer, page)
    step = _step(active, "customer-a")
    customer_step_mark_done(step=step, user=ana)

    html = _poll(viewer, url, page).content.decode()

    assert "Changed by ana just now" in html
    assert "Revert" not in html


def test_only_get(client, active):
    response = client.post(reverse("steps:live_changes", args=[active.release.pk]) + "?since=1")

    assert response.status_code == 405


# --- the cursor's pure functions ----------------------------------------------------------------------------------


def test_the_cursor_time_round_trips_through_microseconds():
    now = timezone.now()

    assert live.from_micros(live.to_micros(now)) == now


def test_the_fingerprint_of_an_empty_window_is_empty_and_grows_with_every_change():
    assert live.fingerprint(0, None) == ""
    assert live.fingerprint(2, 5) == "2.5"


def _change(pk, *, at, created=None, deleted=None, version=2):
    return live.Change(
        pk=pk, version=version, updated_at=at, created_at=created or at - timedelta(hours=1), deleted_at=deleted
    )


def test_plan_sends_the_window_and_reloads_for_steps_added_or_removed_after_the_cursor():
    since = timezone.now()
    before, after = since - timedelta(seconds=3), since + timedelta(seconds=1)

    assert live.plan([_change(1, at=after), _change(2, at=before)], truncated=False, since=since) == live.Plan(
        reload=False, steps=[1, 2]
    )
    assert live.plan([_change(1, at=after, created=after)], truncated=False, since=since).reload
    assert live.plan([_change(1, at=after, deleted=after)], truncated=False, since=since).reload
    # Added before the cursor (the screen shows it) is no reason to reload.
    assert not live.plan([_change(1, at=before, created=before)], truncated=False, since=since).reload


def test_plan_with_more_changes_than_it_sends():
    since = timezone.now()
    before, after = since - timedelta(seconds=3), since + timedelta(seconds=1)
    many_after = [_change(pk, at=after) for pk in range(live.MAX_CHANGES)]
    mostly_before = [_change(1, at=after)] + [_change(pk, at=before) for pk in range(2, live.MAX_CHANGES + 1)]

    assert live.plan(many_after, truncated=True, since=since).reload
    # A bulk change just before the screen was drawn is on it: only what changed after is sent.
    assert live.plan(mostly_before, truncated=True, since=since) == live.Plan(reload=False, steps=[1])
