"""One template step across customers (FV-005): every customer's copy, grouped by cluster, with its actions."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from accounts.permissions import EXECUTE_STEPS
from releases.choices import ReleaseStatus
from steps.highlight import highlight_content
from steps.models import StepTemplate
from steps.selectors import template_step_across_customers, template_step_clusters, template_step_counts

# Above this many customers the view shows one cluster at a time (a page per cluster, with links to the others): a
# person works through one cluster's list, and 2,000 rows with their action buttons took seconds to draw. A cluster
# is never split, so the "Select all" of a cluster still selects every one of its customers.
ONE_CLUSTER_AT_A_TIME_ABOVE = 500


@require_GET
@login_required
def template_step_status(request, pk):
    """One template step's status for every customer of its release, grouped by cluster (FV-005); for a step of many
    customers, one cluster's (`?cluster=<id>`, the first by default)."""
    template_step = get_object_or_404(StepTemplate.all_objects.select_related("release"), pk=pk)
    clusters = template_step_clusters(template_step)
    shown_cluster = None
    if sum(count for _, _, count in clusters) > ONE_CLUSTER_AT_A_TIME_ABOVE:
        asked = request.GET.get("cluster", "")
        ids = [cluster_id for cluster_id, _, _ in clusters]
        shown_cluster = int(asked) if asked.isdigit() and int(asked) in ids else ids[0]
    status = template_step_across_customers(template_step, cluster_id=shown_cluster)
    if shown_cluster is not None:
        status.counts = template_step_counts(template_step)  # the summary counts every customer, not the page's
    return render(
        request,
        "steps/template_step_status.html",
        {
            "template_step": template_step,
            "release": template_step.release,
            "status": status,
            "cluster_pages": clusters if shown_cluster is not None else [],
            "shown_cluster": shown_cluster,
            "code": highlight_content(template_step.content, template_step.type),
            "next_url": request.get_full_path(),
            # The checkboxes and the bulk bar (issue 9): for those who carry steps out, while the release is active.
            "can_bulk": request.user.has_perm(EXECUTE_STEPS) and template_step.release.status == ReleaseStatus.ACTIVE,
        },
    )
