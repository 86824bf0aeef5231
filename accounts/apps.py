from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        # Cache invalidation, not a rule: a changed role or permission must reach the user's next request
        # (accounts.backends keeps permission sets in the cache). Group deletions take their memberships along
        # without an m2m signal, hence post_delete too.
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group, Permission
        from django.contrib.auth.signals import user_logged_in, user_logged_out
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.backends import permissions_changed
        from accounts.sessions import signed_in, signed_out

        user = get_user_model()
        for through in (user.groups.through, user.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"permissions-{through.__name__}")
        for model in (Group, Permission):
            post_save.connect(permissions_changed, sender=model, dispatch_uid=f"permissions-save-{model.__name__}")
            post_delete.connect(permissions_changed, sender=model, dispatch_uid=f"permissions-delete-{model.__name__}")
        # Bookkeeping, not a rule: a sign-in stamps its session and records it, a sign-out ends the record
        # (accounts.sessions; the account page lists the records).
        user_logged_in.connect(signed_in, dispatch_uid="accounts-session-signed-in")
        user_logged_out.connect(signed_out, dispatch_uid="accounts-session-signed-out")
