"""The release matrix (FV-003): steps by customers in one category, one table per cluster."""

from html import escape
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from core.htmx import VARY_HEADERS, is_fragment_request, render_page_or_partial
from core.slots import Slots
from releases.models import Release
from steps.choices import BLOCKED, STATUS_LABELS, RunMark, StepCategory, StepStatus
from steps.forms import MatrixFilterForm
from steps.selectors import clusters_of_release, release_matrix
from steps.transitions import OUTSTANDING

# What a cell's button adds to its status class when filtered out (dimmed) or blocked, by (dimmed, blocked).
CELL_CLASSES = {
    (False, False): "",
    (True, False): " dimmed",
    (False, True): " blocked",
    (True, True): " dimmed blocked",
}
BLOCKED_MARK = ' <span class="blocked-mark" title="Unresolved: {}">⛔</span>'
OVERRIDDEN_MARK = ' <span title="Overridden">⚠️</span>'
CUSTOM_MARK = ' <span title="Custom step">❎</span>'
# A step being run on its cluster (runs/), or whose last run failed while it is still to do.
RUN_MARKS = {
    RunMark.RUNNING: ' <span class="run-mark" title="Running on its cluster">⏳</span>',
    RunMark.FAILED: ' <span class="run-mark failed" title="Last run failed">❗</span>',
}
# A matrix cell: its step's id (the side panel's URL is made from it: name and value for the form without JavaScript,
# static/js/workspace.js with it), its version (live updates and bulk selection compare it), its status. Whose step it
# is, the table's headers say: column (customer) and row (step), not a title repeated in every cell.
CELL = (
    '<button id="cell-{pk}" name="step" value="{pk}" data-version="{version}" class="status-{status}{classes}"{oob}>'
    "{label}{marks}</button>"
)
# Written with the standard library's escape (what Django's escape() calls, without its lazy-string wrapper): the
# matrix writes one per customer.
CUSTOMER_HEAD = (
    '<th scope="col"><a href="{url}">{name}</a><br><span class="mono muted">({namespace})</span><br>'
    '<span id="progress-customer-{pk}-{category}">{progress}</span></th>'
)
TEMPLATE_ROW_HEAD = (
    '<th scope="row" class="step-name"><a href="{}" title="This step for every customer">{}. {}</a></th>'
)
OTHER_ROW_HEAD = '<th scope="row" class="step-name"><span class="muted">↳</span> {} {}</th>'
CUSTOM_MARKER = mark_safe('<span class="marker marker-custom">❎ CUSTOM</span>')
DETACHED_MARKER = mark_safe('<span class="marker marker-detached">DETACHED</span>')
EMPTY_CELL = '<td class="empty"></td>'
STATUS_CLASS = {status.value: status.value for status in StepStatus}


def _marks(step) -> str:
    """⚠️ overridden, ❎ custom, ⛔ blocked by variables with no value, ⏳ running or ❗ last run failed: most cells
    have none."""
    marks = ""
    if step.is_overridden:
        marks += OVERRIDDEN_MARK
    if step.is_custom:
        marks += CUSTOM_MARK
    if step.blocked:
        marks += format_html(BLOCKED_MARK, ", ".join(step.blocked))
    if step.run_mark == RunMark.RUNNING or (step.run_mark == RunMark.FAILED and step.status in OUTSTANDING):
        marks += RUN_MARKS[step.run_mark]
    return marks


def matrix_cell(step, *, oob: bool = False, changed_by: str = "") -> str:
    """A matrix cell's button: status, ⚠️ overridden, ❎ custom, ⛔ blocked by a variable with no value (`step.blocked`,
    the missing names); it opens the step in the side panel. A live update marks who changed it (`changed_by`).

    Written in Python rather than as a template partial: the matrix renders thousands of them in one request. Every
    value in it is an integer or one of the status choices except the variable names, which are escaped.
    """
    marks = _marks(step) if step.is_overridden or step.is_custom or step.blocked or step.run_mark else ""
    if changed_by:
        marks += render_to_string("steps/_live_mark.html", {"changed_by": changed_by, "step": step})
    return mark_safe(
        CELL.format(
            pk=int(step.pk),
            version=int(step.version),
            status=STATUS_CLASS[step.status],
            classes=CELL_CLASSES[step.dimmed, bool(step.blocked)],
            oob=' hx-swap-oob="true"' if oob else "",
            label=STATUS_LABELS[step.status],
            marks=marks,
        )
    )


# A plain cell's end, from its status class on: the same few strings for 10,000 cells.
PLAIN_CELL_END = {status: f'class="status-{status}">{STATUS_LABELS[status]}</button></td>' for status in STATUS_CLASS}


def _row_cells(cells) -> str:
    """A matrix row's cells: a button per customer that has the step, a hatched cell for the others. Most cells are
    a plain status: written in one f-string, the matrix's inner loop."""
    html = []
    append = html.append
    for step in cells:
        if step is None:
            append(EMPTY_CELL)
        elif step.is_overridden or step.is_custom or step.blocked or step.dimmed or step.run_mark:
            append(f"<td>{matrix_cell(step)}</td>")
        else:
            pk = step.pk
            append(
                f'<td><button id="cell-{pk:d}" name="step" value="{pk:d}" data-version="{step.version:d}" '
                f"{PLAIN_CELL_END[step.status]}"
            )
    return mark_safe("".join(html))


