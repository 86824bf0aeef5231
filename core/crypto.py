"""Encryption at rest for sensitive variable values (passwords, tokens), with Fernet keys from the environment.

`ROLLCALL_ENCRYPTION_KEY` holds one or more Fernet keys separated by commas or whitespace. The first encrypts;
all of them decrypt, so a key is rotated by putting the new key first, re-encrypting the stored values with
`rotate`, then dropping the old key. The keys live in the environment, not the database, so a copy of the
database alone does not reveal the values. The environment is read on every call so that a changed key needs no
restart hook and tests can set it with monkeypatch; the parsed keys are cached per value of the variable.
"""

import functools
import os
import re

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

KEY_ENVIRONMENT_VARIABLE = "ROLLCALL_ENCRYPTION_KEY"

NOT_CONFIGURED_MESSAGE = (
    "Sensitive values need an encryption key: set ROLLCALL_ENCRYPTION_KEY (generate one with: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
)
# The key is never part of the message: it ends up in logs and on error pages.
INVALID_KEY_MESSAGE = (
    "ROLLCALL_ENCRYPTION_KEY holds an invalid key (key {position} of {count}): each key must be 32 url-safe "
    "base64-encoded bytes, separated by commas (generate one with: "
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')."
)
UNDECRYPTABLE_MESSAGE = (
    "A sensitive value can't be decrypted with the keys in ROLLCALL_ENCRYPTION_KEY: it was encrypted with a key "
    "that is no longer listed there, or it is damaged. Add the old key after the current one to read it."
)

_KEY_SEPARATOR_RE = re.compile(r"[\s,]+")


class EncryptionNotConfigured(ValueError):
    """No usable key: `ROLLCALL_ENCRYPTION_KEY` is unset, empty or holds an invalid key."""


class UndecryptableValue(ValueError):
    """A stored token that none of the configured keys decrypts."""


def generate_key() -> str:
    """A new random Fernet key, as text for `ROLLCALL_ENCRYPTION_KEY`."""
    return Fernet.generate_key().decode()


def encryption_configured() -> bool:
    """Whether sensitive values can be encrypted: at least one key is set and every key is valid."""
    try:
        _fernet()
    except EncryptionNotConfigured:
        return False
    return True


def encrypt(value: str) -> str:
    """The value encrypted with the first key, as a url-safe text token. Raises EncryptionNotConfigured."""
    return _fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The value a token from `encrypt` holds. Raises EncryptionNotConfigured or UndecryptableValue."""
    fernet = _fernet()
    try:
        return fernet.decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError):
        raise UndecryptableValue(UNDECRYPTABLE_MESSAGE) from None


def rotate(token: str) -> str:
    """The same value re-encrypted with the first key, for after a new key was put first."""
    fernet = _fernet()
    try:
        return fernet.rotate(token.encode()).decode()
    except (InvalidToken, UnicodeError):
        raise UndecryptableValue(UNDECRYPTABLE_MESSAGE) from None


def _fernet() -> MultiFernet:
    return _fernet_for(os.environ.get(KEY_ENVIRONMENT_VARIABLE, ""))


@functools.lru_cache(maxsize=4)
def _fernet_for(setting: str) -> MultiFernet:
    keys = [key for key in _KEY_SEPARATOR_RE.split(setting) if key]
    if not keys:
        raise EncryptionNotConfigured(NOT_CONFIGURED_MESSAGE)
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError:
            # `from None`: the underlying error could quote part of the key.
            raise EncryptionNotConfigured(INVALID_KEY_MESSAGE.format(position=position, count=len(keys))) from None
    return MultiFernet(fernets)
