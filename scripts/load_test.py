"""Load test: simulated operators work through a release on gunicorn, then the history is checked against the steps.

Run with `make load` (or `python scripts/load_test.py --help`). By default: a fresh PostgreSQL database
`rollcall_load` on 127.0.0.1 (dropped and recreated on every run, so its name must contain "load"), 5 clusters,
200 customers, a release of 10 template steps activated for all of them (2,000 customer steps), gunicorn with
4 workers on a free port of 127.0.0.1, and 50 operators for 30 seconds.

Each operator logs in, then works mostly on its own customers, sometimes on anyone's (so that two people act on the
same step): it reads a customer's checklist, and for a few of its steps either acts straight from the list or first
opens the step's side panel; it posts the action the status allows (pending → done or, sometimes, skip with a
reason; done → sometimes revert; skipped → undo the skip; reverted → done) the way htmx does, with the CSRF header
and the version of the step it saw. Between two requests an operator thinks for a random time
in --think-time (default 1-3 s, the pace of a person clicking quickly; `--think-time 0` is the tight loop that
measures the most requests/s the server can take). The clock starts once every operator has logged in (a few at a
time: a login hashes the password, slowly on purpose); an operator stops at the deadline or after --max-requests
requests.

With --api, the operators are pipelines instead (issue 11): each has an API token of its own and no session; it
finds a step by its names, as a CI job that knows only the release, the customer and the step name does
(`GET /api/steps/?release=…&customer=…&name=…`), then posts the action its status allows with the version it read
(`POST /api/steps/<id>/<action>/`, JSON, `Authorization: Bearer …`).

Printed at the end: requests, requests/s, latency percentiles (all requests, and the actions alone), actions by
outcome, errors, the targets of issue 10 (with think time: p99 < 250 ms and no error; without: >= 120 requests/s),
and a consistency check made in-process once gunicorn has stopped: every customer step's status
equals the status its latest history event left it in ("created" leaves it pending), and every action answered as
done to an operator is one event in the history. Answers 409 (the step changed since the operator saw it) and 422
(the action no longer fits the step's status) are refusals the app is meant to give under contention, not errors;
errors are connection failures, timeouts, 5xx answers and any other answer an operator does not expect (e.g. 403,
or a redirect to the login page). The exit status is 1 when there is an error or an inconsistency.

Only 127.0.0.1 is used: gunicorn binds to it, and a database on any other host is refused. Standard library only
(threads and urllib), plus Django and psycopg from the project for the set-up and the check.
"""

import argparse
import http.client
import http.cookiejar
import json
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

