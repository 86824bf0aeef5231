"""Run for a cluster (issue 13): from one template step across customers, the form that runs it for customers of
one cluster, then the batch's page, its runs polled every POLL_SECONDS while some are queued or running ("nothing
new" is a bodiless 204), and Cancel the batch. Every view answers 404 while execution is off; who may run or cancel
is the services' decision."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import add_never_cache_headers, patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from clusters.models import Cluster
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import VARY_HEADERS, is_fragment_request, render_page_or_partial
from runs import services, services_batch
from runs.forms import BatchForm
from runs.models import RunBatch
from steps.models import StepTemplate

VIEW_STEPS = "steps.view_customerstep"
POLL_SECONDS = 2
POLLER = "batch-runs"  # the id of the batch page's fragment that polls


def _require_execution() -> None:
    if not services.execution_enabled():
        raise Http404(services.EXECUTION_OFF)


def _form_page(request, context: dict, *, status: int):
    return render_page_or_partial(request, "runs/batch_form.html", context, partial="dialog", status=status)


@require_http_methods(["GET", "POST"])
@login_required
def batch_start(request, pk: int, cluster_pk: int):
    """Run for a cluster: the step's customers of the cluster (those still to do checked), how many at a time and
    whether to stop at the first failure; then batch_start and the batch's page."""
    _require_execution()
    template = get_object_or_404(StepTemplate.objects.select_related("release"), pk=pk)
    cluster = get_object_or_404(Cluster, pk=cluster_pk)
    context = {
        "template": template,
        "cluster": cluster,
        "back_url": reverse("steps:template_step_status", args=[template.pk]),
    }
    try:
        plan = services_batch.batch_plan(template=template, cluster=cluster, user=request.user)
    except services.RunRefused as error:
        return _form_page(request, context | {"error": error.message}, status=409)
    form = BatchForm(request.POST if request.method == "POST" else None, offered=plan.selectable_ids)
    if form.is_valid():
        try:
            batch = services.batch_start(
                template=template,
                customer_ids=form.cleaned_data["customers"],
                user=request.user,
                concurrency=form.cleaned_data["concurrency"],
                stop_on_failure=form.cleaned_data["stop_on_failure"],
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            if request.htmx:
                return HttpResponseClientRedirect(batch.get_absolute_url())
            return redirect(batch)
    context |= {"plan": plan, "form": form, "selected": form.selected_ids()}
    return _form_page(request, context, status=422 if form.errors else 200)


def _nothing_new() -> HttpResponse:
    response = HttpResponse(status=204)
    add_never_cache_headers(response)  # true once only
    patch_vary_headers(response, VARY_HEADERS)
    return response


def _batch_context(batch: RunBatch, fingerprint: str) -> dict:
    progress = services_batch.batch_progress(batch)
    return {
        "batch": batch,
        "progress": progress,
        "clusters": services_batch.batch_clusters(batch, progress.runs),
        "fingerprint": fingerprint,
        "poll_seconds": POLL_SECONDS,
    }


@require_GET
@login_required
@permission_required(VIEW_STEPS, raise_exception=True)
def batch_detail(request, pk: int):
    """A batch: its step, clusters, who started it and how, its runs and the customers refused at start; polled
    with the fingerprint the page has (`seen`) while runs are queued or running: 204 while it is unchanged."""
    _require_execution()
    fingerprint = services_batch.batch_fingerprint(pk)
    if is_fragment_request(request, POLLER) and request.GET.get("seen") == fingerprint:
        return _nothing_new()
    batch = get_object_or_404(RunBatch.objects.select_related("template", "release", "started_by"), pk=pk)
    response = render_page_or_partial(
        request, "runs/batch_detail.html", _batch_context(batch, fingerprint), partial="batch_runs", target=POLLER
    )
    add_never_cache_headers(response)
    return response


@require_POST
@login_required
def batch_cancel(request, pk: int):
    """Cancel every queued or running run of the batch; htmx gets the batch's runs again, with the message."""
    _require_execution()
    batch = get_object_or_404(RunBatch.objects.select_related("template", "release", "started_by"), pk=pk)
    status = 200
    try:
        cancelled = services_batch.batch_cancel(batch=batch, user=request.user)
    except services.RunRefused as error:
        status = 409
        messages.error(request, error.message)
    else:
        messages.success(request, f"Batch #{batch.pk}: {len(cancelled)} run(s) cancelled.")
    if not request.htmx:
        return redirect(batch)
    context = _batch_context(batch, services_batch.batch_fingerprint(pk)) | {"messages_oob": True}
    return render(request, "runs/batch_detail.html#batch_runs", context, status=status)
