"""The step screens: the release matrix (FV-003), the step side panel and every customer-step action (FV-007), one
customer's steps (FV-004) and one template step across customers (FV-005).

Every action is a POST that calls one service. An htmx request gets the re-rendered side panel plus out-of-band
fragments of whatever else changed on the page it came from (matrix cell, progress, step rows); a refusal gets the
panel with the service's message and status 422; a plain POST redirects back with a message.

Every action form sends the version of the step it was rendered with; when someone else changed the step since, the
service refuses and the answer is 409 with the step as it is now and who changed it (no lost updates).
"""

from urllib.parse import parse_qs, urlencode, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError, StepChangedError
from core.forms import add_domain_error
from customers.models import Customer
from history.selectors import events_for_customer_step
from releases.choices import ReleaseStatus
from releases.models import Release
from releases.selectors import StepCounts, release_progress
from steps.choices import StepCategory, StepStatus, StepType
from steps.forms import (
    CustomStepAddForm,
    CustomStepEditForm,
    MatrixFilterForm,
    NotesForm,
    OverrideForm,
    SkipForm,
    StepVersionForm,
)
from steps.highlight import highlight_content
from steps.models import StepTemplate
from steps.selectors import (
    clusters_of_release,
    customer_steps_for_screens,
    release_matrix,
    step_actions,
    steps_of_customer,
    template_step_across_customers,
    template_step_counts,
)
from steps.services import (
    customer_step_add_custom,
    customer_step_edit_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_reopen,
    customer_step_reset_to_template,
    customer_step_revert,
    customer_step_skip,
    customer_step_update_notes,
    customer_steps_mark_all_done,
)

PANEL_SECTIONS = ("skip", "override", "edit")  # what ?open= unfolds in the side panel
DOWNLOAD_EXTENSIONS = {StepType.BASH: "sh", StepType.SQL: "sql", StepType.TEXT: "txt"}


def _next_url(request, default: str) -> str:
    """Where a plain POST goes back to: `next` when it is a URL of this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next")
    # Only a path: redirect() would take any other word for a URL name to reverse.
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


def _is_fragment_request(request, target: str | None = None) -> bool:
    """An htmx request that wants a fragment (not a history restore, and aimed at `target` when given)."""
    if not request.htmx or request.htmx.history_restore_request:
        return False
    return target is None or request.htmx.target == target


def _where(customer) -> str:
    return f"{customer.name} ({customer.cluster.name}/{customer.namespace})"


# --- the release matrix -----------------------------------------------------------------------------------------


STATUS_LABELS = {
    StepStatus.DONE: "✅ Done",
    StepStatus.PENDING: "🔄 Pending",
    StepStatus.SKIPPED: "⏸️ Skipped",
    StepStatus.REVERTED: "↩️ Reverted",
}


def _step_url_builder(name: str):
    """A function pk → URL of a step view, reversing once: the matrix has thousands of cells to link."""
    prefix, suffix = reverse(f"steps:{name}", args=[0]).rsplit("/0/", 1)
    return lambda pk: f"{prefix}/{pk}/{suffix}"


def _cell(step, *, url, oob: bool = False) -> str:
    """A matrix cell's button: status, ⚠️ overridden, ❎ custom; it opens the step in the side panel.

    Written in Python rather than as a template partial: the matrix renders thousands of them in one request.
    """
    return format_html(
        '<button type="submit" id="cell-{}" formaction="{}" title="{} ({}): {}"{}{}>'
        '<span class="status status-{}">{}</span>{}{}</button>',
        step.pk,
        url(step.pk),
        step.customer.name,
        step.customer.namespace,
        step.name,
        mark_safe(' class="dimmed"') if getattr(step, "dimmed", False) else "",
        mark_safe(' hx-swap-oob="true"') if oob else "",
        step.status,
        STATUS_LABELS[step.status],
        mark_safe(' <span title="Overridden">⚠️</span>') if step.is_overridden else "",
        mark_safe(' <span title="Custom step">❎</span>') if step.is_custom else "",
    )


def _row_cells(cells, url) -> str:
    """A matrix row's cells: a button per customer that has the step, a hatched cell for the others."""
    return mark_safe(
        "".join(
            f'<td class="cell">{_cell(step, url=url)}</td>' if step is not None else '<td class="cell empty"></td>'
            for step in cells
        )
    )


