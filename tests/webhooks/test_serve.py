"""`make serve` runs the web server and the task queue's worker together (honcho and the Procfile), and the compose
file runs a worker beside the app."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(": ", 1) for line in lines if line.strip() and not line.startswith("#"))


def test_the_procfile_names_the_web_server_and_the_worker():
    processes = _procfile()
    assert set(processes) == {"web", "worker"}
    assert "manage.py runserver ${SERVE_ADDRESS:-127.0.0.1:8000}" in processes["web"]
    assert processes["worker"].startswith("python manage.py db_worker")


def test_make_serve_migrates_seeds_and_runs_the_procfile_with_honcho():
    makefile = (ROOT / "Makefile").read_text()
    serve = re.search(r"^serve:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE).group(1)
    commands = serve.splitlines()
    assert "manage.py migrate" in commands[0] and "manage.py seed_demo" in commands[1]
    assert "honcho start -f Procfile" in commands[2] and "SERVE_ADDRESS=$(HOST):$(PORT)" in commands[2]


def test_compose_runs_a_worker_with_the_apps_settings():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    worker, app = services["worker"], services["app"]
    assert worker["command"][:3] == ["python", "manage.py", "db_worker"]
    assert worker["environment"]["DATABASE_URL"] == app["environment"]["DATABASE_URL"]
    assert worker["environment"]["ROLLCALL_ENCRYPTION_KEY"] == app["environment"]["ROLLCALL_ENCRYPTION_KEY"]
    assert worker["depends_on"] == {"app": {"condition": "service_healthy"}}
