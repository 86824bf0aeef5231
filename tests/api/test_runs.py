"""Runs through the API (issue 13, items 5 and 6): a pipeline sees what a step's run would execute, starts it, polls
the run until it ends and reads its output; refusals say why: 403 without "Run steps", 404 when execution is off,
409 for a run that can't start or be cancelled as things stand, 400 for bad input. With the fake kubectl
(tests/runs/fake_kubectl.py) and the task queue's worker as in production."""

import json
import os
import shutil
import subprocess

import pytest
import yaml
from django.db import transaction
from django.test import Client
from django_tasks_db.models import DBTaskResult
from hypothesis import given
from hypothesis import strategies as st

from api.serializers_runs import SHA256_INVALID
from history.choices import EventAction
from history.models import Event
from runs.models import Run
from runs.services import ALREADY_ACTIVE, ALREADY_ENDED, EXECUTION_OFF, TEXT_CHANGED
from steps.choices import RunMark, StepStatus
from steps.models import CustomerStep
from steps.rendering import step_text
from steps.services.content import customer_step_override
from tests.api.conftest import ApiClient
from tests.api.test_fuzz import FUZZ, NONEXISTENT_IDS, bodies, resolve
from tests.queue import run_due_tasks
from tests.readme import block_after
from tests.runs import conftest as runs_fixtures
from tests.test_hostile_input import database_snapshot
from variables.models import MASK
from variables.services import variable_set

RUNS_URL = "/api/runs/"
# The runs' fixtures (a fake kubectl, the example world ready to run), as tests/runs/ has them: pytest finds fixtures
# in the conftest files above a test and in its own module.
kubectl = runs_fixtures.kubectl
runnable = runs_fixtures.runnable


def _run_url(step) -> str:
    return f"/api/steps/{step.pk}/run/"


def _cancel_url(run_id: int) -> str:
    return f"{RUNS_URL}{run_id}/cancel/"


def _nothing_queued() -> bool:
    return not Run.objects.exists() and not DBTaskResult.objects.exists()


def test_a_pipeline_looks_starts_polls_and_reads_the_output_of_a_run(runnable, api):
    """As the README shows it: the text to confirm, the start (202 and where the run is), polling, the output."""
    step = runnable.bash

    plan = api.get(_run_url(step))
    started = api.post(_run_url(step), {"sha256": plan.json()["text_sha256"]})
    queued = api.get(started["Location"], {"output": "false"})
    assert run_due_tasks() == 1
    finished = api.get(started["Location"])

    assert plan.status_code == 200
    assert plan.json()["text_sha256"] == step_text(step).sha256
    assert (plan.json()["customer_name"], plan.json()["cluster_name"], plan.json()["context"]) == (
        "customer-a",
        "prod-us",
        "prod-us",
    )
    assert plan.json()["namespace"] == "cust-a-prod" and "Deploy app" in plan.json()["shown_text"]
    assert started.status_code == 202
    run = started.json()
    assert started["Location"] == f"{RUNS_URL}{run['id']}/"
    assert (run["state"], run["step"], run["started_by"], run["exit_code"]) == ("queued", step.pk, "rm", None)
    assert queued.status_code == 200 and queued.json()["state"] == "queued" and "output" not in queued.json()
    body = finished.json()
    assert finished.status_code == 200
    assert (body["state"], body["exit_code"], body["output_truncated"]) == ("succeeded", 0, False)
    assert "Deploy app" in body["output"] and body["output_size"] == len(body["output"])
    assert body["duration_seconds"] >= 0 and body["finished_at"] >= body["started_at"] >= body["queued_at"]
    assert (body["customer_name"], body["cluster_name"], body["namespace"]) == ("customer-a", "prod-us", "cust-a-prod")
    assert body["shown_text"] == step_text(step).text and body["text_sha256"] == step_text(step).sha256
    step.refresh_from_db()
    assert (step.status, step.executed_by, step.notes) == (StepStatus.DONE, runnable.world.user, f"run #{run['id']}")
    started_event = Event.objects.get(customer_step=step, action=EventAction.RUN_STARTED)
    assert started_event.actor_label == "rm via API token 'jenkins'"


