"""Single sign-on with OpenID Connect (mozilla-django-oidc) and the login page with its break-glass local form.

The flow: the login page's "Sign in with …" link (`oidc_authentication_init`) sends the browser to the provider's
authorization endpoint with a state, a nonce and a PKCE challenge (S256); the provider sends it back to
`oidc_authentication_callback` with a code, which the backend below trades for an ID token (RS256, checked against the
provider's JWKS, audience, issuer, expiry and nonce). The token's claims, with the userinfo endpoint's, name the user
and their groups; the groups give the role (ROLLCALL_OIDC_ROLE_MAP), again at every sign-in.

A sign-in that cannot be accepted is refused with a page saying why (403) and changes nothing: no user is created,
no role changed. The provider's endpoints are read from its discovery document at the first sign-in and kept for an
hour, so Rollcall starts, and local accounts keep working, while the provider is down.

Nothing here logs a token, a code or the client secret.
"""

import logging
import threading
import time

import jwt
import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import SuspiciousOperation
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.utils.decorators import method_decorator
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts.backends import RoleBackend
from accounts.permissions import ROLE_PERMISSIONS
from accounts.signals import announce_groups_change, group_names

logger = logging.getLogger(__name__)

# The refusals, as the refusal page words them (tests reuse them).
WRONG_AUDIENCE = "The identity provider's token was issued for another application, not this Rollcall."
EXPIRED = "The identity provider's token has expired. Sign in again."
BAD_SIGNATURE = "The identity provider's token is not signed by the identity provider's keys."
WRONG_ISSUER = "The identity provider's token was issued by another identity provider."
WRONG_NONCE = "The identity provider's token belongs to another sign-in. Sign in again."
INVALID_TOKEN = "The identity provider's token could not be verified: {error}."
NO_GROUPS_CLAIM = (
    "The identity provider sent no {claim!r} claim, so Rollcall cannot tell your role. Ask your administrator to "
    "release the groups to Rollcall."
)
NO_MAPPED_GROUP = (
    "Your account ({username}) is in none of the groups that give a role in Rollcall ({groups}). Ask your "
    "administrator for one of them."
)
NO_USERNAME = "The identity provider sent neither {claim!r}, 'email' nor 'sub': Rollcall cannot name your account."
DEACTIVATED = "Your Rollcall account ({username}) is deactivated. Ask a release manager."
ADMIN_ACCOUNT = (
    "{username} is an administrator account: it signs in with its local password only, not through {provider}."
)
CODE_REFUSED = "The identity provider did not accept this sign-in ({error}). Sign in again."
PROVIDER_ERROR = "The identity provider refused the sign-in: {error}."
STALE_SIGN_IN = "This sign-in has expired or was started in another browser. Sign in again."
UNREACHABLE = "The identity provider ({issuer}) cannot be reached. Try again later, or use a local account."
LOCAL_LOGIN_OFF = "Local accounts are turned off here (ROLLCALL_LOCAL_LOGIN=0): sign in with {provider}."

DISCOVERY_TTL = 60 * 60
# Seconds of clock difference tolerated between the provider and Rollcall when checking exp and iat.
CLOCK_SKEW = 30


class SsoRefused(Exception):
    """A sign-in refused for a reason the user is shown (403), with the username tried when the claims named one.
    Not a PermissionDenied: Django's authenticate() would swallow that one."""

    def __init__(self, message: str, username: str = ""):
        super().__init__(message)
        self.username = username


class ProviderUnreachable(Exception):
    """The provider did not answer (503)."""


def oidc_enabled() -> bool:
    return bool(settings.ROLLCALL_OIDC_ISSUER)


_discovery: dict[str, tuple[float, dict]] = {}
_discovery_lock = threading.Lock()


