"""Production serving (issue 4, item 5): settings from environment variables pass `check --deploy`, gunicorn with
whitenoise serves pages and hashed static files behind TLS, /healthz checks the database, the image's entry point
migrates only when asked, and `manage.py backup_sqlite` copies a live SQLite database.

The production runs happen in subprocesses on an SQLite file of their own, whatever database the suite runs on."""

import http.client
import json
import logging
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connections

from dashboard.management.commands.backup_sqlite import NO_DIRECTORY, NOT_SQLITE, SAME_FILE

PROJECT_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
PUBLIC_HOST = "rollcall.example.com"
# What the TLS-terminating proxy adds to every request it forwards.
FROM_PROXY = {"X-Forwarded-Proto": "https"}
COMMAND_TIMEOUT = 30
STARTUP_TIMEOUT = 15


@pytest.fixture
def production_env(tmp_path):
    """The environment of a production run: settings from variables only, an SQLite file and STATIC_ROOT in tmp."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "ROLLCALL_")) and name != "DATABASE_URL"
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_SECURE="1",
        DJANGO_ALLOWED_HOSTS=PUBLIC_HOST,
        DJANGO_CSRF_TRUSTED_ORIGINS=f"https://{PUBLIC_HOST}",
        DJANGO_STATIC_ROOT=str(tmp_path / "static"),
        DATABASE_URL=f"sqlite:///{tmp_path / 'rollcall.sqlite3'}",
        ROLLCALL_DATA_DIR=str(tmp_path),
        PATH=f"{VENV_BIN}{os.pathsep}{os.environ['PATH']}",
    )
    return env


def run(env: dict, *command) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT, check=False
    )


def manage(env: dict, *args: str) -> subprocess.CompletedProcess:
    return run(env, sys.executable, "manage.py", *args)


def database_path(env: dict) -> Path:
    return Path(env["DATABASE_URL"].removeprefix("sqlite:///"))


def table_rows(path: Path) -> dict[str, list[tuple]]:
    """Every row of every table of an SQLite file, in a comparable order."""
    with closing(sqlite3.connect(path)) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return {table: sorted(db.execute(f'SELECT * FROM "{table}"'), key=repr) for table in tables}


# --- settings -----------------------------------------------------------------------------------------------------


def test_check_deploy_passes_with_the_production_environment(production_env):
    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_warns_when_not_served_over_https(production_env):
    del production_env["DJANGO_SECURE"]

    result = manage(production_env, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 1
    for warning in ["security.W004", "security.W008", "security.W012", "security.W016"]:
        assert warning in result.stderr


def test_production_refuses_to_serve_without_a_secret_key(production_env):
    del production_env["DJANGO_SECRET_KEY"]

    result = run(production_env, sys.executable, "-c", "import config.wsgi")

    assert result.returncode == 1
    assert "Set DJANGO_SECRET_KEY" in result.stderr


def test_offline_commands_need_no_secret_key(production_env):
    del production_env["DJANGO_SECRET_KEY"]

    result = manage(production_env, "makemigrations", "--check", "--dry-run")

    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_a_malformed_hsts_duration_is_named(production_env):
    production_env["DJANGO_SECURE_HSTS_SECONDS"] = "one year"

    result = manage(production_env, "check")

    assert result.returncode == 1
    assert "DJANGO_SECURE_HSTS_SECONDS must be a whole number, not 'one year'." in result.stderr


def test_without_django_secure_pages_work_over_plain_http(client, db):
    response = client.get("/login/")

    assert response.status_code == 200
    assert not response.cookies["csrftoken"]["secure"]
    assert "Strict-Transport-Security" not in response.headers


# --- /healthz -----------------------------------------------------------------------------------------------------


def test_healthz_answers_ok_without_login(client, db, django_assert_num_queries):
    with django_assert_num_queries(1):
        response = client.get("/healthz")

    assert response.status_code == 200
    assert response.content == b"ok"
    assert response["Content-Type"].startswith("text/plain")
    assert "no-store" in response["Cache-Control"]


def test_healthz_answers_503_when_the_database_is_unreachable(client, db, caplog):
    refused = OperationalError("connection to server at 127.0.0.1, port 5432 failed: Connection refused")

    with mock.patch.object(connections["default"], "cursor", side_effect=refused):
        response = client.get("/healthz")

    assert response.status_code == 503
    assert response.content == b"database unavailable"
    assert "no-store" in response["Cache-Control"]
    assert ("dashboard.views", logging.ERROR, "Health check failed: the database is unreachable.") in (
        caplog.record_tuples
    )


# --- gunicorn + whitenoise ----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Reply(NamedTuple):
    status: int
    headers: http.client.HTTPMessage
    body: bytes


def get(port: int, path: str, headers: dict | None = None, timeout: float = 5) -> Reply:
    """GET from the server with the public host name, as the proxy in front of it would; no redirect followed."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"Host": PUBLIC_HOST, **(headers or {})})
        response = connection.getresponse()
        return Reply(response.status, response.headers, response.read())
    finally:
        connection.close()


