"""Variables in steps (issue 8): a step's content is a template rendered for its customer. The names it uses are
kept when it is saved; a broken `#{` is refused; an unresolved variable blocks Mark as Done, Mark All, Copy and
Download with the missing names; the panel shows the rendered text with sensitive values masked; Download gives it
after a header naming the target, in the release's optional kubectl guard; Mark as Done keeps its SHA-256."""

import hashlib
import os
import re
import stat
import subprocess

import pytest
from django.test import Client
from django.urls import reverse

from accounts.permissions import OPERATOR, VIEWER
from core import crypto
from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from releases.services import release_activate, release_clone, release_update
from steps.models import CustomerStep, StepTemplate
from steps.rendering import UNRESOLVED, step_text
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_reset_to_template,
    customer_step_skip,
    customer_steps_mark_all_done,
    template_step_add,
    template_step_update,
)
from steps.services.execution import MARK_ALL_BLOCKED
from variables.models import MASK
from variables.services import variable_set

pytestmark = pytest.mark.django_db

MIGRATE = "psql -h #{DB_HOST} -d #{namespace} -f migrate.sql  # ##{literal}\n"
SECRET = "s3cr3t-pa55w0rd"


@pytest.fixture
def release(world):
    """The world's release with a bash step that uses DB_HOST and the namespace, activated for every customer;
    DB_HOST is set for customer-a only."""
    template_step_add(
        release=world.release, user=world.user, name="Migrate", category="deploy", type="bash", content=MIGRATE
    )
    release_activate(release=world.release, user=world.user)
    variable_set(owner=world.customers["customer-a"], key="DB_HOST", value="db-a.internal", user=world.user)
    world.release.refresh_from_db()
    return world


def _migrate(world, customer: str) -> CustomerStep:
    return CustomerStep.objects.select_related("release", "customer__cluster").get(
        customer=world.customers[customer], name="Migrate"
    )


def _state() -> tuple:
    return (
        sorted(CustomerStep.all_objects.values_list("pk", "status", "version", "evidence_sha256", "content")),
        Event.objects.count(),
    )


# --- names kept on save, broken syntax refused ----------------------------------------------------------------------


def test_the_names_a_content_uses_are_kept_on_the_template_and_its_customer_steps(release):
    template = StepTemplate.objects.get(name="Migrate")

    assert template.variables == ("DB_HOST", "namespace")
    steps = CustomerStep.objects.filter(template=template)
    assert steps.count() == 6 and all(step.variables == ("DB_HOST", "namespace") for step in steps)


def test_a_template_edit_brings_its_names_to_the_steps_that_follow_it(release):
    template = StepTemplate.objects.get(name="Migrate")

    template_step_update(template_step=template, user=release.user, content="psql -h #{REPLICA_HOST} -c 'select 1'")

    assert _migrate(release, "customer-b").variables == ("REPLICA_HOST",)


def test_an_override_a_reset_and_a_custom_step_keep_their_own_names(release):
    step = _migrate(release, "customer-b")
    overridden = customer_step_override(step=step, user=release.user, content="echo #{REGION}")
    assert overridden.variables == ("REGION",)
    assert customer_step_reset_to_template(step=overridden, user=release.user).variables == ("DB_HOST", "namespace")
    custom = customer_step_add_custom(
        release=release.release,
        customer=release.customers["customer-b"],
        user=release.user,
        name="Warm cache",
        category="deploy",
        type="bash",
        content="curl https://#{namespace}.#{DOMAIN}/warm",
    )
    assert custom.variables == ("DOMAIN", "namespace")


@pytest.mark.parametrize("content", ["echo #{DB_HOST", "echo #{}", "echo #{1abc}", "echo #{a b}"])
def test_a_broken_reference_is_refused_next_to_the_content_and_nothing_changes(release, content):
    before = _state(), StepTemplate.objects.count()

    for attempt in (
        lambda: template_step_add(
            release=release.release, user=release.user, name="X", category="deploy", type="bash", content=content
        ),
        lambda: customer_step_override(step=_migrate(release, "customer-b"), user=release.user, content=content),
        lambda: template_step_update(
            template_step=StepTemplate.objects.get(name="Migrate"), user=release.user, content=content
        ),
    ):
        with pytest.raises(DomainError) as refused:
            attempt()
        assert refused.value.field == "content"
        assert "line 1" in refused.value.message and "##{" in refused.value.message

    assert (_state(), StepTemplate.objects.count()) == before


