"""Running steps on their customer's cluster (issue 13), end to end through the task queue with the fake kubectl:
what runs, with what environment, and what becomes of the run and the step."""

import re
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from core.errors import DomainError
from customers.models import Customer
from history.choices import EventAction
from history.models import Event
from releases.services import release_add_customers
from runs import services
from runs.choices import RunState
from runs.models import Run
from runs.worker import DatabaseStore, runs_mark_lost
from steps.choices import RunMark, StepStatus
from steps.rendering import step_text
from steps.selectors import step_actions
from steps.services.bulk import REFUSED_BEING_RUN, customer_steps_bulk_transition
from steps.services.content import customer_step_override
from steps.services.execution import customer_step_mark_done, customer_steps_mark_all_done
from tests.factories import CustomerFactory
from tests.queue import run_due_tasks
from variables.models import MASK
from variables.services import variable_set

pytestmark = pytest.mark.django_db


def _run(step, user, **kwargs) -> Run:
    run = services.run_start(step=step, user=user, **kwargs)
    run_due_tasks()
    run.refresh_from_db()
    return run


def test_a_bash_step_runs_and_its_success_marks_the_step_done_for_who_started_it(runnable):
    step, user = runnable.bash, runnable.world.user
    expected = step_text(step)
    run = services.run_start(step=step, user=user, expected_sha256=expected.sha256)
    assert run.state == RunState.QUEUED
    step.refresh_from_db()
    assert step.run_mark == RunMark.RUNNING

    assert run_due_tasks() == 1
    run.refresh_from_db()
    step.refresh_from_db()
    assert run.state == RunState.SUCCEEDED and run.exit_code == 0
    assert "Deploy app" in run.output
    assert run.duration is not None and run.started_at >= run.queued_at
    assert run.text_sha256 == expected.sha256 and run.shown_text == expected.text
    assert step.status == StepStatus.DONE and step.executed_by == user and step.run_mark == RunMark.NONE
    assert step.notes == f"run #{run.pk}" and step.evidence_sha256 == expected.sha256
    done = Event.objects.get(customer_step=step, action=EventAction.STEP_DONE)
    assert done.after["run"] == run.pk and done.actor == user
    actions = list(Event.objects.filter(customer_step=step).order_by("id").values_list("action", flat=True))
    assert actions[-3:] == [EventAction.RUN_STARTED, EventAction.STEP_DONE, EventAction.RUN_FINISHED]


def test_a_bash_step_gets_a_clean_environment_and_its_customers_context(runnable, kubectl):
    step, user = runnable.bash, runnable.world.user
    customer_step_override(
        step=step, user=user, content='kubectl config current-context\nkubectl get pods -n "$NAMESPACE"\nenv | sort'
    )
    run = _run(step, user)
    assert run.state == RunState.SUCCEEDED
    assert run.command == ["bash", "--noprofile", "--norc", "step.sh"]
    env = dict(line.split("=", 1) for line in run.output.splitlines() if re.match(r"^[A-Za-z_][A-Za-z0-9_.-]*=", line))
    assert "DJANGO_SECRET_KEY" not in env and "DATABASE_URL" not in env and "ROLLCALL_ENCRYPTION_KEY" not in env
    assert env["NAMESPACE"] == "cust-a-prod" and env["CUSTOMER"] == "customer-a" and env["CLUSTER"] == "prod-us"
    assert env["KUBE_CONTEXT"] == "prod-us" and env["DB_NAME"] == "app"
    assert env["KUBECONFIG"].endswith(":/etc/rollcall/prod-us.kubeconfig")
    assert env["HOME"] == run_workdir(env) and env["PATH"] == f"{env['HOME']}/bin:/usr/local/bin:/usr/bin:/bin"
    # Every kubectl in the script talks to the customer's cluster's context without naming it.
    assert run.output.splitlines()[0] == "prod-us"
    calls = kubectl.calls()
    assert calls[1]["argv"] == ["get", "pods", "-n", "cust-a-prod"]
    assert "DJANGO_SECRET_KEY" not in calls[1]["env"]


def run_workdir(env) -> str:
    return env["KUBECONFIG"].split(":")[0].rsplit("/", 1)[0]


