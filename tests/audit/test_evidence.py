"""The evidence report of a release (issue 11, item 5): the CSV has one row per customer step with who did what and
when, the skip reason, the notes, the override diff and the custom flag; one customer or all of them; a constant
number of queries at any size; cells a spreadsheet would run are neutralised; no variable value ever appears; the
printable page shows the same facts with its print stylesheet; unknown release or customer is a 404."""

import csv
import io
import re
from types import SimpleNamespace

import pytest
from django.urls import reverse
from django.utils import timezone

from audit import evidence_views
from audit.evidence import EVIDENCE_CSV_COLUMNS, evidence_csv_rows
from core import crypto
from customers.services import customer_delete
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_revert,
    customer_step_skip,
    template_step_delete,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from variables.services import variable_create

pytestmark = pytest.mark.django_db

SECRET = "hunter2-do-not-leak"
COLUMN = {name: index for index, name in enumerate(EVIDENCE_CSV_COLUMNS)}


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


def _step(world, customer: str, name: str) -> CustomerStep:
    return CustomerStep.objects.get(release=world.release, customer=world.customers[customer], name=name)


@pytest.fixture
def encryption_key(monkeypatch) -> None:
    """A fresh ROLLCALL_ENCRYPTION_KEY, so that a sensitive value can be stored."""
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())


@pytest.fixture
def story(world, operator, encryption_key):
    """The example release activated for its six customers, with one of everything the report shows."""
    release, rm = world.release, world.user
    release_activate(release=release, user=rm)
    variable_create(owner=world.customers["customer-a"], key="db_password", value=SECRET, is_sensitive=True, user=rm)
    done = customer_step_mark_done(step=_step(world, "customer-a", "Deploy app"), user=operator, notes="helm 3.14, ok")
    skipped = customer_step_skip(
        step=_step(world, "customer-a", "Run migration"), user=operator, reason="No schema change for this tenant"
    )
    secret_step = customer_step_override(
        step=_step(world, "customer-a", "Health check"), user=rm, content="psql --password=#{db_password} -c 'select 1'"
    )
    secret_step = customer_step_mark_done(step=secret_step, user=operator)
    overridden = customer_step_override(
        step=_step(world, "customer-b", "Run migration"),
        user=rm,
        content="echo 'Run migration'\nALTER TABLE orders ADD COLUMN region text;",
    )
    custom = customer_step_add_custom(
        release=release,
        customer=world.customers["customer-b"],
        user=rm,
        name="Flush cache",
        category="deploy",
        type="bash",
        content="redis-cli FLUSHALL",
    )
    reverted = customer_step_mark_done(step=_step(world, "customer-c", "Deploy app"), user=operator)
    reverted = customer_step_revert(step=reverted, user=operator, notes="Wrong image tag")
    return SimpleNamespace(
        done=done, skipped=skipped, secret_step=secret_step, overridden=overridden, custom=custom, reverted=reverted
    )


def _csv(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _page(response) -> str:
    assert response.status_code == 200
    assert response.streaming
    return b"".join(response.streaming_content).decode()


def _rows_by_step(rows) -> dict[tuple[str, str], dict[str, str]]:
    return {
        (row[COLUMN["customer"]], row[COLUMN["step"]]): dict(zip(EVIDENCE_CSV_COLUMNS, row, strict=True))
        for row in rows[1:]
    }


def _when(step) -> str:
    return timezone.localtime(step.executed_at).isoformat()


def test_the_csv_has_one_row_per_customer_step(client, world, story):
    response = client.get(reverse("audit:evidence_csv", args=[world.release.pk]))

    rows = _csv(response)
    assert rows[0] == list(EVIDENCE_CSV_COLUMNS)
    steps = CustomerStep.objects.filter(release=world.release)
    assert len(rows) - 1 == steps.count() == 6 * 3 + 1
    assert len(_rows_by_step(rows)) == len(rows) - 1
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="rollcall-evidence-v250-\d{8}-\d{4}\.csv"', response["Content-Disposition"]
    )


