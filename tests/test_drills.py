"""The drills of issue 12 (scripts/drill_*.py) in small form, and the 503 a request that lost its database gets.

The fault drill needs PostgreSQL: it runs when the suite does (DATABASE_URL is PostgreSQL), in a database of its own
named *drill* and the process id, and only ends that database's connections (`pg_terminate_backend`): it never
restarts the server, which the suite's other workers use at the same time (`make drill` restarts it).
"""

import importlib.util
import os
import re
import sqlite3
import subprocess
import sys
import urllib.parse
from pathlib import Path

import psycopg
import pytest
from django.db.utils import OperationalError
from django.http import HttpResponse
from django.test import Client
from django.urls import path

from core.unavailable import connection_lost

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- a lost connection answers 503 with Retry-After -------------------------------------------------------------


def _lost() -> OperationalError:
    """What Django raises when PostgreSQL ended the connection (psycopg's error, wrapped)."""
    try:
        try:
            raise psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly")
        except psycopg.OperationalError as cause:
            raise OperationalError(*cause.args) from cause
    except OperationalError as wrapped:
        return wrapped


def view_losing_its_connection(request):
    raise _lost()


def view_with_a_bug(request):
    raise OperationalError("no such table: missing")


def api_view_losing_its_connection(request):
    raise _lost()


