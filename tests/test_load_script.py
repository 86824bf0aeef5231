"""The load script (scripts/load_test.py): its percentiles, how it reads a step's status and version from the pages
Rollcall really renders, what a simulated operator does in each status, the databases it refuses, and one short run
end to end: gunicorn, three operators, a consistent history, zero errors."""

import importlib.util
import json
import os
import random
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.urls import reverse

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done, customer_step_skip

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "load_test.py"
_spec = importlib.util.spec_from_file_location("load_test", SCRIPT)
load_test = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load_test)
load_server = sys.modules["load_server"]  # its siblings, imported by it
load_report = sys.modules["load_report"]

PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "side-panel"}


class FixedRandom(random.Random):
    """A random source whose every draw is `value`, to choose a branch of the operator's behaviour."""

    def __init__(self, value: float):
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


@pytest.fixture
def operator_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser(username="op", password="rollcall-test-pw"))
    return client


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    return world


# --- percentiles ------------------------------------------------------------------------------------------------


def test_percentiles_interpolate_between_the_closest_ranks():
    values = [float(n) for n in range(1, 101)]

    assert load_report.percentile(values, 50) == pytest.approx(50.5)
    assert load_report.percentile(values, 95) == pytest.approx(95.05)
    assert load_report.percentile(values, 99) == pytest.approx(99.01)


def test_percentile_of_one_value_is_that_value_and_of_none_is_none():
    assert load_report.percentile([42.0], 99) == 42.0
    assert load_report.percentile([], 50) is None


# --- think time -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "bounds"),
    [("1-3", (1.0, 3.0)), ("0.5-1.5", (0.5, 1.5)), ("0", (0.0, 0.0)), ("2", (2.0, 2.0)), (" 1-1 ", (1.0, 1.0))],
)
def test_think_time_is_a_range_of_seconds_or_one_number(text, bounds):
    assert load_test.parse_think_time(text) == bounds


@pytest.mark.parametrize("text", ["", "fast", "3-1", "-1", "1-", "1-2-3"])
def test_think_time_refuses_what_is_not_a_range_of_seconds(text):
    with pytest.raises(ValueError, match="think time"):
        load_test.parse_think_time(text)


def test_the_command_line_defaults_to_one_to_three_seconds_and_refuses_a_bad_think_time(capsys):
    assert load_test.parse_think_time(load_test.DEFAULT_THINK_TIME) == (1.0, 3.0)
    with pytest.raises(SystemExit):
        load_test.main(["--think-time", "3-1"])
    assert "expected 0 <= MIN <= MAX" in capsys.readouterr().err


def test_an_operator_thinks_a_seeded_time_inside_the_range_and_not_at_all_in_a_tight_loop():
    pauses = [load_test.think_seconds((1.0, 3.0), random.Random(7)) for _ in range(3)]
    again = [load_test.think_seconds((1.0, 3.0), random.Random(7)) for _ in range(3)]

    assert pauses == again
    assert all(1.0 <= pause <= 3.0 for pause in pauses)
    assert load_test.think_seconds((0.0, 0.0), random.Random(7)) == 0.0


def test_the_think_time_is_described_as_the_report_prints_it():
    assert load_test.describe_think_time((1.0, 3.0)) == "think time 1-3 s"
    assert load_test.describe_think_time((2.0, 2.0)) == "think time 2 s"
    assert load_test.describe_think_time((0.0, 0.0)) == "no think time (tight loop)"


# --- targets ----------------------------------------------------------------------------------------------------


def test_with_think_time_the_targets_are_p99_under_250_ms_and_no_error():
    checks = load_report.targets(think_time=(1.0, 3.0), requests_per_second=20.0, p99_ms=180.0, errors=0)
    missed = load_report.targets(think_time=(1.0, 3.0), requests_per_second=20.0, p99_ms=250.0, errors=2)

    assert checks == [("p99 < 250 ms", True), ("0 errors", True)]
    assert missed == [("p99 < 250 ms", False), ("0 errors", False)]


