"""The step screens with the test client: the release matrix (FV-003, FR-006, FR-007), the step side panel and every
customer-step action (FV-007, §5.7), the customer view with Mark All and Add Custom Step (FV-004, §5.6, §5.8) and the
step cross-customer view (FV-005) — full pages, htmx fragments with their out-of-band updates, refusals (422, the
service's message, nothing changed), Download, highlighting, and query counts that do not grow with customers."""

from html import unescape
from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.urls import reverse

from history.models import Event
from releases.rules import RELEASE_NOT_ACTIVE
from releases.services import release_activate, release_archive
from steps.choices import Position
from steps.highlight import stylesheet
from steps.models import CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_revert,
    customer_step_skip,
    template_step_delete,
)
from steps.services.rules import (
    CONTENT_LOCKED,
    CONTENT_REQUIRED,
    NOT_CUSTOM,
    NOT_OVERRIDDEN,
    NOTHING_PENDING,
    POSITION_STEP_MISMATCH,
    SKIP_REASON_REQUIRED,
    TRANSITION_REFUSED,
)
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PANEL = {**HTMX, "HTTP_HX_TARGET": "side-panel"}


def _sent_from(url: str) -> dict:
    """The headers htmx sends for the side panel of the page at `url`."""
    return {**PANEL, "HTTP_HX_CURRENT_URL": f"http://testserver{url}"}


def _from_matrix(world, category: str = "deploy") -> dict:
    return _sent_from(reverse("steps:matrix", args=[world.release.pk]) + f"?category={category}")


def _from_checklist(world, customer: str = "customer-a") -> dict:
    return _sent_from(reverse("steps:customer_steps", args=[world.release.pk, world.customers[customer].pk]))


def _from_template_step(template_step) -> dict:
    return _sent_from(reverse("steps:template_step_status", args=[template_step.pk]))


ACTION_LABELS = {
    "Override Content",
    "View Original",
    "Reset to Template",
    "Edit",
    "Delete",
    "Mark as Done",
    "Skip",
    "Revert",
    "Undo Skip",
    "📋 Copy",
    "⬇️ Download",
}
VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


# --- reading the HTML ---------------------------------------------------------------------------------------------


class _Elements(HTMLParser):
    """Every element with a given id: its attributes, its inner HTML as written and its text."""

    def __init__(self, element_id: str):
        super().__init__(convert_charrefs=False)
        self.element_id = element_id
        self.depth = 0
        self.found: list[dict] = []

    def _append(self, markup: str, text: str = "") -> None:
        self.found[-1]["html"] += markup
        self.found[-1]["text"] += text

    def handle_starttag(self, tag, attrs):
        if self.depth:
            # Tags separate words in the text ("<dt>Cluster</dt><dd>prod-us</dd>" reads "Cluster prod-us").
            self._append(self.get_starttag_text(), " ")
            self.depth += tag not in VOID_TAGS
        elif dict(attrs).get("id") == self.element_id:
            self.found.append({"tag": tag, "attrs": dict(attrs), "html": "", "text": ""})
            self.depth = 0 if tag in VOID_TAGS else 1

    def handle_startendtag(self, tag, attrs):
        if self.depth:
            self._append(self.get_starttag_text())

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1
            if self.depth:
                self._append(f"</{tag}>", " ")

    def handle_data(self, data):
        if self.depth:
            self._append(data, data)

    def handle_entityref(self, name):
        if self.depth:
            self._append(f"&{name};", unescape(f"&{name};"))

    def handle_charref(self, name):
        if self.depth:
            self._append(f"&#{name};", unescape(f"&#{name};"))


def _all(html: str, element_id: str) -> list[dict]:
    parser = _Elements(element_id)
    parser.feed(html)
    for element in parser.found:
        element["text"] = " ".join(element["text"].split())
    return parser.found


def _one(html: str, element_id: str) -> dict:
    found = _all(html, element_id)
    assert len(found) == 1, f"{len(found)} elements with id {element_id}"
    return found[0]


class _Controls(HTMLParser):
    """The labels of the buttons, links and disclosure summaries in some HTML."""

    def __init__(self):
        super().__init__()
        self.open: list[list[str]] = []
        self.labels: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in {"button", "a", "summary"}:
            self.open.append([])

    def handle_endtag(self, tag):
        if tag in {"button", "a", "summary"} and self.open:
            self.labels.append(" ".join("".join(self.open.pop()).split()))

    def handle_data(self, data):
        for parts in self.open:
            parts.append(data)


def _controls(html: str) -> set[str]:
    parser = _Controls()
    parser.feed(html)
    return set(parser.labels)


def _html(response) -> str:
    return response.content.decode()


def _panel(response) -> dict:
    return _one(_html(response), "step-panel")


def _offered(response) -> set[str]:
    """The spec's step actions the side panel offers."""
    return _controls(_panel(response)["html"]) & ACTION_LABELS


# --- fixtures -----------------------------------------------------------------------------------------------------


