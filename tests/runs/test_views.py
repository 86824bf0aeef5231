"""The run screens (issue 13, "Screens" and "Audit and safety"): the panel's Runs section, the confirmation, start,
the run's page polled while it runs, cancel, the output download, the matrix's marks, and every refusal."""

import pytest
from django.test import Client
from django.urls import reverse

from runs.choices import RunState
from runs.models import Run
from steps.rendering import step_text
from steps.services.execution import customer_step_mark_done
from tests.queue import run_due_tasks
from variables.services import variable_set

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client(client, runnable):
    client.force_login(runnable.world.user)
    return client


def _start(client, step) -> Run:
    response = client.post(reverse("runs:run_start", args=[step.pk]), {"sha256": step_text(step).sha256}, **HTMX)
    assert response.status_code == 200, response.content
    return Run.objects.get(step=step)


def test_every_run_route_is_404_while_execution_is_off(client, runnable, settings):
    settings.ROLLCALL_EXECUTION = False
    run = Run.objects.create(
        step=runnable.bash,
        started_by=runnable.world.user,
        cluster_name="c",
        context="c",
        namespace="n",
        shown_text="x",
        text_sha256="0" * 64,
        timeout_seconds=60,
    )
    for name, args, method in [
        ("runs:step_runs", [runnable.bash.pk], "get"),
        ("runs:run_confirm", [runnable.bash.pk], "get"),
        ("runs:run_start", [runnable.bash.pk], "post"),
        ("runs:run_detail", [run.pk], "get"),
        ("runs:run_cancel", [run.pk], "post"),
        ("runs:run_output", [run.pk], "get"),
    ]:
        assert getattr(client, method)(reverse(name, args=args)).status_code == 404, name
    panel = client.get(reverse("steps:step_detail", args=[runnable.bash.pk])).content.decode()
    assert "step-runs-" not in panel


def test_the_panel_loads_its_runs_section_with_run_for_who_may_run_steps(client, runnable, operator):
    panel = client.get(reverse("steps:step_detail", args=[runnable.bash.pk])).content.decode()
    assert reverse("runs:step_runs", args=[runnable.bash.pk]) in panel
    section = client.get(reverse("runs:step_runs", args=[runnable.bash.pk]), **HTMX).content.decode()
    assert "Run on prod-us…" in section and reverse("runs:run_confirm", args=[runnable.bash.pk]) in section
    other = Client()
    other.force_login(operator)
    assert "Run on" not in other.get(reverse("runs:step_runs", args=[runnable.bash.pk]), **HTMX).content.decode()


def test_the_confirmation_repeats_where_and_shows_the_exact_text_with_sensitive_values_masked(client, runnable):
    user, customer = runnable.world.user, runnable.world.customers["customer-a"]
    variable_set(owner=customer, key="token", value="very-secret-value", is_sensitive=True, user=user)
    step = runnable.bash
    step.content = "curl -H 'X: #{token}' https://example.test/#{namespace}"
    step.variable_names = "namespace token"
    step.save()
    response = client.get(reverse("runs:run_confirm", args=[step.pk]), **HTMX, HTTP_HX_TARGET="dialog")
    html = response.content.decode()
    assert response.status_code == 200
    for shown in ("customer-a", "prod-us", "cust-a-prod", "••••", step_text(step).sha256, "Run on prod-us"):
        assert shown in html
    assert "very-secret-value" not in html


def test_a_step_that_cant_run_says_why_in_the_confirmation(client, runnable, world, operator):
    done = runnable.steps.get(customer=world.customers["customer-b"], template=world.templates[0])
    customer_step_mark_done(step=done, user=world.user)
    response = client.get(reverse("runs:run_confirm", args=[done.pk]), **HTMX)
    assert response.status_code == 409 and "only a pending or reverted step can run" in response.content.decode()
    unresolved = runnable.steps.get(customer=world.customers["customer-d"], template=world.templates[1])
    response = client.get(reverse("runs:run_confirm", args=[unresolved.pk]), **HTMX)
    assert response.status_code == 409 and "no value for DB_NAME" in response.content.decode()
    other = Client()
    other.force_login(operator)
    assert other.get(reverse("runs:run_confirm", args=[runnable.bash.pk]), **HTMX).status_code == 403
    assert other.post(reverse("runs:run_start", args=[runnable.bash.pk]), {"sha256": "a" * 64}).status_code == 403
    assert not Run.objects.exists()