# --- blocked: Mark as Done, Mark All; Skip still works; setting the value unblocks ---------------------------------


def test_an_unresolved_variable_blocks_mark_as_done_with_its_name_and_changes_nothing(release):
    step = _migrate(release, "customer-b")
    before = _state()

    with pytest.raises(DomainError) as refused:
        customer_step_mark_done(step=step, user=release.user)

    assert refused.value.message == UNRESOLVED.format(
        step="Migrate", customer="customer-b", verb="marked as done", names="DB_HOST"
    )
    assert _state() == before


def test_setting_the_value_unblocks_the_step_at_once(release):
    customer = release.customers["customer-b"]
    variable_set(owner=customer.cluster, key="DB_HOST", value="db.prod-us.internal", user=release.user)

    done = customer_step_mark_done(step=_migrate(release, "customer-b"), user=release.user)

    assert done.status == "done"
    assert done.evidence_sha256 == hashlib.sha256(step_text(_migrate(release, "customer-b")).text.encode()).hexdigest()


def test_a_blocked_step_can_still_be_skipped(release):
    skipped = customer_step_skip(step=_migrate(release, "customer-b"), user=release.user, reason="no database here")

    assert skipped.status == "skipped"


def test_mark_all_is_refused_while_one_of_the_steps_is_blocked(release):
    before = _state()

    with pytest.raises(DomainError) as refused:
        customer_steps_mark_all_done(
            release=release.release, customer=release.customers["customer-b"], category="deploy", user=release.user
        )

    assert refused.value.message == MARK_ALL_BLOCKED.format(customer="customer-b", steps="Migrate (DB_HOST)")
    assert _state() == before


def test_mark_all_keeps_the_evidence_of_each_step(release):
    customer_steps_mark_all_done(
        release=release.release, customer=release.customers["customer-a"], category="deploy", user=release.user
    )

    for step in CustomerStep.objects.filter(customer=release.customers["customer-a"], category="deploy"):
        step = CustomerStep.objects.select_related("release", "customer__cluster").get(pk=step.pk)
        assert step.evidence_sha256 == hashlib.sha256(step_text(step).text.encode()).hexdigest()
        event = Event.objects.filter(customer_step=step, action=EventAction.STEP_DONE).get()
        assert event.after["evidence_sha256"] == step.evidence_sha256


# --- rendering: precedence, built-ins, header ----------------------------------------------------------------------


def test_values_come_from_the_customer_then_its_cluster_then_the_release_then_the_built_ins(release):
    customer = release.customers["customer-c"]
    step = customer_step_override(
        step=_migrate(release, "customer-c"),
        user=release.user,
        content="#{customer} #{namespace} #{cluster} #{release} #{version} #{TIER} #{REGION} #{SIZE}",
    )
    variable_set(owner=release.release, key="TIER", value="release-tier", user=release.user)
    variable_set(owner=release.release, key="REGION", value="release-region", user=release.user)
    variable_set(owner=release.release, key="SIZE", value="release-size", user=release.user)
    variable_set(owner=customer.cluster, key="REGION", value="us-east-1", user=release.user)
    variable_set(owner=customer.cluster, key="SIZE", value="cluster-size", user=release.user)
    variable_set(owner=customer, key="SIZE", value="xl", user=release.user)

    text = step_text(CustomerStep.objects.select_related("release", "customer__cluster").get(pk=step.pk)).text

    assert text == (
        "# Rollcall: v2.5.0 · Migrate · customer-c · prod-us/cust-c-prod\n"
        "customer-c cust-c-prod prod-us v2.5.0 v2.5.0 release-tier us-east-1 xl\n"
    )


# --- the screens -----------------------------------------------------------------------------------------------------


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


PANEL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "side-panel"}


