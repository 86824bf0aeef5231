"""The data migration that gives the roles the variables' permissions grants what accounts/permissions.py says."""

from importlib import import_module
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from accounts.permissions import ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db

role_permissions = import_module("variables.migrations.0002_role_permissions")


def _variable_permissions(group: Group) -> set[str]:
    return {
        f"variables.{codename}"
        for codename in group.permissions.filter(content_type__app_label="variables").values_list("codename", flat=True)
    }


def test_each_role_gets_the_variable_permissions_its_role_lists():
    apps = MigrationLoader(connection).project_state(("variables", "0002_role_permissions")).apps
    editor = SimpleNamespace(connection=connection)
    role_permissions.revoke(apps, editor)
    assert all(not _variable_permissions(group) for group in Group.objects.filter(name__in=ROLE_PERMISSIONS))

    role_permissions.grant(apps, editor)

    for role, permissions in ROLE_PERMISSIONS.items():
        wanted = {permission for permission in permissions if permission.startswith("variables.")}
        assert _variable_permissions(Group.objects.get(name=role)) == wanted
