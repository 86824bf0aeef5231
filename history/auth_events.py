"""Authentication in the audit trail: sign-ins, failures, lockouts and unlocks, sign-outs (a timeout's with its
reason), other sessions logged out, group (role) changes and users activated or deactivated, each an event with the
IP and user agent of the request that caused it (in `after`).

Receivers, not service calls: Django's auth signals and axes' are where these happen, and the accounts layer below
announces group changes (accounts.signals) as it cannot call the history. No event holds a password (Django's
user_login_failed cleanses it; only the username tried is kept) nor a session key.
"""

from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import post_delete, post_save, pre_save

from accounts.choices import SessionEnd
from accounts.lockout import client_ip, current_unlocker, is_locking, user_agent
from accounts.sessions import end_reason_of
from accounts.signals import groups_changed, other_sessions_ended
from history.choices import EventAction
from history.context import acting_via
from history.services import record_event

USERNAME_LENGTH = 150


def _client(request) -> dict:
    if request is None:
        return {}
    return {"ip": client_ip(request), "user_agent": user_agent(request)}


def _from_a_client(request) -> bool:
    """Whether a sign-in, failure or sign-out came over HTTP from a client: every real request carries REMOTE_ADDR
    (WSGI requires it). One without (a script's authenticate(), the test client's login() and logout(), which build
    a bare HttpRequest) names no one's address and is not an authentication anybody made: it is not recorded."""
    return request is not None and bool(request.META.get("REMOTE_ADDR"))


def _user_repr(username: str) -> str:
    return f"User {username}"


def _logged_in(sender, request, user, **kwargs):
    if not _from_a_client(request):
        return
    record_event(
        action=EventAction.LOGIN, user=user, object_repr=_user_repr(user.get_username()), after=_client(request)
    )


def _logged_out(sender, request, user, **kwargs):
    if user is None or not _from_a_client(request):  # a sign-out without a session
        return
    after = _client(request)
    reason = end_reason_of(request)
    if reason != SessionEnd.SIGNED_OUT:  # logged out by the idle timeout or the lifetime (accounts.sessions)
        after["reason"] = SessionEnd(reason).label
    record_event(action=EventAction.LOGOUT, user=user, object_repr=_user_repr(user.get_username()), after=after)


def _other_sessions_ended(sender, user, count, request=None, **kwargs):
    record_event(
        action=EventAction.SESSIONS_ENDED,
        user=user,
        object_repr=_user_repr(user.get_username()),
        after={"sessions": count, **_client(request)},
    )


def _login_failed(sender, credentials, request=None, **kwargs):
    if not _from_a_client(request):
        return
    # Only the username tried: `credentials` holds the password (cleansed, but never mind).
    username = str((credentials or {}).get("username") or "")[:USERNAME_LENGTH]
    after = {"username": username, **_client(request)}
    if kwargs.get("reason"):
        after["reason"] = str(kwargs["reason"])[:400]
    record_event(action=EventAction.LOGIN_FAILED, user=None, object_repr=_user_repr(username or "?"), after=after)


def _locked_out(sender, request=None, username=None, ip_address=None, **kwargs):
    # Axes announces every refused attempt past the limit: the lockout is the one that reaches it.
    if request is not None and getattr(request, "axes_failures_since_start", None) != settings.AXES_FAILURE_LIMIT:
        return
    username = str(username or "")[:USERNAME_LENGTH]
    after = {"username": username, **_client(request), "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)}
    record_event(action=EventAction.LOCKED_OUT, user=None, object_repr=_user_repr(username or "?"), after=after)


def _attempt_deleted(sender, instance, **kwargs):
    # Every unlock deletes the attempts (the admin, `manage.py unlock`, axes_reset*); the cool-off's own end and a
    # successful sign-in delete only attempts that no longer lock.
    if not is_locking(instance):
        return
    record_event(
        action=EventAction.UNLOCKED,
        user=current_unlocker(),
        object_repr=_user_repr(instance.username or "?"),
        before={"username": instance.username, "ip": instance.ip_address, "failures": instance.failures_since_start},
    )


def _groups_changed(sender, user, before, after, by=None, source="", request=None, **kwargs):
    with acting_via(source if source == "single sign-on" else ""):
        record_event(
            action=EventAction.GROUPS_CHANGED,
            user=by,
            object_repr=_user_repr(user.get_username()),
            before={"groups": before},
            after={"groups": after, **_client(request)},
        )


def _read_is_active(sender, instance, update_fields=None, **kwargs):
    """Before a user is saved, whether they were active (one query, and only when is_active may change)."""
    if instance.pk is None or (update_fields is not None and "is_active" not in update_fields):
        return
    instance._was_active = sender.objects.filter(pk=instance.pk).values_list("is_active", flat=True).first()


def _record_is_active(sender, instance, created, **kwargs):
    was_active = instance.__dict__.pop("_was_active", None)
    if created or was_active is None or was_active == instance.is_active:
        return
    record_event(
        action=EventAction.USER_ACTIVATED if instance.is_active else EventAction.USER_DEACTIVATED,
        user=getattr(instance, "_changed_by", None),
        object_repr=_user_repr(instance.get_username()),
        before={"is_active": was_active},
        after={"is_active": instance.is_active, **_client(getattr(instance, "_changed_request", None))},
    )


def connect() -> None:
    user_model = get_user_model()
    user_logged_in.connect(_logged_in, dispatch_uid="history-login")
    user_logged_out.connect(_logged_out, dispatch_uid="history-logout")
    user_login_failed.connect(_login_failed, dispatch_uid="history-login-failed")
    user_locked_out.connect(_locked_out, dispatch_uid="history-locked-out")
    post_delete.connect(_attempt_deleted, sender=AccessAttempt, dispatch_uid="history-unlocked")
    groups_changed.connect(_groups_changed, dispatch_uid="history-groups-changed")
    other_sessions_ended.connect(_other_sessions_ended, dispatch_uid="history-other-sessions-ended")
    pre_save.connect(_read_is_active, sender=user_model, dispatch_uid="history-user-active-before")
    post_save.connect(_record_is_active, sender=user_model, dispatch_uid="history-user-active")
