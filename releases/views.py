"""The release screens: the list (FV-002), create and edit (FR-001), the release page with its template step editor
(FS-001..FS-004), and Activate (FR-003), Add customers, Clone (FR-004) and Archive (FR-005).

Changes made on the release page (from a dialog or a button) answer with the release page out of band, so its
status, actions, progress and step lists stay true; without htmx they redirect to it (POST/redirect/GET).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import (
    ADD_ENROLLMENT,
    ADD_RELEASE,
    ADD_TEMPLATE_STEP,
    CHANGE_RELEASE,
    CHANGE_TEMPLATE_STEP,
    DELETE_TEMPLATE_STEP,
    require,
)
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import is_fragment_request, render_page_or_partial
from releases import services
from releases.choices import ReleaseStatus
from releases.forms import (
    ActivationForm,
    AddCustomersForm,
    CloneForm,
    ConfirmForm,
    ReleaseForm,
    TemplateStepCreateForm,
    TemplateStepForm,
)
from releases.models import Release
from releases.selectors import (
    customers_to_enroll_with_unresolved,
    outstanding_step_count,
    releases_with_progress,
    template_step_delete_impact,
    template_step_follower_count,
    template_step_preview,
    template_step_preview_customers,
    template_steps_by_category,
)
from steps import services as step_services
from steps.choices import StepCategory
from steps.highlight import highlight_content
from steps.models import StepTemplate
from steps.progress import overall_by_release
from variables.selectors import variables_of

RELEASE_PAGE = "releases/release_detail.html"
TEMPLATE_STEP_FORM = "releases/template_step_form.html"
# The element of the template step dialog that the "Preview for" select replaces.
PREVIEW_TARGET = "template-step-preview"


def _section(category: str, steps: list[StepTemplate], **extra) -> dict:
    """One category of the template step editor."""
    return {"category": category, "label": f"{StepCategory(category).label} Steps", "steps": steps, **extra}


def _release_page_context(release: Release) -> dict:
    """Everything the release page shows: header, actions, the template steps of each category, the defaults."""
    active = release.status == ReleaseStatus.ACTIVE
    steps = template_steps_by_category(release)
    return {
        "release": release,
        "editable": release.status != ReleaseStatus.ARCHIVED,
        "sections": [_section(category, in_category) for category, in_category in steps.items()],
        "progress": overall_by_release([release])[release.pk] if active else None,
        "outstanding": outstanding_step_count(release) if active else 0,
        "variables": variables_of(release),
    }


def _release_page_update(request, release: Release, *, status: int = 200) -> HttpResponse:
    """The release page and the messages, both out of band: the answer to a change made on the page. Nothing is
    swapped into the request's own target, so the form that asked (in #dialog) stays to close its dialog."""
    context = {**_release_page_context(release), "page_oob": True}
    html = render_to_string(f"{RELEASE_PAGE}#release_page", context, request) + render_to_string(
        f"{RELEASE_PAGE}#messages", {}, request
    )
    return HttpResponse(html, status=status, headers={"HX-Reswap": "none"})


def _changed(request, release: Release, message: str) -> HttpResponse:
    """A change succeeded: update the release page in place (htmx) or go back to it."""
    messages.success(request, message)
    if request.htmx:
        return _release_page_update(request, release)
    return redirect("releases:release_detail", release.pk)


def _refused(request, release: Release, message: str) -> HttpResponse:
    """A button's action was refused: the release page with the reason, status 422."""
    messages.error(request, message)
    if request.htmx:
        return _release_page_update(request, release, status=422)
    return render(request, RELEASE_PAGE, _release_page_context(release), status=422)


def _dialog(request, template: str, context: dict, *, form) -> HttpResponse:
    """A dialog: its fragment for htmx (rendered into #dialog), a page of its own otherwise; 422 when refused."""
    return render_page_or_partial(
        request, template, {**context, "form": form}, partial="dialog", status=422 if form.errors else 200
    )


def _picker_context(form, *, step_count: int, verb: str) -> dict:
    """The customer picker: the customers offered (grouped by cluster, each with the variables it would miss), which
    are checked, and what it creates."""
    selected = form.selected_ids()
    return {
        "customers": form.offered,
        "unresolved_count": sum(1 for customer in form.offered if customer.unresolved),
        "selected": selected,
        "step_count": step_count,
        "verb": verb,
        "new_steps": step_count * len(selected),
        "everyone_selected": len(selected) == len(form.offered),
    }


@require_GET
@login_required
def release_list(request):
    """Every release with type, status, version, date and the progress of active ones (FV-002)."""
    return render(request, "releases/release_list.html", {"releases": releases_with_progress()})


