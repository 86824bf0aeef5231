"""`Authorization: Bearer <token>`: a pipeline acts as the user who made the token, with that user's role."""

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.exceptions import AuthenticationFailed

from api.models import ApiToken
from api.services import api_token_touch, hash_token

TOKEN_MALFORMED = "Send the token as 'Authorization: Bearer <token>'."
TOKEN_UNKNOWN = "Unknown API token."
TOKEN_REVOKED = "This API token was revoked."
TOKEN_EXPIRED = "This API token has expired."
USER_INACTIVE = "The user of this API token is inactive."


class BearerTokenAuthentication(BaseAuthentication):
    """An API token in the Authorization header. No header: the next authentication (the session) is tried; a
    header with an unknown, revoked or expired token, or one of an inactive user, is refused with 401."""

    keyword = b"bearer"

    def authenticate(self, request):
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise AuthenticationFailed(TOKEN_MALFORMED)
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise AuthenticationFailed(TOKEN_UNKNOWN) from error
        token = ApiToken.objects.select_related("user").filter(key_hash=hash_token(key)).first()
        if token is None:
            raise AuthenticationFailed(TOKEN_UNKNOWN)
        now = timezone.now()
        if token.revoked_at is not None:
            raise AuthenticationFailed(TOKEN_REVOKED)
        if token.expires_at <= now:
            raise AuthenticationFailed(TOKEN_EXPIRED)
        if not token.user.is_active:
            raise AuthenticationFailed(USER_INACTIVE)
        api_token_touch(token, now)
        return token.user, token

    def authenticate_header(self, request) -> str:
        """What a 401 names in WWW-Authenticate (without it, DRF would answer 403)."""
        return 'Bearer realm="api"'


class BearerTokenScheme(OpenApiAuthenticationExtension):
    """The bearer token in the OpenAPI schema (Swagger UI's Authorize button)."""

    target_class = "api.authentication.BearerTokenAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API token from the API tokens page."}
