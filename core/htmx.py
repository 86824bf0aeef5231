"""The htmx plumbing every view shares: is this a fragment request, where a plain POST goes back to, and one way
to answer with a page or one of its named partials (django-template-partials) that caches correctly.

Anchors: netbox's utilities/htmx.py (htmx_partial) and radiofeed's partials.py (render_partial_response).
"""

from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme

# A page and its fragments share a URL: caches must keep them apart.
VARY_HEADERS = ("HX-Request", "HX-Target")


def is_fragment_request(request, target: str | None = None) -> bool:
    """An htmx request that wants a fragment: not a history restore (which needs the whole page), and aimed at
    the element with id `target` when one is given."""
    if not request.htmx or request.htmx.history_restore_request:
        return False
    return target is None or request.htmx.target == target


def safe_next_url(request, default: str) -> str:
    """Where a plain POST goes back to: the `next` parameter when it is a path on this site, else `default`."""
    candidate = request.POST.get("next") or request.GET.get("next")
    # Only a path: redirect() would take any other word for a URL name to reverse.
    if (
        candidate
        and candidate.startswith("/")
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
    ):
        return candidate
    return default


def render_page_or_partial(
    request, template: str, context: dict, *, partial: str, target: str | None = None, status: int = 200
):
    """The page `template`, or only its partial `partial` for a fragment request (aimed at `target` when given).

    Sets `Vary: HX-Request, HX-Target` either way.
    """
    name = f"{template}#{partial}" if is_fragment_request(request, target) else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, VARY_HEADERS)
    return response