# The sibling module, however this file is loaded (as a script, or by file path from the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_report import REFUSALS, Sample, report, target_lines
from load_server import (
    PASSWORD,
    check_consistency,
    free_port,
    parse_database_url,
    production_environment,
    recreate_database,
    set_up,
    start_gunicorn,
    stop_gunicorn,
    wait_until_ready,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rollcall_load"

REQUEST_TIMEOUT = 20  # seconds; a request that takes longer counts as an error
LOGIN_TIMEOUT = 300  # seconds for every operator to log in (password hashing is slow on purpose)

OWN_CUSTOMER_SHARE = 0.8  # how often an operator picks one of its own customers rather than anyone's
STEPS_PER_VISIT = 3  # steps worked on per reading of a customer's checklist
FROM_LIST_SHARE = 0.5  # how often an action is posted straight from the checklist, without opening the panel
UNFINISHED_SHARE = 0.85  # how often an operator picks a step that is not done yet, when there is one
SKIP_SHARE = 0.1  # how often a pending step is skipped rather than done
REVERT_SHARE = 0.3  # how often a done step an operator looks at is reverted
SKIP_REASON = "Not needed for this customer (load test)."

GOOD_ANSWER = {"GET": {200}, "POST": {200, *REFUSALS}}
DEFAULT_THINK_TIME = "1-3"  # seconds between two requests of an operator: a person clicking quickly


# --- pure helpers (tested in tests/test_load_script.py) --------------------------------------------------------


def parse_think_time(text: str) -> tuple[float, float]:
    """--think-time as (min, max) seconds: "MIN-MAX" (e.g. "1-3", "0.5-1.5"), or one number for a fixed time ("0":
    no think time, the tight loop)."""
    low, separator, high = text.strip().partition("-")
    try:
        bounds = (float(low), float(high) if separator else float(low))
    except ValueError:
        raise ValueError(f"think time {text!r}: expected seconds as MIN-MAX (e.g. 1-3) or one number") from None
    if bounds[0] < 0 or bounds[1] < bounds[0]:
        raise ValueError(f"think time {text!r}: expected 0 <= MIN <= MAX")
    return bounds


def think_seconds(think_time: tuple[float, float], rng: random.Random) -> float:
    """How long an operator thinks before its next request: uniform in the range, 0 for the tight loop."""
    low, high = think_time
    return rng.uniform(low, high) if high > 0 else 0.0


@dataclass(frozen=True)
class StepState:
    """What a page showed of one customer step: its status and the version to send back (None if not shown)."""

    pk: int
    status: str
    version: int | None


STATUS_RE = re.compile(r'class="status status-(\w+)"')
VERSION_INPUT_RE = re.compile(r'<input\b[^>]*\bname="version"[^>]*>')
VALUE_RE = re.compile(r'\bvalue="(\d+)"')
ROW_RE = re.compile(r'<li id="step-(\d+)"')
PANEL_RE = re.compile(r'<section id="step-panel".*?</section>', re.DOTALL)


def _version_in(html: str) -> int | None:
    tag = VERSION_INPUT_RE.search(html)
    value = VALUE_RE.search(tag.group(0)) if tag else None
    return int(value.group(1)) if value else None


def parse_checklist(html: str) -> list[StepState]:
    """The steps of a customer's checklist page (steps:customer_steps), in page order."""
    starts = list(ROW_RE.finditer(html))
    steps = []
    for index, start in enumerate(starts):
        row = html[start.start() : starts[index + 1].start() if index + 1 < len(starts) else len(html)]
        status = STATUS_RE.search(row)
        if status:
            steps.append(StepState(pk=int(start.group(1)), status=status.group(1), version=_version_in(row)))
    return steps


def parse_panel(html: str, pk: int) -> StepState | None:
    """The step shown in a side panel (steps:step_detail, or the answer to an action); None without a panel."""
    panel = PANEL_RE.search(html)
    status = STATUS_RE.search(panel.group(0)) if panel else None
    if status is None:
        return None
    return StepState(pk=pk, status=status.group(1), version=_version_in(panel.group(0)))


def choose_action(status: str, rng: random.Random) -> str | None:
    """What an operator does to a step in `status`: done, skip, revert, reopen, or nothing (None)."""
    if status == "pending":
        return "skip" if rng.random() < SKIP_SHARE else "done"
    if status == "reverted":
        return "done"
    if status == "skipped":
        return "reopen"
    if status == "done":
        return "revert" if rng.random() < REVERT_SHARE else None
    return None


def choose_step(steps: list[StepState], rng: random.Random) -> StepState:
    """A step of the checklist, mostly one that is not done yet."""
    unfinished = [step for step in steps if step.status != "done"]
    if unfinished and rng.random() < UNFINISHED_SHARE:
        return rng.choice(unfinished)
    return rng.choice(steps)


# --- one operator's browser ------------------------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are answers to look at (a redirect to the login page is an error), not to follow."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


class Browser:
    """One operator's browser: its cookies (session, CSRF token) and the requests it sent."""

    def __init__(self, base_url: str, token: str = ""):
        self.base_url = base_url
        self.token = token  # an API token: requests go as a pipeline's, JSON with the token, no session or CSRF
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), _NoRedirect())
        self.samples: list[Sample] = []

    def csrf_token(self) -> str:
        return next((cookie.value for cookie in self.jar if cookie.name == "csrftoken"), "")

    def request(self, method: str, path: str, *, kind: str, data=None, htmx=False, current="", expect=None):
        """Send one request as htmx or a plain form would; returns (status, body, headers), status None when no
        answer came. An answer outside `expect` (default: GOOD_ANSWER) is recorded as an error."""
        headers = {}
        if htmx:
            headers.update({"HX-Request": "true", "HX-Target": "side-panel", "HX-Current-URL": self.base_url + current})
        body = None
        if self.token:
            headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
            if method == "POST":
                headers["Content-Type"] = "application/json"
                body = json.dumps(data or {}).encode()
        elif method == "POST":
            headers["X-CSRFToken"] = self.csrf_token()
            body = urllib.parse.urlencode(data or {}).encode()
        request = urllib.request.Request(self.base_url + path, data=body, headers=headers, method=method)
        started = time.perf_counter()
        status, text, answer_headers, problem = None, "", {}, ""
        try:
            with self.opener.open(request, timeout=REQUEST_TIMEOUT) as response:
                status, text, answer_headers = response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as answer:  # 3xx (not followed), 4xx and 5xx
            status, text, answer_headers = answer.code, answer.read().decode(errors="replace"), answer.headers
        except (OSError, http.client.HTTPException) as failure:
            problem = f"{type(failure).__name__}: {failure}"
        elapsed = time.perf_counter() - started
        if status is not None and status not in (expect or GOOD_ANSWER[method]):
            problem = f"HTTP {status}"
        self.samples.append(Sample(method, kind, status, elapsed, problem))
        return status, text, answer_headers

    def log_in(self, username: str) -> bool:
        """Log in through the login page, as a person would: the page sets the CSRF cookie, the form posts it."""
        status, _, _ = self.request("GET", "/login/", kind="login")
        if status != 200:
            return False
        form = {"username": username, "password": PASSWORD, "csrfmiddlewaretoken": self.csrf_token()}
        status, _, headers = self.request("POST", "/login/", kind="login", data=form, expect={302})
        if status == 302 and "/login/" in headers.get("Location", ""):
            self.samples[-1].problem = "login refused"
        return status == 302 and not self.samples[-1].problem