@require_http_methods(["GET", "POST"])
@login_required
def release_create(request):
    """Create a draft release (FR-001)."""
    require(request.user, ADD_RELEASE)
    form = ReleaseForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            release = services.release_create(user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Release {release.name} created as a draft.")
            return redirect("releases:release_detail", release.pk)
    return render(request, "releases/release_form.html", {"form": form}, status=422 if form.errors else 200)


@require_http_methods(["GET", "POST"])
@login_required
def release_edit(request, pk: int):
    """Edit a release's name, type, version, date and description through release_update."""
    require(request.user, CHANGE_RELEASE)
    release = get_object_or_404(Release, pk=pk)
    initial = {field: getattr(release, field) for field in ReleaseForm.base_fields}
    form = ReleaseForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            release = services.release_update(release=release, user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Release {release.name} saved.")
            return redirect("releases:release_detail", release.pk)
    context = {"form": form, "release": release}
    return render(request, "releases/release_form.html", context, status=422 if form.errors else 200)


@require_GET
@login_required
def release_detail(request, pk: int):
    """The release page: header, the actions its status allows, and the template step editor per category."""
    release = get_object_or_404(Release, pk=pk)
    return render(request, RELEASE_PAGE, _release_page_context(release))


@require_http_methods(["GET", "POST"])
@login_required
def release_activate(request, pk: int):
    """Activate a draft (FR-003): the dialog of eligible customers by cluster, then release_activate without the
    customers and clusters the user unchecked."""
    require(request.user, CHANGE_RELEASE)
    require(request.user, ADD_ENROLLMENT)
    release = get_object_or_404(Release, pk=pk)
    form = ActivationForm(
        request.POST if request.method == "POST" else None, customers=customers_to_enroll_with_unresolved(release)
    )
    if form.is_valid():
        exclude_customers, exclude_clusters = form.exclusions()
        try:
            release = services.release_activate(
                release=release,
                user=request.user,
                exclude_customers=exclude_customers,
                exclude_clusters=exclude_clusters,
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _changed(request, release, f"Release {release.name} is active.")
    step_count = release.template_steps.count()
    context = {"release": release, **_picker_context(form, step_count=step_count, verb="Creates")}
    return _dialog(request, "releases/release_activate.html", context, form=form)


@require_http_methods(["GET", "POST"])
@login_required
def release_add_customers(request, pk: int):
    """Add late joiners to an active release: the dialog of eligible customers not yet in it, then
    release_add_customers."""
    require(request.user, CHANGE_RELEASE)
    require(request.user, ADD_ENROLLMENT)
    release = get_object_or_404(Release, pk=pk)
    form = AddCustomersForm(
        request.POST if request.method == "POST" else None, customers=customers_to_enroll_with_unresolved(release)
    )
    if form.is_valid():
        try:
            names = services.release_add_customers(
                release=release, customers=form.cleaned_data["customers"], user=request.user
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _changed(request, release, f"Added to {release.name}: {', '.join(names)}.")
    step_count = release.template_steps.count()
    context = {"release": release, **_picker_context(form, step_count=step_count, verb="Adds")}
    return _dialog(request, "releases/release_add_customers.html", context, form=form)


@require_POST
@login_required
def release_clone(request, pk: int):
    """Clone a release into a new draft (FR-004) and open it."""
    release = get_object_or_404(Release, pk=pk)
    form = CloneForm(request.POST)
    if not form.is_valid():
        return _refused(request, release, " ".join(form.errors["name"]))
    try:
        clone = services.release_clone(release=release, user=request.user, name=form.cleaned_data["name"] or None)
    except DomainError as error:
        return _refused(request, release, error.message)
    messages.success(request, f"Release {clone.name} created from {release.name}.")
    return redirect("releases:release_detail", clone.pk)


@require_POST
@login_required
def release_archive(request, pk: int):
    """Archive an active release (FR-005)."""
    release = get_object_or_404(Release, pk=pk)
    try:
        release = services.release_archive(release=release, user=request.user)
    except DomainError as error:
        return _refused(request, release, error.message)
    return _changed(request, release, f"Release {release.name} is archived.")


@require_http_methods(["GET", "POST"])
@login_required
def template_step_create(request, pk: int):
    """Add a template step (FS-001); in an active release every customer of the release gets it at once."""
    require(request.user, ADD_TEMPLATE_STEP)
    release = get_object_or_404(Release, pk=pk)
    category = request.GET.get("category")
    initial = {"category": category if category in StepCategory.values else StepCategory.DEPLOY}
    form = TemplateStepCreateForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            step = step_services.template_step_add(release=release, user=request.user, **form.service_arguments())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _changed(request, release, f"Template step {step.name} added.")
    return _dialog(request, TEMPLATE_STEP_FORM, {"release": release}, form=form)


def _preview_context(request, template_step: StepTemplate) -> dict:
    """The template step dialog's preview: the customers it can be rendered for (each with the variables it misses),
    the one chosen with `?preview=<customer id>` (the first when absent; none when unknown), and the saved content
    rendered for it with substituted values marked and sensitive ones masked."""
    customers = template_step_preview_customers(template_step)
    wanted = request.GET.get("preview")
    if wanted is None:
        chosen = customers[0] if customers else None
    else:
        chosen = next((customer for customer in customers if str(customer.pk) == wanted), None)
    shown = template_step_preview(template_step, chosen) if chosen else None
    if chosen is None:
        code = None
    elif shown is None:  # a broken `#{`: the content as written
        code = highlight_content(template_step.content, template_step.type)
    else:
        code = highlight_content(shown.text, template_step.type, shown.spans)
    return {
        "preview_customers": customers,
        "unresolved_customers": [customer for customer in customers if customer.unresolved],
        "preview_customer": chosen,
        "preview_code": code,
        "preview_broken": chosen is not None and shown is None,
    }


@require_http_methods(["GET", "POST"])
@login_required
def template_step_edit(request, pk: int):
    """Edit a template step (FS-002, FCS-007): the change reaches only customer steps still pending and not
    overridden. The dialog previews the content for a customer of the release and names those that can't render
    it; changing the previewed customer asks for the preview alone."""
    require(request.user, CHANGE_TEMPLATE_STEP)
    template_step = get_object_or_404(StepTemplate.objects.select_related("release"), pk=pk)
    release = template_step.release
    if request.method == "GET" and is_fragment_request(request, PREVIEW_TARGET):
        context = {"release": release, "template_step": template_step, **_preview_context(request, template_step)}
        return render_page_or_partial(request, TEMPLATE_STEP_FORM, context, partial="preview", target=PREVIEW_TARGET)
    initial = {field: getattr(template_step, field) for field in TemplateStepForm.base_fields}
    form = TemplateStepForm(request.POST if request.method == "POST" else None, initial=initial)
    if form.is_valid():
        try:
            template_step = step_services.template_step_update(
                template_step=template_step, user=request.user, **form.cleaned_data
            )
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _changed(request, release, f"Template step {template_step.name} saved.")
    context = {
        "release": release,
        "template_step": template_step,
        "reach": template_step_follower_count(template_step) if release.status == ReleaseStatus.ACTIVE else None,
        **_preview_context(request, template_step),
    }
    return _dialog(request, TEMPLATE_STEP_FORM, context, form=form)


@require_http_methods(["GET", "POST"])
@login_required
def template_step_delete(request, pk: int):
    """Delete a template step (FS-004): a confirmation naming the customer steps removed and kept, then the delete."""
    require(request.user, DELETE_TEMPLATE_STEP)
    template_step = get_object_or_404(StepTemplate.objects.select_related("release"), pk=pk)
    release = template_step.release
    form = ConfirmForm(request.POST if request.method == "POST" else None)
    if form.is_valid():
        try:
            step_services.template_step_delete(template_step=template_step, user=request.user)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            return _changed(request, release, f"Template step {template_step.name} deleted.")
    removed, kept = template_step_delete_impact(template_step)
    context = {"release": release, "template_step": template_step, "removed": removed, "kept": kept}
    return _dialog(request, "releases/template_step_delete.html", context, form=form)


def _order_after_move(order: list[str], move: str) -> list[str]:
    """The posted order with one step moved a place by a Move up/Move down button sent without JavaScript
    (`move` is "<id>:up" or "<id>:down"; with JavaScript the page moves it and posts the order alone)."""
    pk, _, direction = move.partition(":")
    if pk not in order or direction not in ("up", "down"):
        return order
    index = order.index(pk)
    other = index - 1 if direction == "up" else index + 1
    if 0 <= other < len(order):
        order[index], order[other] = order[other], order[index]
    return order


@require_POST
@login_required
def template_steps_reorder(request, pk: int, category: str):
    """Save the order of a category's template steps after a drag and drop or a Move up/down (FS-003); answer with
    the list as saved."""
    if category not in StepCategory.values:
        raise Http404("Unknown step category.")
    release = get_object_or_404(Release, pk=pk)
    ordered_ids = _order_after_move(request.POST.getlist("order"), request.POST.get("move", ""))
    error = None
    try:
        step_services.template_steps_reorder(
            release=release, category=category, ordered_ids=ordered_ids, user=request.user
        )
    except DomainError as refusal:
        error = refusal.message
    if not request.htmx:
        if error:
            return _refused(request, release, error)
        messages.success(request, f"{StepCategory(category).label} steps reordered.")
        return redirect("releases:release_detail", release.pk)
    section = _section(category, template_steps_by_category(release)[category], error=error)
    context = {"release": release, "editable": release.status != ReleaseStatus.ARCHIVED, "section": section}
    return render_page_or_partial(request, RELEASE_PAGE, context, partial="step_list", status=422 if error else 200)