@pytest.fixture
def client(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def active(world):
    """The example world with its release activated for every customer."""
    release_activate(release=world.release, user=world.user)
    world.release.refresh_from_db()
    return world


def _step(world, customer: str, template: int) -> CustomerStep:
    return CustomerStep.objects.get(customer=world.customers[customer], template=world.templates[template])


def _custom(world, customer: str = "customer-a", name: str = "Flush cache", **kwargs) -> CustomerStep:
    return customer_step_add_custom(
        release=world.release,
        customer=world.customers[customer],
        user=world.user,
        name=name,
        category=kwargs.pop("category", "deploy"),
        type=kwargs.pop("type", "bash"),
        content=kwargs.pop("content", "redis-cli FLUSHALL"),
        **kwargs,
    )


def _state() -> tuple:
    """What a refused request must leave untouched."""
    return (
        list(
            CustomerStep.all_objects.order_by("pk").values_list(
                "status", "content", "notes", "skip_reason", "is_overridden", "deleted_at"
            )
        ),
        StepTemplate.all_objects.count(),
        Event.objects.count(),
    )


def _url(name: str, step) -> str:
    return reverse(f"steps:{name}", args=[step.pk])


# --- access -------------------------------------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_the_login_page(active):
    step = _step(active, "customer-a", 0)
    release, customer = active.release.pk, active.customers["customer-a"].pk
    anonymous = Client()
    gets = [
        reverse("steps:matrix", args=[release]),
        reverse("steps:customer_steps", args=[release, customer]),
        reverse("steps:custom_step_add", args=[release, customer]),
        reverse("steps:template_step_status", args=[active.templates[0].pk]),
        _url("step_detail", step),
        _url("step_download", step),
    ]
    posts = [_url(f"step_{action}", step) for action in ("done", "skip", "revert", "reopen", "notes", "override")]
    posts += [_url(f"step_{action}", step) for action in ("reset", "edit", "remove")]
    posts.append(reverse("steps:mark_all", args=[release, customer, "deploy"]))
    for url in gets:
        response = anonymous.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    before = _state()
    for url in posts:
        response = anonymous.post(url, {"reason": "x", "notes": "x", "content": "x"})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url
    assert _state() == before


@pytest.mark.parametrize("action", ["done", "skip", "revert", "reopen", "notes", "override", "reset", "edit", "remove"])
def test_step_actions_are_posts(client, active, action):
    response = client.get(_url(f"step_{action}", _step(active, "customer-a", 0)))

    assert response.status_code == 405


def test_an_unknown_step_is_not_found(client, active):
    assert client.get(reverse("steps:step_detail", args=[999999]), **PANEL).status_code == 404
    assert client.post(reverse("steps:step_done", args=[999999]), **HTMX).status_code == 404


# --- the matrix ---------------------------------------------------------------------------------------------------


def test_fv_003_matrix_shows_the_release_tabs_one_table_per_cluster_and_the_legend(client, active):
    active.release.release_date = "2024-01-15"
    active.release.save()

    html = _html(client.get(reverse("steps:matrix", args=[active.release.pk])))

    assert "<html" in html
    assert "Release: v2.5.0" in html and "Active" in html and "2024-01-15" in html and "Release</span>" in html
    tabs = _controls(html)
    assert {"Deploy", "Verify", "Expand All", "Collapse All", "⚙️ Settings"} <= tabs
    for cluster, count in (("prod-us", "3 customers"), ("prod-eu", "2 customers"), ("staging", "1 customer")):
        group = _one(html, f"cluster-{active.clusters[cluster].pk}")
        assert group["tag"] == "details" and "open" in group["attrs"]
        assert cluster in group["text"] and f"({count})" in group["text"]
    prod_us = _one(html, f"cluster-{active.clusters['prod-us'].pk}")["text"]
    assert "customer-a (cust-a-prod)" in prod_us and "customer-c (cust-c-prod)" in prod_us
    assert "1. Deploy app" in prod_us and "2. Run migration" in prod_us and "Health check" not in prod_us
    assert "customer-d" not in prod_us
    legend = "Legend: ✅ Done 🔄 Pending ⏸️ Skipped ↩️ Reverted ⚠️ Overridden ❎ Custom"
    assert _one(html, "matrix-legend")["text"].startswith(legend)
    assert 'class="matrix-scroll"' in html and 'class="matrix"' in html and 'class="step-name"' in html


def test_fv_003_each_cell_shows_the_status_and_markers_and_opens_the_side_panel(client, active):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)
    customer_step_skip(step=_step(active, "customer-b", 0), user=active.user, reason="manual")
    reverted = customer_step_mark_done(step=_step(active, "customer-c", 0), user=active.user)
    customer_step_revert(step=reverted, user=active.user)
    overridden = customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="select 2;")
    custom = _custom(active, position=Position.AFTER, relative_to=_step(active, "customer-a", 0))

    html = _html(client.get(reverse("steps:matrix", args=[active.release.pk])))

    assert _one(html, f"cell-{_step(active, 'customer-a', 0).pk}")["text"] == "✅ Done"
    assert _one(html, f"cell-{_step(active, 'customer-b', 0).pk}")["text"] == "⏸️ Skipped"
    assert _one(html, f"cell-{reverted.pk}")["text"] == "↩️ Reverted"
    assert _one(html, f"cell-{overridden.pk}")["text"] == "🔄 Pending ⚠️"
    cell = _one(html, f"cell-{custom.pk}")
    assert cell["text"] == "🔄 Pending ❎"
    # The button names its step: its table's form asks the matrix for it, which sends a browser without JavaScript
    # on to the step's page (workspace.js asks for the step itself). Whose step it is, the headers say: no title.
    assert cell["tag"] == "button" and cell["attrs"]["name"] == "step" and cell["attrs"]["value"] == str(custom.pk)
    assert "title" not in cell["attrs"]
    no_js = client.get(reverse("steps:matrix", args=[active.release.pk]), {"step": custom.pk})
    assert no_js.status_code == 302 and no_js["Location"] == _url("step_detail", custom)
    # The custom step's row has a cell for customer-a only; the other customers' cells are empty (hatched).
    row = html[html.index("Flush cache") : html.index("</tr>", html.index("Flush cache"))]
    assert row.count('<td class="empty">') == 2 and "❎ CUSTOM" in row
    # Each table is a form whose buttons htmx sends into the side panel.
    assert 'hx-target="#side-panel"' in html


def test_fv_003_the_verify_tab_shows_the_verify_steps(client, active):
    html = _html(client.get(reverse("steps:matrix", args=[active.release.pk]), {"category": "verify"}))

    assert "1. Health check" in html and "Deploy app" not in html
    assert _one(html, f"cell-{_step(active, 'customer-a', 2).pk}")["text"] == "🔄 Pending"
    assert 'aria-selected="true">Verify</a>' in html


def test_fr_007_htmx_filter_answers_only_the_matrix_body_of_that_cluster(client, active):
    prod_eu = active.clusters["prod-eu"]

    response = client.get(
        reverse("steps:matrix", args=[active.release.pk]),
        {"category": "deploy", "cluster": prod_eu.pk},
        **HTMX,
        HTTP_HX_TARGET="matrix-body",
    )

    html = _html(response)
    assert response.status_code == 200 and "<html" not in html
    body = _one(html, "matrix-body")
    assert "customer-d" in body["text"] and "customer-a" not in body["text"] and "demo-customer" not in body["text"]
    assert _all(html, f"cluster-{active.clusters['prod-us'].pk}") == []
    # The tabs keep the filter, and the form pushes the filtered URL.
    assert f"?category=verify&amp;cluster={prod_eu.pk}" in html
    assert 'hx-push-url="true"' in html and f'<option value="{prod_eu.pk}" selected>' in html


def test_fr_007_status_filter_keeps_rows_with_a_matching_cell_and_dims_the_others(client, active):
    customer_step_mark_done(step=_step(active, "customer-a", 1), user=active.user)

    html = _html(client.get(reverse("steps:matrix", args=[active.release.pk]), {"status": "done"}))

    prod_us = _one(html, f"cluster-{active.clusters['prod-us'].pk}")["text"]
    assert "Run migration" in prod_us and "Deploy app" not in prod_us
    assert "dimmed" not in _one(html, f"cell-{_step(active, 'customer-a', 1).pk}")["attrs"].get("class", "")
    assert "dimmed" in _one(html, f"cell-{_step(active, 'customer-b', 1).pk}")["attrs"]["class"]
    assert "No deploy step is done" in _one(html, f"cluster-{active.clusters['prod-eu'].pk}")["text"]