# --- the simulated operators -----------------------------------------------------------------------------------


class Clock:
    """The measured window: it starts once every operator has logged in and ends `duration` seconds later."""

    def __init__(self, duration: float):
        self.duration = duration
        self.started = self.deadline = None

    def start(self) -> None:
        self.started = time.perf_counter()
        self.deadline = self.started + self.duration

    def running(self) -> bool:
        return time.perf_counter() < self.deadline

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.perf_counter())


@dataclass
class Operator:
    """A simulated operator: who, which customers are theirs, and what they did."""

    username: str
    own_customers: list[int]
    all_customers: list[int]
    release_pk: int
    max_requests: int
    rng: random.Random
    browser: Browser
    logged_in: bool = False
    think_time: tuple[float, float] = (0.0, 0.0)  # seconds between two requests, min and max
    timed_from: int = 0  # index of the first sample inside the measured window
    outcomes: Counter = field(default_factory=Counter)  # (action, status) → count

    def may_continue(self, clock: Clock) -> bool:
        return clock.running() and len(self.browser.samples) - self.timed_from < self.max_requests

    def think(self, clock: Clock) -> bool:
        """Pause as a person does before the next click (never past the deadline); whether to go on."""
        pause = think_seconds(self.think_time, self.rng)
        if pause:
            time.sleep(min(pause, clock.remaining()))
        return self.may_continue(clock)

    def pick_customer(self) -> int:
        if self.own_customers and self.rng.random() < OWN_CUSTOMER_SHARE:
            return self.rng.choice(self.own_customers)
        return self.rng.choice(self.all_customers)

    def work(self, clock: Clock) -> None:
        """Visit customers' checklists and act on their steps until the deadline or the request cap."""
        while self.think(clock):
            customer = self.pick_customer()
            checklist = f"/releases/{self.release_pk}/customers/{customer}/"
            status, html, _ = self.browser.request("GET", checklist, kind="checklist")
            steps = parse_checklist(html) if status == 200 else []
            for _ in range(min(STEPS_PER_VISIT, len(steps))):
                if not self.think(clock):
                    return
                seen = self.work_on(choose_step(steps, self.rng), checklist, clock)
                # htmx swaps the answer's rows into the page: the checklist shows the step as the answer did.
                steps = [seen if seen is not None and step.pk == seen.pk else step for step in steps]

    def work_on(self, step: StepState, checklist: str, clock: Clock) -> StepState | None:
        """Act on one step, from the checklist as it was read or after opening the step's side panel; returns the
        step as the last answer showed it (None when no answer showed it)."""
        seen = None
        if self.rng.random() >= FROM_LIST_SHARE:
            status, html, _ = self.browser.request(
                "GET", f"/steps/{step.pk}/", kind="panel", htmx=True, current=checklist
            )
            seen = parse_panel(html, step.pk) if status == 200 else None
            if seen is None or not self.think(clock):
                return seen
            step = seen
        action = choose_action(step.status, self.rng)
        if action is None:
            return seen
        data = {"notes": f"{action} by {self.username}"} if action in {"done", "revert"} else {}
        if action == "skip":
            data["reason"] = SKIP_REASON
        if step.version is not None:
            data["version"] = step.version
        status, html, _ = self.browser.request(
            "POST", f"/steps/{step.pk}/{action}/", kind=action, data=data, htmx=True, current=checklist
        )
        self.outcomes[action, status] += 1
        # Done or refused, the answer carries the side panel with the step as it is now.
        return parse_panel(html, step.pk) if status is not None else None


