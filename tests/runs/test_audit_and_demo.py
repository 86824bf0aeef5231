"""Runs in the record (issue 13, "Audit and safety": every run, cancel and batch on the audit page and in its CSV),
the release's run time limit on its form, and the demo's one setting (ROLLCALL_EXECUTION=demo)."""

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.urls import reverse

from releases.forms import ReleaseForm
from runs import services
from runs.choices import RunState
from steps.models import CustomerStep
from tests.queue import run_due_tasks

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def test_every_run_cancel_and_batch_is_on_the_audit_page_and_in_its_csv(client, runnable):
    user, world = runnable.world.user, runnable.world
    client.force_login(user)
    run = services.run_start(step=runnable.bash, user=user)
    services.run_cancel(run=run, user=user)
    services.batch_start(
        template=world.templates[1],
        customer_ids=[world.customers["customer-a"].pk],
        user=user,
        concurrency=1,
        stop_on_failure=False,
    )
    run_due_tasks()
    page = client.get(
        reverse("audit:audit"), {"action": ["run.started", "run.finished", "run.cancelled", "run.batch_started"]}
    ).content.decode()
    for label in ("Run started", "Run cancelled", "Run for a cluster started", "Run finished", "Runs on the clusters"):
        assert label in page, label
    csv = b"".join(client.get(reverse("audit:audit_export")).streaming_content).decode()
    assert (
        csv.count("Run started") == 2
        and csv.count("Run finished") == 1  # the cancelled one never started
        and "Run cancelled" in csv
        and "Run for a cluster started" in csv
    )


def test_the_run_time_limit_is_on_the_release_form_only_while_execution_is_on(settings):
    settings.ROLLCALL_EXECUTION = False
    assert "run_timeout_minutes" not in ReleaseForm().fields
    settings.ROLLCALL_EXECUTION = True
    form = ReleaseForm({"name": "r", "type": "hotfix", "run_timeout_minutes": "0"})
    assert not form.is_valid() and "run_timeout_minutes" in form.errors


def test_the_demo_setting_turns_execution_on_with_the_demo_kubectl():
    code = "from django.conf import settings; print(settings.ROLLCALL_EXECUTION, settings.ROLLCALL_KUBECTL)"
    env = {**os.environ, "ROLLCALL_EXECUTION": "demo", "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    env.pop("ROLLCALL_KUBECTL", None)
    shown = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shown.stdout.split() == ["True", str(ROOT / "scripts" / "demo_kubectl")], shown.stderr
    off = subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={**env, "ROLLCALL_EXECUTION": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert off.stdout.split() == ["False"]


def test_the_demo_runs_its_steps_with_the_demo_kubectl(settings, tmp_path):
    settings.ROLLCALL_EXECUTION = True
    settings.ROLLCALL_KUBECTL = str(ROOT / "scripts" / "demo_kubectl")
    settings.ROLLCALL_RUN_DIR = str(tmp_path)
    call_command("seed_demo", stdout=io.StringIO())
    manager = get_user_model().objects.get(username="manager")
    steps = CustomerStep.objects.filter(release__name="v2.5.0", customer__name="customer-b")
    configmap = services.run_start(step=steps.get(name="Update ConfigMap"), user=manager)
    migration = services.run_start(step=steps.get(name="Verify row counts"), user=manager)
    run_due_tasks()
    configmap.refresh_from_db()
    migration.refresh_from_db()
    assert configmap.state == RunState.SUCCEEDED and 'deployment "app" successfully rolled out' in configmap.output
    assert migration.state == RunState.SUCCEEDED and "connected to deploy/postgres in cust-b-prod" in migration.output
