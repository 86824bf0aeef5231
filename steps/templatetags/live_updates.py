"""`{% live_updates release %}` (or `customer=…`, `template=…`): the element through which a step screen polls for
other people's changes (steps/live.py), with a cursor from the server's clock at the time the page is drawn and the
token that lets a poll that finds nothing new skip reading the session."""

from django import template
from django.utils import timezone

from steps.live import POLL_SECONDS, issue_token, poll_url

register = template.Library()


@register.inclusion_tag("steps/_live_poller.html", takes_context=True)
def live_updates(context, release, *, customer=None, template=None):
    """The poller of a screen showing `release` (all of it: the matrix; one customer's steps; one template step's)."""
    request = context["request"]
    url = poll_url(
        release.pk,
        since=timezone.now(),
        customer=customer.pk if customer is not None else None,
        template=template.pk if template is not None else None,
        token=issue_token(user_id=request.user.pk, release_id=release.pk, session_key=request.session.session_key),
    )
    return {"url": url, "interval": POLL_SECONDS, "status_region": True}
