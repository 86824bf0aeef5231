"""Every action on one customer step (FV-007): one route, `steps/<pk>/<action>/`, driven by STEP_ACTIONS.

An htmx request gets the re-rendered side panel plus, out of band, the fragments of the step that the requesting
page shows (matrix cell and progress, checklist row and counts, cross-customer row and summary); a refusal gets the
panel with the service's message and status 422; a plain POST redirects back with a message. A stale version is
refused by the service: the answer is 409 with the step as it is now and who changed it (no lost updates).
"""

from urllib.parse import parse_qs, urlsplit

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from core.errors import DomainError, StepChangedError
from core.forms import add_domain_error
from core.htmx import safe_next_url
from steps.actions import STEP_ACTIONS, StepAction
from steps.choices import BLOCKED, StepCategory, StepStatus
from steps.forms import StepVersionForm
from steps.models import CustomerStep
from steps.progress import progress_around
from steps.selectors import customer_steps_for_screens, step_actions, template_step_counts
from steps.transitions import OUTSTANDING
from steps.views.matrix import matrix_cell
from steps.views.panel import form_ids, panel_context, render_panel, requesting_page


def _where(customer) -> str:
    return f"{customer.name} ({customer.cluster.name}/{customer.namespace})"


def _matrix_filters(request) -> dict:
    """The category, cluster and status filter of the matrix the request came from."""
    query = parse_qs(urlsplit(request.htmx.current_url or "").query)
    return {name: values[0] for name, values in query.items() if values}


def _on_matrix(request, step) -> bool:
    """Whether the matrix that sent the request shows this step's customer and category."""
    filters = _matrix_filters(request)
    category = filters.get("category") if filters.get("category") in StepCategory.values else StepCategory.DEPLOY
    cluster = filters.get("cluster", "")
    return step.category == category and (
        not (cluster.isascii() and cluster.isdigit()) or int(cluster) == step.customer.cluster_id
    )


def changed_fragments(request, step, actions, *, progress_changed: bool, progress=None, changed_by: str = "") -> dict:
    """What else changed on the requesting page, and only what that page shows: the matrix cell and progress, the
    checklist row and counts, or the cross-customer row and summary.

    Live updates (steps/views/live.py) call it for every step someone else changed, with the release's `progress`
    read once for all of them, and who changed the step (`changed_by`, marked on its cell or row)."""
    page = requesting_page(request)
    if page == "matrix" and not _on_matrix(request, step):
        page = None
    context = {"page": page, "removed": step.is_deleted, "changed_by": changed_by}
    step.actions = actions
    step.blocked = actions.missing if step.status in OUTSTANDING else ()
    if page == "matrix":
        status = _matrix_filters(request).get("status")
        if status == BLOCKED:
            step.dimmed = not step.blocked
        else:
            step.dimmed = status in StepStatus.values and step.status != status
        context["cell"] = matrix_cell(step, oob=True, changed_by=changed_by)
    if progress_changed and page in {"matrix", "customer_steps"}:
        customer, category = step.customer, step.category
        # One customer's counters and the averages of the release, in one query: never the release's steps.
        progress = progress or progress_around(release_id=step.release_id, customer=customer, category=category)
        counts = progress.customer(customer.pk, category)
        context.update(
            {
                "progress_changed": True,
                "customer_counts": counts,
                "cluster_percent": progress.cluster_percent(customer.cluster_id, category),
                "cluster_complete": progress.cluster_complete(customer.cluster_id, category),
                "overall_percent": progress.overall_percent(category),
                "overall_complete": progress.overall_complete(category),
            }
        )
    if progress_changed and page == "template_step_status" and step.template_id:
        context["template_counts"] = template_step_counts(step.template)
    return context


def _shown_fields(step, action: StepAction, form) -> set[str]:
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
    }[action.form_name]
    return set(form.fields) if shown else set()


def _step_changed(request, pk, *, step=None, status=200, conflict=None, progress_changed=True):
    """The panel of the step as it is now (`step`, as the service left it, or read again), with what changed
    elsewhere on the requesting page."""
    step = step or get_object_or_404(customer_steps_for_screens(), pk=pk)
    context = panel_context(request, step, conflict=conflict)
    context.update(changed_fragments(request, step, context["actions"], progress_changed=progress_changed))
    return render(request, "steps/_step_changed.html", context, status=status)


@require_POST
@login_required
def step_action(request, pk, action):
    """Run one of STEP_ACTIONS on a step with the version the page showed (FET-001..003, FCS-002..006)."""
    spec = STEP_ACTIONS.get(action)
    if spec is None:
        raise Http404("Unknown step action.")
    # The service reads the step under its lock, and answers with it: the view reads it itself only for a refusal.
    step = CustomerStep(pk=pk)
    form = spec.form(request.POST, auto_id=form_ids(step)) if spec.form else None
    # A request without a version (a simple script, a page rendered before steps had versions) still works: it acts
    # on the step as it is now (expected_version None), so nobody is locked out; only a stale version is refused.
    version_form = StepVersionForm(request.POST)
    panel_error = None
    if not version_form.is_valid():
        panel_error = version_form.errors["version"][0]
    elif form is None or form.is_valid():
        try:
            changed = spec.service(
                step=step,
                user=request.user,
                expected_version=version_form.cleaned_data["version"],
                **(form.cleaned_data if form else {}),
            )
        except StepChangedError as error:
            if not request.htmx:
                messages.error(request, error.message)
                return redirect(safe_next_url(request, default=reverse("steps:step_detail", args=[pk])))
            # The other person's change may have been a status change: progress is brought up to date as well.
            return _step_changed(request, pk, status=409, conflict=error.message)
        except DomainError as error:
            step = get_object_or_404(customer_steps_for_screens(), pk=pk)
            if error.field in _shown_fields(step, spec, form):
                add_domain_error(form, error)
            else:
                panel_error = error.message
        else:
            if not request.htmx:
                messages.success(request, f"{changed.name} for {_where(changed.customer)}: {spec.done}.")
                return redirect(safe_next_url(request, default=reverse("steps:step_detail", args=[pk])))
            return _step_changed(request, pk, step=changed, progress_changed=spec.progress_changed)
    if step.customer_id is None:  # not read yet: the version or the form was refused
        step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    return render_panel(
        request,
        step,
        status=422,
        forms={spec.form_name: form},
        open_section=spec.open_section,
        panel_error=panel_error,
    )
