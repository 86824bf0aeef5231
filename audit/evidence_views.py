"""The evidence report of a release (issue 11, item 5), for all its customers or one: a CSV download and a printable
page. Anyone who may view the release may read it (every role reads everything).

Both stream. The CSV is written a row at a time as the steps are read (audit.evidence reads them in chunks). The
page is rendered in pieces: its head (the page up to the customers, with the release's template steps), then one
customer's section at a time, then its foot; only one customer's steps are in memory at once, so the page of
2,000 customers by 100 steps starts arriving at once and never holds its 200,000 rows. One page rather than a page
per customer, so that a change board prints or saves the whole release as one PDF.
"""

import csv
from collections.abc import Iterator
from itertools import islice

from django.contrib.auth.decorators import login_required
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from audit.evidence import evidence_by_customer, evidence_csv_rows, template_steps_of
from audit.views import Echo
from customers.models import Customer
from releases.models import Release

EVIDENCE_PAGE = "audit/evidence.html"
# CSV rows sent per chunk: one write to the client per few hundred rows, not one per row (200,000 at scale).
CSV_ROWS_PER_CHUNK = 500
# Where the page's head ends and its foot begins: the customers' sections stream in between.
CUSTOMERS_MARK = "<!-- evidence:customers -->"


def _release_and_customer(release_pk: int, customer_pk: int | None):
    """The release, and the customer when one is asked for (archived ones too: their evidence stays): 404 if unknown."""
    release = get_object_or_404(Release, pk=release_pk)
    customer = None
    if customer_pk is not None:
        customer = get_object_or_404(Customer.all_objects.select_related("cluster"), pk=customer_pk)
    return release, customer


def _filename(release, customer, extension: str) -> str:
    """rollcall-evidence-v2-5-0[-customer-a]-YYYYMMDD-HHMM.csv"""
    parts = ["rollcall-evidence", slugify(release.name) or str(release.pk)]
    if customer is not None:
        parts.append(slugify(customer.name) or str(customer.pk))
    return f"{'-'.join(parts)}-{timezone.localtime():%Y%m%d-%H%M}.{extension}"


def _csv_chunks(rows) -> Iterator[str]:
    """The rows as CSV text, CSV_ROWS_PER_CHUNK rows at a time."""
    writer = csv.writer(Echo())
    lines = (writer.writerow(row) for row in rows)
    while chunk := "".join(islice(lines, CSV_ROWS_PER_CHUNK)):
        yield chunk


@require_GET
@login_required
def evidence_csv(request, release_pk: int, customer_pk: int | None = None):
    """The report as CSV, one row per customer step, streamed."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    response = StreamingHttpResponse(
        _csv_chunks(evidence_csv_rows(release, customer)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=_filename(release, customer, "csv")
    )
    return response


def _page_pieces(request, release, customer):
    """The page's head, each customer's section as it is read, then its foot."""
    templates = template_steps_of(release)
    context = {
        "release": release,
        "customer": customer,
        "template_steps": list(templates.values()),
        "generated_at": timezone.now(),
        "customers_mark": CUSTOMERS_MARK,
    }
    head, foot = render_to_string(EVIDENCE_PAGE, context, request).split(CUSTOMERS_MARK)
    yield head
    shown = False
    for evidence in evidence_by_customer(release, customer, templates):
        yield render_to_string(f"{EVIDENCE_PAGE}#customer_section", {"evidence": evidence})
        shown = True
    if not shown:
        yield render_to_string(f"{EVIDENCE_PAGE}#no_steps", {"release": release, "customer": customer})
    yield foot


@require_GET
@login_required
def evidence_report(request, release_pk: int, customer_pk: int | None = None):
    """The report as a printable page (print CSS for A4 and "Save as PDF"), streamed one customer at a time."""
    release, customer = _release_and_customer(release_pk, customer_pk)
    return StreamingHttpResponse(_page_pieces(request, release, customer), content_type="text/html; charset=utf-8")
