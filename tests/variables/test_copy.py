"""A release's variables (its defaults) travel with Clone (issue 8): variables_copy copies them, sensitive ones as
their encrypted token without decrypting anything, and the clone's history event names them."""

import pytest
from django.core.exceptions import PermissionDenied

from core import crypto
from core.errors import DomainError
from history.choices import EventAction
from history.models import Event
from releases.services import release_clone
from variables.models import Variable
from variables.selectors import variables_of
from variables.services import NAME_TAKEN, variable_create, variable_delete, variables_copy

pytestmark = pytest.mark.django_db

SECRET = "s3cr3t-hunter2-horse"


def _rows(owner) -> list[tuple]:
    return [
        (variable.key, variable.value, variable.encrypted_value, variable.is_sensitive)
        for variable in variables_of(owner)
    ]


@pytest.fixture
def defaults(world, encryption_key):
    """The release's defaults: a plain one, an empty one, a sensitive one and a deleted one."""
    release = world.release
    variable_create(owner=release, key="REGION", value="eu-west-1", user=world.user)
    variable_create(owner=release, key="SUFFIX", value="", user=world.user)
    variable_create(owner=release, key="TOKEN", value=SECRET, is_sensitive=True, user=world.user)
    variable_delete(variable=variable_create(owner=release, key="GONE", value="x", user=world.user), user=world.user)
    return release


def test_clone_copies_the_release_defaults_sensitive_ones_still_encrypted(world, defaults, monkeypatch):
    monkeypatch.delenv(crypto.KEY_ENVIRONMENT_VARIABLE)  # copying decrypts nothing: it needs no key

    clone = release_clone(release=defaults, user=world.user, name="v2.6.0", version_number="v2.6.0")

    assert _rows(clone) == _rows(defaults)
    assert [key for key, *_ in _rows(clone)] == ["REGION", "SUFFIX", "TOKEN"]
    assert Variable.objects.filter(release=defaults).count() == 3
    assert not Variable.all_objects.filter(release=clone, key="GONE").exists()


def test_a_copied_sensitive_value_decrypts_to_the_same_value(world, defaults, encryption_key):
    clone = release_clone(release=defaults, user=world.user, name="v2.6.0", version_number="v2.6.0")
    token = Variable.objects.get(release=clone, key="TOKEN").encrypted_value
    assert crypto.decrypt(token) == SECRET


def test_the_clone_event_names_the_copied_variables_and_no_value(world, defaults):
    clone = release_clone(release=defaults, user=world.user, name="v2.6.0", version_number="v2.6.0")

    event = Event.objects.get(action=EventAction.RELEASE_CLONED)
    assert (event.release, event.after) == (clone, {"template_steps": 3, "variables": ["REGION", "SUFFIX", "TOKEN"]})
    token = Variable.objects.get(release=clone, key="TOKEN").encrypted_value
    assert SECRET not in repr(event.after) and token not in repr(event.after)
    assert not Event.objects.filter(release=clone, action=EventAction.VARIABLE_ADDED).exists()


def test_a_release_without_variables_clones_with_none(world):
    clone = release_clone(release=world.release, user=world.user, name="v2.6.0", version_number="v2.6.0")
    assert not Variable.objects.filter(release=clone).exists()
    assert Event.objects.get(action=EventAction.RELEASE_CLONED).after["variables"] == []


def test_copying_changes_neither_source_nor_its_history(world, defaults):
    source_rows = _rows(defaults)
    events = Event.objects.count()
    release_clone(release=defaults, user=world.user, name="v2.6.0", version_number="v2.6.0")
    assert _rows(defaults) == source_rows
    assert Event.objects.count() == events + 1


def test_copy_refuses_a_name_the_target_already_has(world, defaults):
    target = world.clusters["prod-us"]
    variable_create(owner=target, key="TOKEN", value="mine", user=world.user)
    before = _rows(target)

    with pytest.raises(DomainError) as refusal:
        variables_copy(source=defaults, target=target, user=world.user)

    assert refusal.value.message == NAME_TAKEN.format(owner=target, key="TOKEN")
    assert _rows(target) == before


def test_copy_copies_between_any_owners_in_a_constant_number_of_queries(world, defaults, django_assert_max_num_queries):
    target = world.customers["customer-a"]
    # The source's variables, the names taken, one INSERT, and the savepoint around them (2).
    with django_assert_max_num_queries(5):
        copies = variables_copy(source=defaults, target=target, user=world.user)
    assert [copy.key for copy in copies] == ["REGION", "SUFFIX", "TOKEN"]
    assert _rows(target) == _rows(defaults)


@pytest.mark.parametrize("role", ["viewer", "operator"])
def test_only_release_managers_copy_variables(world, defaults, request, role):
    with pytest.raises(PermissionDenied):
        variables_copy(source=defaults, target=world.customers["customer-a"], user=request.getfixturevalue(role))
    assert not Variable.objects.filter(customer=world.customers["customer-a"]).exists()