def test_a_sql_step_is_piped_to_psql_in_the_customers_database_pod_as_an_argument_list(runnable, kubectl):
    step, user = runnable.sql, runnable.world.user
    customer_step_override(step=step, user=user, content="UPDATE settings SET v = 2;\nSELECT 1;")
    run = _run(step, user)
    assert run.state == RunState.SUCCEEDED, run.output
    (call,) = kubectl.calls()
    step.refresh_from_db()
    assert call["argv"] == [
        *["--context", "prod-us", "-n", "cust-a-prod", "exec", "-i", "deploy/postgres", "--"],
        *["psql", "-X", "-v", "ON_ERROR_STOP=1", "-d", "app", "-U", "migrator"],
    ]
    assert call["stdin"] == step_text(step).text
    assert run.command[0] == str(kubectl.path) and run.command[1:] == ["--context", *call["argv"][1:]]
    assert "DJANGO_SECRET_KEY" not in call["env"] and "fake psql: 3 line(s) received" in run.output


def test_a_sql_step_without_its_database_variables_is_refused_like_an_unresolved_variable(runnable):
    step = runnable.steps.get(customer=runnable.world.customers["customer-d"], template=runnable.world.templates[1])
    with pytest.raises(services.RunRefused, match="no value for DB_NAME, DB_TARGET, DB_USER"):
        services.run_start(step=step, user=runnable.world.user)
    assert not Run.objects.exists()


def test_a_value_that_would_be_a_kubectl_option_is_refused(runnable):
    variable_set(
        owner=runnable.world.customers["customer-a"], key="DB_TARGET", value="--kubeconfig=/x", user=runnable.world.user
    )
    with pytest.raises(services.RunRefused, match="DB_TARGET for customer-a"):
        services.run_start(step=runnable.sql, user=runnable.world.user)


def test_a_failure_leaves_the_step_pending_with_a_last_run_failed_mark(runnable, kubectl):
    kubectl.mode("fail")
    step = runnable.sql
    run = _run(step, runnable.world.user)
    step.refresh_from_db()
    assert run.state == RunState.FAILED and run.exit_code == 3 and "told to fail" in run.output
    assert step.status == StepStatus.PENDING and step.run_mark == RunMark.FAILED
    finished = Event.objects.get(customer_step=step, action=EventAction.RUN_FINISHED)
    assert finished.after["state"] == "failed" and finished.after["exit_code"] == 3


def test_a_run_past_its_time_limit_is_stopped_and_timed_out(runnable, kubectl):
    kubectl.mode("hang")
    run = services.run_start(step=runnable.sql, user=runnable.world.user)
    Run.objects.filter(pk=run.pk).update(timeout_seconds=1)
    run_due_tasks()
    run.refresh_from_db()
    assert run.state == RunState.TIMED_OUT and "Stopped after 1 s" in run.reason and "waiting" in run.output
    runnable.sql.refresh_from_db()
    assert runnable.sql.run_mark == RunMark.FAILED


def test_a_running_run_can_be_cancelled_and_its_process_is_stopped(runnable, kubectl, monkeypatch):
    kubectl.mode("hang")
    user = runnable.world.user
    run = services.run_start(step=runnable.sql, user=user)
    asked = DatabaseStore.cancel_requested

    def cancel_while_it_runs(store, run_ids):
        # A person presses Cancel while the process runs (the worker asks about cancels every second).
        if Run.objects.get(pk=run.pk).state == RunState.RUNNING and "waiting" in Run.objects.get(pk=run.pk).output:
            services.run_cancel(run=run, user=user)
        return asked(store, run_ids)

    monkeypatch.setattr(DatabaseStore, "cancel_requested", cancel_while_it_runs)
    run_due_tasks()
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED and run.cancelled_by == user
    runnable.sql.refresh_from_db()
    assert runnable.sql.status == StepStatus.PENDING and runnable.sql.run_mark == RunMark.NONE
    assert Event.objects.filter(action=EventAction.RUN_CANCELLED, customer_step=runnable.sql).count() == 1


def test_a_queued_run_cancelled_never_starts(runnable, kubectl):
    run = services.run_start(step=runnable.bash, user=runnable.world.user)
    services.run_cancel(run=run, user=runnable.world.user)
    run_due_tasks()
    run.refresh_from_db()
    assert run.state == RunState.CANCELLED and run.started_at is None and kubectl.calls() == []
    with pytest.raises(services.RunRefused, match="already ended: cancelled"):
        services.run_cancel(run=run, user=runnable.world.user)


