"""Run for a cluster (issue 13, "Screens"): the button on one template step across customers, the form (customers of
the cluster, how many at a time, stop at the first failure), the batch's page with its runs polled until they end and
its summary, and Cancel the batch; every refusal."""

import re
from html import unescape

import pytest
from django.test import Client
from django.urls import reverse

from history.choices import EventAction
from history.models import Event
from releases.services import release_archive
from runs import services
from runs.choices import RunState
from runs.models import Run, RunBatch
from runs.services_batch import NOTHING_TO_CANCEL, batch_fingerprint
from steps.models import StepTemplate
from steps.services.execution import customer_step_mark_done
from tests.queue import run_due_tasks

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}
POLL = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "batch-runs"}


@pytest.fixture
def client(client, runnable):
    client.force_login(runnable.world.user)
    return client


def _cluster(runnable, name):
    return runnable.world.clusters[name]


def _form_url(template, cluster) -> str:
    return reverse("runs:batch_start", args=[template.pk, cluster.pk])


def _status_page(client, template) -> str:
    response = client.get(reverse("steps:template_step_status", args=[template.pk]))
    assert response.status_code == 200
    return response.content.decode()


def _start(client, runnable, template, cluster_name, **data) -> RunBatch:
    cluster = _cluster(runnable, cluster_name)
    customers = [customer.pk for customer in runnable.world.customers.values() if customer.cluster_id == cluster.pk]
    response = client.post(
        _form_url(template, cluster),
        {"customers": customers, "concurrency": 4, "stop_on_failure": "on", **data},
        **HTMX,
    )
    batch = RunBatch.objects.get()
    assert response.status_code == 200 and response["HX-Redirect"] == reverse("runs:batch_detail", args=[batch.pk])
    return batch


def _html(response) -> str:
    return re.sub(r"\s+", " ", unescape(response.content.decode()))


def _text(response) -> str:
    """What the page says, its tags left out."""
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]*>", " ", response.content.decode()))).strip()


def test_run_for_a_cluster_is_offered_on_a_bash_or_sql_step_for_each_cluster(client, runnable):
    world = runnable.world
    for template in world.templates[:2]:
        page = _status_page(client, template)
        for cluster in world.clusters.values():
            assert f'href="{_form_url(template, cluster)}"' in page
            assert f"Run for cluster {cluster.name}…" in page
        assert "js/runs-batch.js" in page


def test_execution_off_offers_no_button_and_every_batch_route_is_404(client, runnable, settings):
    settings.ROLLCALL_EXECUTION = False
    template, prod_us = runnable.world.templates[1], _cluster(runnable, "prod-us")
    batch = RunBatch.objects.create(
        release=runnable.world.release,
        template=template,
        started_by=runnable.world.user,
        concurrency=1,
        stop_on_failure=True,
    )
    assert "Run for cluster" not in _status_page(client, template)
    for url, method in [
        (_form_url(template, prod_us), "get"),
        (_form_url(template, prod_us), "post"),
        (reverse("runs:batch_detail", args=[batch.pk]), "get"),
        (reverse("runs:batch_cancel", args=[batch.pk]), "post"),
    ]:
        assert getattr(client, method)(url).status_code == 404, url


def test_an_operator_sees_no_button_and_is_refused_403(client, runnable, operator):
    template, prod_us = runnable.world.templates[1], _cluster(runnable, "prod-us")
    client.force_login(operator)
    assert "Run for cluster" not in _status_page(client, template)
    assert client.get(_form_url(template, prod_us)).status_code == 403
    response = client.post(
        _form_url(template, prod_us),
        {"customers": [runnable.world.customers["customer-a"].pk], "concurrency": 4, "stop_on_failure": "on"},
    )
    assert response.status_code == 403
    assert not RunBatch.objects.exists() and not Run.objects.exists()


