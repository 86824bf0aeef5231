"""The dashboard: where every active release stands, at a glance."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.views.decorators.http import require_GET

from dashboard.selectors import active_releases_with_progress, clusters_with_customer_counts, step_status_counts
from history.selectors import recent_events


@require_GET
@login_required
def dashboard(request):
    """Active releases with progress, clusters with customer counts, quick stats and recent activity (FV-001)."""
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "releases": active_releases_with_progress(),
            "clusters": clusters_with_customer_counts(),
            "stats": step_status_counts(),
            "events": recent_events(limit=15),
        },
    )
