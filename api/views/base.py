"""What every API view shares: the history notes a change made with a token as made through it."""

from contextlib import ExitStack

from rest_framework import viewsets

from api.models import ApiToken
from history.context import acting_via

# Ids in URLs: digits only, small enough for every database (a longer number is no id: 404, not an overflow).
ID_PATTERN = r"[0-9]{1,18}"


class ApiViewSet(viewsets.GenericViewSet):
    """A viewset whose changes, when made with a token, are recorded as "ana via API token 'jenkins'"."""

    lookup_value_regex = ID_PATTERN
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def dispatch(self, request, *args, **kwargs):
        with ExitStack() as self._history_context:
            return super().dispatch(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        """After authentication: a token's requests are marked in the history for the rest of the request."""
        super().initial(request, *args, **kwargs)
        if isinstance(request.auth, ApiToken):
            self._history_context.enter_context(acting_via(request.auth.via))
