"""Reading the history."""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.paginator import Page, Paginator
from django.db.models import BooleanField, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from history.choices import NOT_RECENT_ACTIVITY
from history.models import Event

AUDIT_PAGE_SIZE = 50
# "Not a follow-on nor an authentication event", written with the very constants of the partial index
# event_recent_change_idx: SQLite uses a partial index only for a query whose condition it can match to the index's,
# and a bound parameter matches nothing. (The actions are this module's own constants, not input.)
NOT_FOLLOW_ON = RawSQL(
    'NOT ("history_event"."action" IN ({}))'.format(", ".join(f"'{action.value}'" for action in NOT_RECENT_ACTIVITY)),
    [],
    output_field=BooleanField(),
)
AUDIT_CSV_COLUMNS = (
    "occurred_at",
    "actor",
    "action",
    "action_label",
    "release",
    "cluster",
    "customer",
    "object",
    "before",
    "after",
)
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): such cells get a quote.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def events_for_customer_step(customer_step) -> QuerySet[Event]:
    """The history of one customer step, oldest first, as the side panel shows it."""
    return Event.objects.filter(customer_step=customer_step).select_related("actor").order_by("occurred_at", "id")


def recent_events(*, limit: int = 20) -> QuerySet[Event]:
    """The latest changes everywhere, newest first, with what the dashboard needs to show and link them; the
    per-step events a release or template step change brought about are left to that change's own event, and the
    authentication events to the audit log."""
    return (
        Event.objects.filter(NOT_FOLLOW_ON)
        .select_related("release", "customer", "cluster", "customer_step")
        .order_by("-occurred_at", "-id")[:limit]
    )


def audit_events() -> QuerySet[Event]:
    """The whole record, newest first, with the release, cluster and customer (and its cluster) each row names."""
    return Event.objects.select_related("release", "cluster", "customer__cluster").order_by("-occurred_at", "-id")


@dataclass(frozen=True)
class ValueChange:
    """One field of an event as "field: before → after"; a side the event does not have is None."""

    field: str
    before: str | None
    after: str | None


def _shown(value) -> str:
    """A JSON value as a person reads it: text as is, anything else as JSON."""
    if isinstance(value, str):
        return value if value else '""'
    return json.dumps(value, ensure_ascii=False)


def _as_dict(values) -> dict:
    """An event's before or after: a dict of fields, nothing (None), or a bare value shown under "value"."""
    if values is None:
        return {}
    return values if isinstance(values, dict) else {"value": values}


def value_changes(before, after) -> list[ValueChange]:
    """The fields of before and after, in the order they were recorded, each with the side(s) it has."""
    before, after = _as_dict(before), _as_dict(after)
    fields = [*before, *(field for field in after if field not in before)]
    return [
        ValueChange(
            field=str(field),
            before=_shown(before[field]) if field in before else None,
            after=_shown(after[field]) if field in after else None,
        )
        for field in fields
    ]


def audit_page(events: QuerySet[Event], number) -> Page:
    """One page of `events` (a missing or unreadable page number gives the first or last page), each event with
    its `changes` (value_changes) ready to show."""
    page = Paginator(events, AUDIT_PAGE_SIZE).get_page(number)
    page.object_list = list(page.object_list)
    for event in page.object_list:
        event.changes = value_changes(event.before, event.after)
    return page


def csv_cell(value) -> str:
    """A CSV cell as a spreadsheet may open it: text that would start a formula (= + - @) gets a leading quote."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text


def _csv_json(values) -> str:
    return "" if values is None else json.dumps(values, ensure_ascii=False)


def audit_csv_rows(events: QuerySet[Event]) -> Iterator[list[str]]:
    """The header, then one row per event (AUDIT_CSV_COLUMNS), read in chunks so an export of any size streams
    in constant memory. Times are ISO 8601 in the site's time zone; cells a spreadsheet would run are quoted. The actor
    says what a change came through when it was not the screens ("ana via API token 'jenkins'")."""
    yield list(AUDIT_CSV_COLUMNS)
    for event in events.iterator(chunk_size=2000):
        row = [
            timezone.localtime(event.occurred_at).isoformat(),
            event.actor_label,
            event.action,
            event.get_action_display(),
            event.release.name if event.release else "",
            event.cluster.name if event.cluster else "",
            event.customer.name if event.customer else "",
            event.object_repr,
            _csv_json(event.before),
            _csv_json(event.after),
        ]
        yield [csv_cell(value) for value in row]