def test_a_stale_sha256_is_409_and_nothing_is_queued(runnable, api):
    step = runnable.bash
    confirmed = step_text(step).sha256
    customer_step_override(step=step, user=runnable.world.user, content="echo something else")
    before = database_snapshot()

    response = api.post(_run_url(step), {"sha256": confirmed})

    assert response.status_code == 409
    assert response.json() == {
        "detail": TEXT_CHANGED.format(step="Deploy app", customer="customer-a"),
        "errors": {},
    }
    assert _nothing_queued() and database_snapshot() == before


@pytest.mark.parametrize(
    "body",
    [{"sha256": "abc"}, {"sha256": "g" * 64}, {"sha256": 12}, {"sha256": ["a" * 64]}, [1, 2], "no json"],
    ids=["short", "not-hex", "number", "list", "array-body", "no-json"],
)
def test_a_malformed_body_is_400_and_nothing_is_queued(runnable, api, body):
    response = api.post(_run_url(runnable.bash), body)

    assert response.status_code == 400
    assert response.json()["detail"]
    assert _nothing_queued()


def test_a_malformed_sha256_is_400_next_to_its_field(runnable, api):
    response = api.post(_run_url(runnable.bash), {"sha256": "sha256:" + step_text(runnable.bash).sha256})

    assert response.status_code == 400
    assert response.json() == {"detail": f"sha256: {SHA256_INVALID}", "errors": {"sha256": [SHA256_INVALID]}}


def test_a_sha256_is_read_in_either_case_and_the_body_may_be_left_out(runnable, api):
    started = api.post(_run_url(runnable.bash), {"sha256": step_text(runnable.bash).sha256.upper()})
    without = api.post(_run_url(runnable.sql))

    assert (started.status_code, without.status_code) == (202, 202)
    assert Run.objects.count() == 2


def test_an_operator_or_a_viewer_token_may_read_runs_but_not_start_or_cancel_one(runnable, roles):
    step = runnable.bash
    run_id = roles.release_manager.post(_run_url(step)).json()["id"]
    before = database_snapshot()

    for client in (roles.operator, roles.viewer):
        refused = [client.get(_run_url(step)), client.post(_run_url(step)), client.post(_cancel_url(run_id))]
        assert [response.status_code for response in refused] == [403] * 3
        assert "may not run steps on the clusters" in refused[1].json()["detail"]
        assert client.get(f"{RUNS_URL}{run_id}/").json()["state"] == "queued"
        assert client.get(RUNS_URL).json()["count"] == 1
    assert database_snapshot() == before


def test_every_runs_endpoint_is_404_when_execution_is_off(runnable, api, settings):
    run_id = api.post(_run_url(runnable.bash)).json()["id"]
    settings.ROLLCALL_EXECUTION = False
    before = database_snapshot()

    answers = [
        api.get(_run_url(runnable.sql)),
        api.post(_run_url(runnable.sql)),
        api.get(RUNS_URL),
        api.get(f"{RUNS_URL}{run_id}/"),
        api.post(_cancel_url(run_id)),
    ]

    assert [answer.status_code for answer in answers] == [404] * 5
    assert {answer.json()["detail"] for answer in answers} == {EXECUTION_OFF}
    assert database_snapshot() == before
    assert ApiClient().get(RUNS_URL).status_code == 401


def test_a_text_step_and_a_second_start_while_queued_are_409_with_why(runnable, api):
    world = runnable.world
    text_step = runnable.steps.get(customer=world.customers["customer-b"], template=world.templates[0])
    text_step.type = "text"
    text_step.save(update_fields=["type"])

    text = api.post(_run_url(text_step))
    first = api.post(_run_url(runnable.sql))
    second = api.post(_run_url(runnable.sql))

    assert text.status_code == 409
    assert "only bash and SQL steps can run" in text.json()["detail"]
    assert first.status_code == 202 and second.status_code == 409
    assert second.json()["detail"] == ALREADY_ACTIVE.format(
        step="Run migration", customer="customer-a", state="queued", run=first.json()["id"]
    )
    assert Run.objects.count() == 1 and DBTaskResult.objects.count() == 1