def test_fr_007_unknown_filter_values_are_reported_and_the_matrix_is_unfiltered(client, active):
    response = client.get(
        reverse("steps:matrix", args=[active.release.pk]), {"cluster": "999999", "status": "nope", "category": "x"}
    )

    html = _html(response)
    assert response.status_code == 200
    assert html.count('class="error"') == 2
    assert len(_all(html, f"cluster-{active.clusters['staging'].pk}")) == 1
    assert "1. Deploy app" in html


def test_fet_005_matrix_shows_progress_per_customer_cluster_and_overall(client, active):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)

    html = _html(client.get(reverse("steps:matrix", args=[active.release.pk])))

    customer_a = active.customers["customer-a"].pk
    assert _one(html, f"progress-customer-{customer_a}-deploy")["text"] == "50%"
    assert _one(html, f"progress-customer-{active.customers['customer-b'].pk}-deploy")["text"] == "0%"
    assert _one(html, f"progress-cluster-{active.clusters['prod-us'].pk}-deploy")["text"] == "17%"
    assert _one(html, "progress-overall-deploy")["text"] == "8%"
    assert _one(html, "progress-overall-verify")["text"] == "0%"


def test_fv_003_matrix_of_a_draft_release_says_to_activate_it(client, world):
    html = _html(client.get(reverse("steps:matrix", args=[world.release.pk])))

    assert "This release is a draft: activate it" in html


def test_fv_003_unknown_release_is_not_found(client, user):
    assert client.get(reverse("steps:matrix", args=[999999])).status_code == 404


def test_fv_003_matrix_of_200_customers_by_20_steps_renders_in_one_request(client, user, django_assert_max_num_queries):
    clusters = ClusterFactory.create_batch(4)
    for index in range(200):
        CustomerFactory(cluster=clusters[index % 4])
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(20, release=release, category="deploy")
    release_activate(release=release, user=user)

    with django_assert_max_num_queries(MATRIX_QUERIES):
        response = client.get(reverse("steps:matrix", args=[release.pk]))

    html = _html(response)
    assert response.status_code == 200
    assert html.count('<button id="cell-') == 4000
    assert html.count('<details class="cluster-group"') == 4


# --- the side panel -----------------------------------------------------------------------------------------------


def test_fv_007_side_panel_is_a_fragment_for_htmx_and_a_page_otherwise(client, active):
    step = _step(active, "customer-a", 0)

    fragment = _html(client.get(_url("step_detail", step), **PANEL))
    page = _html(client.get(_url("step_detail", step)))

    assert "<html" not in fragment and fragment.count('id="step-panel"') == 1
    assert "✕ Close" in _controls(fragment)
    assert "<html" in page and page.count('id="step-panel"') == 1
    assert "Back to matrix" in _controls(page)


def test_fv_007_side_panel_says_which_customer_cluster_and_namespace_the_step_is_for(client, active):
    step = _step(active, "customer-a", 1)

    panel = _panel(client.get(_url("step_detail", step), **PANEL))["text"]

    assert "Release: v2.5.0" in panel and "Step: Run migration" in panel
    assert "Customer customer-a (prod-us/cust-a-prod)" in panel
    assert "Cluster prod-us" in panel and "Namespace cust-a-prod" in panel
    assert "Category Deploy" in panel and "Type SQL" in panel and "Status 🔄 Pending" in panel
    assert "For customer-a on prod-us/cust-a-prod" in panel


def test_fv_007_a_template_step_offers_override_content_copy_mark_as_done_and_skip(client, active):
    response = client.get(_url("step_detail", _step(active, "customer-a", 0)), **PANEL)

    assert "📋 From Template" in _panel(response)["text"]
    assert _offered(response) == {"Override Content", "📋 Copy", "⬇️ Download", "Mark as Done", "Skip"}


def test_fv_007_an_overridden_step_offers_view_original_reset_mark_as_done_and_skip(client, active):
    step = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo only-for-a")

    response = client.get(_url("step_detail", step), **PANEL)

    panel = _panel(response)["text"]
    assert "⚠️ OVERRIDDEN" in panel and "only-for-a" in panel
    assert _offered(response) == {"View Original", "Reset to Template", "📋 Copy", "⬇️ Download", "Mark as Done", "Skip"}
    # View Original shows the template step's current content.
    assert "Deploy app" in panel and active.templates[0].content.replace("'", "") in panel.replace("'", "")


def test_fv_007_a_custom_step_offers_edit_delete_mark_as_done_and_skip(client, active):
    response = client.get(_url("step_detail", _custom(active)), **PANEL)

    assert "❎ CUSTOM Custom Step: only for customer-a" in _panel(response)["text"]
    assert _offered(response) == {"Edit", "Delete", "📋 Copy", "⬇️ Download", "Mark as Done", "Skip"}


def test_br_r03_a_done_step_is_locked_and_offers_revert(client, active):
    step = customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user, notes="all good")
    custom = customer_step_mark_done(step=_custom(active), user=active.user)

    response = client.get(_url("step_detail", step), **PANEL)

    panel = _panel(response)["text"]
    assert "🔒 Done: the content is locked" in panel and "Completed:" in panel and "by rm" in panel
    assert _offered(response) == {"Revert", "📋 Copy", "⬇️ Download"}
    assert _offered(client.get(_url("step_detail", custom), **PANEL)) == {"Revert", "📋 Copy", "⬇️ Download"}


def test_fet_003_a_skipped_step_shows_its_reason_and_offers_undo_skip(client, active):
    step = customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason="customer-a runs it")

    response = client.get(_url("step_detail", step), **PANEL)

    assert "Reason: customer-a runs it" in _panel(response)["text"]
    assert _offered(response) == {"Undo Skip", "Override Content", "📋 Copy", "⬇️ Download"}


def test_fv_007_a_detached_step_says_its_template_step_was_deleted(client, active):
    step = customer_step_mark_done(step=_step(active, "customer-a", 1), user=active.user)
    template_step_delete(template_step=active.templates[1], user=active.user)

    panel = _panel(client.get(_url("step_detail", step), **PANEL))["text"]

    assert "DETACHED Its template step was deleted" in panel


def test_fv_007_skip_from_a_row_opens_the_panel_with_the_reason_asked_in_place(client, active):
    html = _panel(client.get(_url("step_detail", _step(active, "customer-a", 0)) + "?open=skip", **PANEL))["html"]

    skip = html[html.rindex("<details", 0, html.index("Confirm Skip")) :]
    assert skip.startswith("<details open>")
    assert "Reason for skipping (required)" in skip and 'aria-required="true"' in skip


