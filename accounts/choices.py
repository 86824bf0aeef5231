"""Why a session ended."""

from django.db import models


class SessionEnd(models.TextChoices):
    SIGNED_OUT = "signed_out", "Signed out"
    IDLE = "idle", "Idle too long"
    LIFETIME = "lifetime", "Lifetime reached"
    ENDED_ELSEWHERE = "ended_elsewhere", "Logged out from another session"
    ACCOUNT_INACTIVE = "account_inactive", "Account deactivated"
