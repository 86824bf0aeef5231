"""The admin for variables, deleted ones included; every change goes through variables.services. A sensitive value
is never shown here: the list masks it and the form's value box starts empty (type a new value to replace it)."""

from django.contrib import admin

from core.admin import DeletedFilter, SoftDeleteAdmin
from variables.models import SCOPES, Variable
from variables.services import choose_owner, variable_create, variable_delete, variable_update


@admin.register(Variable)
class VariableAdmin(SoftDeleteAdmin):
    """Variables of customers, clusters and releases: define, edit and delete them as the application does."""

    list_display = ("key", "owner_display", "shown_value", "is_sensitive", "deleted", "updated_at")
    list_filter = (DeletedFilter, "is_sensitive")
    list_select_related = SCOPES
    search_fields = ("key", "customer__name", "cluster__name", "release__name")
    fields = (*SCOPES, "key", "value", "is_sensitive", "created_at", "updated_at", "deleted_at")
    readonly_fields = ("created_at", "updated_at", "deleted_at")

    def get_readonly_fields(self, request, obj=None):
        """A variable stays with the customer, cluster or release it was defined on."""
        return (*SCOPES, *self.readonly_fields) if obj is not None else self.readonly_fields

    @admin.display(description="belongs to")
    def owner_display(self, variable) -> str:
        return f"{variable.owner._meta.verbose_name.capitalize()} {variable.owner}"

    @admin.display(description="value")
    def shown_value(self, variable) -> str:
        return variable.display_value

    def create_object(self, request, data):
        owner = choose_owner(**{scope: data.get(scope) for scope in SCOPES})
        return variable_create(
            owner=owner,
            key=data["key"],
            value=data["value"],
            is_sensitive=data["is_sensitive"],
            user=request.user,
        )

    def update_object(self, request, variable, changes):
        return variable_update(variable=variable, user=request.user, **changes)

    def delete_object(self, request, variable):
        variable_delete(variable=variable, user=request.user)
