"""Reads of the accounts layer: a user's roles and the sessions they are signed in with."""

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone

from accounts.models import UserSession


def active_sessions_of(user):
    """The user's sessions that still let them in: not ended, still in the session store, and within the idle
    timeout and the lifetime (accounts.sessions ends the others at their next request). Most recently seen first."""
    now = timezone.now()
    return UserSession.objects.filter(
        user=user,
        ended_at__isnull=True,
        session_key__in=Session.objects.filter(expire_date__gt=now).values("session_key"),
        last_seen_at__gt=now - settings.ROLLCALL_SESSION_IDLE,
        started_at__gt=now - settings.ROLLCALL_SESSION_LIFETIME,
    )
