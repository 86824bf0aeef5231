"""The admin for releases: create and edit drafts, activate, archive and clone, through releases.services."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from core.admin import ServiceAdmin
from releases.models import Release
from releases.services import release_activate, release_archive, release_clone, release_create, release_update


@admin.register(Release)
class ReleaseAdmin(ServiceAdmin):
    """Releases. The status moves only through the actions (FR-002); a release is never deleted."""

    list_display = ("name", "type", "version_number", "status", "release_date", "activated_at", "archived_at")
    list_filter = ("status", "type")
    search_fields = ("name", "version_number", "description")
    fieldsets = (
        (None, {"fields": ("name", "type", "version_number", "release_date", "description", "metadata")}),
        (
            "Lifecycle",
            {
                "fields": (
                    "status",
                    "covers_all_customers",
                    "cloned_from",
                    "activated_at",
                    "archived_at",
                    "created_at",
                    "updated_at",
                )
            },
        ),
        ("Template steps", {"fields": ("template_steps",)}),
    )
    readonly_fields = (
        "status",
        "covers_all_customers",
        "cloned_from",
        "activated_at",
        "archived_at",
        "created_at",
        "updated_at",
        "template_steps",
    )
    actions = ["activate", "archive", "clone"]

    def get_fieldsets(self, request, obj=None):
        # A release being added has no lifecycle and no steps yet.
        return self.fieldsets if obj is not None else self.fieldsets[:1]

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="template steps")
    def template_steps(self, release):
        steps = release.template_steps.order_by("category", "order_index")
        items = format_html_join(
            "",
            '<li><a href="{}">{}: {}</a></li>',
            ((step.get_absolute_url(), step.get_category_display(), step.name) for step in steps),
        )
        return format_html("<ol>{}</ol>", items) if items else self.get_empty_value_display()

    def create_object(self, request, data):
        return release_create(user=request.user, **data)

    def update_object(self, request, release, changes):
        return release_update(release=release, user=request.user, **changes)

    @admin.action(description="Activate selected releases for all customers", permissions=["change"])
    def activate(self, request, queryset):
        self.apply_to_all(
            request, queryset, lambda release: release_activate(release=release, user=request.user), done="Activated"
        )

    @admin.action(description="Archive selected releases", permissions=["change"])
    def archive(self, request, queryset):
        self.apply_to_all(
            request, queryset, lambda release: release_archive(release=release, user=request.user), done="Archived"
        )

    @admin.action(description="Clone selected releases as new drafts", permissions=["add"])
    def clone(self, request, queryset):
        self.apply_to_all(
            request, queryset, lambda release: release_clone(release=release, user=request.user), done="Cloned as"
        )
