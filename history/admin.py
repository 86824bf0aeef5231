"""The admin for the history: read only. Events are written by the services that made the change, never by hand."""

from django.contrib import admin

from history.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """Every recorded change, newest first, to look at; nobody adds, changes or deletes an event."""

    list_display = ("occurred_at", "actor_name", "via", "action", "object_repr")
    list_filter = ("action",)
    date_hierarchy = "occurred_at"
    search_fields = ("object_repr", "actor_name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
