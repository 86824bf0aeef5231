"""Every change to variables: define one on a customer, a cluster or a release, change it, delete it (soft), copy
a release's defaults to its clone.

A sensitive value is encrypted before it is stored (core.crypto) and shows as "••••" in the history; its clear
text is never written anywhere but in the encrypted token.
"""

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.permissions import ADD_VARIABLE, CHANGE_VARIABLE, DELETE_VARIABLE, require
from core import crypto
from core.errors import DomainError
from core.models import validate_or_refuse
from core.variables import is_valid_name
from history.choices import EventAction
from history.services import record_event
from variables.models import INVALID_NAME, Variable, scope_of
from variables.selectors import variables_of
from webhooks.choices import EventType
from webhooks.payloads import variable_event
from webhooks.services import notify

MAX_VALUE_BYTES = 64 * 1024
VALUE_TOO_LONG = "A value holds at most 64 KB; this one has {size} bytes."
NAME_TAKEN = "{owner} already has a variable {key}."
ONE_OWNER = "A variable belongs to exactly one customer, cluster or release: choose one."
PLAIN_NEEDS_VALUE = "To make a sensitive value plain, enter the value again: the stored one is never shown."
VARIABLE_ALREADY_DELETED = "Variable {key} of {owner} is already deleted."

EDITABLE_FIELDS = ("key", "value", "is_sensitive")
# The word a webhook's variable.changed event uses for each history action.
VARIABLE_ACTIONS = {
    EventAction.VARIABLE_ADDED: "added",
    EventAction.VARIABLE_CHANGED: "changed",
    EventAction.VARIABLE_DELETED: "deleted",
}


def choose_owner(*, customer=None, cluster=None, release=None):
    """The one customer, cluster or release given (a form with a field for each); refuse none or several."""
    owners = [owner for owner in (customer, cluster, release) if owner is not None]
    if len(owners) != 1:
        raise DomainError(ONE_OWNER)
    return owners[0]


def _snapshot(variable: Variable) -> dict:
    """What the history keeps of a variable: its value masked when sensitive, never the clear or encrypted text."""
    return {"key": variable.key, "value": variable.display_value, "is_sensitive": variable.is_sensitive}


def _record(action: EventAction, variable: Variable, *, user, before=None, after=None) -> None:
    owner = variable.owner
    record_event(
        action=action,
        user=user,
        object_repr=f"{owner}: {variable.key}",
        before=before,
        after=after,
        **{scope_of(owner): owner},
    )
    notify(
        EventType.VARIABLE_CHANGED,
        lambda: variable_event(
            action=VARIABLE_ACTIONS[action],
            owner_scope=scope_of(owner),
            owner=owner,
            key=variable.key,
            is_sensitive=variable.is_sensitive,
            user=user,
        ),
    )


def _refuse_invalid_name(key: str) -> None:
    if not is_valid_name(key):
        raise DomainError(INVALID_NAME, field="key")


def _store_value(variable: Variable, value: str) -> None:
    """Put `value` in the variable as its sensitivity wants it: encrypted, or plain. Refuse one over 64 KB."""
    size = len(value.encode())
    if size > MAX_VALUE_BYTES:
        raise DomainError(VALUE_TOO_LONG.format(size=size), field="value")
    if not variable.is_sensitive:
        variable.value, variable.encrypted_value = value, ""
        return
    try:
        variable.encrypted_value = crypto.encrypt(value)
    except crypto.EncryptionNotConfigured as error:
        raise DomainError(str(error), field="is_sensitive") from None
    variable.value = ""


def _save(variable: Variable) -> None:
    """Refuse a name its scope already has, check the model's rules, and write."""
    scope = scope_of(variable.owner)
    taken = Variable.objects.filter(**{f"{scope}_id": getattr(variable, f"{scope}_id"), "key": variable.key})
    name_taken = NAME_TAKEN.format(owner=variable.owner, key=variable.key)
    if taken.exclude(pk=variable.pk).exists():
        raise DomainError(name_taken, field="key")
    validate_or_refuse(variable)
    try:
        with transaction.atomic():
            variable.save()
    except IntegrityError as error:  # a concurrent request defined the name between the check and the write
        raise DomainError(name_taken, field="key") from error


