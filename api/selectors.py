"""Reading API tokens."""

from django.db.models import QuerySet

from api.models import ApiToken


def tokens_of(user) -> QuerySet[ApiToken]:
    """A user's tokens, newest first, revoked and expired ones included (the page says which)."""
    return ApiToken.objects.filter(user=user).order_by("-created_at", "-id")
