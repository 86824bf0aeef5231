"""Live updates (issue 9, "Live"): what changed in a release since a screen was drawn, so that the matrix, a
customer's checklist and one template step across customers pick up other people's changes without a reload.

A screen polls `steps:live_changes` with a cursor: `since`, a time the server gave it (microseconds since the epoch,
never the browser's clock), and `seen`, the fingerprint of the steps changed in the window before that time that it
already got. Each poll reads the fingerprint of the customer steps of the release changed after `since - OVERLAP`:
how many and the sum of their versions, one aggregate query on the index on (release, updated_at). Every change of a
step raises its version and nothing is ever deleted, so the fingerprint changes with every change in the window and
only then; the answer is 204 when it is the one the screen sent.

Why the overlap: a step's `updated_at` is set in the transaction that changes it, before it commits, and
transactions commit out of order (and several machines' clocks differ a little); a change stamped just before a poll's
`since` may only become visible after that poll. Reading from `since - OVERLAP` finds it on a later poll, and the
fingerprint keeps the steps already sent in that window from being sent again and again. Sending one twice is
harmless: the screen swaps a step's fragments only when their version is newer than what it shows (static/js/live.js).

No state is kept anywhere but in the database and the screen's cursor: it works across gunicorn processes, machines
and any proxy.

Cost: a poll that finds nothing new is most of them. To keep it to that one query, the cursor carries a token the
server signed (django.core.signing, SECRET_KEY): who polls, which release, a tag of their session cookie, valid for
TOKEN_MAX_AGE. With a good token the 204 is answered without reading the session and the user (two queries); without
one (expired, another session) the poll reads them as any request does, and the answer brings a new token. Anything
beyond a 204 (fragments, or a new cursor) is only ever sent after the session was read: a logged-out browser learns at
most, for a few minutes, that nothing changed.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from django.core import signing
from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum, Window
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from history.models import Event
from steps.models import CustomerStep

# How often a visible screen asks: a change shows within POLL_SECONDS and the time of one request (issue 9: within 5 s).
# Not more often: 50 open matrices cost gunicorn about 9 % of one core polling every 2 s, under 5 % every 4 s
# (`make poll-cost`; most of a poll's cost is that of any request: HTTP, middleware, a database connection).
POLL_SECONDS = 4
OVERLAP = timedelta(seconds=10)
# More steps changed after the cursor than this (a tab hidden for hours, a bulk action on a big release): the screen
# reloads its content instead, cheaper than hundreds of fragments.
MAX_CHANGES = 100
# A cursor this far ahead of the server's clock was not given by a server.
MAX_AHEAD = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
TOKEN_MAX_AGE = timedelta(minutes=15)
TOKEN_SALT = "steps.live"
TOKEN_LENGTH = 300  # longer is not a token the server gave
FINGERPRINT = re.compile(r"[0-9]{1,9}\.[0-9]{1,18}")

SINCE_INVALID = "since must be the cursor the server gave: microseconds since 1970, digits only."
SINCE_AHEAD = "since is in the future: use the cursor the server gave."
SEEN_INVALID = "seen must be the fingerprint the server gave (count.versions), or empty."
PK_INVALID = "{name} must be a positive whole number."
SCOPE_INVALID = "Give customer or template, not both."
TOKEN_INVALID = "token must be the one the server gave."


class InvalidCursor(ValueError):
    """A query string the screens never send; `message` says what is wrong with it."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Cursor:
    """Where a screen stands: changes before `since` are on it, and `seen` is the fingerprint of the window before
    `since` as it got it. `customer` or `template` narrows the steps to what that screen shows."""

    since: datetime
    seen: str = ""
    customer: int | None = None
    template: int | None = None
    panel: int | None = None  # the step open in the side panel, if any
    token: str = ""  # who polls, signed by the server (see the module's docstring)


@dataclass(frozen=True)
class Change:
    """One customer step changed in the window."""

    pk: int
    version: int
    updated_at: datetime
    created_at: datetime
    deleted_at: datetime | None


def to_micros(moment: datetime) -> int:
    """A time as the cursor writes it: whole microseconds since the epoch."""
    return (moment - EPOCH) // timedelta(microseconds=1)


def from_micros(micros: int) -> datetime:
    return EPOCH + timedelta(microseconds=micros)


def _pk(params, name: str) -> int | None:
    value = params.get(name, "")
    if value == "":
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 18 or int(value) < 1:
        raise InvalidCursor(PK_INVALID.format(name=name))
    return int(value)


def parse_cursor(params, *, now: datetime | None = None) -> Cursor:
    """The cursor in a poll's query string (`since`, `seen`, `customer`, `template`, `panel`); InvalidCursor with
    a message when it is not one the server could have given."""
    since = params.get("since", "")
    if not since.isascii() or not since.isdigit() or len(since) > 17:
        raise InvalidCursor(SINCE_INVALID)
    moment = from_micros(int(since))
    if moment > (now or timezone.now()) + MAX_AHEAD:
        raise InvalidCursor(SINCE_AHEAD)
    seen = params.get("seen", "")
    if seen and not FINGERPRINT.fullmatch(seen):
        raise InvalidCursor(SEEN_INVALID)
    customer, template = _pk(params, "customer"), _pk(params, "template")
    if customer is not None and template is not None:
        raise InvalidCursor(SCOPE_INVALID)
    token = params.get("token", "")
    if len(token) > TOKEN_LENGTH or not token.isascii():
        raise InvalidCursor(TOKEN_INVALID)
    return Cursor(
        since=moment, seen=seen, customer=customer, template=template, panel=_pk(params, "panel"), token=token
    )