class LosesTheConnectionBeforeTheView:
    """A middleware in front of the view (as reading the session is) that loses the connection."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path == "/before/":
            raise _lost()
        return self.get_response(request)


urlpatterns = [
    path("lost/", view_losing_its_connection),
    path("bug/", view_with_a_bug),
    path("api/lost/", api_view_losing_its_connection),
    path("before/", lambda request: HttpResponse("not reached")),
]
handler500 = "core.unavailable.server_error"


@pytest.fixture
def lost_urls(settings, admin_user):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, f"{__name__}.LosesTheConnectionBeforeTheView"]
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    return client


def test_a_page_that_lost_its_database_connection_answers_503_with_retry_after(lost_urls):
    response = lost_urls.get("/lost/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again in a few seconds" in response.content.decode()


def test_the_api_gets_the_503_as_json(lost_urls):
    response = lost_urls.get("/api/lost/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "try again" in response.json()["detail"]


def test_a_connection_lost_in_a_middleware_before_the_view_answers_503_too(lost_urls):
    response = lost_urls.get("/before/")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"


def test_a_database_error_that_is_a_bug_stays_a_500(lost_urls):
    response = lost_urls.get("/bug/")
    assert response.status_code == 500
    assert not response.has_header("Retry-After")


def test_only_a_lost_or_unreachable_connection_counts_as_lost():
    assert connection_lost(_lost())
    assert connection_lost(OperationalError("database is locked"))
    assert not connection_lost(OperationalError("no such table: missing"))
    assert not connection_lost(ValueError("nope"))


# --- the fault drill -------------------------------------------------------------------------------------------


def _suite_postgres(name: str) -> str | None:
    """A database of this process's own on the suite's PostgreSQL server, when the suite runs on PostgreSQL."""
    suite_url = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if suite_url.scheme not in {"postgres", "postgresql"}:
        return None
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    return urllib.parse.urlunsplit(suite_url._replace(path=f"/rollcall_drill_{name}_{worker}_{os.getpid()}"))


def test_the_fault_drill_refuses_a_database_it_may_not_drop_or_not_on_postgresql(tmp_path):
    drill = _load("drill_fault")
    for url, refusal in [
        ("postgres://postgres@10.0.0.5/rollcall_drill", "only runs on 127.0.0.1"),
        ("postgres://postgres@127.0.0.1/rollcall", "must contain 'drill'"),
    ]:
        with pytest.raises(SystemExit, match=refusal):
            drill.main(["--database-url", url])
    with pytest.raises(SystemExit):
        drill.main(["--database-url", f"sqlite:///{tmp_path / 'drill.sqlite3'}"])


def _fault_drill_end_to_end():
    database_url = _suite_postgres("fault")
    arguments = ["--database-url", database_url, "--operators", "3", "--customers", "5", "--steps", "2"]
    arguments += ["--duration", "4", "--workers", "2", "--terminations", "2"]
    run = subprocess.run(
        [sys.executable, str(SCRIPTS / "drill_fault.py"), *arguments], capture_output=True, text=True, timeout=180
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert len(re.findall(r"^fault\s+terminate \(\d+ backends\)", output, re.MULTILINE)) == 2, output
    assert "restart PostgreSQL" not in output
    assert re.search(r"^failed\s+\d+ \(503 with Retry-After: \d+; errors: 0\)$", output, re.MULTILINE), output
    assert re.search(r"^actions lost\s+0 of [1-9]\d* answered as done$", output, re.MULTILINE), output
    assert re.search(r"^consistency\s+10 steps: 0 whose status differs$", output, re.MULTILINE), output


# The drill needs PostgreSQL: it is a test when the suite runs on PostgreSQL (CI runs the suite on both).
if _suite_postgres("fault"):
    test_the_fault_drill_ends_every_connection_twice_and_loses_nothing = _fault_drill_end_to_end


# --- the restore drill -----------------------------------------------------------------------------------------


def _run_restore_drill(database_url: str) -> str:
    run = subprocess.run(
        [sys.executable, str(SCRIPTS / "drill_restore.py"), "--database-url", database_url, "--actions", "60"],
        capture_output=True,
        text=True,
        timeout=180,
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    return output


def _assert_restored_as_it_was(output: str) -> None:
    built = re.search(r"^built in [\d.]+ s: done (\d+), skip (\d+), revert (\d+), reopen (\d+)", output, re.MULTILINE)
    assert built and sum(map(int, built.groups())) == 60, output
    events = re.search(r"^history_event\s+(\d+)\s+(\d+)$", output, re.MULTILINE)
    assert events and events.group(1) == events.group(2) and int(events.group(1)) >= 60, output
    assert re.search(r"^history chain \d+ steps, 0 unexplained before; \d+ steps, 0 unexplained after$", output, re.M)
    assert re.search(r"^differences\s+0$", output, re.MULTILINE), output
    assert re.search(r"^backup\s+[\d.]+ s", output, re.MULTILINE) and re.search(r"^restore\s+[\d.]+ s", output, re.M)


def test_the_restore_drill_on_sqlite_finds_every_row_and_the_history_chain_as_they_were(tmp_path):
    _assert_restored_as_it_was(_run_restore_drill(f"sqlite:///{tmp_path / 'rollcall_drill.sqlite3'}"))
    assert not (tmp_path / "rollcall_drill.sqlite3").exists()  # the drill cleans up after itself


def test_backup_sqlite_copies_a_database_in_use(tmp_path):
    drill = _load("drill_restore")
    source, copy = tmp_path / "source.sqlite3", tmp_path / "copy.sqlite3"
    with sqlite3.connect(source) as connection:
        connection.execute("CREATE TABLE t (n INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(n,) for n in range(100)])
    drill.backup_sqlite(source, copy)
    with sqlite3.connect(copy) as connection:
        assert connection.execute("SELECT COUNT(*), SUM(n) FROM t").fetchone() == (100, 4950)


def test_the_restore_drill_refuses_a_database_whose_name_does_not_say_it_is_disposable(tmp_path):
    drill = _load("drill_restore")
    with pytest.raises(SystemExit, match="must contain 'drill'"):
        drill.main(["--database-url", f"sqlite:///{tmp_path / 'rollcall.sqlite3'}"])
    with pytest.raises(SystemExit, match=r"only runs on 127\.0\.0\.1"):
        drill.main(["--database-url", "postgres://postgres@db.example.com/rollcall_drill"])


def _restore_drill_on_postgresql():
    _assert_restored_as_it_was(_run_restore_drill(_suite_postgres("restore")))


# pg_dump and pg_restore against the suite's server, when the suite runs on PostgreSQL.
if _suite_postgres("restore"):
    test_the_restore_drill_on_postgresql_finds_every_row_and_the_history_chain_as_they_were = (
        _restore_drill_on_postgresql
    )


# --- the worker crash drill ------------------------------------------------------------------------------------


def test_the_worker_crash_drill_delivers_every_event_after_a_kill_9(tmp_path):
    database_url = _suite_postgres("worker") or f"sqlite:///{tmp_path / 'rollcall_drill_worker.sqlite3'}"
    arguments = ["--database-url", database_url, "--deliveries", "30", "--batch", "5", "--lease", "1"]
    run = subprocess.run(
        [sys.executable, str(SCRIPTS / "drill_worker.py"), *arguments], capture_output=True, text=True, timeout=180
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"^killed the worker \(SIGKILL\) after (\d+) of 30 events", output, re.MULTILINE), output
    killed_after = int(re.search(r"after (\d+) of 30", output).group(1))
    assert 10 <= killed_after < 30, output  # killed mid-way, not before or after the work
    assert re.search(r"^received\s+\d+ requests, 30 distinct events, 0 missing$", output, re.MULTILINE), output
    assert re.search(r"^duplicates\s+[01] \(in flight at the kill: [01]; others: 0\)$", output, re.MULTILINE), output
    assert re.search(r"^delivered\s+all 30 recorded as delivered", output, re.MULTILINE), output
