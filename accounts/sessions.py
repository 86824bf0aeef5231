"""Sessions end by themselves: after ROLLCALL_SESSION_IDLE_HOURS without a request (default 8), and
ROLLCALL_SESSION_MAX_HOURS after the sign-in however busy (default 24: a release manager signs in once a working day).

The session holds two times (seconds since the epoch): when its user signed in, and when it was last seen. The last
one is rewritten only when it is a minute old (SEEN_STEP), so most requests write nothing: with the cached_db
backend a session write is a database write, and request throughput is measured (issue 10). A session past either
limit is logged out at its next request and sent to the login page, told why; an htmx request is told to load the
login page itself (HX-Redirect) rather than swap it into a fragment. So is a session whose user may no longer sign
in (deactivated: ModelBackend's get_user refuses them), and an htmx request whose session has ended elsewhere.

A request carrying an API token is no session and is left alone. An API request with a session is checked like a
page, and once logged out answered by the API as any request without a session. Views that need no login (the live
updates' poll, the login page) are not checked: they must not pay for reading the session.
"""

from datetime import UTC, datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import SESSION_KEY, logout
from django.contrib.auth.views import redirect_to_login
from django.utils import timezone
from django_htmx.http import HttpResponseClientRedirect

from accounts.choices import SessionEnd
from accounts.lockout import client_ip, user_agent
from accounts.services import user_session_end, user_session_seen, user_session_start

SIGNED_IN_AT = "_rollcall_signed_in_at"
SEEN_AT = "_rollcall_seen_at"
SEEN_STEP = 60  # seconds: how stale the last-seen time may get, to spare a session write per request
# Why the request's session is being logged out (read by the user_logged_out receivers: the record, the audit).
END_REASON = "rollcall_session_end_reason"

IDLE_ENDED = "Your session ended after {idle} without activity — sign in again."
LIFETIME_ENDED = "Your session ended {lifetime} after you signed in — sign in again."
ACCOUNT_INACTIVE = "Your account has been deactivated — ask a release manager."


def hours_text(duration) -> str:
    hours = duration.total_seconds() / 3600
    return f"{hours:g} hour" if hours == 1 else f"{hours:g} hours"


def end_message(reason: str) -> str:
    """What the login page tells someone whose session ended for `reason`."""
    if reason == SessionEnd.IDLE:
        return IDLE_ENDED.format(idle=hours_text(settings.ROLLCALL_SESSION_IDLE))
    if reason == SessionEnd.LIFETIME:
        return LIFETIME_ENDED.format(lifetime=hours_text(settings.ROLLCALL_SESSION_LIFETIME))
    return ACCOUNT_INACTIVE


def end_reason_of(request) -> str:
    """Why this request's session is logged out: a timeout or a deactivation, else the user signed out."""
    return getattr(request, END_REASON, SessionEnd.SIGNED_OUT)


def expired(session, now: float) -> str | None:
    """The rule: the reason the session has ended (idle too long, or past its lifetime), or None while it holds."""
    signed_in = session.get(SIGNED_IN_AT)
    if signed_in is None:
        return None
    if now - session.get(SEEN_AT, signed_in) > settings.ROLLCALL_SESSION_IDLE.total_seconds():
        return SessionEnd.IDLE
    if now - signed_in > settings.ROLLCALL_SESSION_LIFETIME.total_seconds():
        return SessionEnd.LIFETIME
    return None


def _stamp(request, user, now) -> None:
    """Stamp the session with its sign-in time and record it (at sign-in, or at the first request of a session
    signed in before this existed)."""
    session = request.session
    if session.session_key is None:
        session.save()
    session[SIGNED_IN_AT] = session[SEEN_AT] = int(now.timestamp())
    user_session_start(
        user=user,
        session_key=session.session_key,
        started_at=now,
        ip=client_ip(request),
        user_agent=user_agent(request),
    )


def signed_in(sender, request, user, **kwargs) -> None:
    """user_logged_in receiver: the new session's sign-in time, and its record."""
    if request is not None and hasattr(request, "session"):
        _stamp(request, user, timezone.now())


def signed_out(sender, request, user, **kwargs) -> None:
    """user_logged_out receiver (before the session is flushed): the session's record ends, with the reason."""
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        user_session_end(session_key=key, reason=end_reason_of(request))


def _bearer(request) -> bool:
    return request.headers.get("Authorization", "").split(" ")[0].lower() == "bearer"


def _to_login(request):
    """To the login page, coming back here afterwards; htmx loads it as a whole page (HX-Redirect)."""
    if request.headers.get("HX-Request") == "true":
        back = request.htmx.current_url_abs_path or ""
        return HttpResponseClientRedirect(redirect_to_login(back).url)
    return redirect_to_login(request.get_full_path())


class SessionTimeoutMiddleware:
    """Ends a session idle too long or past its lifetime, or whose user was deactivated (see the module's docstring).
    Placed right after AuthenticationMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        api = hasattr(view_func, "cls")  # Django REST framework's views: they need no login of the middleware
        if not (api or getattr(view_func, "login_required", True)) or _bearer(request):
            return None
        session = request.session
        if SESSION_KEY not in session or not request.user.is_authenticated:
            if SESSION_KEY in session:  # the user may no longer sign in: deactivated (get_user returned nobody)
                return self._end(request, SessionEnd.ACCOUNT_INACTIVE, api)
            if not api and request.headers.get("HX-Request") == "true":
                return _to_login(request)
            return None
        now = timezone.now()
        reason = expired(session, now.timestamp())
        if reason:
            return self._end(request, reason, api)
        if SIGNED_IN_AT not in session:
            _stamp(request, request.user, now)
        elif now.timestamp() - session.get(SEEN_AT, 0) >= SEEN_STEP:
            session[SEEN_AT] = int(now.timestamp())
            user_session_seen(
                user=request.user,
                session_key=session.session_key,
                seen_at=now,
                started_at=datetime.fromtimestamp(session[SIGNED_IN_AT], tz=UTC),
                ip=client_ip(request),
                user_agent=user_agent(request),
            )
        return None

    def _end(self, request, reason: str, api: bool):
        setattr(request, END_REASON, reason)
        logout(request)
        if api:  # the API answers as it does without a session (401)
            return None
        messages.warning(request, end_message(reason))
        return _to_login(request)