def test_fs_005_bash_and_sql_are_highlighted_with_line_numbers_and_text_is_plain(client, active):
    bash = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo hi\nls -l\n")
    sql = customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="SELECT 1;")
    text = _custom(active, name="Call the customer", type="text", content="Phone Alice\nThen Bob")

    bash_html = _panel(client.get(_url("step_detail", bash), **PANEL))["html"]
    sql_html = _panel(client.get(_url("step_detail", sql), **PANEL))["html"]
    text_html = _panel(client.get(_url("step_detail", text), **PANEL))["html"]

    assert '<div class="code-block"><table class="code-blocktable">' in bash_html
    assert '<td class="linenos">' in bash_html and '<span class="normal">2</span>' in bash_html
    assert '<span class="nb">echo</span>' in bash_html
    assert '<span class="k">SELECT</span>' in sql_html
    assert '<span class="normal">2</span>' in text_html and "Phone Alice" in text_html
    assert '<span class="nb">' not in text_html and '<span class="k">' not in text_html
    assert "css/pygments.css" in bash_html


def test_fs_005_the_pygments_stylesheet_is_the_one_the_highlighter_needs(settings):
    css = (settings.BASE_DIR / "static" / "css" / "pygments.css").read_text()

    assert stylesheet() in css


def test_fv_007_copy_takes_the_step_text_from_the_server_and_everything_is_escaped(client, active):
    content = '\n#!/bin/bash\necho "<b>it\'s</b>" && kubectl -n cust-a-prod get pods\n'
    step = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content=content)

    html = _panel(client.get(_url("step_detail", step), **PANEL))["html"]

    # Copy fetches what Download serves (values in clear are never kept in the page).
    assert f'data-copy-url="{_url("step_download", step)}"' in html
    assert "<b>it" not in html and "&lt;b&gt;it" in html
    copied = client.get(_url("step_download", step)).content.decode()
    assert copied == "# Rollcall: v2.5.0 · Deploy app · customer-a · prod-us/cust-a-prod\n" + content


def test_fv_007_history_lists_the_steps_events(client, active):
    step = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo mine")
    customer_step_mark_done(step=step, user=active.user, notes="ran at 10:30")

    history = _panel(client.get(_url("step_detail", step), **PANEL))["text"]

    created, overridden, done = (history.index(label) for label in ("Created from", "Content overridden", "Marked as"))
    assert created < overridden < done
    assert "by rm" in history and "Notes: ran at 10:30" in history


def test_fcs_006_a_removed_step_is_shown_read_only(client, active):
    step = _custom(active)
    customer_step_remove_custom(step=step, user=active.user)

    response = client.get(_url("step_detail", step), **PANEL)

    assert "This step was removed" in _panel(response)["text"]
    assert _offered(response) == {"📋 Copy", "⬇️ Download"}


def test_fr_005_the_panel_of_an_archived_release_is_read_only(client, active):
    step = _step(active, "customer-a", 0)
    release_archive(release=active.release, user=active.user)

    response = client.get(_url("step_detail", step), **PANEL)

    assert "Release v2.5.0 is archived: this step is read only." in _panel(response)["text"]
    assert _offered(response) == {"📋 Copy", "⬇️ Download"}


# --- Download -----------------------------------------------------------------------------------------------------


def test_fv_007_download_is_the_content_after_a_header_naming_the_target_named_after_customer_and_step(client, active):
    content = "-- for customer-a\r\nALTER TABLE users ADD COLUMN note text;  \n\n"
    step = _custom(active, name="Run Migration SQL", type="sql", content=content)

    response = client.get(_url("step_download", step))

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="customer-a_run-migration-sql.sql"'
    header = "-- Rollcall: v2.5.0 · Run Migration SQL · customer-a · prod-us/cust-a-prod\n"
    assert response.content.decode() == header + content
    assert "no-store" in response["Cache-Control"]


@pytest.mark.parametrize(("step_type", "extension"), [("bash", "sh"), ("sql", "sql"), ("text", "txt")])
def test_fv_007_download_extension_follows_the_type(client, active, step_type, extension):
    step = _custom(active, name="Step", type=step_type)

    response = client.get(_url("step_download", step))

    assert response["Content-Disposition"] == f'attachment; filename="customer-a_step.{extension}"'


def test_fv_007_a_hostile_step_name_gives_a_safe_filename(client, active):
    step = _custom(active, name="../../etc/passwd\r\nX-Evil: 1")

    response = client.get(_url("step_download", step))

    assert response["Content-Disposition"] == 'attachment; filename="customer-a_etcpasswd-x-evil-1.sh"'
    assert not response.has_header("X-Evil")


# --- actions ------------------------------------------------------------------------------------------------------


def test_fet_001_mark_as_done_from_the_matrix_answers_the_panel_the_cell_and_the_progress(client, active):
    step = _step(active, "customer-a", 0)

    response = client.post(_url("step_done", step), {"notes": "deployed"}, **_from_matrix(active))

    html = _html(response)
    assert response.status_code == 200 and "<html" not in html
    step.refresh_from_db()
    assert step.status == "done" and step.notes == "deployed" and step.executed_by == active.user
    assert "Status ✅ Done" in _panel(response)["text"]
    assert html.index('id="step-panel"') < html.index("hx-swap-oob")
    cell = _one(html, f"cell-{step.pk}")
    assert cell["text"] == "✅ Done" and cell["attrs"]["hx-swap-oob"] == "true"
    customer, cluster = active.customers["customer-a"].pk, active.clusters["prod-us"].pk
    assert _one(html, f"progress-customer-{customer}-deploy")["text"] == "50%"
    assert _one(html, f"progress-cluster-{cluster}-deploy")["text"] == "17%"
    assert _one(html, "progress-overall-deploy")["text"] == "8%"
    # Only what the matrix shows: no checklist row or count, no cross-customer row or summary.
    for absent in (f"step-{step.pk}", f"status-row-{step.pk}", f"count-customer-{customer}-deploy", "summary-"):
        assert f'id="{absent}' not in html


def test_fet_001_mark_as_done_from_the_checklist_answers_the_row_the_count_and_the_progress(client, active):
    step = _step(active, "customer-a", 0)

    html = _html(client.post(_url("step_done", step), {"notes": "deployed"}, **_from_checklist(active)))

    row = _one(html, f"step-{step.pk}")
    assert row["attrs"]["hx-swap-oob"] == "true" and "✅ Done" in row["text"] and "Revert" in row["text"]
    customer = active.customers["customer-a"].pk
    assert _one(html, f"progress-customer-{customer}-deploy")["text"] == "50%"
    assert _one(html, f"count-customer-{customer}-deploy")["text"] == "(1/2 done)"
    for absent in (f"cell-{step.pk}", f"status-row-{step.pk}", "progress-cluster-", "progress-overall-", "summary-"):
        assert f'id="{absent}' not in html


