"""Variable services: define, change, set and delete variables of customers, clusters and releases, with their
refusals, their history (sensitive values masked) and encryption at rest."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection

from accounts.permissions import ADD_VARIABLE, ALLOWED_ACTIONS, PERMISSION_REFUSED
from core import crypto
from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from variables.models import INVALID_NAME, MASK, Variable
from variables.services import (
    MAX_VALUE_BYTES,
    NAME_TAKEN,
    ONE_OWNER,
    PLAIN_NEEDS_VALUE,
    VALUE_TOO_LONG,
    VARIABLE_ALREADY_DELETED,
    choose_owner,
    variable_create,
    variable_delete,
    variable_set,
    variable_update,
)

pytestmark = pytest.mark.django_db

SECRET = "hunter2-correct-horse"


def _counts() -> tuple[int, int]:
    return Variable.all_objects.count(), Event.objects.count()


def _raw_rows() -> str:
    """Every variable and event row as the database holds it, as text."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Variable._meta.db_table}")
        variables = cursor.fetchall()
        cursor.execute(f"SELECT before, after, object_repr FROM {Event._meta.db_table}")
        events = cursor.fetchall()
    return repr(variables) + repr(events)


def _refused(call, **kwargs) -> DomainError:
    before = _counts()
    with pytest.raises(DomainError) as refusal:
        call(**kwargs)
    assert _counts() == before
    return refusal.value


# --- create --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["customer", "cluster", "release"])
def test_create_defines_a_variable_on_its_owner_and_records_it(world, scope):
    owner = {"customer": world.customers["customer-a"], "cluster": world.clusters["prod-us"], "release": world.release}[
        scope
    ]

    variable = variable_create(owner=owner, key=" DB_HOST ", value="db.internal", user=world.user)

    assert (variable.owner, variable.key, variable.value, variable.encrypted_value) == (
        owner,
        "DB_HOST",
        "db.internal",
        "",
    )
    event = Event.objects.get(action=EventAction.VARIABLE_ADDED)
    assert getattr(event, scope) == owner
    assert (event.actor, event.object_repr, event.before) == (world.user, f"{owner}: DB_HOST", None)
    assert event.after == {"key": "DB_HOST", "value": "db.internal", "is_sensitive": False}


def test_an_event_of_a_customer_variable_also_names_its_cluster(world):
    customer = world.customers["customer-d"]
    variable_create(owner=customer, key="DB_HOST", value="db", user=world.user)
    event = Event.objects.get(action=EventAction.VARIABLE_ADDED)
    assert (event.customer, event.cluster, event.release) == (customer, world.clusters["prod-eu"], None)


@pytest.mark.parametrize("key", ["", "1abc", "a b", "db:host", "#{x}", "ümlaut", "-x"])
def test_create_refuses_an_invalid_name(world, key):
    refusal = _refused(variable_create, owner=world.release, key=key, value="x", user=world.user)
    assert (refusal.message, refusal.field) == (INVALID_NAME, "key")


@pytest.mark.parametrize("key", ["a", "_x", "DB_HOST", "db.host", "db-host", "A1_.-z"])
def test_create_accepts_every_valid_name(world, key):
    assert variable_create(owner=world.release, key=key, value="x", user=world.user).key == key


def test_create_refuses_a_name_over_200_characters(world):
    refusal = _refused(variable_create, owner=world.release, key="a" * 201, value="x", user=world.user)
    assert refusal.field == "key"


def test_create_refuses_a_name_its_scope_already_has(world):
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="db-1", user=world.user)

    refusal = _refused(variable_create, owner=customer, key="DB_HOST", value="db-2", user=world.user)

    assert (refusal.message, refusal.field) == (NAME_TAKEN.format(owner="customer-a", key="DB_HOST"), "key")


def test_names_are_case_sensitive_and_per_scope(world):
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="1", user=world.user)
    variable_create(owner=customer, key="db_host", value="2", user=world.user)
    variable_create(owner=world.customers["customer-b"], key="DB_HOST", value="3", user=world.user)
    variable_create(owner=customer.cluster, key="DB_HOST", value="4", user=world.user)
    variable_create(owner=world.release, key="DB_HOST", value="5", user=world.user)
    assert Variable.objects.count() == 5


def test_a_value_may_be_empty_and_is_kept_as_written(world):
    variable = variable_create(owner=world.release, key="SUFFIX", value="", user=world.user)
    assert variable.value == ""
    spaced = variable_create(owner=world.release, key="INDENT", value="  two\nlines \n", user=world.user)
    assert spaced.value == "  two\nlines \n"


def test_a_value_of_64_kb_is_accepted_and_one_byte_more_refused(world):
    variable_create(owner=world.release, key="BIG", value="x" * MAX_VALUE_BYTES, user=world.user)

    refusal = _refused(
        variable_create, owner=world.release, key="BIGGER", value="x" * (MAX_VALUE_BYTES + 1), user=world.user
    )

    assert (refusal.message, refusal.field) == (VALUE_TOO_LONG.format(size=MAX_VALUE_BYTES + 1), "value")


