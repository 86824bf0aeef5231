"""`manage.py adduser NAME --role …`: creates a user in a role's group, moves an existing user to another role with
--update, asks for the password twice in a terminal and refuses without one otherwise, applies the password
validators, and refuses unknown roles, taken and invalid names — changing nothing when it refuses."""

import io

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts.management.commands import adduser
from accounts.management.commands.adduser import (
    CREATED,
    PASSWORD_REQUIRED,
    PASSWORDS_DIFFER,
    UNKNOWN_ROLE,
    UPDATED,
    USER_EXISTS,
)
from accounts.permissions import OPERATOR, RELEASE_MANAGER, ROLE_OPTIONS, VIEWER

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"


def run(*args) -> str:
    out = io.StringIO()
    call_command("adduser", *args, stdout=out)
    return out.getvalue()


def _roles(user) -> list[str]:
    return sorted(user.groups.values_list("name", flat=True))


@pytest.fixture
def terminal(monkeypatch):
    """Standard input is a terminal; `answers` are what the person types at each password prompt."""
    answers: list[str] = []
    monkeypatch.setattr(adduser.sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(adduser.getpass, "getpass", lambda prompt: answers.pop(0))
    return answers


@pytest.fixture
def no_terminal(monkeypatch):
    """Standard input is a pipe or a file: nobody can answer a prompt."""
    monkeypatch.setattr(adduser.sys, "stdin", io.StringIO())


@pytest.mark.parametrize(("option", "role"), list(ROLE_OPTIONS.items()))
def test_adduser_creates_a_user_with_the_role(django_user_model, option, role):
    output = run("ana", "--role", option, "--password", PASSWORD, "--email", "Ana@Example.COM")

    user = authenticate(username="ana", password=PASSWORD)
    assert user is not None
    assert _roles(user) == [role]
    assert user.email == "Ana@example.com"
    assert not user.is_staff and not user.is_superuser
    assert output.strip() == CREATED.format(username="ana", role=role)


def test_the_new_user_may_do_what_the_role_allows(django_user_model):
    run("ana", "--role", "operator", "--password", PASSWORD)

    user = django_user_model.objects.get(username="ana")
    assert user.has_perm("steps.execute_customerstep")
    assert not user.has_perm("steps.change_customerstep")


def test_adduser_refuses_an_unknown_role_with_the_list_of_roles(django_user_model):
    with pytest.raises(CommandError) as refused:
        run("ana", "--role", "admin", "--password", PASSWORD)

    assert str(refused.value) == UNKNOWN_ROLE.format(role="admin", roles="viewer, operator, release-manager")
    assert not django_user_model.objects.exists()


def test_adduser_refuses_an_existing_user_without_update(django_user_model):
    run("ana", "--role", "viewer", "--password", PASSWORD)

    with pytest.raises(CommandError) as refused:
        run("ana", "--role", "release-manager", "--password", "another-fine-password")

    assert str(refused.value) == USER_EXISTS.format(username="ana")
    user = django_user_model.objects.get(username="ana")
    assert _roles(user) == [VIEWER]
    assert user.check_password(PASSWORD)


def test_update_moves_a_user_to_another_role_and_keeps_other_groups_and_the_password(django_user_model):
    run("ana", "--role", "operator", "--password", PASSWORD)
    user = django_user_model.objects.get(username="ana")
    user.groups.add(Group.objects.create(name="On call"))

    output = run("ana", "--role", "release-manager", "--update")

    assert _roles(user) == ["On call", RELEASE_MANAGER]
    assert authenticate(username="ana", password=PASSWORD) == user
    assert output.strip() == UPDATED.format(username="ana", role=RELEASE_MANAGER)


def test_update_sets_a_new_password_and_email_when_given(django_user_model):
    run("ana", "--role", "viewer", "--password", PASSWORD)

    run("ana", "--role", "viewer", "--update", "--password", "a-brand-new-secret", "--email", "ana@example.com")

    user = authenticate(username="ana", password="a-brand-new-secret")
    assert user is not None and user.email == "ana@example.com"
    assert _roles(user) == [VIEWER]


def test_update_creates_a_user_that_does_not_exist_yet(django_user_model):
    output = run("ana", "--role", "operator", "--update", "--password", PASSWORD)

    assert _roles(django_user_model.objects.get(username="ana")) == [OPERATOR]
    assert output.strip() == CREATED.format(username="ana", role=OPERATOR)


def test_without_password_and_without_a_terminal_adduser_refuses(django_user_model, no_terminal):
    with pytest.raises(CommandError) as refused:
        run("ana", "--role", "operator")

    assert str(refused.value) == PASSWORD_REQUIRED.format(username="ana")
    assert "give --password or run interactively" in str(refused.value)
    assert not django_user_model.objects.exists()


def test_in_a_terminal_adduser_asks_for_the_password_twice(django_user_model, terminal):
    terminal.extend([PASSWORD, PASSWORD])

    run("ana", "--role", "operator")

    assert authenticate(username="ana", password=PASSWORD) is not None
    assert terminal == []


def test_two_different_passwords_change_nothing(django_user_model, terminal):
    terminal.extend([PASSWORD, PASSWORD + "x"])

    with pytest.raises(CommandError, match=PASSWORDS_DIFFER):
        run("ana", "--role", "operator")

    assert not django_user_model.objects.exists()


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "This password is too short."),
        ("password123", "This password is too common."),
        ("4815162342", "This password is entirely numeric."),
        ("ana-the-operator", "The password is too similar to the username."),
    ],
)
def test_the_password_validators_apply(django_user_model, password, reason):
    with pytest.raises(CommandError) as refused:
        run("ana-the-operator", "--role", "operator", "--password", password)

    assert str(refused.value).startswith("Password refused: ")
    assert reason in str(refused.value)
    assert not django_user_model.objects.exists()


def test_an_invalid_username_is_refused(django_user_model):
    with pytest.raises(CommandError) as refused:
        run("ana smith!", "--role", "operator", "--password", PASSWORD)

    assert str(refused.value).startswith("Username refused: ")
    assert not django_user_model.objects.exists()


def test_a_user_has_one_role_after_update(django_user_model):
    run("ana", "--role", "viewer", "--password", PASSWORD)
    run("ana", "--role", "operator", "--update")
    run("ana", "--role", "viewer", "--update")

    assert _roles(django_user_model.objects.get(username="ana")) == [VIEWER]