def _session_tag(session_key: str | None) -> str:
    return salted_hmac(TOKEN_SALT, session_key or "").hexdigest()[:16]


def issue_token(*, user_id: int, release_id: int, session_key: str | None) -> str:
    """A token saying that this user, with this session, polls this release; it expires after TOKEN_MAX_AGE."""
    return signing.dumps([user_id, release_id, _session_tag(session_key)], salt=TOKEN_SALT)


def token_user(token: str, *, release_id: int, session_key: str | None) -> int | None:
    """The user a token was given to, if it is good (signed, not expired, for this release and session)."""
    if not token:
        return None
    try:
        user_id, release, tag = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except (signing.BadSignature, TypeError, ValueError):
        return None
    if release != release_id or not constant_time_compare(str(tag), _session_tag(session_key)):
        return None
    return user_id


def fingerprint(count: int, versions: int | None) -> str:
    """How many steps changed in a window and the sum of their versions; empty for none."""
    return f"{count}.{versions}" if count else ""


def _window(release_id: int, cursor: Cursor, *, start: datetime) -> QuerySet[CustomerStep]:
    steps = CustomerStep.all_objects.filter(release_id=release_id, updated_at__gt=start)
    if cursor.customer is not None:
        steps = steps.filter(customer_id=cursor.customer)
    if cursor.template is not None:
        steps = steps.filter(template_id=cursor.template)
    return steps.order_by()


def window_fingerprint(release_id: int, cursor: Cursor, *, start: datetime | None = None) -> str:
    """The fingerprint of the steps of the release (of the cursor's customer or template step) changed after `start`
    (by default `since - OVERLAP`), removed ones included: one aggregate query on the index on (release, updated_at).

    Written in SQL rather than built by the ORM: it runs for every poll, and building it cost four times the query."""
    start = cursor.since - OVERLAP if start is None else start
    quote = connection.ops.quote_name
    conditions = {"release": release_id, "updated_at": connection.ops.adapt_datetimefield_value(start)}
    if cursor.customer is not None:
        conditions["customer"] = cursor.customer
    if cursor.template is not None:
        conditions["template"] = cursor.template
    where = " AND ".join(
        f"{quote(CustomerStep._meta.get_field(name).column)} {'>' if name == 'updated_at' else '='} %s"
        for name in conditions
    )
    sql = f"SELECT COUNT(*), SUM({quote('version')}) FROM {quote(CustomerStep._meta.db_table)} WHERE {where}"
    with connection.cursor() as database:
        database.execute(sql, list(conditions.values()))
        count, versions = database.fetchone()
    return fingerprint(count, versions)


def changes_in_window(release_id: int, cursor: Cursor, *, next_start: datetime) -> tuple[list[Change], bool, str]:
    """The steps changed after `since - OVERLAP`, newest first, at most MAX_CHANGES; whether there were more; and the
    fingerprint of those changed after `next_start`, the next cursor's window (inside this one).

    One statement, so one snapshot: the fingerprint is counted over the very rows read. Read apart, a step committed
    between the two reads would be counted as seen by the next cursor without ever being sent."""
    after_next = Q(updated_at__gt=next_start)
    rows = list(
        _window(release_id, cursor, start=cursor.since - OVERLAP)
        .annotate(
            next_count=Window(Count("id", filter=after_next)),
            next_versions=Window(Sum("version", filter=after_next)),
        )
        .order_by("-updated_at", "-id")
        .values_list("id", "version", "updated_at", "created_at", "deleted_at", "next_count", "next_versions")[
            : MAX_CHANGES + 1
        ]
    )
    seen = fingerprint(rows[0][5], rows[0][6]) if rows else ""
    changes = [Change(*row[:5]) for row in rows]
    return changes[:MAX_CHANGES], len(changes) > MAX_CHANGES, seen


@dataclass(frozen=True)
class Plan:
    """What to answer to a poll that found changes: reload the screen's content, or send these steps' fragments."""

    reload: bool
    steps: list[int]


def plan(changes: list[Change], *, truncated: bool, since: datetime) -> Plan:
    """Reload when more than MAX_CHANGES steps changed after `since` or a step was added or removed after it (a new
    row or column of the matrix, a row less in a list); else send every step of the window. When the window holds
    more than MAX_CHANGES, only those changed after `since`: the rest, a bulk change just before the screen was drawn
    (activation, say), is on it; reloading for it would find it again in the next window, and again."""
    after = [change for change in changes if change.updated_at > since]
    if (truncated and len(after) == len(changes)) or any(
        change.created_at > since or (change.deleted_at is not None and change.deleted_at > since) for change in after
    ):
        return Plan(reload=True, steps=[])
    return Plan(reload=False, steps=[change.pk for change in (after if truncated else changes)])


def latest_actors(step_ids, *, after: datetime) -> dict[int, tuple[int | None, str]]:
    """Who made the latest change to each step since `after`: (user id or None, name), by step id. One query on the
    history's index on (customer_step, occurred_at)."""
    events = (
        Event.objects.filter(customer_step_id__in=step_ids, occurred_at__gt=after)
        .order_by("customer_step_id", "occurred_at", "id")
        .values_list("customer_step_id", "actor_id", "actor_name")
    )
    return {step_id: (actor_id, actor_name) for step_id, actor_id, actor_name in events}


def poll_url(release_id: int, *, since: datetime, seen: str = "", customer=None, template=None, token: str = "") -> str:
    """The URL a screen polls next: its cursor and what it shows."""
    params = {
        "since": to_micros(since),
        "seen": seen,
        "customer": customer or "",
        "template": template or "",
        "token": token,
    }
    query = urlencode({name: value for name, value in params.items() if value != ""})
    return f"{reverse('steps:live_changes', args=[release_id])}?{query}"