def test_a_text_step_offers_no_button_and_its_form_says_why(client, runnable):
    template = runnable.world.templates[2]
    StepTemplate.objects.filter(pk=template.pk).update(type="text")
    template.refresh_from_db()
    assert "Run for cluster" not in _status_page(client, template)
    response = client.get(_form_url(template, _cluster(runnable, "prod-us")), **HTMX)
    assert response.status_code == 409
    assert "only bash and SQL steps can run" in _text(response)


def test_the_form_checks_the_customers_still_to_do_and_shows_done_ones_with_why(client, runnable):
    world = runnable.world
    template = world.templates[0]
    done = runnable.steps.get(customer=world.customers["customer-b"], template=template)
    customer_step_mark_done(step=done, user=world.user)
    response = client.get(_form_url(template, _cluster(runnable, "prod-us")), **HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("customer-a", "customer-c"):
        assert f'name="customers" value="{world.customers[name].pk}" checked' in html
    assert f'value="{world.customers["customer-b"].pk}"' not in html
    text = _text(response)
    assert "customer-b" in text and "Done on" in text and "by rm: nothing to run." in text
    assert "Deploy app runs for 2 customers of prod-us, at most 4 at a time." in text
    assert "kubectl context prod-us" in text
    assert 'name="stop_on_failure"' in html and re.search(r'name="stop_on_failure"[^>]*checked', html)
    assert "customer-d" not in text  # another cluster's


def test_the_form_warns_of_customers_whose_variables_are_missing(client, runnable):
    response = client.get(_form_url(runnable.world.templates[1], _cluster(runnable, "prod-eu")), **HTMX)
    text = _text(response)
    assert "⛔ Unresolved: DB_TARGET, DB_NAME, DB_USER: it will be refused." in text


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"concurrency": 0}, "concurrency", services.BAD_CONCURRENCY),
        ({"concurrency": 21}, "concurrency", services.BAD_CONCURRENCY),
        ({"concurrency": "four"}, "concurrency", "Enter a whole number."),
        ({"customers": []}, "customers", services.NO_CUSTOMERS),
    ],
)
def test_a_bad_form_is_refused_422_with_the_message_by_its_field_and_nothing_created(
    client, runnable, data, field, message
):
    world = runnable.world
    prod_us = _cluster(runnable, "prod-us")
    posted = {"customers": [world.customers["customer-a"].pk], "concurrency": 4, "stop_on_failure": "on", **data}
    response = client.post(_form_url(world.templates[1], prod_us), posted, **HTMX)
    assert response.status_code == 422
    assert message in _text(response)
    text = _html(response)
    # Next to its field: inside the customers' fieldset, or the concurrency field's box.
    if field == "customers":
        assert re.search(r'batch-customers has-error.*?role="alert">' + re.escape(message), text)
    else:
        assert re.search(r'field has-error">\s*<label for="id_concurrency".*?role="alert">' + re.escape(message), text)
    assert not RunBatch.objects.exists() and not Run.objects.exists()
    assert not Event.objects.filter(action=EventAction.RUN_BATCH_STARTED).exists()


def test_a_customer_not_offered_is_refused_422(client, runnable):
    world = runnable.world
    done = runnable.steps.get(customer=world.customers["customer-b"], template=world.templates[0])
    customer_step_mark_done(step=done, user=world.user)
    response = client.post(
        _form_url(world.templates[0], _cluster(runnable, "prod-us")),
        {"customers": [world.customers["customer-b"].pk, world.customers["customer-d"].pk], "concurrency": 4},
        **HTMX,
    )
    assert response.status_code == 422 and "Choose among the customers listed" in _text(response)
    assert not RunBatch.objects.exists()


def test_a_plain_post_starts_the_batch_and_redirects_to_its_page(client, runnable):
    world = runnable.world
    response = client.post(
        _form_url(world.templates[0], _cluster(runnable, "prod-us")),
        {"customers": [world.customers["customer-a"].pk], "concurrency": "2"},
    )
    batch = RunBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == batch.get_absolute_url()
    assert batch.concurrency == 2 and batch.stop_on_failure is False and batch.started_by == world.user
    assert batch.runs.get().state == RunState.QUEUED


