"""The sessions a user signed in with: the session store keeps them by key only, the account page needs them by user."""

from django.conf import settings
from django.db import models

from accounts.choices import SessionEnd


class UserSession(models.Model):
    """One sign-in's session: its key in the session store, when it started and was last seen (to the minute: the
    middleware writes it at most once a minute, accounts.sessions), from where, and when and why it ended."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="rollcall_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    ip = models.CharField("IP address", max_length=45, blank=True)
    user_agent = models.CharField(max_length=255, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.CharField(max_length=20, choices=SessionEnd.choices, blank=True)

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        indexes = [models.Index(fields=["user", "ended_at"], name="usersession_user_ended_idx")]

    def __str__(self) -> str:
        return f"{self.user} since {self.started_at:%Y-%m-%d %H:%M}"
