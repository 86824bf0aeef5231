"""Middleware Rollcall adds to Django's: pages that are never stale, and a login check that leaves views needing no
login alone."""

from django.contrib.auth import middleware as auth_middleware
from django.utils.cache import add_never_cache_headers


class NeverStaleMiddleware:
    """Tell browsers and proxies not to keep HTML pages (issue 9, "Never stale").

    Every HTML page shows live state: step statuses, progress, who changed what. Without `Cache-Control` a browser
    keeps the page and, on Back, shows the copy it kept (Pending, 67 %) instead of asking again. `no-cache` and
    `must-revalidate` are not enough for that: browsers reuse a kept page for Back and Forward without revalidating
    it, unless it was never stored. So HTML answers carry Django's never-cache headers
    (`max-age=0, no-cache, no-store, must-revalidate, private`): `no-store` makes Back fetch the page again, and also
    keeps scripts and customer data out of disk caches and shared proxies.

    Only `text/html` answers are touched, and only those that set no `Cache-Control` of their own: static files
    (whitenoise caches hashed files for a year), downloads, `/healthz` and any view that chose its caching keep theirs.
    htmx fragments are HTML too, and equally live. htmx's own history cache is turned off in templates/base.html.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        content_type = response.get("Content-Type", "")
        if content_type.startswith("text/html") and not response.has_header("Cache-Control"):
            add_never_cache_headers(response)
        return response


class LoginRequiredMiddleware(auth_middleware.LoginRequiredMiddleware):
    """Django's LoginRequiredMiddleware, which asks a view marked `login_not_required` nothing.

    Django's reads `request.user` first, for every request: the session and the user, two queries. A view that needs
    no login may not need them at all: the live updates' poll (steps/views/live.py) answers "nothing changed" from a
    token it signed, in one query, 12.5 times a second for 50 open screens (a poll every 4 s). Every other view is
    checked as before.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if not getattr(view_func, "login_required", True):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