def test_a_done_step_and_an_unresolved_one_are_409(runnable, api):
    world = runnable.world
    api.post(_run_url(runnable.bash))
    run_due_tasks()
    no_database = runnable.steps.get(customer=world.customers["customer-d"], template=world.templates[1])

    done = api.post(_run_url(runnable.bash))
    unresolved = api.get(_run_url(no_database))

    assert done.status_code == 409 and "is done: only a pending or reverted step can run" in done.json()["detail"]
    assert unresolved.status_code == 409 and "no value for DB_NAME, DB_TARGET, DB_USER" in unresolved.json()["detail"]


def test_a_queued_run_cancelled_ends_at_once_and_a_second_cancel_is_409(runnable, api, kubectl):
    run_id = api.post(_run_url(runnable.bash)).json()["id"]

    cancelled = api.post(_cancel_url(run_id))
    again = api.post(_cancel_url(run_id))
    run_due_tasks()

    assert cancelled.status_code == 200
    assert (cancelled.json()["state"], cancelled.json()["cancelled_by"]) == ("cancelled", "rm")
    assert again.status_code == 409
    assert again.json()["detail"] == ALREADY_ENDED.format(run=run_id, state="cancelled")
    assert api.get(f"{RUNS_URL}{run_id}/").json()["started_at"] is None and kubectl.calls() == []
    runnable.bash.refresh_from_db()
    assert (runnable.bash.status, runnable.bash.run_mark) == (StepStatus.PENDING, RunMark.NONE)


def test_cancelling_a_run_that_ended_is_409(runnable, api, kubectl):
    kubectl.mode("fail")
    run_id = api.post(_run_url(runnable.sql)).json()["id"]
    run_due_tasks()

    response = api.post(_cancel_url(run_id))

    assert response.status_code == 409
    assert response.json()["detail"] == ALREADY_ENDED.format(run=run_id, state="failed")
    failed = api.get(f"{RUNS_URL}{run_id}/").json()
    assert (failed["state"], failed["exit_code"]) == ("failed", 3) and "told to fail" in failed["output"]


def test_a_sensitive_value_is_masked_in_the_text_and_the_output_and_never_sent(runnable, api):
    user, customer = runnable.world.user, runnable.world.customers["customer-a"]
    variable_set(owner=customer, key="api_token", value="s3cr3t-t0ken-value", is_sensitive=True, user=user)
    customer_step_override(step=runnable.bash, user=user, content='echo "token=#{api_token}"\nenv')

    plan = api.get(_run_url(runnable.bash))
    run_id = api.post(_run_url(runnable.bash), {"sha256": plan.json()["text_sha256"]}).json()["id"]
    run_due_tasks()
    answers = [plan, api.get(f"{RUNS_URL}{run_id}/"), api.get(RUNS_URL, {"output": "true"})]

    run = answers[1].json()
    assert run["state"] == "succeeded"
    assert f"token={MASK}" in run["output"] and f"api_token={MASK}" in run["output"]
    assert MASK in run["shown_text"] and MASK in plan.json()["shown_text"]
    assert all("s3cr3t" not in answer.content.decode() for answer in answers)