@transaction.atomic
def variable_create(*, owner, key: str, value: str, is_sensitive: bool = False, user) -> Variable:
    """Define a variable on a customer, a cluster or a release (its defaults); its name is new in that scope."""
    require(user, ADD_VARIABLE)
    key = key.strip()
    _refuse_invalid_name(key)
    variable = Variable(**{scope_of(owner): owner}, key=key, is_sensitive=is_sensitive)
    _store_value(variable, value)
    _save(variable)
    _record(EventAction.VARIABLE_ADDED, variable, user=user, after=_snapshot(variable))
    return variable


@transaction.atomic
def variable_update(*, variable: Variable, user, **changes) -> Variable:
    """Rename a variable, change its value or its sensitivity; the history shows before → after, masked.

    A plain value that becomes sensitive is encrypted as it is. A sensitive one becomes plain only with its value
    entered again: the stored one is never revealed. A sensitive value given again counts as a change (comparing
    would mean decrypting the old one, which may be unreadable after a key rotation).
    """
    require(user, CHANGE_VARIABLE)
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    variable = Variable.all_objects.select_for_update().get(pk=variable.pk)
    if variable.is_deleted:
        raise DomainError(VARIABLE_ALREADY_DELETED.format(key=variable.key, owner=variable.owner))
    before = _snapshot(variable)
    changed = []

    key = changes.get("key", variable.key).strip()
    if key != variable.key:
        _refuse_invalid_name(key)
        variable.key = key
        changed.append("key")

    was_sensitive = variable.is_sensitive
    variable.is_sensitive = changes.get("is_sensitive", was_sensitive)
    if variable.is_sensitive != was_sensitive:
        changed.append("is_sensitive")
    if "value" in changes:
        value = changes["value"]
    elif variable.is_sensitive and not was_sensitive:
        value = variable.value
    elif was_sensitive and not variable.is_sensitive:
        raise DomainError(PLAIN_NEEDS_VALUE, field="value")
    else:
        value = None
    if value is not None and (was_sensitive or variable.is_sensitive or value != variable.value):
        _store_value(variable, value)
        changed.append("value")

    if not changed:
        return variable
    _save(variable)
    after = _snapshot(variable)
    _record(
        EventAction.VARIABLE_CHANGED,
        variable,
        user=user,
        before={field: before[field] for field in changed},
        after={field: after[field] for field in changed},
    )
    return variable


def variable_set(*, owner, key: str, value: str, is_sensitive: bool = False, user) -> Variable:
    """Give `owner` the variable `key` = `value`: define it, or change the one it has (seed data, clones)."""
    existing = Variable.objects.filter(**{scope_of(owner): owner, "key": key.strip()}).first()
    if existing is None:
        return variable_create(owner=owner, key=key, value=value, is_sensitive=is_sensitive, user=user)
    return variable_update(variable=existing, user=user, value=value, is_sensitive=is_sensitive)


@transaction.atomic
def variable_delete(*, variable: Variable, user) -> Variable:
    """Delete a variable (soft): it no longer resolves, its row and its history stay, the name is free again."""
    require(user, DELETE_VARIABLE)
    variable = Variable.all_objects.select_for_update().get(pk=variable.pk)
    if variable.is_deleted:
        raise DomainError(VARIABLE_ALREADY_DELETED.format(key=variable.key, owner=variable.owner))
    variable.deleted_at = timezone.now()
    variable.save(update_fields=["deleted_at", "updated_at"])
    _record(EventAction.VARIABLE_DELETED, variable, user=user, before=_snapshot(variable))
    return variable


@transaction.atomic
def variables_copy(*, source, target, user) -> list[Variable]:
    """Give `target` a copy of every variable of `source` (a release's defaults travel with Clone), in a constant
    number of queries.

    A sensitive value is copied as its encrypted token: nothing is decrypted, so copying needs no key. The caller's
    own event says what was copied (release_clone's names the variables); a name `target` already has is refused.
    """
    require(user, ADD_VARIABLE)
    variables = variables_of(source)
    scope = scope_of(target)
    taken = Variable.objects.filter(**{scope: target, "key__in": [variable.key for variable in variables]})
    first_taken = taken.order_by("key").values_list("key", flat=True).first()
    if first_taken is not None:
        raise DomainError(NAME_TAKEN.format(owner=target, key=first_taken))
    copies = [
        Variable(
            **{scope: target},
            key=variable.key,
            value=variable.value,
            encrypted_value=variable.encrypted_value,
            is_sensitive=variable.is_sensitive,
        )
        for variable in variables
    ]
    return Variable.objects.bulk_create(copies)