def test_the_64_kb_limit_counts_bytes_not_characters(world):
    value = "é" * (MAX_VALUE_BYTES // 2 + 1)  # two bytes each
    refusal = _refused(variable_create, owner=world.release, key="WIDE", value=value, user=world.user)
    assert refusal.field == "value"


def test_an_owner_is_exactly_one_customer_cluster_or_release(world):
    assert choose_owner(cluster=world.clusters["prod-us"]) == world.clusters["prod-us"]
    for owners in ({}, {"customer": world.customers["customer-a"], "release": world.release}):
        with pytest.raises(DomainError) as refusal:
            choose_owner(**owners)
        assert refusal.value.message == ONE_OWNER
    with pytest.raises(TypeError):
        variable_create(owner=world.templates[0], key="x", value="x", user=world.user)


# --- sensitive values ----------------------------------------------------------------------------------------------


def test_a_sensitive_value_is_stored_encrypted_and_never_in_clear(world, encryption_key):
    customer = world.customers["customer-a"]

    variable = variable_create(owner=customer, key="DB_PASSWORD", value=SECRET, is_sensitive=True, user=world.user)

    row = Variable.objects.get(pk=variable.pk)
    assert row.value == ""
    assert crypto.decrypt(row.encrypted_value) == SECRET
    assert SECRET not in _raw_rows()
    event = Event.objects.get(action=EventAction.VARIABLE_ADDED)
    assert event.after == {"key": "DB_PASSWORD", "value": MASK, "is_sensitive": True}
    assert row.encrypted_value not in json.dumps([event.before, event.after])


def test_a_sensitive_value_without_a_key_is_refused_with_how_to_set_one(world, no_encryption_key):
    refusal = _refused(
        variable_create,
        owner=world.customers["customer-a"],
        key="DB_PASSWORD",
        value=SECRET,
        is_sensitive=True,
        user=world.user,
    )
    assert (refusal.message, refusal.field) == (crypto.NOT_CONFIGURED_MESSAGE, "is_sensitive")


def test_a_sensitive_value_with_an_invalid_key_is_refused_without_quoting_it(world, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, "not-a-fernet-key")
    refusal = _refused(
        variable_create, owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user
    )
    assert refusal.message == crypto.INVALID_KEY_MESSAGE.format(position=1, count=1)
    assert "not-a-fernet-key" not in refusal.message


def test_a_plain_value_needs_no_key(world, no_encryption_key):
    assert variable_create(owner=world.release, key="REGION", value="eu", user=world.user).value == "eu"


def test_changing_a_sensitive_value_records_that_it_changed_masked(world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value="old-secret", is_sensitive=True, user=world.user)

    variable = variable_update(variable=variable, value="new-secret", user=world.user)

    assert crypto.decrypt(Variable.objects.get(pk=variable.pk).encrypted_value) == "new-secret"
    event = Event.objects.get(action=EventAction.VARIABLE_CHANGED)
    assert (event.before, event.after) == ({"value": MASK}, {"value": MASK})
    assert "old-secret" not in _raw_rows() and "new-secret" not in _raw_rows()


def test_a_plain_value_made_sensitive_is_encrypted_as_it_is(world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, user=world.user)

    variable_update(variable=variable, is_sensitive=True, user=world.user)

    row = Variable.objects.get(pk=variable.pk)
    assert (row.value, row.is_sensitive, crypto.decrypt(row.encrypted_value)) == ("", True, SECRET)
    event = Event.objects.get(action=EventAction.VARIABLE_CHANGED)
    assert (event.before, event.after) == (
        {"value": SECRET, "is_sensitive": False},
        {"value": MASK, "is_sensitive": True},
    )


def test_making_a_value_sensitive_without_a_key_is_refused(world, no_encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, user=world.user)
    refusal = _refused(variable_update, variable=variable, is_sensitive=True, user=world.user)
    assert refusal.message == crypto.NOT_CONFIGURED_MESSAGE
    assert Variable.objects.get(pk=variable.pk).value == SECRET


def test_a_sensitive_value_becomes_plain_only_with_its_value_entered_again(world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)

    refusal = _refused(variable_update, variable=variable, is_sensitive=False, user=world.user)
    assert (refusal.message, refusal.field) == (PLAIN_NEEDS_VALUE, "value")

    variable = variable_update(variable=variable, is_sensitive=False, value="public", user=world.user)
    row = Variable.objects.get(pk=variable.pk)
    assert (row.value, row.encrypted_value, row.is_sensitive) == ("public", "", False)


def test_a_sensitive_value_can_be_replaced_after_its_key_was_lost(world, encryption_key, monkeypatch):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())

    variable_update(variable=variable, value="fresh", user=world.user)

    assert crypto.decrypt(Variable.objects.get(pk=variable.pk).encrypted_value) == "fresh"


def test_renaming_a_sensitive_variable_needs_no_key(world, encryption_key, monkeypatch):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)
    monkeypatch.delenv(crypto.KEY_ENVIRONMENT_VARIABLE)
    assert variable_update(variable=variable, key="API_TOKEN", user=world.user).key == "API_TOKEN"