def parse_api_step(text: str) -> StepState | None:
    """The step of an API answer: the first result of a list (`{"results": [...]}`) or the step itself; None when
    the answer holds none."""
    try:
        answer = json.loads(text)
    except ValueError:
        return None
    if isinstance(answer, dict) and isinstance(answer.get("results"), list):
        answer = answer["results"][0] if answer["results"] else None
    if isinstance(answer, dict) and "state" in answer and "id" not in answer:
        answer = answer["state"]  # a 409 carries the step as it is now
    if not isinstance(answer, dict) or not {"id", "status", "version"} <= answer.keys():
        return None
    return StepState(pk=int(answer["id"]), status=str(answer["status"]), version=int(answer["version"]))


@dataclass
class Pipeline(Operator):
    """A CI pipeline with an API token (--api): it knows steps by their names, finds one, and acts on it."""

    release_name: str = ""
    customer_names: dict[int, str] = field(default_factory=dict)  # customer pk → name
    step_names: list[str] = field(default_factory=list)

    def log_in(self) -> bool:
        return True  # the token is its credential: nothing to log in to

    def work(self, clock: Clock) -> None:
        """Look a step up by its names, then post the action its status allows, until the deadline or the cap."""
        while self.think(clock):
            query = urllib.parse.urlencode(
                {
                    "release": self.release_name,
                    "customer": self.customer_names[self.pick_customer()],
                    "name": self.rng.choice(self.step_names),
                }
            )
            status, text, _ = self.browser.request("GET", f"/api/steps/?{query}", kind="lookup")
            step = parse_api_step(text) if status == 200 else None
            if step is None or not self.think(clock):
                continue
            action = choose_action(step.status, self.rng)
            if action is None:
                continue
            data = {"version": step.version, "notes": f"{action} by {self.username}'s pipeline"}
            if action == "skip":
                data["reason"] = SKIP_REASON
            status, _, _ = self.browser.request("POST", f"/api/steps/{step.pk}/{action}/", kind=action, data=data)
            self.outcomes[action, status] += 1


def run_operators(operators: list[Operator], clock: Clock, *, login_slots: int) -> float:
    """Log every operator in, start the clock, let them work; returns the measured window's length in seconds.

    At most `login_slots` operators log in at once: a login hashes the password on purpose slowly, and fifty at the
    same instant would queue in gunicorn beyond the request timeout (people do not all log in in the same second).
    """
    barrier = threading.Barrier(len(operators), action=clock.start)
    logging_in = threading.Semaphore(login_slots)

    def run(operator: Operator) -> None:
        with logging_in:
            operator.logged_in = (
                operator.log_in() if isinstance(operator, Pipeline) else operator.browser.log_in(operator.username)
            )
        operator.timed_from = len(operator.browser.samples)
        try:
            barrier.wait(timeout=LOGIN_TIMEOUT)
        except threading.BrokenBarrierError:
            return
        if operator.logged_in:
            operator.work(clock)

    threads = [threading.Thread(target=run, args=(operator,), name=operator.username) for operator in operators]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if clock.started is None:
        return 0.0
    return time.perf_counter() - clock.started


def api_set_up(release_pk: int, usernames: list[str]) -> tuple[dict, dict[str, str]]:
    """What pipelines know: the release's name, customers' and steps' names; and an API token per operator."""
    from django.contrib.auth import get_user_model

    from api.services import api_token_create
    from customers.models import Customer
    from releases.models import Release
    from steps.models import StepTemplate

    release = Release.objects.get(pk=release_pk)
    names = {
        "release_name": release.name,
        "customer_names": dict(Customer.objects.filter(enrollments__release=release).values_list("pk", "name")),
        "step_names": list(StepTemplate.objects.filter(release=release).values_list("name", flat=True)),
    }
    users = get_user_model().objects.filter(username__in=usernames)
    tokens = {user.username: api_token_create(user=user, name="load test pipeline")[1] for user in users}
    return names, tokens