def test_runs_are_listed_newest_first_filtered_by_step_and_state_without_output_unless_asked(
    runnable, api, django_assert_max_num_queries
):
    first = api.post(_run_url(runnable.bash)).json()["id"]
    run_due_tasks()
    second = api.post(_run_url(runnable.sql)).json()["id"]

    with django_assert_max_num_queries(6):
        listed = api.get(RUNS_URL)
    by_step = api.get(RUNS_URL, {"step": runnable.bash.pk})
    queued = api.get(RUNS_URL, {"state": "queued"})
    with_output = api.get(RUNS_URL, {"output": "true", "step": runnable.bash.pk})

    assert listed.status_code == 200
    assert [run["id"] for run in listed.json()["results"]] == [second, first]
    assert all("output" not in run for run in listed.json()["results"])
    assert listed.json()["results"][1]["output_size"] > 0 and listed.json()["results"][1]["output_truncated"] is False
    assert [run["id"] for run in by_step.json()["results"]] == [first]
    assert [run["id"] for run in queued.json()["results"]] == [second]
    assert "Deploy app" in with_output.json()["results"][0]["output"]
    assert api.get(RUNS_URL, {"state": "nonsense"}).status_code == 400
    assert api.get(RUNS_URL, {"output": "perhaps"}).status_code == 400


def test_a_truncated_output_says_so_with_or_without_the_output(runnable, api, kubectl, settings):
    settings.ROLLCALL_RUN_OUTPUT_LIMIT = 1000
    kubectl.mode("flood", 5000)
    run_id = api.post(_run_url(runnable.sql)).json()["id"]
    run_due_tasks()

    full = api.get(f"{RUNS_URL}{run_id}/").json()
    light = api.get(f"{RUNS_URL}{run_id}/", {"output": "false"}).json()

    assert (len(full["output"]), full["output_size"], full["output_truncated"]) == (1000, 5000, True)
    assert "output" not in light and (light["output_size"], light["output_truncated"]) == (5000, True)


def test_an_unknown_step_or_run_is_404(runnable, api):
    answers = [
        api.post("/api/steps/999999/run/"),
        api.get(f"{RUNS_URL}999999/"),
        api.post(_cancel_url(999999)),
        api.get(f"{RUNS_URL}{'9' * 30}/"),
    ]

    assert [answer.status_code for answer in answers] == [404] * 4


def test_a_session_start_or_cancel_needs_the_csrf_token(runnable, api, user):
    run_id = api.post(_run_url(runnable.sql)).json()["id"]
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(user)
    before = database_snapshot()

    refused = [
        browser.post(_run_url(runnable.bash), "{}", content_type="application/json"),
        browser.post(_cancel_url(run_id), "{}", content_type="application/json"),
    ]
    assert [response.status_code for response in refused] == [403, 403]
    assert all(response.json()["detail"].startswith("CSRF Failed") for response in refused)
    assert database_snapshot() == before

    browser.get("/")
    token = browser.cookies["csrftoken"].value
    started = browser.post(
        _run_url(runnable.bash), "{}", content_type="application/json", headers={"X-CSRFToken": token}
    )
    assert started.status_code == 202


def test_the_schema_documents_the_runs_endpoints(api):
    schema = yaml.safe_load(api.get("/api/schema/").content)

    assert {"/api/steps/{id}/run/", "/api/runs/", "/api/runs/{id}/", "/api/runs/{id}/cancel/"} <= set(schema["paths"])
    start = schema["paths"]["/api/steps/{id}/run/"]["post"]
    assert set(start["responses"]) == {"202", "400", "403", "404", "409"}
    assert "Location" in start["responses"]["202"]["headers"]
    assert set(schema["components"]["schemas"]["RunStartRequest"]["properties"]) == {"sha256"}
    assert {"state", "exit_code", "output", "shown_text", "text_sha256"} <= set(
        schema["components"]["schemas"]["Run"]["properties"]
    )


def _snapshot() -> dict:
    """database_snapshot, with the runs and the task queue's rows."""
    return {
        **database_snapshot(),
        "runs": list(Run.objects.order_by("pk").values_list()),
        "tasks": DBTaskResult.objects.count(),
    }


