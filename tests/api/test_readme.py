"""The README's curl recipe (section API) works: run as written, with bash, curl and jq, against a live server, it
finds customer-c's "Run migration SQL" by names and marks it done; the history says it came through the token."""

import os
import shutil
import subprocess

from api.services import api_token_create
from history.models import Event
from releases.services import release_activate
from steps.models import CustomerStep
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.readme import block_after


def _recipe() -> str:
    return block_after("API", "in the pipeline:")


def test_the_readme_recipe_marks_a_step_done_by_its_names(live_server, user):
    cluster = ClusterFactory(name="prod-us")
    CustomerFactory(cluster=cluster, name="customer-a", namespace="cust-a-prod")
    customer = CustomerFactory(cluster=cluster, name="customer-c", namespace="cust-c-prod")
    release = ReleaseFactory(name="v2.5.0", version_number="v2.5.0")
    StepTemplateFactory(release=release, name="Deploy app", category="deploy", order_index=0)
    StepTemplateFactory(release=release, name="Run migration SQL", category="deploy", type="sql", order_index=1)
    release_activate(release=release, user=user)
    _, token = api_token_create(user=user, name="jenkins")
    assert shutil.which("curl") and shutil.which("jq"), "the recipe needs curl and jq"

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _recipe()],
        env={**os.environ, "ROLLCALL": live_server.url, "TOKEN": token, "BUILD_NUMBER": "42"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    assert '"status":"done"' in run.stdout.replace(" ", "")
    step = CustomerStep.objects.get(customer=customer, name="Run migration SQL")
    assert (step.status, step.version, step.notes, step.executed_by) == ("done", 2, "Jenkins build 42", user)
    event = Event.objects.get(customer_step=step, action="step.done")
    assert event.actor_label == "rm via API token 'jenkins'"
    assert CustomerStep.objects.filter(status="done").count() == 1
