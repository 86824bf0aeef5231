"""A worker killed while it runs a step (issue 13: "a worker killed mid-run → lost"): the production worker
(`manage.py db_worker`) in its own process on a database of its own (an SQLite file, or a database on the suite's
PostgreSQL server when the suite runs there), killed with SIGKILL while the fake
kubectl hangs; the next worker to start ends the run as lost, marks the step "last run failed" and records it."""

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import psycopg
import pytest

from tests.runs.conftest import FakeKubectl, start_worker, worker_environment

ROOT = Path(__file__).resolve().parents[2]
SETUP = """
from django.contrib.auth.models import Group, User
from accounts.permissions import RELEASE_MANAGER
from clusters.services import cluster_create
from customers.services import customer_create
from releases.services import release_activate, release_create
from steps.services.templates import template_step_add
from runs.services import run_start
from steps.models import CustomerStep
from variables.services import variable_set
user = User.objects.create_user("rm", password="x")
user.groups.add(Group.objects.get(name=RELEASE_MANAGER))
cluster = cluster_create(user=user, name="prod-us", kubeconfig_path="/etc/rollcall/prod-us.kubeconfig")
customer_create(user=user, cluster=cluster, name="customer-a", namespace="cust-a")
for key, value in {"DB_TARGET": "deploy/postgres", "DB_NAME": "app", "DB_USER": "migrator"}.items():
    variable_set(owner=cluster, key=key, value=value, user=user)
release = release_create(user=user, name="hotfix", type="hotfix")
template_step_add(release=release, user=user, name="Migrate", category="deploy", type="sql", content="SELECT 1;")
release_activate(release=release, user=user)
print(run_start(step=CustomerStep.objects.get(), user=user).pk)
"""
STATE = """
import json
from history.models import Event
from runs.models import Run
run = Run.objects.select_related("step").get()
finished = Event.objects.filter(action="run.finished").values_list("after", flat=True).first()
print(json.dumps({"state": run.state, "output": run.output, "reason": run.reason, "mark": run.step.run_mark,
                  "status": run.step.status, "finished": finished}))
"""


def _manage(env, *arguments, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        **kwargs,
    )


def _run_row(database_url: str) -> tuple[str, str] | None:
    """The run's state and output, read straight from the database (a shell per poll would take seconds)."""
    query = "SELECT state, output FROM runs_run"
    if database_url.startswith("sqlite:///"):
        with contextlib.closing(sqlite3.connect(database_url.removeprefix("sqlite:///"))) as connection:
            return connection.execute(query).fetchone()
    with psycopg.connect(database_url) as connection:
        return connection.execute(query).fetchone()


def _state(env) -> dict:
    shell = _manage(env, "shell", "-c", STATE)
    assert shell.returncode == 0, shell.stderr
    return json.loads(shell.stdout.strip().splitlines()[-1])


@pytest.fixture
def database_url(tmp_path):
    """A database of the test's own, of the kind the suite runs on."""
    suite = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if suite.scheme not in {"postgres", "postgresql"}:
        yield f"sqlite:///{tmp_path / 'rollcall.sqlite3'}"
        return
    name = f"rollcall_runs_crash_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
    server = urllib.parse.urlunsplit(suite._replace(path="/postgres"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    yield urllib.parse.urlunsplit(suite._replace(path=f"/{name}"))
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_run_whose_worker_is_killed_is_ended_as_lost_by_the_next_worker(tmp_path, database_url):
    (tmp_path / "bin").mkdir()
    kubectl = FakeKubectl(tmp_path / "bin")
    kubectl.mode("hang")
    env = worker_environment(database_url=database_url, kubectl=str(kubectl.path), data_dir=tmp_path)
    assert _manage(env, "migrate", "-v", "0").returncode == 0
    setup = _manage(env, "shell", "-c", SETUP)
    assert setup.returncode == 0, setup.stderr
    worker = start_worker(env)
    try:
        deadline = time.monotonic() + 60
        while not (kubectl.calls() and _run_row(database_url)[1]):  # running, and its output reached the database
            assert worker.poll() is None and time.monotonic() < deadline, "the worker never ran the step"
            time.sleep(0.2)  # a poll of another process's progress, not a wait for a time to pass
        assert _run_row(database_url)[0] == "running"
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
        for call in kubectl.calls():  # the hung kubectl the killed worker left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(call["pid"], signal.SIGKILL)
    assert _run_row(database_url)[0] == "running"  # nobody knows yet

    restarted = _manage({**env, "ROLLCALL_RUN_LEASE_SECONDS": "0"}, "db_worker", "--batch", "--no-startup-delay")
    assert restarted.returncode == 0, restarted.stderr
    assert "Runs lost by a worker that stopped: #1." in restarted.stderr
    state = _state(env)
    assert state["state"] == "lost" and "not known" in state["reason"] and "waiting" in state["output"]
    assert state["mark"] == "failed" and state["status"] == "pending"
    assert state["finished"]["state"] == "lost"
