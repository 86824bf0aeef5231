"""A request whose database connection was lost answers 503 with Retry-After, never a 500 page.

PostgreSQL restarted, or an administrator ended Rollcall's backends (`pg_terminate_backend`): the request in flight
loses its connection. Its transaction is rolled back by the server, so nothing it did is kept, and it may be tried
again in a few seconds: 503 Service Unavailable with `Retry-After: 5`, a small page (or JSON for the API) saying so.
Django then closes the broken connection at the end of the request (the psycopg pool throws it away) and the pool's
check replaces any other connection the server dropped, so the next request finds the database again
(scripts/drill_fault.py measures it).

Two ways in: the middleware's `process_exception` for what a view raises, and `server_error` (handler500) for what
the middleware around the view raises (reading the session or the user).
"""

import sys

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views.defaults import server_error as django_server_error

RETRY_AFTER = 5  # seconds
MESSAGE = "The database is not answering for a moment. Nothing was changed; please try again in a few seconds."
PAGE = (
    "<!doctype html><html lang=en><meta charset=utf-8><title>Rollcall: try again in a moment</title>"
    f"<h1>Try again in a moment</h1><p>{MESSAGE}</p></html>"
)


def connection_lost(exception: BaseException | None) -> bool:
    """Whether the exception says the database could not be reached or dropped the connection (not a bug)."""
    if isinstance(exception, InterfaceError):
        return True  # "connection already closed"
    if not isinstance(exception, OperationalError):
        return False
    cause = exception.__cause__
    # psycopg raises OperationalError (and the pool's PoolTimeout) only for a connection it could not open or lost;
    # SQLite's is a lock held too long. SQLite's other OperationalErrors ("no such table") are bugs: a 500.
    return type(cause).__module__.startswith(("psycopg", "psycopg_pool")) or "locked" in str(exception)


def unavailable_response(request) -> HttpResponse:
    wants_json = request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        response = JsonResponse({"detail": MESSAGE}, status=503)
    else:
        response = HttpResponse(PAGE, status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER)
    return response


class DatabaseUnavailableMiddleware:
    """A view that lost its database connection answers 503 with Retry-After (see the module's docstring)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        return unavailable_response(request) if connection_lost(exception) else None


def server_error(request, template_name="500.html"):
    """handler500: a lost connection outside the view answers 503 too; anything else is Django's 500 page."""
    if connection_lost(sys.exc_info()[1]):
        return unavailable_response(request)
    return django_server_error(request, template_name)
