"""The three roles as groups with their permissions: Viewer, Operator, Release manager (accounts/permissions.py).

The permission lists are written out here, as they stood when this migration was written: a later change of the
roles is a new migration.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations
from django.db.models import Q

VIEWER = (
    "clusters.view_cluster",
    "customers.view_customer",
    "releases.view_release",
    "releases.view_enrollment",
    "steps.view_steptemplate",
    "steps.view_customerstep",
    "history.view_event",
)
OPERATOR = (*VIEWER, "steps.execute_customerstep")
RELEASE_MANAGER = (
    *OPERATOR,
    "clusters.add_cluster",
    "clusters.change_cluster",
    "clusters.delete_cluster",
    "customers.add_customer",
    "customers.change_customer",
    "customers.delete_customer",
    "releases.add_release",
    "releases.change_release",
    "releases.delete_release",
    "releases.add_enrollment",
    "steps.add_steptemplate",
    "steps.change_steptemplate",
    "steps.delete_steptemplate",
    "steps.add_customerstep",
    "steps.change_customerstep",
    "steps.delete_customerstep",
)
ROLES = {"Viewer": VIEWER, "Operator": OPERATOR, "Release manager": RELEASE_MANAGER}


def create_roles(apps, schema_editor):
    db = schema_editor.connection.alias
    # Django creates the models' permissions after the last migration (post_migrate); the roles need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, using=db, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, perms in ROLES.items():
        wanted = Q()
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        found = list(Permission.objects.using(db).filter(wanted))
        if len(found) != len(perms):
            missing = set(perms) - {f"{p.content_type.app_label}.{p.codename}" for p in found}
            raise RuntimeError(f"Role {role}: no such permission {', '.join(sorted(missing))}.")
        group, _ = Group.objects.using(db).get_or_create(name=role)
        group.permissions.set(found)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("clusters", "0001_initial"),
        ("customers", "0001_initial"),
        ("releases", "0001_initial"),
        ("steps", "0003_customerstep_execute_permission"),
        ("history", "0001_initial"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
