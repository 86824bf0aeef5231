"""Authentication backend: Django's ModelBackend, reading a user's permissions in one query instead of two, and
keeping them in the shared cache until a role changes."""

import uuid

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.db import connections
from django.db.models import Q

# Every cached permission set is keyed by the current stamp: a change of anyone's groups, of a group's permissions or
# of a user's own permissions (accounts.apps connects the signals) draws a new stamp, so the next request of every
# user reads their permissions again. Keys also name the database: processes sharing one cache directory may serve
# different databases (the test suite's workers do).
PERMISSIONS_SECONDS = 5 * 60  # the longest a host that does not share the cache directory may lag


def _database() -> str:
    return str(connections["default"].settings_dict["NAME"])


def _stamp_key() -> str:
    return f"accounts:permissions-stamp:{_database()}"


def permissions_changed(**kwargs) -> None:
    """Forget every cached permission set (a signal receiver: roles and permissions changed)."""
    cache.set(_stamp_key(), uuid.uuid4().hex, timeout=None)


def _permissions_key(user_obj) -> str:
    stamp = cache.get(_stamp_key())
    if stamp is None:
        cache.add(_stamp_key(), uuid.uuid4().hex, timeout=None)
        stamp = cache.get(_stamp_key())
    return f"accounts:permissions:{_database()}:{stamp}:{user_obj.pk}"


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
            key = _permissions_key(user_obj)
            permissions = cache.get(key)
            if permissions is None:
                rows = (
                    Permission.objects.filter(Q(user=user_obj) | Q(group__user=user_obj))
                    .values_list("content_type__app_label", "codename")
                    .order_by()
                    .distinct()
                )
                permissions = {f"{app_label}.{codename}" for app_label, codename in rows}
                cache.set(key, permissions, timeout=PERMISSIONS_SECONDS)
            user_obj._perm_cache = permissions
        return user_obj._perm_cache