def wait_until_serving(server: subprocess.Popen, port: int) -> None:
    """Poll until gunicorn answers; fail at once if it exits, or after STARTUP_TIMEOUT seconds."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        try:
            get(port, "/healthz", timeout=1)
            return
        except OSError:
            try:
                server.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                continue
            pytest.fail(f"gunicorn exited with status {server.returncode}")
    pytest.fail(f"gunicorn did not answer within {STARTUP_TIMEOUT} s")


def test_gunicorn_with_whitenoise_serves_the_app_behind_tls(production_env, tmp_path):
    for step in [("migrate", "--no-input"), ("collectstatic", "--no-input")]:
        result = manage(production_env, *step)
        assert result.returncode == 0, result.stderr
    manifest = json.loads((tmp_path / "static" / "staticfiles.json").read_text())
    htmx = next(hashed for name, hashed in manifest["paths"].items() if name.startswith("vendor/htmx-"))
    port = free_port()
    command = ["gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    stdout_path = tmp_path / "gunicorn.stdout"
    with stdout_path.open("w") as stdout, (tmp_path / "gunicorn.stderr").open("w") as stderr:
        server = subprocess.Popen(
            [*command, "--access-logfile", "-"],
            cwd=PROJECT_DIR,
            env=production_env,
            stdout=stdout,
            stderr=stderr,
        )
    try:
        wait_until_serving(server, port)

        # The health probe calls the app directly, over plain HTTP: no redirect.
        health = get(port, "/healthz")
        assert (health.status, health.body) == (200, b"ok")
        # Any other plain-HTTP request is sent to HTTPS.
        plain = get(port, "/login/")
        assert plain.status == 301
        assert plain.headers["Location"] == f"https://{PUBLIC_HOST}/login/"

        login = get(port, "/login/", FROM_PROXY)
        assert login.status == 200
        assert b'name="username"' in login.body
        assert login.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
        assert login.headers["X-Frame-Options"] == "DENY"
        assert login.headers["X-Content-Type-Options"] == "nosniff"
        assert login.headers["Referrer-Policy"] == "same-origin"
        assert "; Secure" in login.headers["Set-Cookie"]

        static = get(port, f"/static/{htmx}", FROM_PROXY)
        assert static.status == 200
        assert b"htmx" in static.body
        assert "max-age=315360000" in static.headers["Cache-Control"]
        assert "immutable" in static.headers["Cache-Control"]

        assert get(port, "/no-such-page/", FROM_PROXY).status == 404
    finally:
        server.terminate()
        server.wait(timeout=COMMAND_TIMEOUT)

    log = stdout_path.read_text()
    assert '"GET /healthz HTTP/1.1" 200' in log
    assert "WARNING django.request: Not Found: /no-such-page/" in log


# --- the Docker image's entry point -------------------------------------------------------------------------------


def test_entry_point_migrates_only_when_rollcall_migrate_on_start_is_1(production_env):
    entry_point = PROJECT_DIR / "scripts" / "serve_production.sh"
    database = database_path(production_env)

    started = run(production_env, entry_point, "sh", "-c", "echo started")
    assert (started.returncode, started.stdout) == (0, "started\n")
    assert not database.exists()

    production_env["ROLLCALL_MIGRATE_ON_START"] = "1"
    started = run(production_env, entry_point, "sh", "-c", "echo started")
    assert started.returncode == 0, started.stderr
    assert started.stdout.endswith("started\n")
    assert "Applying releases.0001_initial... OK" in started.stdout
    assert len(table_rows(database)["django_migrations"]) > 1


# --- backup_sqlite ------------------------------------------------------------------------------------------------


def test_backup_sqlite_copies_every_committed_row_while_a_write_is_in_progress(production_env, tmp_path):
    result = manage(production_env, "migrate", "--no-input")
    assert result.returncode == 0, result.stderr
    source = database_path(production_env)
    committed = table_rows(source)
    backup = tmp_path / "backups" / "rollcall-backup.sqlite3"
    backup.parent.mkdir()

    # The app is writing (WAL mode, as the settings set it): the backup goes on and copies what is committed.
    with closing(sqlite3.connect(source, isolation_level=None)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO auth_group (name) VALUES ('not committed yet')")
        result = manage(production_env, "backup_sqlite", str(backup))
        writer.execute("ROLLBACK")

    assert result.returncode == 0, result.stderr
    assert result.stdout == f"Backed up {source} to {backup}.\n"
    assert table_rows(backup) == committed
    assert len(committed["django_migrations"]) > 1
    with closing(sqlite3.connect(backup)) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_backup_sqlite_refuses_to_overwrite_the_database_itself(production_env):
    source = database_path(production_env)

    result = manage(production_env, "backup_sqlite", str(source))

    assert result.returncode == 1
    assert SAME_FILE.format(path=source) in result.stderr


def test_backup_sqlite_refuses_a_missing_directory(tmp_path):
    target = tmp_path / "missing" / "backup.sqlite3"

    with pytest.raises(CommandError) as refusal:
        call_command("backup_sqlite", str(target))

    assert str(refusal.value) == NO_DIRECTORY.format(path=target, directory=target.parent)
    assert not target.parent.exists()


def test_backup_sqlite_refuses_postgresql_and_points_to_pg_dump(tmp_path, monkeypatch):
    monkeypatch.setattr(connections["default"], "vendor", "postgresql")
    target = tmp_path / "backup.sqlite3"

    with pytest.raises(CommandError) as refusal:
        call_command("backup_sqlite", str(target))

    assert str(refusal.value) == NOT_SQLITE
    assert "pg_dump" in NOT_SQLITE
    assert not target.exists()