# --- update --------------------------------------------------------------------------------------------------------


def test_update_records_only_what_changed(world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)

    variable = variable_update(variable=variable, key="AWS_REGION", value="eu", user=world.user)

    assert (variable.key, variable.value) == ("AWS_REGION", "eu")
    event = Event.objects.get(action=EventAction.VARIABLE_CHANGED)
    assert (event.release, event.object_repr) == (world.release, f"{world.release}: AWS_REGION")
    assert (event.before, event.after) == ({"key": "REGION"}, {"key": "AWS_REGION"})


def test_an_update_that_changes_nothing_records_nothing(world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    counts = _counts()
    variable_update(variable=variable, key="REGION", value="eu", is_sensitive=False, user=world.user)
    assert _counts() == counts


def test_renaming_refuses_a_name_the_scope_has_or_an_invalid_one(world):
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_HOST", value="1", user=world.user)
    other = variable_create(owner=customer, key="DB_PORT", value="5432", user=world.user)

    taken = _refused(variable_update, variable=other, key="DB_HOST", user=world.user)
    invalid = _refused(variable_update, variable=other, key="db port", user=world.user)

    assert (taken.message, taken.field) == (NAME_TAKEN.format(owner="customer-a", key="DB_HOST"), "key")
    assert (invalid.message, invalid.field) == (INVALID_NAME, "key")
    assert Variable.objects.get(pk=other.pk).key == "DB_PORT"


def test_update_refuses_a_value_over_64_kb(world):
    variable = variable_create(owner=world.release, key="BIG", value="x", user=world.user)
    refusal = _refused(variable_update, variable=variable, value="x" * (MAX_VALUE_BYTES + 1), user=world.user)
    assert refusal.field == "value"


def test_update_refuses_a_field_that_is_not_editable(world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    with pytest.raises(TypeError):
        variable_update(variable=variable, customer=world.customers["customer-a"], user=world.user)


# --- set -----------------------------------------------------------------------------------------------------------


def test_set_defines_a_variable_then_changes_it(world):
    customer = world.customers["customer-a"]

    first = variable_set(owner=customer, key="DB_HOST", value="db-1", user=world.user)
    second = variable_set(owner=customer, key="DB_HOST", value="db-2", user=world.user)

    assert first.pk == second.pk
    assert Variable.objects.get().value == "db-2"
    assert list(Event.objects.order_by("id").values_list("action", flat=True)) == [
        EventAction.VARIABLE_ADDED,
        EventAction.VARIABLE_CHANGED,
    ]


# --- delete --------------------------------------------------------------------------------------------------------


def test_delete_is_soft_keeps_the_value_in_history_and_frees_the_name(world):
    customer = world.customers["customer-a"]
    variable = variable_create(owner=customer, key="DB_HOST", value="db-1", user=world.user)

    variable_delete(variable=variable, user=world.user)

    assert not Variable.objects.exists()
    assert Variable.all_objects.get(pk=variable.pk).is_deleted
    event = Event.objects.get(action=EventAction.VARIABLE_DELETED)
    assert (event.customer, event.before, event.after) == (
        customer,
        {"key": "DB_HOST", "value": "db-1", "is_sensitive": False},
        None,
    )
    again = variable_create(owner=customer, key="DB_HOST", value="db-2", user=world.user)
    assert again.pk != variable.pk


def test_deleting_a_sensitive_variable_records_it_masked(world, encryption_key):
    variable = variable_create(owner=world.release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)
    variable_delete(variable=variable, user=world.user)
    assert Event.objects.get(action=EventAction.VARIABLE_DELETED).before["value"] == MASK
    assert SECRET not in _raw_rows()


def test_a_deleted_variable_can_be_neither_deleted_nor_changed(world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    variable_delete(variable=variable, user=world.user)
    message = VARIABLE_ALREADY_DELETED.format(key="REGION", owner=world.release)

    assert _refused(variable_delete, variable=variable, user=world.user).message == message
    assert _refused(variable_update, variable=variable, value="us", user=world.user).message == message


# --- permissions ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_release_managers_change_variables(world, request, role):
    person = request.getfixturevalue(role)
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=world.user)
    counts = _counts()

    with pytest.raises(PermissionDenied) as refusal:
        variable_create(owner=world.release, key="ZONE", value="a", user=person)
    assert str(refusal.value) == PERMISSION_REFUSED.format(user=person, what=ALLOWED_ACTIONS[ADD_VARIABLE])
    with pytest.raises(PermissionDenied):
        variable_set(owner=world.release, key="REGION", value="us", user=person)
    with pytest.raises(PermissionDenied):
        variable_update(variable=variable, value="us", user=person)
    with pytest.raises(PermissionDenied):
        variable_delete(variable=variable, user=person)

    assert _counts() == counts
    assert person.has_perm("variables.view_variable")


def test_the_system_may_change_variables(world):
    variable = variable_create(owner=world.release, key="REGION", value="eu", user=None)
    assert Event.objects.get(action=EventAction.VARIABLE_ADDED).actor_name == "system"
    variable_delete(variable=variable, user=None)