def test_the_csv_streams_in_chunks_of_rows_that_add_up_to_the_whole(client, world, story, monkeypatch):
    whole = _csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk])))
    monkeypatch.setattr(evidence_views, "CSV_ROWS_PER_CHUNK", 4)

    chunks = list(client.get(reverse("audit:evidence_csv", args=[world.release.pk])).streaming_content)

    assert len(chunks) == 5  # the header and 19 rows, 4 at a time
    assert list(csv.reader(io.StringIO(b"".join(chunks).decode()))) == whole


def test_the_csv_rows_come_by_customer_then_category_in_execution_order(client, world, story):
    rows = _csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk])))

    customer_b = [
        (row[COLUMN["category"]], row[COLUMN["order"]], row[COLUMN["step"]])
        for row in rows[1:]
        if row[COLUMN["customer"]] == "customer-b"
    ]
    assert customer_b == [
        ("deploy", "1", "Deploy app"),
        ("deploy", "2", "Run migration"),
        ("deploy", "3", "Flush cache"),
        ("verify", "1", "Health check"),
    ]
    customers = [row[COLUMN["customer"]] for row in rows[1:]]
    assert list(dict.fromkeys(customers)) == sorted(world.customers)


def test_a_done_step_says_who_did_it_when_with_its_notes(client, world, story):
    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    assert rows["customer-a", "Deploy app"] == {
        "release": "v2.5.0",
        "customer": "customer-a",
        "customer_archived": "no",
        "cluster": "prod-us",
        "namespace": "cust-a-prod",
        "category": "deploy",
        "order": "1",
        "step": "Deploy app",
        "type": "bash",
        "status": "done",
        "status_by": "op",
        "status_at": _when(story.done),
        "skip_reason": "",
        "notes": "helm 3.14, ok",
        "custom": "no",
        "overridden": "no",
        "detached": "no",
        "content": "echo 'Deploy app'",
        "diff_against_template": "",
    }


def test_a_skipped_step_gives_its_reason_and_a_reverted_one_who_reverted_it(client, world, story):
    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    skipped = rows["customer-a", "Run migration"]
    assert (skipped["status"], skipped["status_by"], skipped["status_at"]) == ("skipped", "op", _when(story.skipped))
    assert skipped["skip_reason"] == "No schema change for this tenant"
    reverted = rows["customer-c", "Deploy app"]
    assert (reverted["status"], reverted["status_by"], reverted["notes"]) == ("reverted", "op", "Wrong image tag")
    assert reverted["status_at"] == _when(story.reverted)
    pending = rows["customer-d", "Deploy app"]
    assert (pending["status"], pending["status_by"], pending["status_at"]) == ("pending", "", "")


def test_an_overridden_step_carries_a_unified_diff_against_its_template_step(client, world, story):
    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    overridden = rows["customer-b", "Run migration"]
    assert (overridden["overridden"], overridden["custom"]) == ("yes", "no")
    # The diff starts with "---", which a spreadsheet would read as a formula: it is quoted like any such cell.
    assert overridden["diff_against_template"] == (
        "'--- template step\n"
        "+++ customer-b\n"
        "@@ -1 +1,2 @@\n"
        " echo 'Run migration'\n"
        "+ALTER TABLE orders ADD COLUMN region text;"
    )
    assert rows["customer-a", "Run migration"]["diff_against_template"] == ""


def test_a_custom_step_is_marked_custom_with_its_content(client, world, story):
    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    custom = rows["customer-b", "Flush cache"]
    assert (custom["custom"], custom["overridden"], custom["status"]) == ("yes", "no", "pending")
    assert (custom["content"], custom["diff_against_template"]) == ("redis-cli FLUSHALL", "")


def test_a_removed_custom_step_is_not_in_the_report(client, world, story):
    customer_step_remove_custom(step=story.custom, user=world.user)

    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    assert ("customer-b", "Flush cache") not in rows
    assert len(rows) == 6 * 3


