"""Writing the history. Every service that changes something calls one of these inside its own transaction."""

from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from history.choices import EventAction
from history.context import current_via
from history.models import SYSTEM_ACTOR, Event


def actor_name(user) -> str:
    """How an actor is shown in the history: the username, or "system" for commands and automatic changes."""
    return user.get_username() if user is not None else SYSTEM_ACTOR


def record_event(
    *,
    action: EventAction,
    user,
    object_repr: str,
    release=None,
    cluster=None,
    customer=None,
    template_step=None,
    customer_step=None,
    before: dict | None = None,
    after: dict | None = None,
    when=None,
) -> Event:
    """Append one event. Subjects not given are taken from the more specific ones (a step names its customer…)."""
    if customer_step is not None:
        release = release or customer_step.release
        customer = customer or customer_step.customer
        template_step = template_step or customer_step.template
    if template_step is not None:
        release = release or template_step.release
    if customer is not None:
        cluster = cluster or customer.cluster
    return Event.objects.create(
        occurred_at=when or timezone.now(),
        actor=user,
        actor_name=actor_name(user),
        via=current_via(),
        action=action,
        release=release,
        cluster=cluster,
        customer=customer,
        template_step=template_step,
        customer_step=customer_step,
        object_repr=object_repr[:400],
        before=before,
        after=after,
    )


def record_step_events(
    *,
    action: EventAction,
    steps: QuerySet,
    user,
    when,
    before: dict | None = None,
    after: dict | None = None,
) -> int:
    """Append one event per customer step that `steps` selects, in one INSERT … SELECT whatever their number.

    Activation and template edits touch thousands of steps at once; writing their history row by row would make
    the number of queries grow with the number of customers. Returns how many events were written.
    """
    step_model = steps.model
    selected_sql, selected_params = steps.order_by().values("pk").query.sql_with_params()
    sql, params = step_events_insert(
        action=action,
        user=user,
        when=when,
        before=before,
        after=after,
        steps_source=step_model._meta.db_table,
        customer_model=step_model._meta.get_field("customer").related_model,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"{sql} WHERE s.id IN ({selected_sql})", [*params, *selected_params])
        return cursor.rowcount


def step_events_insert(
    *, action: EventAction, user, when, before: dict | None, after: dict | None, steps_source: str, customer_model
) -> tuple[str, list]:
    """The INSERT … SELECT (SQL and parameters) that appends one event per customer step of `steps_source`: the
    steps table, or the name of a WITH query that returns the columns id, release_id, customer_id, template_id and
    name of new steps (activation writes its steps and their events in one statement on PostgreSQL). The steps are
    `s`; a WHERE clause may follow."""
    json_field = Event._meta.get_field("before")
    sql = (
        f"INSERT INTO {Event._meta.db_table} (occurred_at, actor_id, actor_name, via, action, before, after, "
        "release_id, cluster_id, customer_id, template_step_id, customer_step_id, object_repr) "
        "SELECT %s, %s, %s, %s, %s, %s, %s, s.release_id, c.cluster_id, s.customer_id, s.template_id, s.id, "
        "c.name || ': ' || s.name "
        f"FROM {steps_source} s JOIN {customer_model._meta.db_table} c ON c.id = s.customer_id"
    )
    params = [
        Event._meta.get_field("occurred_at").get_db_prep_save(when, connection),
        user.pk if user is not None else None,
        actor_name(user),
        current_via(),
        str(action),
        json_field.get_db_prep_save(before, connection),
        json_field.get_db_prep_save(after, connection),
    ]
    return sql, params


def record_step_events_each(*, action: EventAction, steps: list, user, when, before_of, after_of) -> int:
    """Append one event per customer step, each with its own before and after (`before_of(step)`,
    `after_of(step)`), in one INSERT whatever their number. The steps need their customer loaded."""
    events = [
        Event(
            occurred_at=when,
            actor=user,
            actor_name=actor_name(user),
            via=current_via(),
            action=action,
            release_id=step.release_id,
            cluster_id=step.customer.cluster_id,
            customer_id=step.customer_id,
            template_step_id=step.template_id,
            customer_step_id=step.pk,
            object_repr=f"{step.customer.name}: {step.name}"[:400],
            before=before_of(step),
            after=after_of(step),
        )
        for step in steps
    ]
    Event.objects.bulk_create(events)
    return len(events)


def snapshot(instance, fields: tuple[str, ...]) -> dict:
    """The values of `fields` as JSON can hold them: related objects by name, dates as ISO text."""
    values = {}
    for name in fields:
        value = getattr(instance, name)
        if hasattr(value, "_meta"):
            value = str(value)
        elif hasattr(value, "isoformat"):
            value = value.isoformat()
        values[name] = value
    return values


def changed_values(before: dict, after: dict) -> tuple[dict, dict]:
    """Only what changed, as (before, after), for an event that shows before → after."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def apply_changes(
    instance, changes: dict, fields: tuple[str, ...], *, strip: tuple[str, ...] = ()
) -> tuple[dict, dict]:
    """Set `changes` on `instance` and return only what changed, as (before, after), for the update event.

    Only `fields` may change (anything else is a programming error: TypeError); the values of `strip` lose their
    surrounding blanks. An empty `after` means there is nothing to save or record.
    """
    unknown = set(changes) - set(fields)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    before = snapshot(instance, fields)
    for field, value in changes.items():
        setattr(instance, field, value.strip() if field in strip else value)
    return changed_values(before, snapshot(instance, fields))