def test_the_panel_shows_the_text_rendered_for_the_customer_and_the_raw_template(client, release):
    step = _migrate(release, "customer-a")

    html = client.get(reverse("steps:step_detail", args=[step.pk]), **PANEL).content.decode()

    assert '<span class="g g-Substituted">db-a.internal</span>' in html
    assert '<span class="g g-Substituted">cust-a-prod</span>' in html
    assert "Template (raw)" in html and "#{DB_HOST}" in html
    assert "Unresolved" not in html


def test_a_blocked_step_says_what_is_missing_and_disables_its_buttons(client, release):
    step = _migrate(release, "customer-b")

    html = client.get(reverse("steps:step_detail", args=[step.pk]), **PANEL).content.decode()

    assert "⛔ Unresolved: DB_HOST" in html
    assert 'disabled title="Unresolved: DB_HOST">Mark as Done</button>' in html
    assert 'disabled title="Unresolved: DB_HOST">📋 Copy</button>' in html
    assert 'disabled title="Unresolved: DB_HOST">⬇️ Download</button>' in html
    assert reverse("steps:step_download", args=[step.pk]) not in html


def test_a_blocked_step_refuses_mark_as_done_and_download_on_the_server(client, release):
    step = _migrate(release, "customer-b")
    before = _state()

    done = client.post(reverse("steps:step_done", args=[step.pk]), {"version": step.version}, **PANEL)
    download = client.get(reverse("steps:step_download", args=[step.pk]))

    assert done.status_code == 422 and "no value for DB_HOST" in done.content.decode()
    assert download.status_code == 409 and "no value for DB_HOST" in download.content.decode()
    assert "Content-Disposition" not in download
    assert _state() == before


def test_the_evidence_is_the_sha256_of_what_download_served(client, release):
    step = _migrate(release, "customer-a")
    served = client.get(reverse("steps:step_download", args=[step.pk])).content

    client.post(reverse("steps:step_done", args=[step.pk]), {"version": step.version}, **PANEL)

    step.refresh_from_db()
    assert served.startswith(b"# Rollcall: v2.5.0 \xc2\xb7 Migrate \xc2\xb7 customer-a \xc2\xb7 prod-us/cust-a-prod\n")
    assert b"#{" not in served.replace(b"#{literal}", b"")
    assert step.evidence_sha256 == hashlib.sha256(served).hexdigest()


def _cell(html: str, step) -> str:
    """A matrix cell's button, from its opening tag to its end."""
    match = re.search(rf'<button[^>]*\bid="cell-{step.pk}".*?</button>', html, flags=re.DOTALL)
    assert match, f"no cell for step {step.pk}"
    return match.group(0)


def test_the_matrix_marks_blocked_cells_and_filters_them(client, release):
    blocked, ready = _migrate(release, "customer-b"), _migrate(release, "customer-a")
    other_row = CustomerStep.objects.get(customer=release.customers["customer-b"], name="Deploy app")
    url = reverse("steps:matrix", args=[release.release.pk])

    html = client.get(url).content.decode()
    filtered = client.get(url, {"status": "blocked"}).content.decode()

    assert 'class="status-pending blocked"' in _cell(html, blocked)
    assert 'title="Unresolved: DB_HOST">⛔' in _cell(html, blocked)
    assert "blocked" not in _cell(html, ready) and "blocked" not in _cell(html, other_row)
    # Filtered: the row of a blocked cell stays, its other cells dimmed; rows without one go.
    assert 'class="status-pending blocked"' in _cell(filtered, blocked)
    assert 'class="status-pending dimmed"' in _cell(filtered, ready)
    assert f'id="cell-{other_row.pk}"' not in filtered


def test_the_checklist_names_what_is_missing_and_disables_mark_all(client, release):
    url = reverse("steps:customer_steps", args=[release.release.pk, release.customers["customer-b"].pk])

    html = client.get(url).content.decode()

    assert "⛔ Unresolved: DB_HOST" in html
    assert 'disabled title="Blocked by unresolved variables: Migrate">Mark All</button>' in html


# --- sensitive values ---------------------------------------------------------------------------------------------


@pytest.fixture
def secret(release, monkeypatch):
    """customer-a's step uses a sensitive DB_PASSWORD."""
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    variable_set(
        owner=release.customers["customer-a"], key="DB_PASSWORD", value=SECRET, is_sensitive=True, user=release.user
    )
    step = customer_step_override(
        step=_migrate(release, "customer-a"), user=release.user, content="PGPASSWORD=#{DB_PASSWORD} " + MIGRATE
    )
    return step