def test_the_batch_page_shows_the_summary_once_every_run_ended(client, runnable, django_assert_max_num_queries):
    world = runnable.world
    batch = _start(client, runnable, world.templates[1], "prod-us")
    with django_assert_max_num_queries(6):  # the same for any number of runs
        page = _html(client.get(batch.get_absolute_url()))
    assert "Batch #" in page and "Run migration" in page and "prod-us" in page
    assert "⏳ Queued" in page and "Cancel the batch" in page and 'hx-trigger="every 2s' in page
    assert reverse("steps:matrix", args=[world.release.pk]) in page and "Watch in the matrix" in page

    assert run_due_tasks() == 1
    response = client.get(batch.get_absolute_url())
    page = _text(response)
    assert "Finished: ✅ 3 succeeded ❌ 0 failed ⏭️ 0 skipped" in page
    assert page.count("✅ Succeeded") == 3 and "Cancel the batch" not in page and "hx-trigger" not in _html(response)
    for run in batch.runs.all():
        assert f'href="{reverse("runs:run_detail", args=[run.pk])}"' in _html(response)
    assert "Started by rm," in page and "at most 4" in page and "stop: the runs not started yet are skipped" in page


def test_customers_refused_at_start_are_listed_and_counted_as_skipped(client, runnable):
    # prod-eu has no database variables: its customers' SQL step can't be queued.
    batch = _start(client, runnable, runnable.world.templates[1], "prod-eu")
    assert not batch.runs.exists()
    page = _text(client.get(batch.get_absolute_url()))
    assert "Finished: ✅ 0 succeeded ❌ 0 failed ⏭️ 2 skipped" in page
    assert "Refused at start (2)" in page and "Cluster prod-eu" in page
    for name in ("customer-d", "customer-e"):
        assert f"{name} : Run migration for {name} can't be run: no value for DB_NAME, DB_TARGET, DB_USER." in page


def test_failures_and_the_runs_skipped_after_the_first_are_counted(client, runnable, kubectl):
    kubectl.mode("fail")
    batch = _start(client, runnable, runnable.world.templates[1], "prod-us", concurrency=1)
    run_due_tasks()
    page = _text(client.get(batch.get_absolute_url()))
    assert "Finished: ✅ 0 succeeded ❌ 1 failed ⏭️ 2 skipped" in page
    assert page.count("❌ Failed") == 1 and page.count("⏭️ Skipped") == 2


def test_the_poll_answers_204_while_nothing_changed_and_the_fragment_when_something_did(
    client, runnable, django_assert_max_num_queries
):
    batch = _start(client, runnable, runnable.world.templates[1], "prod-us")
    url = batch.get_absolute_url()
    first = client.get(url, **POLL)
    assert first.status_code == 200 and 'id="batch-runs"' in first.content.decode()
    assert "<html" not in first.content.decode()
    seen = batch_fingerprint(batch.pk)
    assert f"?seen={seen}" in first.content.decode()
    with django_assert_max_num_queries(4):
        quiet = client.get(url, {"seen": seen}, **POLL)
    assert quiet.status_code == 204 and quiet.content == b""
    assert "no-cache" in quiet["Cache-Control"]

    run_due_tasks()
    changed = client.get(url, {"seen": seen}, **POLL)
    assert changed.status_code == 200
    assert "Finished: ✅ 3 succeeded" in _text(changed) and "hx-get" not in _html(changed)


