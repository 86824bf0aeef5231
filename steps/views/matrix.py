"""The release matrix (FV-003): steps by customers in one category, one table per cluster."""

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from core.htmx import render_page_or_partial
from releases.models import Release
from steps.choices import BLOCKED, STATUS_LABELS, StepCategory, StepStatus
from steps.forms import MatrixFilterForm
from steps.selectors import clusters_of_release, release_matrix

# A cell's class attribute by (dimmed, blocked): written once, not per cell.
CELL_CLASSES = {
    (False, False): "",
    (True, False): mark_safe(' class="dimmed"'),
    (False, True): mark_safe(' class="blocked"'),
    (True, True): mark_safe(' class="dimmed blocked"'),
}
BLOCKED_MARK = ' <span class="blocked-mark" title="Unresolved: {}">⛔</span>'


def step_url_builder(name: str):
    """A function pk → URL of a step view, reversing once: the matrix has thousands of cells to link."""
    prefix, suffix = reverse(f"steps:{name}", args=[0]).rsplit("/0/", 1)
    return lambda pk: f"{prefix}/{pk}/{suffix}"


def matrix_cell(step, *, url, oob: bool = False, changed_by: str = "") -> str:
    """A matrix cell's button: status, ⚠️ overridden, ❎ custom, ⛔ blocked by a variable with no value (`step.blocked`,
    the missing names); it opens the step in the side panel. A live update marks who changed it (`changed_by`).

    Written in Python rather than as a template partial: the matrix renders thousands of them in one request.
    """
    blocked = step.blocked
    return format_html(
        '<button type="submit" id="cell-{}" formaction="{}" data-version="{}" title="{} ({}): {}"{}{}>'
        '<span class="status status-{}">{}</span>{}{}{}{}</button>',
        step.pk,
        url(step.pk),
        step.version,
        step.customer.name,
        step.customer.namespace,
        step.name,
        CELL_CLASSES[step.dimmed, bool(blocked)],
        mark_safe(' hx-swap-oob="true"') if oob else "",
        step.status,
        STATUS_LABELS[step.status],
        mark_safe(' <span title="Overridden">⚠️</span>') if step.is_overridden else "",
        mark_safe(' <span title="Custom step">❎</span>') if step.is_custom else "",
        format_html(BLOCKED_MARK, ", ".join(blocked)) if blocked else "",
        render_to_string("steps/_live_mark.html", {"changed_by": changed_by, "step": step}) if changed_by else "",
    )


def _row_cells(cells, url) -> str:
    """A matrix row's cells: a button per customer that has the step, a hatched cell for the others."""
    return mark_safe(
        "".join(
            f'<td class="cell">{matrix_cell(step, url=url)}</td>'
            if step is not None
            else '<td class="cell empty"></td>'
            for step in cells
        )
    )


def _query_string(**params) -> str:
    return urlencode({key: value for key, value in params.items() if value != ""})


@require_GET
@login_required
def matrix(request, release_pk):
    """Steps by customers in one category, one table per cluster, filtered by cluster and status (FV-003, FR-007)."""
    release = get_object_or_404(Release, pk=release_pk)
    form = MatrixFilterForm(request.GET, clusters=list(clusters_of_release(release)))
    filters = form.filters()
    data = release_matrix(release, **filters)
    url = step_url_builder("step_detail")
    query = {"cluster": filters["cluster"].pk if filters["cluster"] else "", "status": filters["status"] or ""}
    context = {
        "release": release,
        "matrix": data,
        "tables": [(table, [(row, _row_cells(cells, url)) for row, cells in table.rows]) for table in data.tables],
        "filter_form": form,
        "tabs": [
            (value, label, _query_string(category=value, **query), value == data.category)
            for value, label in StepCategory.choices
        ],
        "overall": [
            (value, label, data.progress.overall_percent(value), data.progress.overall_complete(value))
            for value, label in StepCategory.choices
        ],
        "status_label": "Blocked" if data.status == BLOCKED else StepStatus(data.status).label if data.status else "",
    }
    return render_page_or_partial(request, "steps/matrix.html", context, partial="matrix_body", target="matrix-body")
