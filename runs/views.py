"""A step's runs on its cluster: the panel's section (its runs, Run…), the confirmation, start, the run's page
with its output (polled while it runs, "nothing new" is a bodiless 204), cancel, and the output as a download.
Every view answers 404 while execution is off; who may start or cancel is the services' decision."""

from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from core.errors import DomainError
from core.htmx import is_fragment_request, render_page_or_partial
from runs import services
from runs.forms import RunStartForm
from runs.models import Run
from steps.highlight import highlight_content
from steps.selectors import customer_steps_for_screens
from steps.transitions import OUTSTANDING

VIEW_STEPS = "steps.view_customerstep"
RECENT_RUNS = 10
STARTED_EVENT = "runs:started"


def _require_execution() -> None:
    if not services.execution_enabled():
        raise Http404(services.EXECUTION_OFF)


def _runs():
    return Run.objects.select_related("started_by", "cancelled_by", "step__customer__cluster", "step__release")


def _step_runs_context(step, *, error: str = "") -> dict:
    runs = list(_runs().filter(step=step)[:RECENT_RUNS])
    return {
        "step": step,
        "runs": runs,
        "active": next((run for run in runs if run.is_active), None),
        # The run the section shows with its output: the one going on, or the last one.
        "shown": runs[0] if runs else None,
        "runnable": step.type in services.commands.RUNNABLE_TYPES,
        "outstanding": step.status in OUTSTANDING,
        "error": error,
    }


@require_GET
@login_required
@permission_required(VIEW_STEPS, raise_exception=True)
def step_runs(request, pk):
    """The side panel's Runs section of a step: Run…, the run going on with its output, the earlier runs. Polled
    while a run goes on with what the screen has of it (`run`, `state`, `seen`): 204 when nothing changed."""
    _require_execution()
    if is_fragment_request(request) and "run" in request.GET and _unchanged(request, _int(request.GET["run"])):
        return HttpResponse(status=204)
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    return render(request, "runs/_step_runs.html", _step_runs_context(step))


def _confirm(request, step, *, error: str = "", status: int = 200):
    """The confirmation dialog, with `error` when a start was refused; a step that can't run says why (409)."""
    context = {"step": step, "error": error}
    try:
        plan = services.run_plan(step=step, user=request.user)
    except services.RunRefused as refusal:
        context["error"], status = error or refusal.message, status if error else 409
    else:
        context |= {"plan": plan, "code": highlight_content(plan.shown_text, step.type)}
    return render_page_or_partial(request, "runs/run_confirm.html", context, partial="dialog", status=status)


@require_GET
@login_required
def run_confirm(request, pk):
    """The confirmation: customer, cluster, context, namespace and the exact text that will run (values masked)."""
    _require_execution()
    return _confirm(request, get_object_or_404(customer_steps_for_screens(), pk=pk))


@require_POST
@login_required
def run_start(request, pk):
    """Start the confirmed run; an htmx request gets the panel's Runs section (out of band) with its output."""
    _require_execution()
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    form = RunStartForm(request.POST)
    if not form.is_valid():
        return _confirm(request, step, error=form.errors["sha256"][0], status=422)
    try:
        run = services.run_start(step=step, user=request.user, expected_sha256=form.cleaned_data["sha256"])
    except services.RunRefused as error:
        return _confirm(request, step, error=error.message, status=409)
    except DomainError as error:
        return _confirm(request, step, error=error.message, status=422)
    if not request.htmx:
        return redirect(run)
    context = _step_runs_context(step) | {"oob": True}
    response = render(request, "runs/_step_runs.html", context)
    response["HX-Trigger"] = STARTED_EVENT  # static/js/runs.js closes the confirmation
    return response


@require_GET
@login_required
@permission_required(VIEW_STEPS, raise_exception=True)
def run_detail(request, pk):
    """A run: where and what it ran, by whom, its state, exit code, duration and output. Polled while it runs with
    the state and output size the screen has (`state`, `seen`): 204 when neither changed."""
    _require_execution()
    if is_fragment_request(request) and "seen" in request.GET and _unchanged(request, pk):
        return HttpResponse(status=204)
    run = get_object_or_404(_runs(), pk=pk)
    context = {"run": run, "code": highlight_content(run.shown_text, run.step.type)}
    return render_page_or_partial(request, "runs/run_detail.html", context, partial="live")


def _unchanged(request, run_id: int | None) -> bool:
    """Whether the run is still in the state, with the output size, that the polling screen has: one query."""
    now = Run.objects.filter(pk=run_id).values_list("state", "output_size").first() if run_id else None
    return now is not None and now == (request.GET.get("state"), _int(request.GET.get("seen")))


def _int(value) -> int | None:
    return int(value) if value and value.isascii() and value.isdigit() and len(value) < 19 else None


@require_POST
@login_required
def run_cancel(request, pk):
    """Cancel a queued or running run."""
    _require_execution()
    run = get_object_or_404(_runs(), pk=pk)
    status, error = 200, ""
    try:
        run = services.run_cancel(run=run, user=request.user)
    except services.RunRefused as refusal:
        status, error = 409, refusal.message
    if not request.htmx:
        return redirect(run)
    run = get_object_or_404(_runs(), pk=pk)
    context = {"run": run, "error": error, "code": highlight_content(run.shown_text, run.step.type)}
    return render(request, "runs/run_detail.html#live", context, status=status)


@require_GET
@login_required
@permission_required(VIEW_STEPS, raise_exception=True)
def run_output(request, pk):
    """The run's output as a text file (the last part kept, when it was longer: its first line says so)."""
    _require_execution()
    run = get_object_or_404(_runs(), pk=pk)
    text = run.output
    if run.output_truncated:
        text = f"[Rollcall: only the last {len(run.output)} of {run.output_size} characters were kept]\n{text}"
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"run-{run.pk}-output.txt")
    return response