def test_the_report_for_one_customer_has_only_its_steps(client, world, story):
    customer = world.customers["customer-b"]

    response = client.get(reverse("audit:evidence_csv_customer", args=[world.release.pk, customer.pk]))

    rows = _csv(response)
    assert [row[COLUMN["step"]] for row in rows[1:]] == ["Deploy app", "Run migration", "Flush cache", "Health check"]
    assert {row[COLUMN["customer"]] for row in rows[1:]} == {"customer-b"}
    assert re.fullmatch(
        r'attachment; filename="rollcall-evidence-v250-customer-b-\d{8}-\d{4}\.csv"',
        response["Content-Disposition"],
    )


def test_an_archived_customer_keeps_its_evidence_marked_archived(client, world, story):
    customer_delete(customer=world.customers["customer-a"], user=world.user)

    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    assert rows["customer-a", "Deploy app"]["customer_archived"] == "yes"
    assert rows["customer-a", "Deploy app"]["status"] == "done"
    assert rows["customer-b", "Deploy app"]["customer_archived"] == "no"


def test_cells_a_spreadsheet_would_run_are_neutralised(client, world, story, operator):
    customer_step_skip(step=_step(world, "customer-d", "Deploy app"), user=operator, reason='=HYPERLINK("http://x")')
    customer_step_mark_done(step=_step(world, "customer-e", "Deploy app"), user=operator, notes="+1 555 0100")
    customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-e"],
        user=world.user,
        name="@SUM(A1:A9)",
        category="verify",
        type="sql",
        content="-- check\nselect 1;",
    )

    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))

    assert rows["customer-d", "Deploy app"]["skip_reason"] == '\'=HYPERLINK("http://x")'
    assert rows["customer-e", "Deploy app"]["notes"] == "'+1 555 0100"
    assert rows["customer-e", "'@SUM(A1:A9)"]["content"] == "'-- check\nselect 1;"


def test_no_variable_value_reaches_the_report_only_the_reference(client, world, story):
    customer_a = world.customers["customer-a"]
    urls = [
        reverse("audit:evidence_csv", args=[world.release.pk]),
        reverse("audit:evidence_csv_customer", args=[world.release.pk, customer_a.pk]),
        reverse("audit:evidence_report", args=[world.release.pk]),
        reverse("audit:evidence_report_customer", args=[world.release.pk, customer_a.pk]),
    ]

    bodies = [b"".join(client.get(url).streaming_content).decode() for url in urls]

    assert story.secret_step.status == "done"
    for body in bodies:
        assert SECRET not in body
        assert "#{db_password}" in body


def _world_of(size: int, user, operator) -> SimpleNamespace:
    """A release activated for `size` customers on two clusters with `size` template steps, with some steps done,
    skipped, overridden and custom."""
    release = ReleaseFactory(name=f"v9.{size}.0")
    clusters = [ClusterFactory(), ClusterFactory()]
    customers = [CustomerFactory(cluster=clusters[index % 2]) for index in range(size)]
    for index in range(size):
        StepTemplateFactory(release=release, category="deploy" if index % 2 else "verify", order_index=index)
    release_activate(release=release, user=user)
    steps = list(CustomerStep.objects.filter(release=release).order_by("id"))
    customer_step_mark_done(step=steps[0], user=operator, notes="ok")
    customer_step_skip(step=steps[1], user=operator, reason="not needed")
    customer_step_override(step=steps[2], user=user, content="echo other")
    for customer in customers:
        customer_step_add_custom(
            release=release, customer=customer, user=user, name="Extra", category="deploy", type="text", content="x"
        )
    return SimpleNamespace(release=release, customer=customers[-1], steps=size * size + size)