def discovery() -> dict:
    """The provider's discovery document (/.well-known/openid-configuration), read once an hour per process."""
    issuer = settings.ROLLCALL_OIDC_ISSUER
    with _discovery_lock:
        if issuer in _discovery and time.monotonic() - _discovery[issuer][0] < DISCOVERY_TTL:
            return _discovery[issuer][1]
        try:
            response = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=settings.OIDC_TIMEOUT)
            response.raise_for_status()
            document = response.json()
        except (requests.RequestException, ValueError) as error:
            logger.warning("OIDC discovery at %s failed: %s", issuer, type(error).__name__)
            raise ProviderUnreachable(UNREACHABLE.format(issuer=issuer)) from None
        if not isinstance(document, dict) or str(document.get("issuer", "")).rstrip("/") != issuer:
            logger.warning("OIDC discovery at %s does not name that issuer", issuer)
            raise ProviderUnreachable(UNREACHABLE.format(issuer=issuer))
        if not all(document.get(name) for name in ("authorization_endpoint", "token_endpoint", "jwks_uri")):
            logger.warning("OIDC discovery at %s lacks an endpoint Rollcall needs", issuer)
            raise ProviderUnreachable(UNREACHABLE.format(issuer=issuer))
        _discovery[issuer] = (time.monotonic(), document)
        return document


def forget_discovery() -> None:
    """Read the discovery document afresh at the next sign-in."""
    with _discovery_lock:
        _discovery.clear()


def claim(claims: dict, name: str):
    """A claim by its name, or by a dotted path into nested claims (Keycloak's realm_access.roles)."""
    if name in claims:
        return claims[name]
    value = claims
    for part in name.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def username_from_claims(claims: dict) -> str:
    for name in (settings.ROLLCALL_OIDC_USERNAME_CLAIM, "email", "sub"):
        value = claim(claims, name)
        if isinstance(value, str) and value.strip():
            return value.strip()[:150]
    raise SsoRefused(NO_USERNAME.format(claim=settings.ROLLCALL_OIDC_USERNAME_CLAIM))


def role_from_claims(claims: dict, username: str) -> str:
    """The highest role the user's groups map to (ROLLCALL_OIDC_ROLE_MAP); refused without one."""
    groups_claim = settings.ROLLCALL_OIDC_GROUPS_CLAIM
    groups = claim(claims, groups_claim)
    if groups is None:
        raise SsoRefused(NO_GROUPS_CLAIM.format(claim=groups_claim), username)
    if isinstance(groups, str):
        groups = [groups]
    role_map = settings.ROLLCALL_OIDC_ROLE_MAP
    roles = {role_map[group] for group in groups if isinstance(group, str) and group in role_map}
    if not roles:
        raise SsoRefused(NO_MAPPED_GROUP.format(username=username, groups=", ".join(sorted(role_map))), username)
    return max(roles, key=list(ROLE_PERMISSIONS).index)