@require_GET
@login_required
def matrix(request, release_pk):
    """Steps by customers in one category, one table per cluster, filtered by cluster and status (FV-003, FR-007)."""
    release = get_object_or_404(Release, pk=release_pk)
    form = MatrixFilterForm(request.GET, clusters=list(clusters_of_release(release)))
    filters = form.filters()
    data = release_matrix(release, **filters)
    url = _step_url_builder("step_detail")
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
        "overall": [(value, label, data.progress.overall_percent(value)) for value, label in StepCategory.choices],
        "status_label": StepStatus(data.status).label if data.status else "",
    }
    template = "steps/matrix.html#matrix_body" if _is_fragment_request(request, "matrix-body") else "steps/matrix.html"
    return render(request, template, context)


def _query_string(**params) -> str:
    return urlencode({key: value for key, value in params.items() if value != ""})


# --- the side panel ---------------------------------------------------------------------------------------------


def _form_ids(step) -> str:
    """Ids of the panel's fields, unique on a page that also shows a dialog or another step."""
    return f"step{step.pk}-%s"


def _panel_context(request, step, *, forms=None, open_section=None, panel_error=None, conflict=None) -> dict:
    forms = forms or {}
    ids = _form_ids(step)
    original = step.template if step.is_overridden else None
    return {
        "step": step,
        "actions": step_actions(step),
        "events": events_for_customer_step(step),
        "code": highlight_content(step.content, step.type),
        "original_code": highlight_content(original.content, original.type) if original else None,
        "notes_form": forms.get("notes_form") or NotesForm(initial={"notes": step.notes}, auto_id=ids),
        "skip_form": forms.get("skip_form") or SkipForm(auto_id=ids),
        "override_form": forms.get("override_form") or OverrideForm(initial={"content": step.content}, auto_id=ids),
        "edit_form": forms.get("edit_form")
        or CustomStepEditForm(
            initial={"name": step.name, "type": step.type, "content": step.content, "description": step.description},
            auto_id=ids,
        ),
        "open": open_section,
        "panel_error": panel_error,
        "conflict": conflict,
        "as_page": not _is_fragment_request(request),
        "next_url": _next_url(
            request,
            default=request.get_full_path()
            if request.method == "GET"
            else reverse("steps:step_detail", args=[step.pk]),
        ),
    }


def _render_panel(request, step, *, status=200, **kwargs):
    """The side panel: a fragment for htmx, the step's own page otherwise."""
    context = _panel_context(request, step, **kwargs)
    template = "steps/_panel.html" if _is_fragment_request(request) else "steps/step_detail.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def step_detail(request, pk):
    """One customer step: who it is for, its content, execution and history, with its actions (FV-007, §5.7)."""
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    open_section = request.GET.get("open")
    return _render_panel(request, step, open_section=open_section if open_section in PANEL_SECTIONS else None)


