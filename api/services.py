"""Making and revoking API tokens: the rules (a name, an expiry within bounds, only one's own tokens) live here."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from api.models import ApiToken
from core.errors import DomainError
from history.choices import EventAction
from history.services import record_event

TOKEN_PREFIX = "rc_"
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 3650
# How stale `last_used_at` may get: a busy pipeline costs one UPDATE a minute, not one per request.
LAST_USED_PRECISION = timedelta(minutes=1)

NAME_IN_USE = "You already have a token named {name} in use: choose another name, or revoke that one first."
NAME_REQUIRED = "Give the token a name, e.g. the pipeline that uses it."
NAME_TOO_LONG = "A token's name has at most 100 characters."
EXPIRY_OUT_OF_RANGE = f"A token expires after 1 to {MAX_EXPIRY_DAYS} days."
NOT_YOUR_TOKEN = "This token is not yours."
ALREADY_REVOKED = "Token {name} is already revoked."


def hash_token(token: str) -> str:
    """What is stored of a token: its SHA-256, in hex. A token is 256 random bits: no salt or slow hash is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def api_token_create(*, user, name: str, expires_in_days: int = DEFAULT_EXPIRY_DAYS) -> tuple[ApiToken, str]:
    """Make a token for `user`; returns it with the secret, which is not stored and can't be shown again."""
    name = (name or "").strip()
    if not name:
        raise DomainError(NAME_REQUIRED, field="name")
    if len(name) > ApiToken._meta.get_field("name").max_length:
        raise DomainError(NAME_TOO_LONG, field="name")
    if not isinstance(expires_in_days, int) or not 1 <= expires_in_days <= MAX_EXPIRY_DAYS:
        raise DomainError(EXPIRY_OUT_OF_RANGE, field="expires_in_days")
    if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
        raise DomainError(NAME_IN_USE.format(name=name), field="name")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=secret[:10],
        key_hash=hash_token(secret),
        expires_at=timezone.now() + timedelta(days=expires_in_days),
    )
    # Its name and expiry, never the secret nor any part of it.
    record_event(
        action=EventAction.API_TOKEN_CREATED,
        user=user,
        object_repr=f"API token '{token.name}' of {user.get_username()}",
        after={"name": token.name, "expires_at": token.expires_at.isoformat()},
    )
    return token, secret


@transaction.atomic
def api_token_revoke(*, token: ApiToken, user) -> ApiToken:
    """Revoke a token, one's own (a superuser may revoke anyone's, from the admin): from now on it gets 401."""
    token = ApiToken.objects.select_for_update().get(pk=token.pk)
    if token.user_id != user.pk and not user.is_superuser:
        raise DomainError(NOT_YOUR_TOKEN)
    if token.revoked_at is not None:
        raise DomainError(ALREADY_REVOKED.format(name=token.name))
    token.revoked_at = timezone.now()
    token.save(update_fields=["revoked_at"])
    record_event(
        action=EventAction.API_TOKEN_REVOKED,
        user=user,
        object_repr=f"API token '{token.name}' of {token.user.get_username()}",
        before={"revoked": False},
        after={"revoked": True},
    )
    return token


def api_token_touch(token: ApiToken, now) -> None:
    """Note that the token was used, at most once a minute: one UPDATE, skipped while the last one is recent."""
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