@pytest.mark.parametrize("size", [2, 7])
def test_the_report_takes_a_constant_number_of_queries_whatever_its_size(
    client, user, operator, size, django_assert_num_queries
):
    sized = _world_of(size, user, operator)
    csv_url = reverse("audit:evidence_csv", args=[sized.release.pk])
    page_url = reverse("audit:evidence_report", args=[sized.release.pk])
    customer_url = reverse("audit:evidence_report_customer", args=[sized.release.pk, sized.customer.pk])

    client.get(reverse("dashboard:dashboard"))  # the user's permissions (the navigation's), read once into the cache
    # The user, the release, its template steps, its customer steps.
    with django_assert_num_queries(4):
        rows = _csv(client.get(csv_url))
    # The same for the page.
    with django_assert_num_queries(4):
        page = _page(client.get(page_url))
    # And the customer.
    with django_assert_num_queries(5):
        _page(client.get(customer_url))
    with django_assert_num_queries(2):
        assert len(list(evidence_csv_rows(sized.release))) == sized.steps + 1

    assert len(rows) == sized.steps + 1
    assert page.count('class="card evidence-customer"') == size


def test_the_printable_page_shows_the_same_facts(client, world, story):
    page = _page(client.get(reverse("audit:evidence_report", args=[world.release.pk])))

    assert '<h1 id="evidence-title">Evidence report: v2.5.0</h1>' in page
    for customer in world.customers.values():
        assert f'id="evidence-customer-{customer.pk}"' in page
    section_a = page.split(f'id="evidence-customer-{world.customers["customer-a"].pk}"')[1].split("</section>")[0]
    assert "<strong>Notes:</strong> helm 3.14, ok" in section_a
    assert "<strong>Skip reason:</strong> No schema change for this tenant" in section_a
    when = timezone.localtime(story.done.executed_at)
    assert f'<time datetime="{when.isoformat()}">{when:%Y-%m-%d %H:%M}</time>' in section_a
    assert '<td data-label="By">op</td>' in section_a
    section_b = page.split(f'id="evidence-customer-{world.customers["customer-b"].pk}"')[1].split("</section>")[0]
    assert '<span class="marker marker-overridden">OVERRIDDEN</span>' in section_b
    assert '<span class="diff-added">+ALTER TABLE orders ADD COLUMN region text;</span>' in section_b
    assert '<span class="step-name">Flush cache</span> <span class="marker marker-custom">CUSTOM</span>' in section_b
    assert "redis-cli FLUSHALL" in section_b
    assert "Wrong image tag" in page
    assert "↩️ Reverted" in page


def test_the_printable_page_has_its_print_stylesheet_a_print_button_and_the_csv_link(client, world, story):
    page = _page(client.get(reverse("audit:evidence_report", args=[world.release.pk])))

    assert re.search(r'<link rel="stylesheet" href="/static/css/evidence[^"]*\.css">', page)
    assert '<button type="button" class="primary" data-print>🖨️ Print or save as PDF</button>' in page
    assert f'href="{reverse("audit:evidence_csv", args=[world.release.pk])}" download' in page
    assert page.rstrip().endswith("</html>")


def test_the_print_stylesheet_hides_the_navigation_and_breaks_pages_per_customer():
    from django.contrib.staticfiles import finders

    with open(finders.find("css/evidence.css")) as stylesheet:
        css = stylesheet.read()
    print_rules = css.split("@media print")[1]
    assert "@page { size: A4;" in css
    assert ".topbar" in print_rules and "display: none" in print_rules
    assert ".evidence-customer { break-before: page; }" in print_rules


def test_the_page_for_one_customer_shows_only_that_customer(client, world, story):
    customer = world.customers["customer-b"]

    page = _page(client.get(reverse("audit:evidence_report_customer", args=[world.release.pk, customer.pk])))

    assert page.count('class="card evidence-customer"') == 1
    assert f'id="evidence-customer-{customer.pk}"' in page
    assert "Customer <strong>customer-b</strong> (prod-us/cust-b-prod)" in page