@require_GET
@login_required
def step_download(request, pk):
    """The step's exact content as a file named after customer and step, e.g. customer-a_run-migration-sql.sql."""
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    # slugify keeps only [a-z0-9_-]: no path, quote or line break can reach the header.
    filename = "{}_{}.{}".format(
        slugify(step.customer.name) or "customer", slugify(step.name) or "step", DOWNLOAD_EXTENSIONS[step.type]
    )
    response = HttpResponse(step.content, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response


# --- actions on one customer step -------------------------------------------------------------------------------


def _matrix_status_filter(request) -> str | None:
    """The status filter of the matrix the request came from, so a re-rendered cell keeps its dimming."""
    current = request.htmx.current_url or ""
    status = parse_qs(urlsplit(current).query).get("status", [""])[0]
    return status if status in StepStatus.values else None


def _changed_fragments(request, step, *, progress_changed: bool) -> dict:
    """What else changed on the page: the matrix cell, the step's rows, and progress when a status changed."""
    status = _matrix_status_filter(request)
    step.dimmed = bool(status) and step.status != status
    step.actions = step_actions(step)
    context = {"removed": step.is_deleted, "cell": _cell(step, url=_step_url_builder("step_detail"), oob=True)}
    if progress_changed:
        customer, category = step.customer, step.category
        progress = release_progress(step.release)
        counts = progress.customer(customer.pk, category)
        context.update(
            {
                "progress_changed": True,
                "customer_counts": counts,
                "customer_percent": counts.percent,
                "cluster_percent": progress.cluster_percent(customer.cluster_id, category),
                "overall_percent": progress.overall_percent(category),
                "template_counts": template_step_counts(step.template) if step.template_id else None,
            }
        )
    return context


def _shown_fields(step, form_name, form) -> set[str]:
    """The fields of a refused form that the panel shows again: a refusal naming one of them is shown next to it,
    any other at the top of the panel (a done step has no override form to show "content is locked" on)."""
    if form is None:
        return set()
    actions = step_actions(step)
    shown = {
        "notes_form": actions.editable,
        "skip_form": actions.skip,
        "override_form": actions.override,
        "edit_form": actions.edit,
    }[form_name]
    return set(form.fields) if shown else set()


def _step_conflict(request, pk, error: StepChangedError):
    """Someone changed the step after this page showed it: nothing was saved; the answer is 409 with the step as it
    is now, who changed it and when at the top, and the rest of the page brought up to date (cell, rows, progress)."""
    if not request.htmx:
        messages.error(request, error.message)
        return redirect(_next_url(request, default=reverse("steps:step_detail", args=[pk])))
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    context = _panel_context(request, step, conflict=error.message)
    # The other person's change may have been a status change: progress is brought up to date as well.
    context.update(_changed_fragments(request, step, progress_changed=True))
    return render(request, "steps/_step_changed.html", context, status=409)


def _step_action(request, pk, *, perform, done: str, form_class=None, form_name=None, progress_changed=True):
    """Run one service on a step. `perform(step, data, version)` calls it with the version the page showed as
    `expected_version`; `done` says what happened, for the message."""
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    form = form_class(request.POST, auto_id=_form_ids(step)) if form_class else None
    # A request without a version (a simple script, a page rendered before steps had versions) still works: it acts
    # on the step as it is now (expected_version None), so nobody is locked out; only a stale version is refused.
    version_form = StepVersionForm(request.POST)
    panel_error = None
    if not version_form.is_valid():
        panel_error = version_form.errors["version"][0]
    elif form is None or form.is_valid():
        try:
            perform(step, form.cleaned_data if form else {}, version_form.cleaned_data["version"])
        except StepChangedError as error:
            return _step_conflict(request, pk, error)
        except DomainError as error:
            if error.field in _shown_fields(step, form_name, form):
                add_domain_error(form, error)
            else:
                panel_error = error.message
        else:
            if not request.htmx:
                messages.success(request, f"{step.name} for {_where(step.customer)}: {done}.")
                return redirect(_next_url(request, default=reverse("steps:step_detail", args=[step.pk])))
            step = get_object_or_404(customer_steps_for_screens(), pk=pk)
            context = _panel_context(request, step)
            context.update(_changed_fragments(request, step, progress_changed=progress_changed))
            return render(request, "steps/_step_changed.html", context)
    open_section = {"skip_form": "skip", "override_form": "override", "edit_form": "edit"}.get(form_name)
    return _render_panel(
        request, step, status=422, forms={form_name: form}, open_section=open_section, panel_error=panel_error
    )


@require_POST
@login_required
def step_done(request, pk):
    """Mark a step done, with the notes typed beside it (FET-001)."""
    return _step_action(
        request,
        pk,
        form_class=NotesForm,
        form_name="notes_form",
        done="marked as done",
        perform=lambda step, data, version: customer_step_mark_done(
            step=step, user=request.user, notes=data["notes"], expected_version=version
        ),
    )


@require_POST
@login_required
def step_skip(request, pk):
    """Skip a step with its mandatory reason (FET-003, BR-S03)."""
    return _step_action(
        request,
        pk,
        form_class=SkipForm,
        form_name="skip_form",
        done="skipped",
        perform=lambda step, data, version: customer_step_skip(
            step=step, user=request.user, reason=data["reason"], expected_version=version
        ),
    )


@require_POST
@login_required
def step_revert(request, pk):
    """Revert a done step: it needs doing again, its history stays (FET-002, BR-R04)."""
    return _step_action(
        request,
        pk,
        form_class=NotesForm,
        form_name="notes_form",
        done="reverted",
        perform=lambda step, data, version: customer_step_revert(
            step=step, user=request.user, notes=data["notes"], expected_version=version
        ),
    )


@require_POST
@login_required
def step_reopen(request, pk):
    """Undo a skip: the step is pending again."""
    return _step_action(
        request,
        pk,
        done="skip undone",
        perform=lambda step, data, version: customer_step_reopen(
            step=step, user=request.user, expected_version=version
        ),
    )


@require_POST
@login_required
def step_notes(request, pk):
    """Save a step's execution notes on their own."""
    return _step_action(
        request,
        pk,
        form_class=NotesForm,
        form_name="notes_form",
        done="notes saved",
        progress_changed=False,
        perform=lambda step, data, version: customer_step_update_notes(
            step=step, user=request.user, notes=data["notes"], expected_version=version
        ),
    )


@require_POST
@login_required
def step_override(request, pk):
    """Give this customer its own content for a template step (FCS-002, BR-S02)."""
    return _step_action(
        request,
        pk,
        form_class=OverrideForm,
        form_name="override_form",
        done="content overridden",
        progress_changed=False,
        perform=lambda step, data, version: customer_step_override(
            step=step, user=request.user, content=data["content"], expected_version=version
        ),
    )


@require_POST
@login_required
def step_reset(request, pk):
    """Drop this customer's override and take the template step's content again (FCS-005)."""
    return _step_action(
        request,
        pk,
        done="reset to template",
        progress_changed=False,
        perform=lambda step, data, version: customer_step_reset_to_template(
            step=step, user=request.user, expected_version=version
        ),
    )


@require_POST
@login_required
def step_edit(request, pk):
    """Edit a custom step's name, type, content and description."""
    return _step_action(
        request,
        pk,
        form_class=CustomStepEditForm,
        form_name="edit_form",
        done="edited",
        progress_changed=False,
        perform=lambda step, data, version: customer_step_edit_custom(
            step=step, user=request.user, **data, expected_version=version
        ),
    )


@require_POST
@login_required
def step_remove(request, pk):
    """Remove a custom step (FCS-006); template steps are skipped instead."""
    return _step_action(
        request,
        pk,
        done="removed",
        perform=lambda step, data, version: customer_step_remove_custom(
            step=step, user=request.user, expected_version=version
        ),
    )


# --- one customer's steps ---------------------------------------------------------------------------------------


def _release_and_customer(release_pk, customer_pk):
    release = get_object_or_404(Release, pk=release_pk)
    customer = get_object_or_404(Customer.all_objects.select_related("cluster"), pk=customer_pk)
    return release, customer


def _sections(steps_by_category) -> list[dict]:
    """Per category: its steps in order and how many are done (spec §5.6 "Deploy Steps (2/3 done)")."""
    sections = []
    for category, label in StepCategory.choices:
        steps = steps_by_category[category]
        counts = StepCounts(
            total=len(steps),
            done=sum(step.status == StepStatus.DONE for step in steps),
            skipped=sum(step.status == StepStatus.SKIPPED for step in steps),
        )
        sections.append({"category": category, "label": label, "steps": steps, "counts": counts})
    return sections


def _customer_context(release, customer) -> dict:
    return {
        "release": release,
        "customer": customer,
        "sections": _sections(steps_of_customer(release, customer)),
        "can_add": release.status == ReleaseStatus.ACTIVE and not customer.is_deleted,
        # Plain (no JavaScript) step actions come back to the customer's page.
        "next_url": reverse("steps:customer_steps", args=[release.pk, customer.pk]),
    }


@require_GET
@login_required
def customer_steps(request, release_pk, customer_pk):
    """One customer's steps in a release, per category, with their actions (FV-004, §5.6)."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    return render(request, "steps/customer_steps.html", _customer_context(release, customer))


@require_POST
@login_required
def mark_all(request, release_pk, customer_pk, category):
    """Mark every pending step of one category done for one customer (FET-004)."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    if category not in StepCategory.values:
        raise Http404("Unknown step category.")
    try:
        count = customer_steps_mark_all_done(release=release, customer=customer, category=category, user=request.user)
    except DomainError as error:
        error_message, status = error.message, 422
    else:
        if not request.htmx:
            label = StepCategory(category).label.lower()
            messages.success(request, f"{count} {label} step(s) marked as done for {_where(customer)}.")
            return redirect(_next_url(request, default=reverse("steps:customer_steps", args=[release.pk, customer.pk])))
        error_message, status = None, 200
    context = _customer_context(release, customer)
    section = next(section for section in context["sections"] if section["category"] == category)
    section["error"] = error_message
    template = "steps/customer_steps.html#category_section" if request.htmx else "steps/customer_steps.html"
    return render(request, template, {**context, "section": section}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def custom_step_add(request, release_pk, customer_pk):
    """Add a step for one customer, placed before or after one of its steps, or to the template (FCS-003, §5.8)."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    steps_by_category = steps_of_customer(release, customer)
    category = request.GET.get("category")
    form = CustomStepAddForm(
        request.POST or None,
        steps_by_category=steps_by_category,
        initial={"category": category if category in StepCategory.values else StepCategory.DEPLOY},
        auto_id="add-step-%s",
    )
    status = 200
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            position, relative_to = data["relative_to"]
            try:
                step = customer_step_add_custom(
                    release=release,
                    customer=customer,
                    user=request.user,
                    name=data["name"],
                    category=data["category"],
                    type=data["type"],
                    content=data["content"],
                    description=data["description"],
                    position=position,
                    relative_to=relative_to,
                    add_to_template=data["add_to_template"],
                )
            except DomainError as error:
                add_domain_error(form, error)
            else:
                where = "to the template, for every customer" if data["add_to_template"] else f"for {_where(customer)}"
                message = f"Step {step.name} added {where}."
                if not request.htmx:
                    messages.success(request, message)
                    return redirect("steps:customer_steps", release.pk, customer.pk)
                context = _customer_context(release, customer)
                section = next(section for section in context["sections"] if section["category"] == step.category)
                return render(
                    request, "steps/_step_added.html", {**context, "section": section, "added_message": message}
                )
    template = "steps/custom_step_add.html#dialog" if _is_fragment_request(request) else "steps/custom_step_add.html"
    return render(request, template, {"release": release, "customer": customer, "form": form}, status=status)


# --- one template step across customers -------------------------------------------------------------------------


@require_GET
@login_required
def template_step_status(request, pk):
    """One template step's status for every customer of its release, grouped by cluster (FV-005)."""
    template_step = get_object_or_404(StepTemplate.all_objects.select_related("release"), pk=pk)
    return render(
        request,
        "steps/template_step_status.html",
        {
            "template_step": template_step,
            "release": template_step.release,
            "status": template_step_across_customers(template_step),
            "code": highlight_content(template_step.content, template_step.type),
            "next_url": request.get_full_path(),
        },
    )
