"""The answer to a refused action (HTTP 403): a page saying what was refused, or for htmx only the message."""

from django.contrib import messages
from django.shortcuts import render
from django_htmx.http import reswap

NOT_ALLOWED = "You don't have permission to do this."
ASK_A_RELEASE_MANAGER = "Ask a release manager."


def permission_denied(request, exception=None):
    """HTTP 403 (handler403). An htmx request gets the message out of band and nothing else swapped, so the page
    it came from stays as it was; any other request gets the 403 page."""
    reason = str(exception or "") or NOT_ALLOWED
    if request.headers.get("HX-Request") == "true":
        messages.error(request, f"{reason} {ASK_A_RELEASE_MANAGER}")
        return reswap(render(request, "_messages.html", {"oob": True}, status=403), "none")
    return render(request, "403.html", {"reason": reason, "ask": ASK_A_RELEASE_MANAGER}, status=403)