def test_only_the_last_part_of_a_long_output_is_kept(runnable, kubectl, settings):
    settings.ROLLCALL_RUN_OUTPUT_LIMIT = 1000
    kubectl.mode("flood", 250_050)
    run = _run(runnable.sql, runnable.world.user)
    assert run.state == RunState.SUCCEEDED
    assert len(run.output) == 1000 and run.output.endswith("y" * 50) and run.output_size == 250_050
    assert run.output_truncated


def test_sensitive_values_are_masked_in_what_is_kept_and_reach_only_the_step_that_uses_them(runnable):
    user, customer = runnable.world.user, runnable.world.customers["customer-a"]
    variable_set(owner=customer, key="api_token", value="s3cr3t-t0ken-value", is_sensitive=True, user=user)
    variable_set(owner=customer, key="other_secret", value="never-passed-along", is_sensitive=True, user=user)
    customer_step_override(step=runnable.bash, user=user, content='echo "token=#{api_token}"\nenv')
    run = _run(runnable.bash, user)
    assert run.state == RunState.SUCCEEDED
    assert f"token={MASK}" in run.output and f"api_token={MASK}" in run.output
    assert "s3cr3t" not in run.output and "s3cr3t" not in run.shown_text and MASK in run.shown_text
    assert "never-passed-along" not in run.output and "other_secret" not in run.output
    for event in Event.objects.filter(customer_step=runnable.bash):
        assert "s3cr3t" not in str(event.before) + str(event.after)


def test_the_text_is_checked_again_when_the_run_starts(runnable):
    user = runnable.world.user
    confirmed = step_text(runnable.bash).sha256
    customer_step_override(step=runnable.bash, user=user, content="echo changed")
    with pytest.raises(services.RunRefused, match="changed after it was shown"):
        services.run_start(step=runnable.bash, user=user, expected_sha256=confirmed)
    # And by the worker: a variable changed between the start and the worker's turn.
    customer_step_override(step=runnable.sql, user=user, content="SELECT '#{DB_NAME}';")
    run = services.run_start(step=runnable.sql, user=user)
    variable_set(owner=runnable.world.customers["customer-a"], key="DB_NAME", value="other", user=user)
    run_due_tasks()
    run.refresh_from_db()
    assert run.state == RunState.FAILED and "text changed after the run was started" in run.reason


@pytest.mark.parametrize("who", ["operator", "viewer"])
def test_only_who_may_run_steps_can_start_or_cancel_a_run(runnable, request, who):
    person = request.getfixturevalue(who)
    with pytest.raises(PermissionDenied, match="run steps on the clusters"):
        services.run_start(step=runnable.bash, user=person)
    run = services.run_start(step=runnable.bash, user=runnable.world.user)
    with pytest.raises(PermissionDenied):
        services.run_cancel(run=run, user=person)


def test_a_text_step_a_done_step_and_a_step_already_running_are_refused(runnable, world):
    user = world.user
    text_step = runnable.bash
    customer_step_override(step=text_step, user=user, content="Check the dashboard.")
    text_step.type = "text"
    text_step.save(update_fields=["type"])
    with pytest.raises(services.RunRefused, match="only bash and SQL steps can run"):
        services.run_start(step=text_step, user=user)
    done = runnable.steps.get(customer=world.customers["customer-b"], template=world.templates[0])
    customer_step_mark_done(step=done, user=user)
    with pytest.raises(services.RunRefused, match="is done: only a pending or reverted step can run"):
        services.run_start(step=done, user=user)
    run = services.run_start(step=runnable.sql, user=user)
    with pytest.raises(services.RunRefused, match=f"already queued \\(run #{run.pk}\\)"):
        services.run_start(step=runnable.sql, user=user)
    assert Run.objects.count() == 1


