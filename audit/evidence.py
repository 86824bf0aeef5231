"""The evidence report of a release (issue 11, item 5): every customer step of one customer or of all of them, with
its status, who set it and when, the skip reason, the notes, whether it was overridden (with a unified diff against
its template step) and whether it is custom, for a change board.

Two queries whatever the size: the release's template steps (their content, for the diffs and the report's list of
template steps), then the customer steps as plain rows (values_list), read in chunks so that a report of 200,000
steps streams in constant memory. Content is shown as stored: variable references (`#{name}`) stay references,
nothing is rendered, so no variable value (sensitive or not) can reach the report.
"""

import difflib
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db.models import Case, IntegerField, QuerySet, Value, When
from django.utils import timezone

from history.selectors import csv_cell
from steps.choices import STATUS_LABELS, StepCategory, StepType
from steps.models import STEP_ORDER, CustomerStep, StepTemplate

# Rows read from the database per round trip while streaming.
CHUNK_SIZE = 2000
EVIDENCE_CSV_COLUMNS = (
    "release",
    "customer",
    "customer_archived",
    "cluster",
    "namespace",
    "category",
    "order",
    "step",
    "type",
    "status",
    "status_by",
    "status_at",
    "skip_reason",
    "notes",
    "custom",
    "overridden",
    "detached",
    "content",
    "diff_against_template",
)
CATEGORY_ORDER = Case(
    *(When(category=value, then=Value(index)) for index, value in enumerate(StepCategory.values)),
    output_field=IntegerField(),
)
TYPE_LABELS = dict(StepType.choices)
CATEGORY_LABELS = dict(StepCategory.choices)


def _step_columns() -> tuple[str, ...]:
    """The columns read of each customer step, in the order of StepRow's fields."""
    return (
        "id",
        "customer_id",
        "customer__name",
        "customer__deleted_at",
        "customer__cluster__name",
        "customer__namespace",
        "category",
        "name",
        "type",
        "status",
        f"executed_by__{get_user_model().USERNAME_FIELD}",
        "executed_at",
        "skip_reason",
        "notes",
        "is_custom",
        "is_overridden",
        "template_id",
        "anchor_id",
        "content",
    )


class StepRow(NamedTuple):
    """One customer step as read: no model instance (a release can have 200,000 of them)."""

    pk: int
    customer_id: int
    customer: str
    customer_deleted_at: object
    cluster: str
    namespace: str
    category: str
    name: str
    type: str
    status: str
    status_by: str | None
    status_at: object
    skip_reason: str
    notes: str
    is_custom: bool
    is_overridden: bool
    template_id: int | None
    anchor_id: int | None
    content: str


@dataclass(frozen=True)
class EvidenceStep:
    """One line of the report: a customer step, its position in its category, and how it differs from its
    template step (`diff` is empty when it doesn't, and for custom steps)."""

    row: StepRow
    order: int
    diff: str

    @property
    def detached(self) -> bool:
        """Kept after its template step was deleted."""
        return self.row.template_id is not None and self.row.anchor_id != self.row.template_id

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.row.category, self.row.category)

    @property
    def type_label(self) -> str:
        return TYPE_LABELS.get(self.row.type, self.row.type)

    @property
    def status_label(self) -> str:
        """The status as every screen shows it ("✅ Done")."""
        return STATUS_LABELS.get(self.row.status, self.row.status)

    @property
    def diff_lines(self) -> list[tuple[str, str]]:
        """The diff's lines, each with its kind for the page to colour: file, hunk, added, removed or same."""
        lines = self.diff.splitlines()
        return [("file", line) for line in lines[:2]] + [(_line_kind(line), line) for line in lines[2:]]


@dataclass(frozen=True)
class CustomerEvidence:
    """One customer's part of the report: its steps in execution order, deploy then verify."""

    customer_id: int
    name: str
    cluster: str
    namespace: str
    archived: bool
    steps: list[EvidenceStep]


