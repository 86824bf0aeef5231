"""The poll-cost script (scripts/poll_cost.py): how it reads the poller's URL from the pages Rollcall really renders
and from an answer with changes, how it reads CPU time from /proc, and one short run end to end."""

import importlib.util
import os
import re
import subprocess
import sys
import urllib.parse
from pathlib import Path

import pytest
from django.urls import reverse

from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "poll_cost.py"
_spec = importlib.util.spec_from_file_location("poll_cost", SCRIPT)
poll_cost = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(poll_cost)
load_server = sys.modules["load_server"]


@pytest.fixture
def active(world):
    release_activate(release=world.release, user=world.user)
    return world


def test_the_poller_url_is_read_from_the_matrix_and_from_an_answer_with_changes(active, client, user_with_role):
    from accounts.permissions import OPERATOR

    client.force_login(active.user)
    matrix = reverse("steps:matrix", args=[active.release.pk])
    url = poll_cost.poller_url(client.get(matrix).content.decode())
    assert url.startswith(f"/releases/{active.release.pk}/changes/?since=")
    step = CustomerStep.objects.filter(release=active.release).order_by("pk").first()
    customer_step_mark_done(step=step, user=user_with_role("ana", OPERATOR))

    answer = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_CURRENT_URL=f"http://testserver{matrix}")

    next_url = poll_cost.poller_url(answer.content.decode())
    assert next_url.startswith(f"/releases/{active.release.pk}/changes/?since=") and "&seen=" in next_url
    assert "&amp;" not in next_url


def test_no_poller_url_in_a_page_without_one():
    assert poll_cost.poller_url("<main><p>Dashboard</p></main>") is None


def test_cpu_ticks_are_read_after_a_process_name_with_spaces_and_parentheses():
    stat = "4242 (gunicorn: worker (x) 1) S 4200 4242 4242 0 -1 4194560 900 0 0 0 125 31 7 2 20 0 1 0 100 0 0"

    assert poll_cost.cpu_ticks(stat) == (125 + 31, 7 + 2)


def test_this_process_has_spent_some_cpu_time():
    assert os.getpid() in poll_cost.process_tree(os.getpid())
    assert poll_cost.tree_cpu_seconds(os.getpid()) > 0


def test_percent_of_one_core_and_the_verdict():
    assert poll_cost.percent_of_core(1.5, 30) == pytest.approx(5.0)
    assert poll_cost.percent_of_core(1, 0) == 0.0
    assert poll_cost.verdict(4.9).startswith("within")
    assert poll_cost.verdict(5.0).startswith("OVER")


def _end_to_end_database_url(tmp_path) -> str:
    """PostgreSQL when the suite runs on it (a database of its own on the same server), else an SQLite file."""
    suite_url = urllib.parse.urlsplit(os.environ.get("DATABASE_URL", ""))
    if suite_url.scheme in {"postgres", "postgresql"}:
        return urllib.parse.urlunsplit(suite_url._replace(path=f"/rollcall_poll_load_e2e_{os.getpid()}"))
    return f"sqlite:///{tmp_path / 'poll-load.sqlite3'}"


def test_a_short_run_polls_and_reports_the_share_of_one_core(tmp_path):
    database_url = _end_to_end_database_url(tmp_path)
    arguments = ["--viewers", "3", "--customers", "5", "--steps", "2", "--duration", "3", "--changes", "1"]
    try:
        run = subprocess.run(
            [sys.executable, str(SCRIPT), "--database-url", database_url, "--workers", "2", *arguments],
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        load_server.drop_database(database_url)

    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert re.search(r"3 viewers polled every \d s for [\d.]+ s: \d+ polls", output), output
    assert "steps changed meanwhile: 1 of 1." in output, output
    assert re.search(r"gunicorn \(master \+ 2 workers\): [\d.]+ s CPU in [\d.]+ s = [\d.]+ % of one core", output)
