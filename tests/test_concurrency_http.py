"""No lost updates under real concurrent requests (issue 4, item 3): 20 people, each with their own browser session,
work the same few steps through the test server at once — read the side panel, then act on what it showed (mark done,
skip with a reason, revert, undo skip), some from a script that sends no version. No request answers 500, every
refusal is a 409 (the step changed since it was read) or a 422 (the action no longer fits its status), and the history
explains every step's status: each accepted change is one event, the events chain from pending to the final status."""

import re
import threading
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
from django.db import connection

from history.choices import EventAction
from history.models import Event
from releases.services import release_activate
from steps.models import CustomerStep

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.concurrency]

THREADS = 20
ROUNDS = 5  # per thread: read a step's panel, then act on it
PASSWORD = "rollcall-concurrency-pw"
STATUS_EVENTS = [EventAction.STEP_DONE, EventAction.STEP_SKIPPED, EventAction.STEP_REVERTED, EventAction.STEP_REOPENED]
CSRF_TOKEN = re.compile(r'"X-CSRFToken": "([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
STATUS = re.compile(r'class="status status-(\w+)"')


class Browser:
    """One person's browser: its own cookies (session), the CSRF token of the pages it got, htmx's headers."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))
        self.csrf_token = ""
        self.statuses: list[int] = []

    def request(self, path: str, data: dict | None = None, *, htmx: bool = True) -> tuple[int, str]:
        headers = {"HX-Request": "true"} if htmx else {}
        if data is not None:
            headers["X-CSRFToken"] = self.csrf_token
        body = urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(Request(self.base_url + path, data=body, headers=headers), timeout=60) as response:
                status, html = response.status, response.read().decode()
        except HTTPError as error:
            status, html = error.code, error.read().decode()
        self.statuses.append(status)
        return status, html

    def log_in(self, username: str) -> None:
        """Through the login page, as a person would; the page after it carries the token for the next POSTs."""
        _, html = self.request("/login/", htmx=False)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)[1]
        status, html = self.request(
            "/login/", {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token}, htmx=False
        )
        assert status == 200 and "Log out" in html, html[:500]
        self.csrf_token = CSRF_TOKEN.search(html)[1]


def _action(status: str, turn: int) -> tuple[str, dict]:
    """What a person does with a step they see in `status`: the action the panel offers (pending: done or skip)."""
    if status in {"pending", "reverted"}:
        return ("done", {"notes": ""}) if turn % 2 else ("skip", {"reason": f"skipped on turn {turn}"})
    return {"done": ("revert", {"notes": ""}), "skipped": ("reopen", {})}[status]


def test_twenty_people_acting_on_the_same_steps_leave_a_history_that_explains_every_status(
    world, live_server, django_user_model
):
    release_activate(release=world.release, user=world.user)
    steps = list(
        CustomerStep.objects.filter(
            release=world.release, customer__name__in=["customer-a", "customer-b"], category="deploy"
        ).order_by("pk")[:3]
    )
    for index in range(THREADS):
        django_user_model.objects.create_user(username=f"op{index}", password=PASSWORD, is_superuser=True)
    browsers = [Browser(live_server.url) for _ in range(THREADS)]
    outcomes = []  # (step pk, action, status, answer) of every action posted
    failures = []
    start = threading.Barrier(THREADS)

    def work(index: int) -> None:
        browser = browsers[index]
        try:
            browser.log_in(f"op{index}")
            start.wait()
            for turn in range(ROUNDS):
                step = steps[(index + turn) % len(steps)]
                _, panel = browser.request(f"/steps/{step.pk}/")
                action, data = _action(STATUS.search(panel)[1], index + turn)
                # Every fourth request comes from a script that sends no version: it acts on the step as it is now.
                if (index + turn) % 4:
                    data["version"] = VERSION.search(panel)[1]
                status, answer = browser.request(f"/steps/{step.pk}/{action}/", data)
                outcomes.append((step.pk, action, status, answer))
        except Exception as error:  # reported by the test below, with the thread that failed
            failures.append((index, repr(error)))
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    statuses = [status for browser in browsers for status in browser.statuses]
    assert max(statuses) < 500, sorted(set(statuses))
    assert len(outcomes) == THREADS * ROUNDS
    assert {status for _, _, status, _ in outcomes} <= {200, 409, 422}
    conflicts = [answer for _, _, status, answer in outcomes if status == 409]
    assert conflicts, "the people really did act on the same steps at the same time"
    assert all("This step was changed by op" in answer for answer in conflicts)
    for step in steps:
        step.refresh_from_db()
        accepted = sum(pk == step.pk and status == 200 for pk, _, status, _ in outcomes)
        events = list(Event.objects.filter(customer_step=step, action__in=STATUS_EVENTS).order_by("pk"))
        assert len(events) == accepted, step
        status = "pending"
        for event in events:
            assert event.before["status"] == status, (step, event.action, event.before)
            status = event.after["status"]
        assert step.status == status, step
        assert step.version == 1 + accepted, step
