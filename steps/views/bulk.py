"""Bulk actions (issue 9): Mark as Done, Skip with one reason or Revert the customer steps selected in the
cross-customer view of a step (checkboxes) or in the matrix (its Select mode), from the bulk bar of either page.

An htmx request gets the bulk bar back with the summary (what was done, every refused step with its reason) and, out
of band, the rows or cells of the selected steps and the progress the page shows, from the same fragments a single
action sends (templates/steps/_step_changed.html); a refusal of the whole request (no selection, a blank skip
reason, steps of another release) gets the bar with the message, status 422. A plain POST redirects back with the
summary as messages.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods

from accounts.permissions import EXECUTE_STEPS, require
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import safe_next_url
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.forms import BulkActionForm
from steps.progress import release_progress
from steps.rendering import missing_names
from steps.selectors import customer_steps_for_screens, step_actions, template_step_counts
from steps.services import customer_steps_bulk_transition
from steps.views.actions import changed_fragments
from steps.views.panel import requesting_page
from variables.selectors import defined_names


def _report(request, form, result) -> None:
    """The summary as messages, for the page a plain POST goes back to."""
    for errors in form.errors.values():
        for error in errors:
            messages.error(request, error)
    if result is not None:
        (messages.warning if result.refused else messages.success)(request, result.summary)


def _step_fragments(request, release, result, next_url: str) -> dict:
    """The selected steps as the requesting page shows them now, out of band, with its progress: changed steps and
    refused ones alike (a step changed by someone else shows its current state). A constant number of queries."""
    page = requesting_page(request)
    if page not in {"matrix", "template_step_status"} or result is None:
        return {}
    changed = {step.pk for step in result.changed}
    selected = [*result.changed, *(refusal.step for refusal in result.refused)]
    steps = list(customer_steps_for_screens().filter(pk__in=[step.pk for step in selected]))
    steps.sort(key=lambda step: (step.customer.cluster.name, step.customer.name, step.pk))
    defined = defined_names(release=release, customers={step.customer for step in steps})
    progress = release_progress(release) if page == "matrix" and changed else None
    fragments, customers_done = [], set()
    for step in steps:
        # Each customer's progress is sent once, with its first changed step.
        progress_changed = progress is not None and step.pk in changed and step.customer_id not in customers_done
        if progress_changed:
            customers_done.add(step.customer_id)
        actions = step_actions(step, missing_names(step, defined[step.customer_id]))
        context = changed_fragments(request, step, actions, progress_changed=progress_changed, progress=progress)
        context.update({"step": step, "next_url": next_url})
        fragments.append(render_to_string("steps/_step_changed.html#step_oob", context, request=request))
    extra = {"fragments": mark_safe("".join(fragments))}
    # The step's counts too: a refused step may have been changed by someone else since the page was drawn.
    templates = {step.template for step in steps if step.template_id}
    if page == "template_step_status" and len(templates) == 1:
        (template,) = templates
        extra.update({"template_step": template, "template_counts": template_step_counts(template)})
    return extra


@require_http_methods(["GET", "POST"])
@login_required
def bulk_action(request, release_pk):
    """Run one action on the selected steps of a release with the versions the page showed (issue 9, item 5).

    GET gives the matrix its Select button and bulk bar after the page has loaded, or nothing (204) to those who
    may not carry steps out and for a release that is not active.
    """
    release = get_object_or_404(Release, pk=release_pk)
    if request.method == "GET":
        if release.status != ReleaseStatus.ACTIVE or not request.user.has_perm(EXECUTE_STEPS):
            return HttpResponse(status=204)
        matrix_url = reverse("steps:matrix", args=[release.pk])
        context = {"release": release, "in_matrix": True, "toggle": True, "next_url": matrix_url}
        return render(request, "steps/_bulk_result.html", context)
    require(request.user, EXECUTE_STEPS)
    form = BulkActionForm(request.POST)
    result = None
    if form.is_valid():
        try:
            result = customer_steps_bulk_transition(
                release=release,
                steps_with_versions=form.cleaned_data["steps"],
                action=form.cleaned_data["action"],
                reason=form.cleaned_data["reason"],
                user=request.user,
            )
        except DomainError as error:
            add_domain_error(form, error)
    next_url = safe_next_url(request, default=reverse("steps:matrix", args=[release.pk]))
    if not request.htmx:
        _report(request, form, result)
        return redirect(next_url)
    context = {
        "release": release,
        "bulk_form": BulkActionForm() if result is not None else form,
        "result": result,
        "in_matrix": requesting_page(request) == "matrix",
        "next_url": next_url,
        **_step_fragments(request, release, result, next_url),
    }
    return render(request, "steps/_bulk_result.html", context, status=200 if result is not None else 422)
