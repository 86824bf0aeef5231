"""The sessions a user is signed in with: recorded at sign-in, seen (to the minute), ended at sign-out or by the
timeouts (accounts.sessions), and "Log out other sessions" from the account page."""

from datetime import datetime
from importlib import import_module

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.db import transaction
from django.utils import timezone

from accounts.choices import SessionEnd
from accounts.models import UserSession
from accounts.signals import other_sessions_ended


def user_session_start(
    *,
    user,
    session_key: str,
    started_at: datetime,
    last_seen_at: datetime | None = None,
    ip: str = "",
    user_agent: str = "",
) -> UserSession:
    """Record the session a sign-in opened (the same key again: it is that session, started anew)."""
    session, _ = UserSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "started_at": started_at,
            "last_seen_at": last_seen_at or started_at,
            "ip": ip,
            "user_agent": user_agent,
            "ended_at": None,
            "end_reason": "",
        },
    )
    return session


def user_session_seen(
    *, user, session_key: str, seen_at: datetime, started_at: datetime, ip: str = "", user_agent: str = ""
) -> None:
    """The session was used at `seen_at`: one UPDATE; a session without a record (its key changed when the password
    did, or it is older than the records) gets one."""
    if not UserSession.objects.filter(session_key=session_key, user=user).update(last_seen_at=seen_at):
        user_session_start(
            user=user,
            session_key=session_key,
            started_at=started_at,
            last_seen_at=seen_at,
            ip=ip,
            user_agent=user_agent,
        )


def user_session_end(*, session_key: str, reason: str) -> None:
    """Mark the session ended, and why (its data is gone from the store: django.contrib.auth.logout flushed it)."""
    UserSession.objects.filter(session_key=session_key, ended_at__isnull=True).update(
        ended_at=timezone.now(), end_reason=reason
    )


@transaction.atomic
def user_sessions_end_others(*, user, current_session_key: str | None, request=None) -> int:
    """Log out every session of `user` but the current one: delete them from the session store (database and cache),
    mark their records ended, and announce it for the audit trail. Returns how many sessions were ended.

    Sessions without a record (older than the records) are found in the session table by their user."""
    now = timezone.now()
    recorded = UserSession.objects.select_for_update().filter(user=user, ended_at__isnull=True)
    if current_session_key:
        recorded = recorded.exclude(session_key=current_session_key)
    keys = list(recorded.values_list("session_key", flat=True))
    unrecorded = (
        Session.objects.filter(expire_date__gt=now)
        .exclude(session_key__in=UserSession.objects.values("session_key"))
        .exclude(session_key=current_session_key or "")
    )
    keys += [row.session_key for row in unrecorded if row.get_decoded().get(SESSION_KEY) == str(user.pk)]
    live = set(Session.objects.filter(session_key__in=keys, expire_date__gt=now).values_list("session_key", flat=True))
    store = import_module(settings.SESSION_ENGINE).SessionStore
    for key in keys:
        store(session_key=key).delete()
    recorded.update(ended_at=now, end_reason=SessionEnd.ENDED_ELSEWHERE)
    other_sessions_ended.send(sender=user.__class__, user=user, count=len(live), request=request)
    return len(live)
