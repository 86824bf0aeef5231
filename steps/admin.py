"""The admin for template steps and customer steps, deleted ones included; every change goes through
steps.services, so the rules of the template layer and of execution hold for hand fixes too."""

from django.contrib import admin

from core.admin import DeletedFilter, SoftDeleteAdmin
from steps.models import STEP_ORDER, CustomerStep, StepTemplate
from steps.services import (
    customer_step_edit_custom,
    customer_step_override,
    customer_step_update_notes,
    template_step_add,
    template_step_delete,
    template_step_update,
)


@admin.register(StepTemplate)
class StepTemplateAdmin(SoftDeleteAdmin):
    """Template steps: add (FS-001), edit (FS-002: reaches pending, not overridden customer steps), delete (FS-004)."""

    list_display = ("name", "release", "category", "order_index", "type", "deleted")
    list_filter = (DeletedFilter, "category", "type", "release")
    list_select_related = ("release",)
    search_fields = ("name", "content", "release__name")
    fields = (
        "release",
        "name",
        "category",
        "type",
        "content",
        "description",
        "order_index",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    readonly_fields = ("order_index", "created_at", "updated_at", "deleted_at")

    def get_readonly_fields(self, request, obj=None):
        # A template step stays in the release it was added to.
        return (*self.readonly_fields, "release") if obj is not None else self.readonly_fields

    def create_object(self, request, data):
        return template_step_add(user=request.user, **data)

    def update_object(self, request, template_step, changes):
        return template_step_update(template_step=template_step, user=request.user, **changes)

    def delete_object(self, request, template_step):
        template_step_delete(template_step=template_step, user=request.user)


@admin.register(CustomerStep)
class CustomerStepAdmin(SoftDeleteAdmin):
    """Customer steps, to look at and to fix by hand: only the content and the notes change here, through the
    services (an override, or a custom step's edit; a done step's content stays locked, BR-R03). Steps are created
    by activation and custom-step additions, and removed only by the rules that remove them."""

    list_display = ("name", "customer", "release", "category", "status", "is_custom", "is_overridden", "deleted")
    list_filter = (DeletedFilter, "release", "status", "category", "is_custom", "is_overridden")
    list_select_related = ("customer", "release")
    search_fields = ("name", "customer__name", "content", "notes")
    ordering = ("release", "customer__name", "category", *STEP_ORDER)
    fieldsets = (
        (None, {"fields": ("release", "customer", "category", "name", "type", "description", "content", "notes")}),
        ("Execution", {"fields": ("status", "executed_at", "executed_by", "skip_reason")}),
        ("Origin and place", {"fields": ("template", "is_custom", "is_overridden", "anchor", "anchor_offset")}),
        ("Record", {"fields": ("created_at", "updated_at", "deleted_at")}),
    )
    readonly_fields = (
        "release",
        "customer",
        "category",
        "name",
        "type",
        "description",
        "status",
        "executed_at",
        "executed_by",
        "skip_reason",
        "template",
        "is_custom",
        "is_overridden",
        "anchor",
        "anchor_offset",
        "created_at",
        "updated_at",
        "deleted_at",
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def update_object(self, request, step, changes):
        if "content" in changes:
            if step.is_custom:
                step = customer_step_edit_custom(step=step, user=request.user, content=changes["content"])
            else:
                step = customer_step_override(step=step, user=request.user, content=changes["content"])
        if "notes" in changes:
            step = customer_step_update_notes(step=step, user=request.user, notes=changes["notes"])
        return step