def test_fet_001_mark_as_done_from_the_cross_customer_view_answers_its_row_and_summary(client, active):
    step = _step(active, "customer-a", 0)

    html = _html(client.post(_url("step_done", step), {"notes": ""}, **_from_template_step(active.templates[0])))

    row = _one(html, f"status-row-{step.pk}")
    assert row["attrs"]["hx-swap-oob"] == "true" and "✅ Done" in row["text"] and "Revert" in row["text"]
    assert "✅ Done 1" in _one(html, f"summary-template-{active.templates[0].pk}")["text"]
    for absent in (f"cell-{step.pk}", f"step-{step.pk}", "progress-", "count-customer-"):
        assert f'id="{absent}' not in html


def test_fet_001_mark_as_done_on_the_step_page_answers_the_page_panel_only(client, active):
    step = _step(active, "customer-a", 0)

    html = _html(client.post(_url("step_done", step), {"notes": ""}, **_sent_from(_url("step_detail", step))))

    assert "hx-swap-oob" not in html
    panel = _one(html, "step-panel")["text"]
    assert "All steps of customer-a" in panel and "Back to matrix" in panel and "Close" not in panel


def test_fet_001_mark_as_done_without_htmx_redirects_back_with_a_message(client, active):
    step = _step(active, "customer-a", 0)
    back = reverse("steps:customer_steps", args=[active.release.pk, active.customers["customer-a"].pk])

    response = client.post(_url("step_done", step), {"notes": "", "next": back})

    assert response.status_code == 302 and response["Location"] == back
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["Deploy app for customer-a (prod-us/cust-a-prod): marked as done."]


def test_fet_001_a_foreign_next_url_is_ignored(client, active):
    step = _step(active, "customer-a", 0)

    response = client.post(_url("step_done", step), {"notes": "", "next": "https://evil.example/"})

    assert response.status_code == 302 and response["Location"] == _url("step_detail", step)


def test_br_s03_skip_without_a_reason_is_refused_next_to_the_field(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(_url("step_skip", step), {"reason": "   "}, **PANEL)

    assert response.status_code == 422
    html = _panel(response)["html"]
    skip = html[html.rindex("<details", 0, html.index("Confirm Skip")) :]
    assert skip.startswith("<details open>")
    field = skip[skip.index('<div class="field has-error">') :]
    assert SKIP_REASON_REQUIRED in field[: field.index("</div>\n</div>") + 6]
    assert "hx-swap-oob" not in _html(response)
    assert _state() == before


def test_br_s03_skip_without_a_reason_and_without_htmx_shows_the_page_with_the_message(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(_url("step_skip", step), {"reason": ""})

    assert response.status_code == 422 and "<html" in _html(response)
    assert SKIP_REASON_REQUIRED in _panel(response)["text"]
    assert _state() == before


def test_fet_003_skip_with_a_reason_skips_and_updates_the_cell(client, active):
    step = _step(active, "customer-a", 0)

    response = client.post(_url("step_skip", step), {"reason": "done by the customer"}, **_from_matrix(active))

    step.refresh_from_db()
    assert step.status == "skipped" and step.skip_reason == "done by the customer"
    assert _one(_html(response), f"cell-{step.pk}")["text"] == "⏸️ Skipped"
    assert "Reason: done by the customer" in _panel(response)["text"]
    assert "Undo Skip" in _offered(response)


def test_fet_002_revert_makes_a_done_step_reverted(client, active):
    step = customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)

    response = client.post(_url("step_revert", step), {"notes": "wrong image tag"}, **_from_matrix(active))

    step.refresh_from_db()
    assert step.status == "reverted" and step.notes == "wrong image tag"
    assert _one(_html(response), f"cell-{step.pk}")["text"] == "↩️ Reverted"
    assert _one(_html(response), f"progress-customer-{step.customer_id}-deploy")["text"] == "0%"


def test_fet_002_reverting_a_pending_step_is_refused_with_the_services_message(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(_url("step_revert", step), {"notes": ""}, **PANEL)

    assert response.status_code == 422
    message = TRANSITION_REFUSED.format(verb="revert", step="Deploy app", customer="customer-a", status="pending")
    assert message in _panel(response)["text"]
    assert _state() == before


def test_fet_003_undo_skip_makes_the_step_pending_again(client, active):
    step = customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason="later")

    response = client.post(_url("step_reopen", step), **_from_matrix(active))

    step.refresh_from_db()
    assert step.status == "pending" and step.skip_reason == ""
    assert _one(_html(response), f"cell-{step.pk}")["text"] == "🔄 Pending"


def test_fet_001_notes_are_saved_on_their_own_and_only_the_panel_and_rows_come_back(client, active):
    step = _step(active, "customer-a", 0)

    response = client.post(_url("step_notes", step), {"notes": "waiting for the DBA"}, **PANEL)

    step.refresh_from_db()
    assert step.notes == "waiting for the DBA" and step.status == "pending"
    html = _html(response)
    assert "waiting for the DBA" in _panel(response)["html"]
    assert _all(html, f"progress-customer-{step.customer_id}-deploy") == []
    assert _all(html, "progress-overall-deploy") == []


def test_fcs_002_override_content_marks_the_cell_and_keeps_the_template(client, active):
    step = _step(active, "customer-a", 0)

    response = client.post(
        _url("step_override", step), {"content": "helm upgrade a\r\n--set x=1\r\n"}, **_from_matrix(active)
    )

    step.refresh_from_db()
    # Browsers send CRLF from a textarea; a script keeps LF line ends.
    assert step.content == "helm upgrade a\n--set x=1\n" and step.is_overridden
    assert _one(_html(response), f"cell-{step.pk}")["text"] == "🔄 Pending ⚠️"
    checklist = client.get(reverse("steps:customer_steps", args=[active.release.pk, step.customer_id]))
    assert "OVERRIDDEN" in _one(_html(checklist), f"step-{step.pk}")["text"]
    assert "View Original" in _offered(response)
    assert StepTemplate.objects.get(pk=active.templates[0].pk).content == active.templates[0].content


def test_br_r03_override_of_a_done_step_is_refused(client, active):
    step = customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)
    before = _state()

    response = client.post(_url("step_override", step), {"content": "echo changed"}, **PANEL)

    assert response.status_code == 422
    assert CONTENT_LOCKED.format(step="Deploy app", customer="customer-a") in _panel(response)["text"]
    assert _state() == before


def test_fcs_005_reset_to_template_takes_the_template_content_again(client, active):
    step = customer_step_override(step=_step(active, "customer-a", 0), user=active.user, content="echo mine")

    response = client.post(_url("step_reset", step), **_from_matrix(active))

    step.refresh_from_db()
    assert step.content == active.templates[0].content and not step.is_overridden
    assert _one(_html(response), f"cell-{step.pk}")["text"] == "🔄 Pending"
    assert "Override Content" in _offered(response)