class RollcallOIDCBackend(OIDCAuthenticationBackend):
    """mozilla-django-oidc's backend, checking the ID token fully (it leaves the audience unchecked), naming the user
    by a configurable claim and giving them the role their groups map to. Permissions stay with RoleBackend.

    Django builds a backend for every authenticate() and every session's user, a local login's too: building one
    reads no setting that needs the provider."""

    def __init__(self, *args, **kwargs):
        self.UserModel = get_user_model()

    def authenticate(self, request, **kwargs):
        # Only the callback view's call (with the nonce it kept), never a username and password.
        if request is None or not oidc_enabled() or "nonce" not in kwargs or "password" in kwargs:
            return None
        document = discovery()
        self.OIDC_OP_TOKEN_ENDPOINT = document["token_endpoint"]
        self.OIDC_OP_USER_ENDPOINT = document.get("userinfo_endpoint")
        self.OIDC_OP_JWKS_ENDPOINT = document["jwks_uri"]
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        self.OIDC_RP_CLIENT_SECRET = settings.OIDC_RP_CLIENT_SECRET
        self.OIDC_RP_SIGN_ALGO = settings.OIDC_RP_SIGN_ALGO
        self.OIDC_RP_IDP_SIGN_KEY = None
        try:
            return super().authenticate(request, **kwargs)
        except requests.HTTPError as error:
            # The token endpoint's refusal (a reused code, a PKCE verifier that does not match): its error code only.
            try:
                reason = error.response.json().get("error", "")
            except ValueError:
                reason = ""
            logger.warning("OIDC token request refused: HTTP %s %s", error.response.status_code, reason)
            raise SsoRefused(CODE_REFUSED.format(error=reason or f"HTTP {error.response.status_code}")) from None
        except requests.RequestException as error:
            logger.warning("OIDC provider unreachable: %s", type(error).__name__)
            raise ProviderUnreachable(UNREACHABLE.format(issuer=settings.ROLLCALL_OIDC_ISSUER)) from None

    def verify_token(self, token, **kwargs):
        """The ID token's claims once its signature (the provider's JWKS), audience, issuer, expiry and nonce hold."""
        try:
            header = jwt.get_unverified_header(token or "")
        except jwt.InvalidTokenError:
            raise SsoRefused(INVALID_TOKEN.format(error="not a JWT")) from None
        if header.get("alg") != self.OIDC_RP_SIGN_ALGO:
            raise SsoRefused(BAD_SIGNATURE)
        try:
            key = self.retrieve_matching_jwk(token)
        except SuspiciousOperation:
            raise SsoRefused(BAD_SIGNATURE) from None
        try:
            payload = jwt.decode(
                token,
                key,
                algorithms=[self.OIDC_RP_SIGN_ALGO],
                audience=self.OIDC_RP_CLIENT_ID,
                issuer=settings.ROLLCALL_OIDC_ISSUER,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise SsoRefused(EXPIRED) from None
        except jwt.InvalidAudienceError:
            raise SsoRefused(WRONG_AUDIENCE) from None
        except jwt.InvalidIssuerError:
            raise SsoRefused(WRONG_ISSUER) from None
        except jwt.InvalidSignatureError:
            raise SsoRefused(BAD_SIGNATURE) from None
        except jwt.InvalidTokenError as error:
            raise SsoRefused(INVALID_TOKEN.format(error=error)) from None
        if payload.get("nonce") != kwargs.get("nonce"):
            raise SsoRefused(WRONG_NONCE)
        return payload

    def store_tokens(self, access_token, id_token):
        """Rollcall keeps no token: it needs them only to sign in."""

    def get_userinfo(self, access_token, id_token, payload):
        """The ID token's claims with the userinfo endpoint's added (many providers send groups only there)."""
        claims = dict(payload)
        if self.OIDC_OP_USER_ENDPOINT and access_token:
            userinfo = super().get_userinfo(access_token, id_token, payload)
            if isinstance(userinfo, dict) and userinfo.get("sub") == payload["sub"]:
                claims.update(userinfo)
        return claims

    def get_or_create_user(self, access_token, id_token, payload):
        """The user the claims name, created if new, with the role their groups give now: every other role group
        is taken away. A refusal changes nothing."""
        claims = self.get_userinfo(access_token, id_token, payload)
        username = username_from_claims(claims)
        role = role_from_claims(claims, username)
        user = self.UserModel.objects.filter(username=username).first()
        if user is not None and not user.is_active:
            raise SsoRefused(DEACTIVATED.format(username=username), username)
        if user is not None and (user.is_superuser or user.is_staff):
            # Whoever can choose their username at the provider must not become an administrator by it.
            raise SsoRefused(
                ADMIN_ACCOUNT.format(username=username, provider=settings.ROLLCALL_OIDC_PROVIDER_NAME), username
            )
        details = {
            field: claims[name]
            for field, name in (("email", "email"), ("first_name", "given_name"), ("last_name", "family_name"))
            if isinstance(claims.get(name), str)
        }
        before = [] if user is None else group_names(user)
        with transaction.atomic():
            if user is None:
                user = self.UserModel.objects.create_user(username, **details)
            elif any(getattr(user, field) != value for field, value in details.items()):
                for field, value in details.items():
                    setattr(user, field, value)
                user.save(update_fields=list(details))
            role_groups = Group.objects.filter(name__in=ROLE_PERMISSIONS)
            user.groups.remove(*[group for group in role_groups if group.name != role])
            user.groups.add(Group.objects.get(name=role))
            announce_groups_change(user, before, source="single sign-on", request=self.request)
        logger.info("SSO sign-in: %s as %s", username, role)
        return user

    def get_user(self, user_id):
        """The session's user, while active (a deactivated user's session ends at their next request)."""
        user = super().get_user(user_id)
        return user if user is not None and user.is_active else None

    # Permissions are RoleBackend's (first in AUTHENTICATION_BACKENDS); this backend only signs users in.
    def get_all_permissions(self, user_obj, obj=None):
        return set()

    def has_perm(self, user_obj, perm, obj=None):
        return False

    def has_module_perms(self, user_obj, app_label):
        return False


def refused(request, reason: str, status: int = 403):
    """The refusal page: why the sign-in was refused, and the way back to the login page."""
    return render(
        request,
        "accounts/sso_refused.html",
        {"reason": reason, "provider": settings.ROLLCALL_OIDC_PROVIDER_NAME},
        status=status,
    )


@method_decorator(login_not_required, name="dispatch")
class SsoStartView(OIDCAuthenticationRequestView):
    """Send the browser to the provider (state, nonce, PKCE S256); 404 while SSO is off."""

    def __init__(self, *args, **kwargs):
        # The authorization endpoint is read from discovery in get(), where an unreachable provider can be answered.
        super(OIDCAuthenticationRequestView, self).__init__(*args, **kwargs)

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            self.OIDC_OP_AUTH_ENDPOINT = discovery()["authorization_endpoint"]
        except ProviderUnreachable as error:
            return refused(request, str(error), status=503)
        self.OIDC_RP_CLIENT_ID = settings.OIDC_RP_CLIENT_ID
        return super().get(request)


@method_decorator(login_not_required, name="dispatch")
class SsoCallbackView(OIDCAuthenticationCallbackView):
    """Where the provider sends the browser back: sign in, or the refusal page saying why."""

    def get(self, request):
        if not oidc_enabled():
            raise Http404("Single sign-on is not configured.")
        try:
            return super().get(request)
        except SsoRefused as error:
            logger.warning("SSO sign-in refused: %s", error)
            # As a refused password is announced (the audit trail listens), with the username the claims named.
            user_login_failed.send(
                sender=__name__, credentials={"username": error.username}, request=request, reason=str(error)
            )
            return refused(request, str(error))
        except ProviderUnreachable as error:
            return refused(request, str(error), status=503)
        except SuspiciousOperation:
            return refused(request, STALE_SIGN_IN)

    def login_failure(self):
        error = self.request.GET.get("error_description") or self.request.GET.get("error")
        if error:
            return refused(self.request, PROVIDER_ERROR.format(error=error[:200]))
        return refused(self.request, STALE_SIGN_IN)


class LoginView(auth_views.LoginView):
    """Django's login page, with the "Sign in with …" link when SSO is configured. With ROLLCALL_LOCAL_LOGIN=0 the
    username and password form is gone and a POST of one is refused (403), whatever its password."""

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            **kwargs,
            sso_enabled=oidc_enabled(),
            sso_provider=settings.ROLLCALL_OIDC_PROVIDER_NAME,
            local_login=settings.ROLLCALL_LOCAL_LOGIN,
        )

    def post(self, request, *args, **kwargs):
        if not settings.ROLLCALL_LOCAL_LOGIN:
            refusal = LOCAL_LOGIN_OFF.format(provider=settings.ROLLCALL_OIDC_PROVIDER_NAME)
            return self.render_to_response(self.get_context_data(local_login_refused=refusal), status=403)
        return super().post(request, *args, **kwargs)


class RoleBackendWithoutPasswords(RoleBackend):
    """RoleBackend in place of itself when ROLLCALL_LOCAL_LOGIN=0: the permissions as before, but no password signs
    anyone in, on any page (the admin's login too)."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        return None
