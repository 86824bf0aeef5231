"""One customer step: the side panel (FV-007, §5.7) that the matrix, the customer checklist and the cross-customer
view open, also served as the step's own page; and its content as a download."""

from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from core.errors import DomainError
from core.htmx import is_fragment_request, safe_next_url
from history.selectors import events_for_customer_step
from steps.choices import StepType
from steps.forms import CustomStepEditForm, NotesForm, OverrideForm, SkipForm
from steps.highlight import highlight_content
from steps.rendering import displayed_content, downloadable_text
from steps.selectors import customer_steps_for_screens, step_actions

PANEL_SECTIONS = ("skip", "override", "edit")  # what ?open= unfolds in the side panel
DOWNLOAD_EXTENSIONS = {StepType.BASH: "sh", StepType.SQL: "sql", StepType.TEXT: "txt"}
# The step screens an htmx request can come from, by URL name; each shows its own fragments of a step.
STEP_PAGES = ("matrix", "customer_steps", "template_step_status", "step_detail")


def requesting_page(request) -> str | None:
    """Which step screen the htmx request came from (one of STEP_PAGES), from the URL htmx reports; None for a
    plain request or any other page."""
    current = request.htmx.current_url if request.htmx else None
    if not current:
        return None
    try:
        match = resolve(urlsplit(current).path)
    except Resolver404:
        return None
    return match.url_name if match.namespace == "steps" and match.url_name in STEP_PAGES else None


def form_ids(step) -> str:
    """Ids of the panel's fields, unique on a page that also shows a dialog or another step."""
    return f"step{step.pk}-%s"


def panel_context(request, step, *, forms=None, open_section=None, panel_error=None, conflict=None) -> dict:
    """Everything the panel shows of a step: its content rendered for its customer (sensitive values masked) and
    as written, what it misses, its actions with their forms, its history."""
    forms = forms or {}
    ids = form_ids(step)
    original = step.template if step.is_overridden else None
    shown = displayed_content(step)
    actions = step_actions(step, shown.missing if shown else ())
    return {
        "step": step,
        "actions": actions,
        "events": events_for_customer_step(step),
        "code": highlight_content(shown.text, step.type, shown.spans)
        if shown
        else highlight_content(step.content, step.type),
        "raw_code": highlight_content(step.content, step.type) if step.variables else None,
        "content_broken": shown is None,
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
        # The step's own page shows its links; an htmx action sent from that page keeps them.
        "as_page": not is_fragment_request(request) or requesting_page(request) == "step_detail",
        "next_url": safe_next_url(
            request,
            default=request.get_full_path()
            if request.method == "GET"
            else reverse("steps:step_detail", args=[step.pk]),
        ),
    }


def render_panel(request, step, *, status=200, **kwargs):
    """The side panel: a fragment for htmx, the step's own page otherwise."""
    context = panel_context(request, step, **kwargs)
    template = "steps/_panel.html" if is_fragment_request(request) else "steps/step_detail.html"
    return render(request, template, context, status=status)


@require_GET
@login_required
def step_detail(request, pk):
    """One customer step: who it is for, its content, execution and history, with its actions (FV-007, §5.7)."""
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    open_section = request.GET.get("open")
    return render_panel(request, step, open_section=open_section if open_section in PANEL_SECTIONS else None)


@require_GET
@login_required
def step_download(request, pk):
    """The step's text for its customer (what Copy copies too): a first line naming the target, the content with
    its variables' values, in clear, and the kubectl guard when the release asks for it; as a file named after
    customer and step, e.g. customer-a_run-migration-sql.sql. Refused (409) while a variable has no value; a value
    marked sensitive is given only to those who may carry the step out."""
    step = get_object_or_404(customer_steps_for_screens(), pk=pk)
    try:
        text = downloadable_text(step, request.user)
    except DomainError as error:
        response = HttpResponse(error.message, status=409, content_type="text/plain; charset=utf-8")
    else:
        # slugify keeps only [a-z0-9_-]: no path, quote or line break can reach the header.
        filename = "{}_{}.{}".format(
            slugify(step.customer.name) or "customer", slugify(step.name) or "step", DOWNLOAD_EXTENSIONS[step.type]
        )
        response = HttpResponse(text.text, content_type="text/plain; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    add_never_cache_headers(response)  # it may hold secrets: no cache keeps it (no-store)
    return response
