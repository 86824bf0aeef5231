"""Nothing deletes a release (it is archived, and its record kept): the Release manager role no longer holds a
permission that no service asks for."""

from django.db import migrations


def drop_delete_release(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permission = Permission.objects.using(db).filter(content_type__app_label="releases", codename="delete_release")
    for group in Group.objects.using(db).filter(name="Release manager"):
        group.permissions.remove(*permission)


def restore_delete_release(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    db = schema_editor.connection.alias
    permission = Permission.objects.using(db).filter(content_type__app_label="releases", codename="delete_release")
    for group in Group.objects.using(db).filter(name="Release manager"):
        group.permissions.add(*permission)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_roles")]

    operations = [migrations.RunPython(drop_delete_release, restore_delete_release)]
