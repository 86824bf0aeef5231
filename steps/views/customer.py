"""One customer's steps in a release (FV-004, §5.6): the checklist, Mark All and Add Custom Step (§5.8)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import render_page_or_partial, safe_next_url
from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.models import Release
from steps.choices import StepCategory
from steps.forms import CustomStepAddForm
from steps.progress import StepCounts
from steps.selectors import steps_of_customer
from steps.services import customer_step_add_custom, customer_steps_mark_all_done
from steps.transitions import OUTSTANDING

CHECKLIST = "steps/customer_steps.html"


def _release_and_customer(release_pk, customer_pk):
    release = get_object_or_404(Release, pk=release_pk)
    customer = get_object_or_404(Customer.all_objects.select_related("cluster"), pk=customer_pk)
    return release, customer


def _where(customer) -> str:
    return f"{customer.name} ({customer.cluster.name}/{customer.namespace})"


def _sections(steps_by_category) -> list[dict]:
    """Per category: its steps in order, how many are done (spec §5.6 "Deploy Steps (2/3 done)"), and whether any
    is still to do (Mark All is offered only then)."""
    return [
        {
            "category": category,
            "label": label,
            "steps": steps_by_category[category],
            "counts": StepCounts.of(steps_by_category[category]),
            "outstanding": any(step.status in OUTSTANDING for step in steps_by_category[category]),
            "blocked": [step.name for step in steps_by_category[category] if step.actions.blocked],
        }
        for category, label in StepCategory.choices
    ]


def _customer_context(release, customer) -> dict:
    return {
        "release": release,
        "customer": customer,
        "sections": _sections(steps_of_customer(release, customer)),
        "can_add": release.status == ReleaseStatus.ACTIVE and not customer.is_deleted,
        # Plain (no JavaScript) step actions come back to the customer's page.
        "next_url": reverse("steps:customer_steps", args=[release.pk, customer.pk]),
    }


def _section(context: dict, category: str) -> dict:
    return next(section for section in context["sections"] if section["category"] == category)


@require_GET
@login_required
def customer_steps(request, release_pk, customer_pk):
    """One customer's steps in a release, per category, with their actions (FV-004, §5.6)."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    return render(request, CHECKLIST, _customer_context(release, customer))


@require_POST
@login_required
def mark_all(request, release_pk, customer_pk, category):
    """Mark every pending or reverted step of one category done for one customer (FET-004)."""
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
            return redirect(
                safe_next_url(request, default=reverse("steps:customer_steps", args=[release.pk, customer.pk]))
            )
        error_message, status = None, 200
    context = _customer_context(release, customer)
    section = _section(context, category)
    section["error"] = error_message
    return render_page_or_partial(
        request, CHECKLIST, {**context, "section": section}, partial="category_section", status=status
    )


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
                section = _section(context, step.category)
                return render(
                    request, "steps/_step_added.html", {**context, "section": section, "added_message": message}
                )
    return render_page_or_partial(
        request,
        "steps/custom_step_add.html",
        {"release": release, "customer": customer, "form": form},
        partial="dialog",
        status=status,
    )
