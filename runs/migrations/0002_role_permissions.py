"""The Release manager may run steps on the clusters ("Run steps", accounts/permissions.py); the Operator may not
unless an administrator gives it. As in variables' 0002, the grant is written out as it stood."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {"Release manager": ("run_steps",)}


def grant(apps, schema_editor):
    db = schema_editor.connection.alias
    # Django creates a model's permissions after the last migration (post_migrate); the role needs it now.
    app_config = apps.get_app_config("runs")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, using=db, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in GRANTS.items():
        permissions = Permission.objects.using(db).filter(content_type__app_label="runs", codename__in=codenames)
        for group in Group.objects.using(db).filter(name=role):
            group.permissions.add(*permissions)


def revoke(apps, schema_editor):
    db = schema_editor.connection.alias
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.using(db).filter(content_type__app_label="runs", codename="run_steps")
    for group in Group.objects.using(db).filter(name__in=GRANTS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_roles"),
        ("runs", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
