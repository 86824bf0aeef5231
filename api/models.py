"""API tokens: how a pipeline (Jenkins, GitLab CI, Argo CD) acts in Rollcall as one of its users."""

from django.conf import settings
from django.db import models


class ApiToken(models.Model):
    """A secret a user made for a machine, sent as `Authorization: Bearer <token>`; it acts with its user's role.

    Only the SHA-256 of the token is kept (the token itself is shown once, when it is made), and the first
    characters for telling tokens apart. A token stops working when it expires or is revoked; the application never
    deletes one (the history names a token by its name, in Event.via, so it reads the same either way).
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "API token"
        indexes = [models.Index(fields=["user", "created_at"], name="apitoken_user_created_idx")]
        constraints = [
            # The history names a change by its token's name: two tokens of one user in use must not share it.
            models.UniqueConstraint(
                fields=["user", "name"],
                condition=models.Q(revoked_at__isnull=True),
                name="apitoken_name_unique_in_use",
                violation_error_message="You already have a token in use with this name.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def via(self) -> str:
        """How the history names a change made with this token."""
        return f"API token '{self.name}'"
