"""One template step across customers (FV-005): every customer's copy, grouped by cluster, with its actions."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.permissions import EXECUTE_STEPS
from releases.choices import ReleaseStatus
from steps.highlight import highlight_content
from steps.models import StepTemplate
from steps.selectors import template_step_across_customers


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
            # The checkboxes and the bulk bar (issue 9): for those who carry steps out, while the release is active.
            "can_bulk": request.user.has_perm(EXECUTE_STEPS) and template_step.release.status == ReleaseStatus.ACTIVE,
        },
    )
