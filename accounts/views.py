"""The account page (who one is, one's sessions, "Log out other sessions") and the answer to a refused action
(HTTP 403): a page saying what was refused, or for htmx only the message."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import reswap

from accounts.selectors import active_sessions_of
from accounts.services import user_sessions_end_others
from accounts.sessions import hours_text
from accounts.signals import group_names
from core.htmx import render_page_or_partial

NOT_ALLOWED = "You don't have permission to do this."
ASK_A_RELEASE_MANAGER = "Ask a release manager."
OTHER_SESSIONS_ENDED = "{count} other session(s) logged out: only this one is still signed in."


def permission_denied(request, exception=None):
    """HTTP 403 (handler403). An htmx request gets the message out of band and nothing else swapped, so the page
    it came from stays as it was; any other request gets the 403 page."""
    reason = str(exception or "") or NOT_ALLOWED
    if request.headers.get("HX-Request") == "true":
        messages.error(request, f"{reason} {ASK_A_RELEASE_MANAGER}")
        return reswap(render(request, "_messages.html", {"oob": True}, status=403), "none")
    return render(request, "403.html", {"reason": reason, "ask": ASK_A_RELEASE_MANAGER}, status=403)


def _sessions_context(request) -> dict:
    return {
        "sessions": active_sessions_of(request.user),
        "current_key": request.session.session_key,
        "idle_hours": hours_text(settings.ROLLCALL_SESSION_IDLE),
        "lifetime_hours": hours_text(settings.ROLLCALL_SESSION_LIFETIME),
    }


@require_GET
@login_required
def account(request):
    """The signed-in user's account: username, roles, and the sessions they are signed in with."""
    context = {"roles": group_names(request.user), **_sessions_context(request)}
    return render(request, "accounts/account.html", context)


@require_POST
@login_required
def account_sessions_end_others(request):
    """Log out every other session of the user; htmx gets the sessions back, a plain POST the account page."""
    count = user_sessions_end_others(
        user=request.user, current_session_key=request.session.session_key, request=request
    )
    messages.success(request, OTHER_SESSIONS_ENDED.format(count=count))
    if request.htmx:
        return render_page_or_partial(request, "accounts/account.html", _sessions_context(request), partial="sessions")
    return redirect("account")