def test_fcs_005_reset_of_a_step_that_is_not_overridden_is_refused(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(_url("step_reset", step), **PANEL)

    assert response.status_code == 422
    assert NOT_OVERRIDDEN.format(step="Deploy app", customer="customer-a") in _panel(response)["text"]
    assert _state() == before


def test_fcs_003_edit_changes_a_custom_step(client, active):
    step = _custom(active)
    data = {"name": "Flush Redis", "type": "bash", "content": "redis-cli -n 2 FLUSHDB", "description": ""}

    response = client.post(_url("step_edit", step), data, **_from_checklist(active))

    step.refresh_from_db()
    assert (step.name, step.content) == ("Flush Redis", "redis-cli -n 2 FLUSHDB")
    assert "Step: Flush Redis" in _panel(response)["text"]
    assert "Flush Redis" in _one(_html(response), f"step-{step.pk}")["text"]


def test_fcs_003_editing_a_template_step_this_way_is_refused(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(
        _url("step_edit", step), {"name": "x", "type": "bash", "content": "echo", "description": ""}, **PANEL
    )

    assert response.status_code == 422
    assert NOT_CUSTOM.format(step="Deploy app", verb="edited this way") in _panel(response)["text"]
    assert _state() == before


def test_fcs_006_delete_removes_a_custom_step_its_cell_and_its_rows(client, active):
    step = _custom(active)

    response = client.post(_url("step_remove", step), **_from_checklist(active))

    assert CustomerStep.all_objects.get(pk=step.pk).is_deleted
    html = _html(response)
    assert _one(html, f"step-{step.pk}")["attrs"]["hx-swap-oob"] == "delete"
    assert f'id="cell-{step.pk}"' not in html and f'id="status-row-{step.pk}"' not in html
    assert "This step was removed" in _panel(response)["text"]
    assert _one(html, f"count-customer-{step.customer_id}-deploy")["text"] == "(0/2 done)"


def test_fcs_006_removing_a_template_step_for_one_customer_is_refused(client, active):
    step = _step(active, "customer-a", 0)
    before = _state()

    response = client.post(_url("step_remove", step), **PANEL)

    assert response.status_code == 422
    assert NOT_CUSTOM.format(step="Deploy app", verb="removed; skip it instead") in _panel(response)["text"]
    assert _state() == before


def test_fr_005_actions_in_an_archived_release_are_refused(client, active):
    step = _step(active, "customer-a", 0)
    release_archive(release=active.release, user=active.user)
    before = _state()

    response = client.post(_url("step_done", step), {"notes": ""}, **PANEL)

    assert response.status_code == 422
    assert RELEASE_NOT_ACTIVE.format(name="v2.5.0", status="archived") in _panel(response)["text"]
    assert _state() == before


# --- the customer view --------------------------------------------------------------------------------------------


def _customer_url(world, customer: str = "customer-a") -> str:
    return reverse("steps:customer_steps", args=[world.release.pk, world.customers[customer].pk])


def test_fv_004_customer_view_shows_cluster_namespace_and_each_categorys_steps(client, active):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)
    overridden = customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="select 2")
    custom = _custom(active, position=Position.AFTER, relative_to=_step(active, "customer-a", 0))
    customer = active.customers["customer-a"].pk

    html = _html(client.get(_customer_url(active)))

    head = _one(html, "customer-head")["text"]
    assert "Customer: customer-a" in head and "Cluster: prod-us | Namespace: cust-a-prod" in head
    assert "Release: v2.5.0" in head
    assert {"Back", "+ Add Custom Step", "Mark All"} <= _controls(html)
    deploy = _one(html, f"steps-{customer}-deploy")["text"]
    assert "Deploy Steps (1/3 done)" in deploy
    assert deploy.index("Deploy app") < deploy.index("Flush cache") < deploy.index("Run migration")
    assert "Verify Steps (0/1 done)" in _one(html, f"steps-{customer}-verify")["text"]
    done_row = _one(html, f"step-{_step(active, 'customer-a', 0).pk}")
    assert "✅ Done" in done_row["text"] and "Completed:" in done_row["text"]
    assert _controls(done_row["html"]) == {"View Content", "Revert"}
    custom_row = _one(html, f"step-{custom.pk}")
    assert "❎ CUSTOM" in custom_row["text"]
    assert _controls(custom_row["html"]) == {"View Content", "Mark as Done", "Skip", "Edit", "Delete"}
    overridden_row = _one(html, f"step-{overridden.pk}")
    assert "Overridden from template" in overridden_row["text"]
    assert _controls(overridden_row["html"]) == {"View Content", "Mark as Done", "Skip", "Reset to Template"}


def test_fv_004_a_list_asks_before_reset_delete_and_revert_naming_the_step_and_customer_escaped(client, active):
    customer_step_mark_done(step=_step(active, "customer-a", 0), user=active.user)
    customer_step_override(step=_step(active, "customer-a", 1), user=active.user, content="select 2")
    custom = _custom(active, name="<img src=x onerror=alert(1)> 'cache'")

    html = _html(client.get(_customer_url(active)))

    whose = "customer-a (prod-us/cust-a-prod)"
    assert f'hx-confirm="Revert Deploy app for {whose}? It will need doing again."' in html
    assert f'hx-confirm="Reset Run migration for {whose} to the template\'s content?"' in html
    assert (
        f'hx-confirm="Delete the custom step &lt;img src=x onerror=alert(1)&gt; &#x27;cache&#x27; of {whose}?"' in html
    )
    assert "<img src=x" not in html
    assert f'formaction="/steps/{custom.pk}/remove/"' in html


def test_fet_004_mark_all_is_offered_only_while_a_step_is_pending_or_reverted(client, active):
    customer = active.customers["customer-a"].pk
    customer_step_mark_done(step=_step(active, "customer-a", 2), user=active.user)
    customer_step_revert(step=_step(active, "customer-a", 2), user=active.user)
    for step in (_step(active, "customer-a", 0), _step(active, "customer-a", 1)):
        customer_step_mark_done(step=step, user=active.user)

    html = _html(client.get(_customer_url(active)))

    assert "Mark All" not in _controls(_one(html, f"steps-{customer}-deploy")["html"])
    assert "Mark All" in _controls(_one(html, f"steps-{customer}-verify")["html"])


def test_fet_004_mark_all_with_htmx_answers_the_category_section(client, active):
    customer = active.customers["customer-a"]
    url = reverse("steps:mark_all", args=[active.release.pk, customer.pk, "deploy"])

    response = client.post(url, **HTMX, HTTP_HX_TARGET=f"steps-{customer.pk}-deploy")

    assert response.status_code == 200
    assert CustomerStep.objects.filter(customer=customer, category="deploy", status="done").count() == 2
    assert CustomerStep.objects.filter(customer=customer, category="verify", status="pending").count() == 1
    section = _one(_html(response), f"steps-{customer.pk}-deploy")
    assert "Deploy Steps (2/2 done)" in section["text"]
    assert "<html" not in _html(response)