def _progress_html():
    """A function (percent, complete) → templates/_progress.html, rendered once per distinct value: the matrix shows
    one per customer, and a category's percentages are few (a customer's steps done out of its steps)."""
    rendered = {}

    def progress(value, complete) -> str:
        key = (value, complete)
        if key not in rendered:
            rendered[key] = render_to_string("_progress.html", {"value": value, "complete": complete})
        return rendered[key]

    return progress


def _customer_heads(release, table, category: str, progress) -> str:
    """A cluster table's column headers: each customer with its checklist's link, namespace and progress."""
    prefix, suffix = reverse("steps:customer_steps", args=[release.pk, 0]).rsplit("/0/", 1)
    category = escape(category)
    return mark_safe(
        "".join(
            CUSTOMER_HEAD.format(
                url=f"{prefix}/{customer.pk:d}/{suffix}",
                name=escape(customer.name),
                namespace=escape(customer.namespace),
                pk=int(customer.pk),
                category=category,
                progress=progress(customer.progress, customer.complete),
            )
            for customer in table.customers
        )
    )


def _query_string(**params) -> str:
    return urlencode({key: value for key, value in params.items() if value != ""})


def _row_head(row, template_url) -> str:
    """A row's header: a template step's number and name, linked to it across customers; or a custom or detached
    step's name, marked."""
    if row.template is not None:
        return format_html(TEMPLATE_ROW_HEAD, template_url(row.template.pk), row.number, row.name)
    return format_html(OTHER_ROW_HEAD, row.name, CUSTOM_MARKER if row.is_custom else DETACHED_MARKER)


def _table_context(release, table, category: str, progress, slots: Slots) -> tuple:
    """A cluster's table with its headers and rows already written: (table, heads, rows), or (table, None, None)
    for a table not read yet. Rows are written in Python, as cells are: a table has hundreds, each a template step
    linked by its URL; headers and rows are held in `slots` until the page around them is rendered."""
    if table.rows is None:
        return table, None, None
    prefix, suffix = reverse("steps:template_step_status", args=[0]).rsplit("/0/", 1)

    def template_url(pk):
        return f"{prefix}/{pk}/{suffix}"

    rows = mark_safe(
        "".join(f"<tr>{_row_head(row, template_url)}{_row_cells(cells)}</tr>\n" for row, cells in table.rows)
    )
    return table, slots.hold(_customer_heads(release, table, category, progress)), slots.hold(rows)


def _status_label(data) -> str:
    return "Blocked" if data.status == BLOCKED else StepStatus(data.status).label if data.status else ""


def _step_requested(request):
    """`?step=<id>`: a cell's button submitted without JavaScript (with it, workspace.js asks for the step itself)."""
    step = request.GET.get("step", "")
    return int(step) if step.isascii() and step.isdigit() and len(step) < 19 else None  # a 64-bit id at most


@require_GET
@login_required
def matrix(request, release_pk):
    """Steps by customers in one category, one table per cluster, filtered by cluster and status (FV-003, FR-007).

    A large matrix sends the tables of its first clusters (settings.MATRIX_EAGER_CELLS); each further table is the
    fragment `?table=<cluster id>`, which the page asks for when scrolled near it. `?step=<id>` (a cell's button
    without JavaScript) redirects to that step's page."""
    step = _step_requested(request)
    if step is not None:
        return redirect("steps:step_detail", step)
    release = get_object_or_404(Release, pk=release_pk)
    clusters = list(clusters_of_release(release))
    form = MatrixFilterForm(request.GET, clusters=clusters)
    filters = form.filters()
    query = {"cluster": filters["cluster"].pk if filters["cluster"] else "", "status": filters["status"] or ""}
    table_pk = request.GET.get("table", "")
    if is_fragment_request(request) and table_pk.isascii() and table_pk.isdigit():
        # One cluster's table, when the page scrolls near it: the same reading as the page, for that cluster only.
        cluster = next((cluster for cluster in clusters if cluster.pk == int(table_pk)), None)
        if cluster is None:
            raise Http404("No such cluster in this release.")
        data = release_matrix(release, category=filters["category"], cluster=cluster, status=filters["status"])
        slots = Slots()
        table, heads, rows = (
            _table_context(release, data.tables[0], data.category, _progress_html(), slots)
            if data.tables
            else (None,) * 3
        )
        context = {
            "release": release,
            "matrix": data,
            "table": table,
            "heads": heads,
            "rows": rows,
            "status_label": _status_label(data),
        }
        response = slots.fill(render(request, "steps/matrix.html#cluster_table", context))
        patch_vary_headers(response, VARY_HEADERS)
        return response
    data = release_matrix(release, **filters, cell_budget=settings.MATRIX_EAGER_CELLS)
    progress = _progress_html()
    slots = Slots()
    context = {
        "release": release,
        "matrix": data,
        "tables": [_table_context(release, table, data.category, progress, slots) for table in data.tables],
        "table_query": _query_string(category=data.category, status=query["status"]),
        "filter_form": form,
        "tabs": [
            (value, label, _query_string(category=value, **query), value == data.category)
            for value, label in StepCategory.choices
        ],
        "overall": [
            (value, label, data.progress.overall_percent(value), data.progress.overall_complete(value))
            for value, label in StepCategory.choices
        ],
        "status_label": _status_label(data),
    }
    return slots.fill(
        render_page_or_partial(request, "steps/matrix.html", context, partial="matrix_body", target="matrix-body")
    )
