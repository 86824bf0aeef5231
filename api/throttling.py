"""A ceiling per token on how often the API may be called (ROLLCALL_API_THROTTLE_RATE, default 600/min); the counts
are kept in the default cache, so every gunicorn process on a machine shares them."""

from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from api.models import ApiToken


class TokenRateThrottle(SimpleRateThrottle):
    """Requests per token (per user for browser calls with a session); over the rate: 429 with Retry-After."""

    scope = "api"

    def get_rate(self) -> str | None:
        # Read when the throttle is made, not when the class is imported: a changed setting takes effect.
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def get_cache_key(self, request, view) -> str:
        if isinstance(request.auth, ApiToken):
            ident = f"token-{request.auth.key_hash[:32]}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
