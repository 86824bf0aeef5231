"""Authentication backend: Django's ModelBackend, reading a user's permissions in one query instead of two."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.db.models import Q


class RoleBackend(ModelBackend):
    """ModelBackend whose `get_all_permissions` reads the user's own permissions and their groups' (the roles,
    accounts.permissions) in one query, kept on the user (`_perm_cache`) as ModelBackend keeps it: every `perms.`
    check in a template and every `require()` in a service of the same request reads that set.

    A superuser's and an inactive user's answers are ModelBackend's (`User.has_perm` answers a superuser without
    asking a backend at all).
    """

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None or user_obj.is_superuser:
            return super().get_all_permissions(user_obj, obj)
        if not hasattr(user_obj, "_perm_cache"):
            rows = (
                Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                .values_list("content_type__app_label", "codename")
                .order_by()
                .distinct()
            )
            user_obj._perm_cache = {f"{app_label}.{codename}" for app_label, codename in rows}
        return user_obj._perm_cache