def test_a_run_whose_worker_died_is_found_lost_when_a_worker_starts(runnable, kubectl):
    run = services.run_start(step=runnable.sql, user=runnable.world.user)
    # The worker had taken it, then died: its heartbeat stopped a while ago.
    Run.objects.filter(pk=run.pk).update(state=RunState.RUNNING, heartbeat_at=timezone.now() - timedelta(minutes=5))
    fresh = services.run_start(step=runnable.bash, user=runnable.world.user)
    Run.objects.filter(pk=fresh.pk).update(state=RunState.RUNNING, heartbeat_at=timezone.now())
    assert runs_mark_lost() == [run.pk]
    run.refresh_from_db()
    runnable.sql.refresh_from_db()
    assert run.state == RunState.LOST and "not known" in run.reason
    assert runnable.sql.run_mark == RunMark.FAILED and runnable.sql.status == StepStatus.PENDING
    assert Run.objects.get(pk=fresh.pk).state == RunState.RUNNING


def test_a_batch_of_twenty_customers_runs_four_at_a_time(runnable, kubectl):
    world = runnable.world
    for number in range(15):
        CustomerFactory(cluster=world.clusters["prod-us"], name=f"extra-{number:02d}", namespace=f"extra-{number:02d}")
    extra = list(Customer.objects.filter(name__startswith="extra-"))
    release_add_customers(release=world.release, customers=extra, user=world.user)
    chosen = [
        *extra,
        *(world.customers[name] for name in ("customer-a", "customer-b", "customer-c", "customer-d", "customer-e")),
    ]
    assert len(chosen) == 20
    kubectl.mode("slow", 0.3)
    batch = services.batch_start(
        template=world.templates[1],
        customer_ids=[customer.pk for customer in chosen],
        user=world.user,
        concurrency=4,
        stop_on_failure=False,
    )
    # prod-eu's two customers have no database variables: not queued, and the batch says why.
    assert {item["customer"] for item in batch.refused} == {"customer-d", "customer-e"}
    assert batch.runs.count() == 18
    run_due_tasks()
    states = set(batch.runs.values_list("state", flat=True))
    assert states == {RunState.SUCCEEDED}
    at_once = [int(run.output.split("running at once: ")[1].split()[0]) for run in batch.runs.all()]
    assert max(at_once) == 4
    assert Event.objects.filter(action=EventAction.RUN_BATCH_STARTED, template_step=world.templates[1]).count() == 1


def test_a_batch_that_stops_at_the_first_failure_skips_the_rest(runnable, kubectl):
    world = runnable.world
    kubectl.mode("fail")
    customers = [world.customers[name] for name in ("customer-a", "customer-b", "customer-c")]
    batch = services.batch_start(
        template=world.templates[1],
        customer_ids=[customer.pk for customer in customers],
        user=world.user,
        concurrency=1,
        stop_on_failure=True,
    )
    run_due_tasks()
    states = list(batch.runs.order_by("id").values_list("state", flat=True))
    assert states == [RunState.FAILED, RunState.SKIPPED, RunState.SKIPPED]
    assert len(kubectl.calls()) == 1


def test_a_step_being_run_is_not_marked_done_by_hand_until_its_run_ends(runnable):
    user = runnable.world.user
    run = services.run_start(step=runnable.bash, user=user)
    runnable.bash.refresh_from_db()
    assert not step_actions(runnable.bash).mark_done and step_actions(runnable.bash).skip
    with pytest.raises(DomainError, match="is being run on its cluster"):
        customer_step_mark_done(step=runnable.bash, user=user)
    services.run_cancel(run=run, user=user)
    runnable.bash.refresh_from_db()
    assert customer_step_mark_done(step=runnable.bash, user=user).status == StepStatus.DONE


def test_bulk_mark_as_done_and_mark_all_leave_a_step_being_run_to_its_run(runnable):
    user, world = runnable.world.user, runnable.world
    services.run_start(step=runnable.bash, user=user)
    other = runnable.steps.get(customer=world.customers["customer-b"], template=world.templates[0])
    result = customer_steps_bulk_transition(
        release=world.release,
        steps_with_versions={runnable.bash.pk: None, other.pk: None},
        action="mark_done",
        user=user,
    )
    assert [step.pk for step in result.changed] == [other.pk]
    assert [(refusal.step.pk, refusal.reason) for refusal in result.refused] == [(runnable.bash.pk, REFUSED_BEING_RUN)]
    with pytest.raises(DomainError, match="are being run on their cluster: Deploy app"):
        customer_steps_mark_all_done(
            release=world.release, customer=world.customers["customer-a"], category="deploy", user=user
        )
    runnable.bash.refresh_from_db()
    assert runnable.bash.status == StepStatus.PENDING