def _log_tail(workdir: Path, lines: int = 40) -> str:
    log = (workdir / "gunicorn.log").read_text(errors="replace").splitlines()
    return "Last lines of gunicorn's log:\n" + "\n".join(log[-lines:])


def _think_time_argument(text: str) -> tuple[float, float]:
    try:
        return parse_think_time(text)
    except ValueError as problem:
        raise argparse.ArgumentTypeError(str(problem)) from None


def describe_think_time(think_time: tuple[float, float]) -> str:
    """The think time as the report prints it."""
    low, high = think_time
    if high == 0:
        return "no think time (tight loop)"
    return f"think time {low:g}-{high:g} s" if high > low else f"think time {low:g} s"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated (name: *load*)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--operators", type=int, default=50, help="simulated operators (threads)")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10, help="template steps, deploy and verify in turn")
    parser.add_argument("--duration", type=float, default=30, help="seconds of work after every operator logged in")
    parser.add_argument("--max-requests", type=int, default=2000, help="requests per operator at most")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--seed", type=int, default=0, help="random seed: the same picks and think times (default 0)")
    parser.add_argument(
        "--think-time",
        type=_think_time_argument,
        default=DEFAULT_THINK_TIME,
        metavar="MIN-MAX",
        help=f"seconds an operator waits between two requests (default {DEFAULT_THINK_TIME}; 0: a tight loop)",
    )
    parser.add_argument(
        "--api", action="store_true", help="pipelines with API tokens look steps up by name and act through /api/"
    )
    args = parser.parse_args(argv)
    if min(args.workers, args.operators, args.customers, args.steps, args.max_requests) < 1 or args.duration <= 0:
        parser.error("workers, operators, customers, steps, max-requests and duration must be positive")

    parse_database_url(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="rollcall-load-"))
    server = None
    try:
        env = production_environment(args.database_url, workdir)
        os.environ.clear()
        os.environ.update(env)
        recreate_database(args.database_url)
        print(f"Setting up {args.customers} customers x {args.steps} steps and {args.operators} operators…", flush=True)
        release_pk, customers, usernames, rights = set_up(
            customers=args.customers, steps=args.steps, operators=args.operators
        )
        print(f"Operators are {rights}.")
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_gunicorn(port=port, workers=args.workers, env=env, log_path=workdir / "gunicorn.log")
        try:
            wait_until_ready(server, base_url)
        except RuntimeError as failure:
            print(f"{failure}.\n{_log_tail(workdir)}")
            return 1
        print(
            f"gunicorn with {args.workers} workers at {base_url} (machine: {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.2f}); {args.operators} operators log in, then work for {args.duration:g} s "
            f"(at most {args.max_requests} requests each, {describe_think_time(args.think_time)})…",
            flush=True,
        )
        seeds = random.Random(args.seed)
        common = {"all_customers": customers, "release_pk": release_pk, "max_requests": args.max_requests}
        if args.api:
            names, tokens = api_set_up(release_pk, usernames)
            operators = [
                Pipeline(
                    username=username,
                    own_customers=customers[index :: len(usernames)],
                    rng=random.Random(seeds.random()),
                    browser=Browser(base_url, token=tokens[username]),
                    think_time=args.think_time,
                    **common,
                    **names,
                )
                for index, username in enumerate(usernames)
            ]
        else:
            operators = [
                Operator(
                    username=username,
                    own_customers=customers[index :: len(usernames)],
                    rng=random.Random(seeds.random()),
                    browser=Browser(base_url),
                    think_time=args.think_time,
                    **common,
                )
                for index, username in enumerate(usernames)
            ]
        elapsed = run_operators(operators, Clock(args.duration), login_slots=args.workers)
        stop_gunicorn(server)
        server = None
        errors, inconsistencies = report(operators, elapsed, check_consistency(release_pk))
        print("\n".join(target_lines(operators, elapsed, errors, think_time=args.think_time, api=args.api)))
        if errors:
            print(f"\n{_log_tail(workdir)}")
        print("\nOK: no error, no inconsistency." if not errors and not inconsistencies else "\nFAILED.")
        return 1 if errors or inconsistencies else 0
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
