"""The admin for API tokens: to see who has which token and revoke it; a token is made by its user (the API tokens
page) or by `manage.py api_token create`, since only then can its secret be shown."""

from django.contrib import admin, messages

from api.models import ApiToken
from api.services import api_token_revoke
from core.errors import DomainError


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Every token, newest first, read only; the action revokes the selected ones (a superuser's: the service
    lets a superuser revoke anyone's token)."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "user__username", "prefix")
    readonly_fields = ("user", "name", "prefix", "created_at", "expires_at", "last_used_at", "revoked_at")
    exclude = ("key_hash",)
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request, queryset):
        revoked = []
        for token in queryset.filter(revoked_at__isnull=True):
            try:
                revoked.append(api_token_revoke(token=token, user=request.user).name)
            except DomainError as error:  # someone else's token, for a staff member who is not a superuser
                messages.error(request, f"{token.name}: {error.message}")
        messages.success(request, f"Revoked: {', '.join(revoked) or 'nothing'}.")