def test_without_think_time_the_target_is_120_requests_per_second():
    assert load_report.targets(think_time=(0.0, 0.0), requests_per_second=121.0, p99_ms=900.0, errors=0) == [
        (">= 120 requests/s", True)
    ]
    assert load_report.targets(think_time=(0.0, 0.0), requests_per_second=58.0, p99_ms=None, errors=0) == [
        (">= 120 requests/s", False)
    ]


def test_pipelines_through_the_api_have_one_target_no_error():
    assert load_report.targets(think_time=(0.0, 0.0), requests_per_second=30.0, p99_ms=900.0, errors=0, api=True) == [
        ("0 errors (pipelines through the API; their p99 above)", True)
    ]
    assert (
        load_report.targets(think_time=(1.0, 3.0), requests_per_second=30.0, p99_ms=90.0, errors=1, api=True)[0][1]
        is False
    )


def test_the_target_lines_mark_each_target_met_or_not():
    class Browser:
        samples = [load_report.Sample("GET", "checklist", 200, seconds) for seconds in (0.1, 0.1, 0.3)]

    class Operator:
        browser = Browser()
        timed_from = 0

    lines = load_report.target_lines([Operator()], 1.0, 0, think_time=(1.0, 3.0))

    assert lines == ["target          ✗ p99 < 250 ms", "                ✓ 0 errors"]


# --- reading the pages ------------------------------------------------------------------------------------------


def test_checklist_parsing_reads_every_step_of_the_customer_page_with_status_and_version(active, operator_client):
    customer = active.customers["customer-a"]
    steps = list(CustomerStep.objects.filter(release=active.release, customer=customer).order_by("pk"))
    customer_step_mark_done(step=steps[0], user=active.user)
    customer_step_skip(step=steps[1], user=active.user, reason="not needed")

    response = operator_client.get(reverse("steps:customer_steps", args=[active.release.pk, customer.pk]))

    parsed = sorted(load_test.parse_checklist(response.content.decode()), key=lambda state: state.pk)
    assert parsed == [
        load_test.StepState(pk=step.pk, status=step.status, version=step.version)
        for step in CustomerStep.objects.filter(pk__in=[s.pk for s in steps]).order_by("pk")
    ]
    assert [state.status for state in parsed] == ["done", "skipped", "pending"]


def test_panel_parsing_reads_the_status_and_version_of_the_side_panel_and_of_an_action_answer(active, operator_client):
    step = CustomerStep.objects.filter(release=active.release).first()

    panel = operator_client.get(reverse("steps:step_detail", args=[step.pk]), **PANEL)
    answer = operator_client.post(reverse("steps:step_done", args=[step.pk]), {"version": step.version}, **PANEL)

    assert load_test.parse_panel(panel.content.decode(), step.pk) == load_test.StepState(step.pk, "pending", 1)
    assert answer.status_code == 200
    assert load_test.parse_panel(answer.content.decode(), step.pk) == load_test.StepState(step.pk, "done", 2)


def test_panel_parsing_finds_nothing_in_a_page_without_a_panel():
    assert load_test.parse_panel("<html><body>Log in to Rollcall</body></html>", 1) is None


# --- what an operator does --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "draw", "action"),
    [
        ("pending", 0.99, "done"),
        ("pending", 0.0, "skip"),
        ("reverted", 0.0, "done"),
        ("reverted", 0.99, "done"),
        ("skipped", 0.5, "reopen"),
        ("done", 0.0, "revert"),
        ("done", 0.99, None),
    ],
)
def test_an_operator_acts_as_the_status_allows(status, draw, action):
    assert load_test.choose_action(status, FixedRandom(draw)) == action


def test_an_operator_mostly_picks_a_step_that_is_not_done():
    steps = [load_test.StepState(1, "done", 2), load_test.StepState(2, "pending", 1)]

    assert load_test.choose_step(steps, FixedRandom(0.0)) == steps[1]


