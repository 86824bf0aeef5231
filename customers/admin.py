"""The admin for customers, archived ones included; every change goes through customers.services."""

from django.contrib import admin

from core.admin import DeletedFilter, SoftDeleteAdmin
from customers.models import Customer
from customers.services import customer_create, customer_delete, customer_restore, customer_update


@admin.register(Customer)
class CustomerAdmin(SoftDeleteAdmin):
    """Customers: create, edit or move (FM-001, FM-002), archive (FM-003) and restore, as the application does."""

    list_display = ("name", "cluster", "namespace", "is_active", "deleted", "updated_at")
    list_filter = (DeletedFilter, "is_active", "cluster")
    list_select_related = ("cluster",)
    search_fields = ("name", "namespace", "cluster__name", "description")
    fields = (
        "cluster",
        "name",
        "namespace",
        "description",
        "is_active",
        "metadata",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    readonly_fields = ("created_at", "updated_at", "deleted_at")
    actions = ["restore_selected"]

    def create_object(self, request, data):
        return customer_create(user=request.user, **data)

    def update_object(self, request, customer, changes):
        return customer_update(customer=customer, user=request.user, **changes)

    def delete_object(self, request, customer):
        customer_delete(customer=customer, user=request.user)

    @admin.action(description="Restore selected customers", permissions=["change"])
    def restore_selected(self, request, queryset):
        self.apply_to_all(
            request, queryset, lambda customer: customer_restore(customer=customer, user=request.user), done="Restored"
        )