def test_start_streams_into_the_panel_and_the_poll_says_nothing_new_until_something_is(client, runnable):
    step = runnable.bash
    response = client.post(reverse("runs:run_start", args=[step.pk]), {"sha256": step_text(step).sha256}, **HTMX)
    html = response.content.decode()
    run = Run.objects.get(step=step)
    assert f'id="step-runs-{step.pk}"' in html and 'hx-swap-oob="true"' in html
    assert f'id="run-{run.pk}"' in html and 'hx-trigger="every 1s"' in html and "Queued" in html
    assert response["HX-Trigger"] == "runs:started"
    for poll in (reverse("runs:run_detail", args=[run.pk]), reverse("runs:step_runs", args=[step.pk])):
        nothing_new = client.get(poll, {"run": run.pk, "state": "queued", "seen": "0"}, **HTMX)
        assert nothing_new.status_code == 204 and nothing_new.content == b""
    run_due_tasks()
    finished = client.get(
        reverse("runs:step_runs", args=[step.pk]), {"run": run.pk, "state": "queued", "seen": "0"}, **HTMX
    ).content.decode()
    assert "Succeeded" in finished and "exit code 0" in finished and "Deploy app" in finished
    assert "hx-trigger" not in finished  # it ended: no more polling
    page = client.get(reverse("runs:run_detail", args=[run.pk]), {"state": "queued", "seen": "0"}, **HTMX)
    assert "✅ Succeeded" in page.content.decode()
    page = client.get(reverse("steps:step_detail", args=[step.pk])).content.decode()
    assert f"Run #{run.pk}" in page and "✅ Done" in page


def test_a_stale_or_damaged_confirmation_is_refused_and_nothing_runs(client, runnable):
    step = runnable.bash
    url = reverse("runs:run_start", args=[step.pk])
    assert client.post(url, {"sha256": "not-a-hash"}, **HTMX).status_code == 422
    stale = client.post(url, {"sha256": "0" * 64}, **HTMX)
    assert stale.status_code == 409 and "changed after it was shown" in stale.content.decode()
    assert not Run.objects.exists()


def test_start_and_cancel_need_the_csrf_token(runnable):
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(runnable.world.user)
    step = runnable.bash
    assert strict.post(reverse("runs:run_start", args=[step.pk]), {"sha256": step_text(step).sha256}).status_code == 403
    assert not Run.objects.exists()


def test_cancel_a_queued_run_from_its_page(client, runnable):
    run = _start(client, runnable.bash)
    response = client.post(reverse("runs:run_cancel", args=[run.pk]), **HTMX)
    assert response.status_code == 200 and "Cancelled" in response.content.decode()
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED
    again = client.post(reverse("runs:run_cancel", args=[run.pk]), **HTMX)
    assert again.status_code == 409 and "already ended" in again.content.decode()


def test_the_output_downloads_as_a_text_file(client, runnable):
    run = _start(client, runnable.bash)
    run_due_tasks()
    response = client.get(reverse("runs:run_output", args=[run.pk]))
    assert response["Content-Type"].startswith("text/plain")
    assert f'attachment; filename="run-{run.pk}-output.txt"' == response["Content-Disposition"]
    assert "Deploy app" in response.content.decode()


def test_the_matrix_marks_a_step_being_run_and_one_whose_last_run_failed(client, runnable, kubectl):
    matrix = reverse("steps:matrix", args=[runnable.world.release.pk])
    run = _start(client, runnable.sql)
    cell = f'id="cell-{runnable.sql.pk}"'
    html = client.get(matrix).content.decode()
    assert 'title="Running on its cluster"' in html[html.index(cell) : html.index(cell) + 400]
    kubectl.mode("fail")
    run_due_tasks()
    html = client.get(matrix).content.decode()
    assert 'title="Last run failed"' in html[html.index(cell) : html.index(cell) + 400]
    run.refresh_from_db()
    assert run.state == RunState.FAILED