def test_an_api_answer_gives_the_step_found_the_step_acted_on_or_the_step_of_a_conflict():
    step = {"id": 7, "status": "pending", "version": 3, "name": "Run migration"}

    assert load_test.parse_api_step(json.dumps({"count": 1, "results": [step]})) == load_test.StepState(7, "pending", 3)
    assert load_test.parse_api_step(json.dumps({**step, "status": "done", "version": 4})) == load_test.StepState(
        7, "done", 4
    )
    assert load_test.parse_api_step(json.dumps({"detail": "Changed.", "state": step})) == load_test.StepState(
        7, "pending", 3
    )
    assert load_test.parse_api_step(json.dumps({"count": 0, "results": []})) is None
    assert load_test.parse_api_step("<html>not JSON</html>") is None


# --- where it may run -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "refusal"),
    [
        ("postgres://postgres@db.example.com:5432/rollcall_load", "only runs on 127.0.0.1"),
        ("postgres://postgres@127.0.0.1:5432/rollcall", "must contain 'load'"),
        ("sqlite:////var/lib/rollcall/rollcall.sqlite3", "must contain 'load'"),
        ("mysql://root@127.0.0.1/rollcall_load", "Unsupported database URL"),
    ],
)
def test_the_script_refuses_a_remote_database_or_one_it_could_not_safely_drop(url, refusal):
    with pytest.raises(SystemExit, match=refusal):
        load_test.parse_database_url(url)


# --- end to end -------------------------------------------------------------------------------------------------


def _end_to_end_database_url(tmp_path) -> str:
    """PostgreSQL when the suite runs on it (a database of its own on the same server), else an SQLite file."""
    suite_url = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if suite_url.scheme in {"postgres", "postgresql"}:
        return urllib.parse.urlunsplit(suite_url._replace(path=f"/rollcall_load_e2e_{os.getpid()}"))
    return f"sqlite:///{tmp_path / 'load.sqlite3'}"


def test_a_short_load_run_ends_with_no_error_and_a_history_that_explains_every_status(tmp_path):
    database_url = _end_to_end_database_url(tmp_path)
    arguments = ["--operators", "3", "--customers", "5", "--steps", "2", "--duration", "2", "--workers", "2"]
    arguments += ["--think-time", "0"]  # a tight loop: two seconds of a person's pace might see no action
    try:
        run = subprocess.run(
            [sys.executable, str(SCRIPT), "--database-url", database_url, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        load_server.drop_database(database_url)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"^logins\s+3/3 operators$", output, re.MULTILINE), output
    assert int(re.search(r"^actions\s+(\d+) done", output, re.MULTILINE).group(1)) > 0, output
    assert re.search(r"^errors\s+0$", output, re.MULTILINE), output
    assert re.search(r"^consistency\s+10 steps: 0 whose status differs", output, re.MULTILINE), output


def test_pipelines_find_steps_by_name_and_act_through_the_api_with_no_error(tmp_path):
    database_url = _end_to_end_database_url(tmp_path)
    arguments = ["--api", "--operators", "3", "--customers", "5", "--steps", "2", "--duration", "2", "--workers", "2"]
    arguments += ["--think-time", "0"]
    try:
        run = subprocess.run(
            [sys.executable, str(SCRIPT), "--database-url", database_url, *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        load_server.drop_database(database_url)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert int(re.search(r"^actions\s+(\d+) done", output, re.MULTILINE).group(1)) > 0, output
    assert re.search(r"^errors\s+0$", output, re.MULTILINE), output
    assert re.search(r"^latency \(all\)\s+p50 [\d.]+ ms\s+p95 [\d.]+ ms\s+p99 [\d.]+ ms", output, re.MULTILINE), output
    assert re.search(r"^consistency\s+10 steps: 0 whose status differs", output, re.MULTILINE), output
