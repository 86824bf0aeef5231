"""Live updates (issue 9, "Live"): the answer to a step screen's poll — 204 when nothing it shows changed, else the
fragments of the changed steps out of band, the same ones an action sends (steps/views/actions.py), marked with who
changed them, and the poller with its next cursor. The logic of the cursor is in steps/live.py."""

from django.conf import settings
from django.contrib.auth.decorators import login_not_required
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.views.decorators.http import require_GET

from steps.live import (
    OVERLAP,
    POLL_SECONDS,
    InvalidCursor,
    changes_in_window,
    issue_token,
    latest_actors,
    parse_cursor,
    plan,
    poll_url,
    token_user,
    window_fingerprint,
)
from steps.progress import release_progress
from steps.rendering import missing_names
from steps.selectors import customer_steps_for_screens, step_actions
from steps.views.actions import changed_fragments
from steps.views.panel import panel_context, requesting_page
from variables.selectors import defined_names

LOGGED_OUT = "Your session has ended: log in again."
# Tells static/js/live.js to reload the screen's content (steps added or removed, or too many changes).
RELOAD_EVENT = "rollcall:live-reload"


def _answer(content="", *, status=200, content_type="text/html; charset=utf-8") -> HttpResponse:
    response = HttpResponse(content, status=status, content_type=content_type)
    add_never_cache_headers(response)  # a poll's answer is only ever true once
    return response


def _changed_steps(request, release_id, step_ids, cursor):
    """The changed steps with what their fragments need, each marked with who changed it (nobody when it was the
    user, whose own screen already shows it): a fixed number of queries for any number of steps."""
    steps = list(customer_steps_for_screens().filter(release_id=release_id, pk__in=step_ids))
    if not steps:
        return steps
    release = steps[0].release
    defined = defined_names(release=release, customers={step.customer for step in steps})
    actors = latest_actors([step.pk for step in steps], after=cursor.since - OVERLAP)
    for step in steps:
        step.release = release
        actor_id, actor_name = actors.get(step.pk, (None, ""))
        step.changed_by = "" if actor_id == request.user.pk else actor_name
        step.live_actions = step_actions(step, missing_names(step, defined[step.customer_id]))
    return steps


def _screen_url(request) -> str:
    """The path of the screen that polls: where a plain (no JavaScript) action from its fragments comes back to."""
    return (request.htmx.current_url_abs_path if request.htmx else None) or "/"


def _fragments(request, steps) -> list[str]:
    """Each changed step's out-of-band fragments for the requesting screen (requesting_page), progress and counts
    read once for all of them and sent once per customer and category."""
    page = requesting_page(request)
    progress = release_progress(steps[0].release) if page in {"matrix", "customer_steps"} else None
    next_url = _screen_url(request)
    counted = set()
    fragments = []
    for step in steps:
        key = (step.customer_id, step.category) if page != "template_step_status" else None
        context = changed_fragments(
            request,
            step,
            step.live_actions,
            progress_changed=key not in counted,
            progress=progress,
            changed_by=step.changed_by,
        )
        counted.add(key)
        fragments.append(
            render_to_string(
                "steps/_step_changed.html#step_oob", {**context, "step": step, "next_url": next_url}, request
            )
        )
    if page == "matrix":
        # The matrix shows the overall progress of every category, its cells those of one: a change in another
        # category (no fragment above) still moves its overall figure.
        overall = [
            (category, progress.overall_percent(category), progress.overall_complete(category))
            for category in sorted({step.category for step in steps})
        ]
        fragments.append(render_to_string("steps/_live_overall.html", {"overall": overall}, request))
    return fragments


def _poller(request, release_pk, cursor, *, since, seen) -> str:
    """The poller again, out of band, with its next cursor and a new token."""
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    url = poll_url(
        release_pk,
        since=since,
        seen=seen,
        customer=cursor.customer,
        template=cursor.template,
        token=issue_token(user_id=request.user.pk, release_id=release_pk, session_key=session_key),
    )
    return render_to_string("steps/_live_poller.html", {"url": url, "interval": POLL_SECONDS, "oob": True}, request)


@require_GET
@login_not_required  # the view checks the login itself: see below, and steps/live.py on the token
def live_changes(request, release_pk):
    """What changed in the release since the screen's cursor: 204 if nothing it shows, else its fragments."""
    try:
        cursor = parse_cursor(request.GET)
    except InvalidCursor as error:
        return _answer(error.message, status=400, content_type="text/plain; charset=utf-8")
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    trusted = token_user(cursor.token, release_id=release_pk, session_key=session_key) is not None
    if not trusted and not request.user.is_authenticated:
        # A logged-out poll must not follow the redirect to the login page (and poll it for ever): reloading the page
        # leads to the login page, which comes back to it.
        response = _answer(LOGGED_OUT, status=401, content_type="text/plain; charset=utf-8")
        response["HX-Refresh"] = "true"
        return response
    now = timezone.now()  # before reading: what commits after the read is in the next poll's window
    if window_fingerprint(release_pk, cursor) == cursor.seen:
        if trusted:
            return _answer(status=204)
        # The token had expired: the same cursor with a new one.
        return _answer(_poller(request, release_pk, cursor, since=cursor.since, seen=cursor.seen))
    if not request.user.is_authenticated:  # the token is good, but fragments go only to a live session
        response = _answer(LOGGED_OUT, status=401, content_type="text/plain; charset=utf-8")
        response["HX-Refresh"] = "true"
        return response
    changes, truncated, seen = changes_in_window(release_pk, cursor, next_start=now - OVERLAP)
    answer = plan(changes, truncated=truncated, since=cursor.since)
    if answer.reload:
        response = _answer(status=200)
        response["HX-Trigger"] = RELOAD_EVENT
        return response
    steps = _changed_steps(request, release_pk, answer.steps, cursor)
    fragments = _fragments(request, steps) if steps else []
    panel = next((step for step in steps if step.pk == cursor.panel), None)
    if panel is not None:
        context = {**panel_context(request, panel), "next_url": _screen_url(request), "changed_by": panel.changed_by}
        fragments.append(render_to_string("steps/_live_panel.html", context, request))
    fragments.append(_poller(request, release_pk, cursor, since=now, seen=seen))
    return _answer("".join(fragments))
