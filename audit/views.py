"""The audit log: the whole event record, filtered, paginated and exported as CSV."""

import csv

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from audit.filters import AuditFilter
from core.htmx import render_page_or_partial
from history.selectors import audit_csv_rows, audit_events, audit_page


class Echo:
    """A file-like object whose write() hands back what it is given, so csv.writer formats one row at a time."""

    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
def audit(request):
    """Every event, newest first, filtered and paginated; htmx gets the results with the filter form out-of-band."""
    audit_filter = AuditFilter(request.GET, queryset=audit_events())
    page = audit_page(audit_filter.qs, request.GET.get("page"))
    return render_page_or_partial(
        request,
        "audit/audit.html",
        {"filter": audit_filter, "page_obj": page},
        partial="audit_update",
        target="audit-results",
    )


@require_GET
@login_required
def audit_export(request):
    """The events the same filters select, streamed as CSV (rollcall-audit-YYYYMMDD-HHMM.csv)."""
    audit_filter = AuditFilter(request.GET, queryset=audit_events())
    writer = csv.writer(Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in audit_csv_rows(audit_filter.qs)), content_type="text/csv; charset=utf-8"
    )
    filename = f"rollcall-audit-{timezone.localtime():%Y%m%d-%H%M}.csv"
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    return response