def template_steps_of(release) -> dict[int, StepTemplate]:
    """Every template step the release ever had (deleted ones too: steps kept after a deletion still diff against
    them), by id, in category and order: one query."""
    templates = StepTemplate.all_objects.filter(release=release).only(
        "id", "name", "category", "type", "content", "order_index", "deleted_at"
    )
    return {template.pk: template for template in templates.order_by(CATEGORY_ORDER, "order_index", "id")}


def evidence_steps_query(release, customer=None) -> QuerySet:
    """The customer steps of the report as StepRow tuples, by customer name, then category, then execution order.

    Removed steps (custom steps removed, steps removed with their template step) are not part of the checklist and
    are left out; steps of archived customers are in, marked as such.
    """
    steps = CustomerStep.objects.filter(release=release)
    if customer is not None:
        steps = steps.filter(customer=customer)
    return steps.order_by("customer__name", "customer_id", CATEGORY_ORDER, *STEP_ORDER).values_list(*_step_columns())


def _line_kind(line: str) -> str:
    """The kind of a diff line after its two file lines (--- and +++)."""
    if line.startswith("@@"):
        return "hunk"
    return {"+": "added", "-": "removed"}.get(line[:1], "same")


def unified_diff(template_content: str, content: str, *, customer: str) -> str:
    """The customer's content against its template step's, as a unified diff (empty when they are the same)."""
    if template_content == content:
        return ""
    lines = difflib.unified_diff(
        template_content.splitlines(),
        content.splitlines(),
        fromfile="template step",
        tofile=customer,
        lineterm="",
    )
    return "\n".join(lines)


def evidence_steps(release, customer=None, templates: dict[int, StepTemplate] | None = None) -> Iterator[EvidenceStep]:
    """Every step of the report in order, read in chunks of CHUNK_SIZE. `templates` (template_steps_of) saves its
    query when the caller already has it."""
    if templates is None:
        templates = template_steps_of(release)
    position = None
    order = 0
    for values in evidence_steps_query(release, customer).iterator(chunk_size=CHUNK_SIZE):
        row = StepRow(*values)
        order = order + 1 if position == (row.customer_id, row.category) else 1
        position = (row.customer_id, row.category)
        template = templates.get(row.template_id)
        diff = "" if template is None else unified_diff(template.content, row.content, customer=row.customer)
        yield EvidenceStep(row=row, order=order, diff=diff)


def evidence_by_customer(release, customer=None, templates=None) -> Iterator[CustomerEvidence]:
    """The report one customer at a time: only one customer's steps are held at once."""
    for _, steps in groupby(evidence_steps(release, customer, templates), key=lambda step: step.row.customer_id):
        steps = list(steps)
        first = steps[0].row
        yield CustomerEvidence(
            customer_id=first.customer_id,
            name=first.customer,
            cluster=first.cluster,
            namespace=first.namespace,
            archived=first.customer_deleted_at is not None,
            steps=steps,
        )


def _time(value) -> str:
    return timezone.localtime(value).isoformat() if value else ""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def evidence_csv_rows(release, customer=None) -> Iterator[list[str]]:
    """The header (EVIDENCE_CSV_COLUMNS), then one row per customer step. Times are ISO 8601 in the site's time
    zone; cells a spreadsheet would run as a formula are quoted, as in the audit export."""
    yield list(EVIDENCE_CSV_COLUMNS)
    for step in evidence_steps(release, customer):
        row = step.row
        cells = [
            release.name,
            row.customer,
            _yes(row.customer_deleted_at is not None),
            row.cluster,
            row.namespace,
            row.category,
            step.order,
            row.name,
            row.type,
            row.status,
            row.status_by or "",
            _time(row.status_at),
            row.skip_reason,
            row.notes,
            _yes(row.is_custom),
            _yes(row.is_overridden),
            _yes(step.detached),
            row.content,
            step.diff,
        ]
        yield [csv_cell(cell) for cell in cells]
