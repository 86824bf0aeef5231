"""The admin's users and lockouts, as the audit trail needs them: a change of a user's groups or of whether they are
active is recorded with who made it (history.auth_events), and a lockout is lifted by the "Unlock" action."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from accounts.lockout import unlock
from accounts.signals import announce_groups_change, group_names

UNLOCKED = "{count} lockout record(s) removed: those usernames may sign in again from those addresses."


class AuditedUserAdmin(UserAdmin):
    def save_model(self, request, obj, form, change):
        # Who deactivates or activates the user, from where (history.auth_events reads them at the save).
        obj._changed_by = request.user
        obj._changed_request = request
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        # The groups are saved here, after the user: compare them before and after (one event, "from → to").
        before = group_names(form.instance) if change else []
        super().save_related(request, form, formsets, change)
        announce_groups_change(form.instance, before, by=request.user, source="admin", request=request)


class UnlockingAccessAttemptAdmin(AccessAttemptAdmin):
    actions = ["unlock_selected"]

    @admin.action(description="Unlock the selected usernames and addresses", permissions=["delete"])
    def unlock_selected(self, request, queryset):
        count = unlock(queryset, by=request.user)
        self.message_user(request, UNLOCKED.format(count=count), messages.SUCCESS)


user_model = get_user_model()
if admin.site.is_registered(user_model):
    admin.site.unregister(user_model)
admin.site.register(user_model, AuditedUserAdmin)
if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, UnlockingAccessAttemptAdmin)
