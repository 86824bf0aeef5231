"""Brute-force lockout (django-axes): ROLLCALL_LOCKOUT_FAILURES wrong passwords for one username from one IP lock that
pair for ROLLCALL_LOCKOUT_MINUTES. This module holds what Rollcall decides on top of axes: which IP a request comes
from, what counts as a guess, the lockout page, and the unlock that the admin action and `manage.py unlock` share.

Only a password counts. A refused single sign-on (accounts.oidc announces it with user_login_failed, without a
password) does not: the identity provider guards its own passwords, and a user whose groups are not mapped yet must
not lose their break-glass password by retrying SSO. API tokens never reach authenticate(): the API's own throttle
guards them.
"""

from contextlib import contextmanager
from contextvars import ContextVar

from axes.backends import AxesStandaloneBackend
from axes.models import AccessAttempt
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.shortcuts import render
from django.utils import timezone

# Who is unlocking, while an unlock runs (the audit trail names them; None: a command, "system").
_unlocking_by: ContextVar = ContextVar("accounts_unlocking_by", default=None)


def client_ip(request) -> str:
    """The client's address: the last X-Forwarded-For entry (the one Rollcall's own proxy added; earlier entries are
    the client's to invent) when DJANGO_SECURE says a proxy stands in front, REMOTE_ADDR otherwise."""
    if settings.ROLLCALL_TRUST_X_FORWARDED_FOR:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        if forwarded[-1]:
            return forwarded[-1][:45]
    return request.META.get("REMOTE_ADDR", "")[:45]


def user_agent(request) -> str:
    return request.META.get("HTTP_USER_AGENT", "")[:255]


def not_a_password_guess(request, credentials) -> bool:
    """Axes' whitelist: an attempt without a password (a single sign-on) is never counted nor locked."""
    return not credentials or "password" not in credentials


class LockoutBackend(AxesStandaloneBackend):
    """Axes' backend (refuses a locked-out username and IP before any password is checked), for web requests only:
    an authenticate() without a request (a script, a test) has no IP to lock and goes to the next backend."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


def retry_at(username: str, ip_address: str):
    """When the username may try again from that IP: the cool-off after its last failure."""
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(Max("attempt_time"))
    return (last["attempt_time__max"] or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request, original_response=None, credentials=None):
    """The lockout page (429): which account is locked from where, and when to try again."""
    username = (credentials or {}).get("username") or request.POST.get("username", "")
    ip_address = client_ip(request)
    context = {
        "username": username,
        "retry_at": retry_at(username, ip_address),
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    return render(request, "accounts/locked_out.html", context, status=settings.AXES_HTTP_RESPONSE_CODE)


@contextmanager
def unlocking_by(user):
    token = _unlocking_by.set(user)
    try:
        yield
    finally:
        _unlocking_by.reset(token)


def current_unlocker():
    return _unlocking_by.get()


def unlock(attempts, by=None) -> int:
    """Forget these failed attempts, so their username and IP may sign in again; the number of attempts forgotten.
    Each deleted attempt that still locked its pair is an unlock in the audit trail (history listens to the delete)."""
    with unlocking_by(by), transaction.atomic():
        count = 0
        for attempt in attempts.order_by("pk"):
            attempt.delete()
            count += 1
    return count


def is_locking(attempt) -> bool:
    """Whether this attempt record locks its username and IP now."""
    return (
        attempt.failures_since_start >= settings.AXES_FAILURE_LIMIT
        and attempt.attempt_time + settings.AXES_COOLOFF_TIME > timezone.now()
    )
