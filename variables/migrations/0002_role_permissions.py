"""The roles gain the variables' permissions (accounts/permissions.py): every role may view variables, the Release
manager may also add, change and delete them.

This lives with the variables rather than in accounts so that it follows the model it grants on and depends on
nothing but accounts' first migration, which created the roles. The permission lists are written out as they
stood when this migration was written.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Viewer": ("view_variable",),
    "Operator": ("view_variable",),
    "Release manager": ("view_variable", "add_variable", "change_variable", "delete_variable"),
}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    # Django creates a model's permissions after the last migration (post_migrate); the roles need them now.
    app_config = apps.get_app_config("variables")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, using=db, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        permissions = Permission.objects.using(db).filter(content_type__app_label="variables", codename__in=codenames)
        for group in Group.objects.using(db).filter(name=role):
            group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(db).filter(content_type__app_label="variables")
    for group in Group.objects.using(db).filter(name__in=GRANTS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_roles"),
        ("variables", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