def test_fet_004_mark_all_with_nothing_pending_is_refused_with_the_services_message(client, active):
    customer = active.customers["customer-a"]
    url = reverse("steps:mark_all", args=[active.release.pk, customer.pk, "deploy"])
    client.post(url, **HTMX)
    before = _state()

    response = client.post(url, **HTMX)

    assert response.status_code == 422
    message = NOTHING_PENDING.format(customer="customer-a", category="deploy", release="v2.5.0")
    assert message in _one(_html(response), f"steps-{customer.pk}-deploy")["text"]
    assert _state() == before


def test_fet_004_mark_all_without_htmx_redirects_with_a_message(client, active):
    customer = active.customers["customer-a"]

    response = client.post(reverse("steps:mark_all", args=[active.release.pk, customer.pk, "verify"]))

    assert response.status_code == 302 and response["Location"] == _customer_url(active)
    messages = [str(message) for message in get_messages(response.wsgi_request)]
    assert messages == ["1 verify step(s) marked as done for customer-a (prod-us/cust-a-prod)."]


def test_fet_004_mark_all_of_an_unknown_category_is_not_found(client, active):
    url = reverse("steps:mark_all", args=[active.release.pk, active.customers["customer-a"].pk, "cleanup"])

    assert client.post(url, **HTMX).status_code == 404


def _add_url(world, customer: str = "customer-a") -> str:
    return reverse("steps:custom_step_add", args=[world.release.pk, world.customers[customer].pk])


def test_fcs_003_add_custom_step_dialog_lists_positions_and_leaves_add_to_template_unchecked(client, active):
    response = client.get(_add_url(active), {"category": "verify"}, **HTMX, HTTP_HX_TARGET="dialog")

    html = _html(response)
    assert response.status_code == 200 and "<html" not in html
    assert "Add Custom Step for customer-a" in html and "prod-us" in html and "cust-a-prod" in html
    for label in ("Step Name", "Category", "Type", "Content", "Insert Position", "Add to template"):
        assert label in html
    deploy = _step(active, "customer-a", 0).pk
    assert f'<option value="before:{deploy}">Before «Deploy app»</option>' in html
    assert f'<option value="after:{deploy}">After «Deploy app»</option>' in html
    assert '<option value="" selected>At the end of the category</option>' in html
    assert '<option value="verify" selected>Verify</option>' in html
    checkbox = _one(html, "add-step-add_to_template")
    assert checkbox["attrs"]["type"] == "checkbox" and "checked" not in checkbox["attrs"]
    assert {"Cancel", "Add Step"} <= _controls(html)


def test_fcs_008_add_custom_step_after_a_step_puts_it_there_and_updates_the_section(client, active):
    customer = active.customers["customer-a"]
    deploy = _step(active, "customer-a", 0)
    data = {
        "name": "Flush cache",
        "category": "deploy",
        "type": "bash",
        "content": "redis-cli FLUSHALL",
        "relative_to": f"after:{deploy.pk}",
    }

    response = client.post(_add_url(active), data, **HTMX, HTTP_HX_TARGET="custom-step-form")

    assert response.status_code == 200
    step = CustomerStep.objects.get(name="Flush cache")
    assert step.is_custom and step.customer == customer
    assert CustomerStep.objects.filter(name="Flush cache").count() == 1
    html = _html(response)
    assert "Step Flush cache added for customer-a (prod-us/cust-a-prod)." in _one(html, "custom-step-form")["text"]
    section = _one(html, f"steps-{customer.pk}-deploy")
    assert section["attrs"]["hx-swap-oob"] == "true"
    assert section["text"].index("Deploy app") < section["text"].index("Flush cache") < section["text"].index("Run mig")


def test_br_s06_add_to_template_gives_every_customer_the_step(client, active):
    data = {"name": "Smoke test", "category": "verify", "type": "bash", "content": "curl -f /health"}

    response = client.post(_add_url(active), {**data, "add_to_template": "on"})

    assert response.status_code == 302 and response["Location"] == _customer_url(active)
    assert StepTemplate.objects.filter(release=active.release, name="Smoke test").count() == 1
    assert CustomerStep.objects.filter(name="Smoke test", is_custom=False).count() == 6


def test_fcs_003_add_custom_step_without_content_is_refused_next_to_the_field(client, active):
    before = _state()
    data = {"name": "Flush cache", "category": "deploy", "type": "bash", "content": "  "}

    response = client.post(_add_url(active), data, **HTMX, HTTP_HX_TARGET="custom-step-form")

    assert response.status_code == 422
    html = _html(response)
    field = html[html.index('<div class="field has-error">') :]
    assert 'for="add-step-content"' in field[:200] and CONTENT_REQUIRED in field
    assert _state() == before


def test_fcs_008_a_position_in_the_other_category_is_refused_next_to_the_field(client, active):
    before = _state()
    data = {
        "name": "Flush cache",
        "category": "verify",
        "type": "bash",
        "content": "x",
        "relative_to": f"before:{_step(active, 'customer-a', 0).pk}",
    }

    response = client.post(_add_url(active), data, **HTMX, HTTP_HX_TARGET="custom-step-form")

    assert response.status_code == 422
    html = _html(response)
    field = html[html.index('<div class="field has-error">') :]
    assert 'for="add-step-relative_to"' in field[:200] and POSITION_STEP_MISMATCH in field
    assert _state() == before


def test_fcs_003_add_custom_step_page_works_without_javascript(client, active):
    response = client.get(_add_url(active))

    assert response.status_code == 200 and "<html" in _html(response) and "Add Step" in _controls(_html(response))


# --- the step cross-customer view ---------------------------------------------------------------------------------


def test_fv_005_one_step_across_every_customer_grouped_by_cluster(client, active):
    customer_step_mark_done(step=_step(active, "customer-d", 0), user=active.user)
    customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason="manual deploy")
    customer_step_override(step=_step(active, "customer-b", 0), user=active.user, content="echo b")

    html = _html(client.get(reverse("steps:template_step_status", args=[active.templates[0].pk])))

    assert "Step: Deploy app" in html and "Release:" in html
    groups = [html.index(f'id="cluster-{active.clusters[name].pk}"') for name in ("prod-eu", "prod-us", "staging")]
    assert groups == sorted(groups)
    prod_us = _one(html, f"cluster-{active.clusters['prod-us'].pk}")["text"]
    assert "prod-us (3 customers)" in prod_us and "customer-d" not in prod_us
    done = _one(html, f"status-row-{_step(active, 'customer-d', 0).pk}")
    assert "customer-d prod-eu/cust-d-prod ✅ Done" in done["text"] and "by rm" in done["text"]
    assert _controls(done["html"]) == {"View Content", "Revert"}
    skipped = _one(html, f"status-row-{_step(active, 'customer-a', 0).pk}")
    assert "Reason: manual deploy" in skipped["text"] and _controls(skipped["html"]) == {"View Content", "Undo Skip"}
    overridden = _one(html, f"status-row-{_step(active, 'customer-b', 0).pk}")
    assert "⚠️ OVERRIDDEN" in overridden["text"]
    assert _controls(overridden["html"]) == {"View Content", "Mark as Done", "Skip"}
    summary = _one(html, f"summary-template-{active.templates[0].pk}")["text"]
    assert "✅ Done 1" in summary and "🔄 Pending 4" in summary and "⏸️ Skipped 1" in summary


