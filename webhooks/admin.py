"""Admin: subscriptions and their deliveries, read-only (changes go through the webhook pages and their services);
the signing secret is never shown."""

from django.contrib import admin

from webhooks.models import Delivery, Subscription


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ("name", "target_display", "format", "is_active", "created_at")
    list_filter = ("is_active", "format")
    fields = ("name", "target_display", "events", "format", "is_active", "created_by", "created_at")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ("event_type", "subscription", "status", "response_code", "attempts", "created_at")
    list_filter = ("status", "event_type")
    list_select_related = ("subscription",)
    readonly_fields = (
        "subscription",
        "event_id",
        "event_type",
        "payload",
        "status",
        "attempts",
        "response_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "redelivery_of",
        "created_at",
    )