def test_cancel_the_batch_cancels_its_queued_runs(client, runnable, kubectl):
    world = runnable.world
    batch = _start(client, runnable, world.templates[1], "prod-us")
    response = client.post(reverse("runs:batch_cancel", args=[batch.pk]), **HTMX)
    assert response.status_code == 200
    text = _text(response)
    assert "3 run(s) cancelled" in text and "Finished: ✅ 0 succeeded ❌ 0 failed ⏭️ 3 skipped" in text
    assert text.count("⏹️ Cancelled") == 3
    assert set(batch.runs.values_list("state", flat=True)) == {RunState.CANCELLED}
    assert Event.objects.filter(action=EventAction.RUN_CANCELLED).count() == 3
    run_due_tasks()
    assert kubectl.calls() == []
    assert set(batch.runs.values_list("state", flat=True)) == {RunState.CANCELLED}

    again = client.post(reverse("runs:batch_cancel", args=[batch.pk]), **HTMX)
    assert again.status_code == 409 and NOTHING_TO_CANCEL.format(batch=batch.pk) in _text(again)


def test_only_who_may_run_steps_cancels_a_batch(client, runnable, operator):
    batch = _start(client, runnable, runnable.world.templates[1], "prod-us")
    other = Client()
    other.force_login(operator)
    assert other.post(reverse("runs:batch_cancel", args=[batch.pk])).status_code == 403
    assert set(batch.runs.values_list("state", flat=True)) == {RunState.QUEUED}
    page = other.get(batch.get_absolute_url()).content.decode()
    assert "Cancel the batch" not in page


@pytest.mark.parametrize(
    "data",
    [
        {"concurrency": ""},
        {"concurrency": "-1"},
        {"concurrency": "1.5"},
        {"concurrency": "9" * 30},
        {"concurrency": "\x00"},
        {"customers": "abc"},
        {"customers": "-1"},
        {"customers": "9" * 30},
        {"customers": ["1", "1"], "concurrency": "0"},
    ],
)
def test_whatever_the_form_is_sent_it_answers_422_never_500_and_creates_nothing(client, runnable, data):
    posted = {"customers": [runnable.world.customers["customer-a"].pk], "concurrency": "4", **data}
    response = client.post(_form_url(runnable.world.templates[1], _cluster(runnable, "prod-us")), posted, **HTMX)
    assert response.status_code == 422
    assert 'role="alert"' in response.content.decode()
    assert not RunBatch.objects.exists() and not Run.objects.exists()


def test_a_post_without_the_csrf_token_is_refused_and_creates_nothing(runnable):
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(runnable.world.user)
    customer = runnable.world.customers["customer-a"]
    response = browser.post(
        _form_url(runnable.world.templates[1], _cluster(runnable, "prod-us")),
        {"customers": [customer.pk], "concurrency": "4"},
    )
    assert response.status_code == 403 and not RunBatch.objects.exists()
    batch = RunBatch.objects.create(
        release=runnable.world.release,
        template=runnable.world.templates[1],
        started_by=runnable.world.user,
        concurrency=1,
        stop_on_failure=True,
    )
    assert browser.post(reverse("runs:batch_cancel", args=[batch.pk])).status_code == 403


def test_customers_whose_step_is_already_queued_cannot_be_chosen_again(client, runnable):
    world = runnable.world
    batch = _start(client, runnable, world.templates[1], "prod-us")
    response = client.get(_form_url(world.templates[1], _cluster(runnable, "prod-us")), **HTMX)
    text = _text(response)
    for run in batch.runs.all():
        assert f"Already queued (run #{run.pk})." in text
    assert 'name="customers"' not in response.content.decode() and "▶️ Run for prod-us" not in text


def test_a_release_that_is_not_active_offers_no_button_and_its_form_says_why(client, runnable):
    world = runnable.world
    release_archive(release=world.release, user=world.user)
    assert "Run for cluster" not in _status_page(client, world.templates[1])
    response = client.get(_form_url(world.templates[1], _cluster(runnable, "prod-us")), **HTMX)
    assert response.status_code == 409 and "archived" in _text(response)