def test_a_draft_release_has_an_empty_report(client, world):
    rows = _csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk])))
    page = _page(client.get(reverse("audit:evidence_report", args=[world.release.pk])))

    assert rows == [list(EVIDENCE_CSV_COLUMNS)]
    assert "No customer steps in v2.5.0: the release is a draft, not yet activated." in page
    assert "Deploy app" in page  # its template steps are listed


@pytest.mark.parametrize("name", ["evidence_csv", "evidence_report"])
def test_an_unknown_release_is_404(client, world, name):
    assert client.get(reverse(f"audit:{name}", args=[world.release.pk + 1000])).status_code == 404


@pytest.mark.parametrize("name", ["evidence_csv_customer", "evidence_report_customer"])
def test_an_unknown_customer_is_404(client, world, story, name):
    assert client.get(reverse(f"audit:{name}", args=[world.release.pk, 999_999])).status_code == 404
    customer = world.customers["customer-a"]
    assert client.get(reverse(f"audit:{name}", args=[world.release.pk + 1000, customer.pk])).status_code == 404


def test_a_viewer_may_read_the_report_and_an_anonymous_visitor_is_sent_to_log_in(client, world, story, viewer):
    url = reverse("audit:evidence_csv", args=[world.release.pk])
    client.force_login(viewer)
    assert len(_csv(client.get(url))) == 6 * 3 + 2

    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_release_page_links_to_the_report_for_all_customers(client, world, story):
    page = client.get(reverse("releases:release_detail", args=[world.release.pk])).content.decode()

    assert f'href="{reverse("audit:evidence_report", args=[world.release.pk])}">📋 Evidence report</a>' in page
    assert f'href="{reverse("audit:evidence_csv", args=[world.release.pk])}" download>⬇️ Evidence CSV</a>' in page


def test_a_customer_checklist_links_to_the_report_for_that_customer(client, world, story, viewer):
    client.force_login(viewer)
    args = [world.release.pk, world.customers["customer-b"].pk]

    page = client.get(reverse("steps:customer_steps", args=args)).content.decode()

    assert f'href="{reverse("audit:evidence_report_customer", args=args)}">📋 Evidence report</a>' in page
    assert f'href="{reverse("audit:evidence_csv_customer", args=args)}" download>⬇️ Evidence CSV</a>' in page


def test_a_step_kept_after_its_template_step_was_deleted_is_marked_detached(client, world, story):
    template_step_delete(template_step=world.templates[0], user=world.user)

    rows = _rows_by_step(_csv(client.get(reverse("audit:evidence_csv", args=[world.release.pk]))))
    page = _page(client.get(reverse("audit:evidence_report", args=[world.release.pk])))

    kept = rows["customer-a", "Deploy app"]
    assert (kept["detached"], kept["status"], kept["status_by"]) == ("yes", "done", "op")
    assert ("customer-d", "Deploy app") not in rows  # pending: removed with its template step
    assert ("customer-c", "Deploy app") in rows  # reverted: someone acted on it
    deleted = '<strong>Deploy app</strong> <span class="badge">Bash</span> <span class="marker marker-detached">DELETED'
    assert deleted in page


def test_names_notes_and_content_are_escaped_on_the_page(client, world, story, operator):
    customer_step_add_custom(
        release=world.release,
        customer=world.customers["customer-d"],
        user=world.user,
        name="<script>alert('name')</script>",
        category="deploy",
        type="text",
        content="<img src=x onerror=alert('content')>",
    )
    customer_step_mark_done(
        step=_step(world, "customer-d", "Deploy app"), user=operator, notes="<b onmouseover=alert('notes')>hi</b>"
    )

    response = client.get(reverse("audit:evidence_report", args=[world.release.pk]))
    page = _page(response)

    assert "<script>alert(" not in page and "<img src=x" not in page and "<b onmouseover" not in page
    assert "&lt;script&gt;alert(&#x27;name&#x27;)&lt;/script&gt;" in page
    assert "no-store" in response["Cache-Control"]
