"""The signature of a webhook body, in the way Stripe signs its events.

Header `X-Rollcall-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">` with the subscription's secret
as the key. The time is signed with the body, so a receiver that refuses old timestamps also refuses a replay.
"""

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Rollcall-Signature"
SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    """A new random signing secret (256 bits)."""
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, body: bytes, timestamp: int) -> str:
    """The value of the signature header for `body` sent at `timestamp`."""
    signed = f"{timestamp}.".encode() + body
    return f"t={timestamp},v1={hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()}"


def verify(secret: str, body: bytes, header: str, *, now: int, tolerance: int = 300) -> bool:
    """Whether `header` signs `body` with `secret` at a time within `tolerance` seconds of `now`."""
    try:
        fields = dict(part.split("=", 1) for part in header.split(","))
        timestamp = int(fields["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, body, timestamp), f"t={timestamp},v1={fields.get('v1', '')}")