class RunsFuzzWorld:
    """The runs' world with a run that succeeded (customer-a's bash step, now done) and one queued (its SQL step), a
    token per role; each request in a savepoint rolled back after it."""

    def __init__(self, runnable, make_token, viewer):
        user = runnable.world.user
        self.clients = {"release manager": ApiClient(make_token(user)), "viewer": ApiClient(make_token(viewer))}
        self.clients["release manager"].post(_run_url(runnable.bash))
        run_due_tasks()
        self.clients["release manager"].post(_run_url(runnable.sql))
        self.shas = [step_text(step).sha256 for step in runnable.steps.all()[:4]]
        self.snapshot = _snapshot()

    def send(self, role: str, path: str, body):
        with transaction.atomic():
            response = self.clients[role].post(path, body)
            after = _snapshot()
            transaction.set_rollback(True)
        return response, after


@pytest.fixture
def runs_fuzz_world(runnable, make_token, viewer, settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "100000/min"}}
    return RunsFuzzWorld(runnable, make_token, viewer)


RUN_WRITES = {"step run": ("/api/steps/{id}/run/", "customer step"), "run cancel": (f"{RUNS_URL}{{id}}/cancel/", "run")}


def _fuzzed_request(world: RunsFuzzWorld, route: str, data) -> tuple[str, object]:
    path, kind = RUN_WRITES[route]
    ids = {"customer step": CustomerStep, "run": Run}[kind].objects.order_by("pk").values_list("pk", flat=True)
    pk = data.draw(st.one_of(st.sampled_from(list(ids)), st.sampled_from(NONEXISTENT_IDS)), label="id")
    real_sha = st.sampled_from(world.shas).map(lambda sha: ("json", {"sha256": sha}))
    shape, body = data.draw(st.one_of(bodies(["sha256"]), real_sha), label="body")
    return path.format(id=pk), json.dumps(resolve(body)) if shape == "json" else body


@pytest.mark.parametrize("route", sorted(RUN_WRITES))
@FUZZ
@given(data=st.data())
def test_a_fuzzed_start_or_cancel_never_fails_and_a_refusal_changes_nothing(runs_fuzz_world, route, data):
    path, body = _fuzzed_request(runs_fuzz_world, route, data)

    response, after = runs_fuzz_world.send("release manager", path, body)

    assert response.status_code < 500, response.content[:500]
    # An id that is no number matches no route: Django's own 404 page.
    assert response.status_code == 404 or response["Content-Type"] == "application/json"
    if response.status_code >= 400:
        assert after == runs_fuzz_world.snapshot


@pytest.mark.parametrize("route", sorted(RUN_WRITES))
@FUZZ
@given(data=st.data())
def test_a_viewer_token_starts_or_cancels_nothing_whatever_it_sends(runs_fuzz_world, route, data):
    path, body = _fuzzed_request(runs_fuzz_world, route, data)

    response, after = runs_fuzz_world.send("viewer", path, body)

    assert 400 <= response.status_code < 500
    assert after == runs_fuzz_world.snapshot


def test_the_readme_recipe_runs_a_step_polls_it_and_prints_its_output(live_server, runnable, make_token, settings):
    """The README's lines (section API), as written, with bash, curl and jq. The queue runs the task as soon as the
    start is committed (django-tasks' immediate backend: a live server's test has no worker beside it)."""
    settings.TASKS = {
        "default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend", "ENQUEUE_ON_COMMIT": True}
    }
    recipe = block_after("API", "a failed run fails the build:")
    assert shutil.which("curl") and shutil.which("jq"), "the recipe needs curl and jq"
    token = make_token(runnable.world.user)

    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", recipe],
        env={**os.environ, "ROLLCALL": live_server.url, "TOKEN": token, "STEP": str(runnable.bash.pk)},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr
    run = Run.objects.get()
    assert run.state == "succeeded" and run.exit_code == 0
    assert done.stdout.startswith(run.shown_text) and done.stdout.endswith(f"{run.output}\nexit code: 0\n")
    runnable.bash.refresh_from_db()
    assert runnable.bash.status == StepStatus.DONE