def test_fv_005_a_row_escapes_what_people_typed_and_offers_selection_to_those_who_carry_steps_out(
    client, active, viewer
):
    hostile = "<script>alert(1)</script>"
    customer_step_skip(step=_step(active, "customer-a", 0), user=active.user, reason=f"{hostile} 'later'")
    customer_step_override(step=_step(active, "customer-b", 0), user=active.user, content="echo #{db_host}")
    url = reverse("steps:template_step_status", args=[active.templates[0].pk])

    html = _html(client.get(url))

    assert hostile not in html
    skipped = _one(html, f"status-row-{_step(active, 'customer-a', 0).pk}")
    assert "Reason: &lt;script&gt;alert(1)&lt;/script&gt; &#x27;later&#x27;" in skipped["html"]
    assert "⛔ Unresolved: db_host" in _one(html, f"status-row-{_step(active, 'customer-b', 0).pk}")["text"]
    step = _step(active, "customer-c", 0)
    assert (
        f'value="{step.pk}:{step.version}" form="bulk-form" data-bulk-cluster="{active.clusters["prod-us"].pk}"'
        ' aria-label="Select customer-c (prod-us/cust-c-prod)"'
    ) in html
    client.force_login(viewer)
    as_viewer = _html(client.get(url))
    assert 'class="bulk-select"' not in as_viewer
    assert _controls(_one(as_viewer, f"status-row-{step.pk}")["html"]) == {"View Content"}


# --- query counts -------------------------------------------------------------------------------------------------

# The same bound holds at 10 and at 200 customers: nothing is read per customer, per step or per cell. Screens that
# show actions, and every action, also read the user's permissions (+ 2 queries) for the role checks. Every screen
# of steps reads the variables its customers define (+ 1), to tell which steps are blocked.
MATRIX_QUERIES = 9 + 1
SCREEN_QUERIES = {
    "matrix": MATRIX_QUERIES,
    "step_detail": 4 + 2 + 1,
    "customer_steps": 5 + 2 + 1,
    "template_step_status": 4 + 2 + 1,
    "custom_step_add": 5 + 1,
}
# An action (issue 10, item 1) costs at most 10 queries, whatever the size of the release: the user, their
# permissions, the step read under lock (with everything the panel shows of it), the customer's values (Mark as Done
# keeps the SHA-256 of the text), the step's UPDATE, its progress counter's UPDATE, the history event, the values the
# panel shows, the progress around the step (one aggregate over the counters, never the release's steps) and the
# step's history. + 2: the SAVEPOINT and RELEASE of the action's transaction, nested in the test's (a request has none).
ACTION_QUERIES = 10 + 2
# Mark All reads the release and the customer, then locks them in the service, updates every step in one statement
# and answers with the whole checklist section (its steps and their variables) instead of the panel.
MARK_ALL_QUERIES = ACTION_QUERIES + 3


@pytest.fixture(params=[10, 200], ids=["10-customers", "200-customers"])
def many(request, user):
    """A release with 3 deploy and 2 verify steps activated for N customers on 4 clusters, some steps acted on."""
    clusters = ClusterFactory.create_batch(4)
    customers = [CustomerFactory(cluster=clusters[index % 4]) for index in range(request.param)]
    release = ReleaseFactory()
    StepTemplateFactory.create_batch(3, release=release, category="deploy")
    StepTemplateFactory.create_batch(2, release=release, category="verify")
    release_activate(release=release, user=user)
    steps = list(CustomerStep.objects.filter(customer=customers[0]).order_by("pk"))
    customer_step_mark_done(step=steps[0], user=user)
    customer_step_override(step=steps[1], user=user, content="echo overridden")
    customer_step_skip(step=steps[3], user=user, reason="not needed")
    custom = customer_step_add_custom(
        release=release, customer=customers[1], user=user, name="Extra", category="deploy", type="sql", content="x"
    )
    return {"release": release, "customer": customers[0], "steps": steps, "custom": custom, "user": user}


@pytest.mark.parametrize("screen", SCREEN_QUERIES)
def test_screens_read_a_constant_number_of_queries(client, many, screen, django_assert_max_num_queries):
    release, customer, step = many["release"], many["customer"], many["steps"][1]
    url = {
        "matrix": reverse("steps:matrix", args=[release.pk]),
        "step_detail": _url("step_detail", step),
        "customer_steps": reverse("steps:customer_steps", args=[release.pk, customer.pk]),
        "template_step_status": reverse("steps:template_step_status", args=[step.template_id]),
        "custom_step_add": reverse("steps:custom_step_add", args=[release.pk, customer.pk]),
    }[screen]

    headers = PANEL if screen == "step_detail" else {}

    with django_assert_max_num_queries(SCREEN_QUERIES[screen]):
        response = client.get(url, **headers)

    assert response.status_code == 200


@pytest.mark.parametrize(
    ("action", "step_index", "data"),
    [
        ("done", 2, {"notes": "ok"}),
        ("skip", 2, {"reason": "not today"}),
        ("revert", 0, {"notes": ""}),
        ("reopen", 3, {}),
        ("notes", 2, {"notes": "later"}),
        ("override", 2, {"content": "echo mine"}),
        ("reset", 1, {}),
        ("edit", "custom", {"name": "Extra 2", "type": "sql", "content": "y", "description": ""}),
        ("remove", "custom", {}),
    ],
)
def test_actions_run_a_constant_number_of_queries(
    client, many, action, step_index, data, django_assert_max_num_queries
):
    step = many["custom"] if step_index == "custom" else many["steps"][step_index]

    with django_assert_max_num_queries(ACTION_QUERIES):
        response = client.post(_url(f"step_{action}", step), data, **PANEL)

    assert response.status_code == 200, _html(response)


def test_mark_all_runs_a_constant_number_of_queries(client, many, django_assert_max_num_queries):
    url = reverse("steps:mark_all", args=[many["release"].pk, many["customer"].pk, "deploy"])

    with django_assert_max_num_queries(MARK_ALL_QUERIES):
        response = client.post(url, **HTMX)

    assert response.status_code == 200
