"""The dashboard: where every active release stands, at a glance; and the health check probes call."""

import logging

from django.contrib.auth.decorators import login_not_required, login_required
from django.db import DatabaseError, connection
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from dashboard.selectors import (
    active_releases_with_progress,
    clusters_with_customer_counts,
    recent_activity,
    step_status_counts,
)

logger = logging.getLogger(__name__)


@require_GET
@login_required
def dashboard(request):
    """Active releases with progress (and those ready to archive), clusters with customer counts, quick stats and
    recent activity (FV-001)."""
    releases = active_releases_with_progress()
    return render(
        request,
        "dashboard/dashboard.html",
        {
            "releases": releases,
            "ready_to_archive": [release for release in releases if release.complete],
            "clusters": clusters_with_customer_counts(),
            "stats": step_status_counts(),
            "events": recent_activity(limit=15),
        },
    )


@login_not_required
@require_safe
@never_cache
def healthz(request):
    """Answer "ok" when the database answers a trivial query, 503 otherwise (for load balancers and Docker)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        logger.exception("Health check failed: the database is unreachable.")
        return HttpResponse("database unavailable", status=503, content_type="text/plain")
    return HttpResponse("ok", content_type="text/plain")