def test_a_sensitive_value_is_masked_in_the_panel_and_in_clear_only_in_the_download(client, release, secret):
    html = client.get(reverse("steps:step_detail", args=[secret.pk]), **PANEL).content.decode()
    served = client.get(reverse("steps:step_download", args=[secret.pk])).content.decode()

    assert SECRET not in html and f'<span class="g g-Substituted">{MASK}</span>' in html
    assert f"PGPASSWORD={SECRET} " in served
    for event in Event.objects.all():
        assert SECRET not in str(event.before) + str(event.after)


def test_only_those_who_carry_steps_out_get_a_sensitive_value(release, secret, user_with_role):
    viewer, operator = Client(), Client()
    viewer.force_login(user_with_role("vera", VIEWER))
    operator.force_login(user_with_role("otto", OPERATOR))
    url = reverse("steps:step_download", args=[secret.pk])
    plain = reverse("steps:step_download", args=[_migrate(release, "customer-c").pk])

    assert viewer.get(url).status_code == 403
    assert operator.get(url).status_code == 200 and SECRET in operator.get(url).content.decode()
    # A viewer still downloads a step that holds no secret (customer-c's misses DB_HOST: refused for that reason).
    assert viewer.get(plain).status_code == 409


# --- the kubectl context guard --------------------------------------------------------------------------------------


def _run_with_kubectl_context(tmp_path, script: str, context: str) -> subprocess.CompletedProcess:
    """Run a downloaded script with bash, a fake `kubectl config current-context` answering `context` and a fake
    `psql` that says it ran."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    for name, body in (("kubectl", f"echo '{context}'"), ("psql", "echo PSQL RAN")):
        tool = bin_dir / name
        tool.write_text(f"#!/bin/sh\n{body}\n")
        tool.chmod(tool.stat().st_mode | stat.S_IEXEC)
    path = tmp_path / "step.sh"
    path.write_text(script)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    return subprocess.run(["bash", str(path)], capture_output=True, text=True, env=env, timeout=10, check=False)


def test_the_context_guard_stops_a_bash_step_in_the_wrong_kubectl_context(client, release, tmp_path):
    release_update(release=release.release, user=release.user, context_guard=True)
    step = _migrate(release, "customer-a")
    script = client.get(reverse("steps:step_download", args=[step.pk])).content.decode()

    wrong = _run_with_kubectl_context(tmp_path, script, "prod-eu")
    right = _run_with_kubectl_context(tmp_path, script, "prod-us")

    assert script.startswith("# Rollcall: v2.5.0 · Migrate · customer-a · prod-us/cust-a-prod\nif [ ")
    assert wrong.returncode != 0 and "PSQL RAN" not in wrong.stdout
    assert "kubectl context is prod-eu, not prod-us" in wrong.stderr
    assert right.returncode == 0 and "PSQL RAN" in right.stdout


def test_the_guard_takes_the_kube_context_variable_and_leaves_sql_steps_alone(client, release, tmp_path):
    release_update(release=release.release, user=release.user, context_guard=True)
    variable_set(owner=release.clusters["prod-us"], key="kube_context", value="admin@prod-us", user=release.user)
    bash = client.get(reverse("steps:step_download", args=[_migrate(release, "customer-a").pk])).content.decode()
    sql_step = CustomerStep.objects.get(customer=release.customers["customer-a"], name="Run migration")
    sql = client.get(reverse("steps:step_download", args=[sql_step.pk])).content.decode()

    assert _run_with_kubectl_context(tmp_path, bash, "admin@prod-us").returncode == 0
    assert _run_with_kubectl_context(tmp_path, bash, "prod-us").returncode != 0
    assert sql.startswith("-- Rollcall: ") and "kubectl" not in sql


def test_clone_keeps_the_names_its_template_steps_use(release):
    clone = release_clone(release=release.release, user=release.user, name="v2.6.0", version_number="v2.6.0")

    assert StepTemplate.objects.get(release=clone, name="Migrate").variables == ("DB_HOST", "namespace")
