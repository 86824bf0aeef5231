"""Sensitive values encrypted at rest with the keys in ROLLCALL_ENCRYPTION_KEY: round trip, rotation, refusals."""

import pytest
from cryptography.fernet import Fernet

from core.crypto import (
    INVALID_KEY_MESSAGE,
    KEY_ENVIRONMENT_VARIABLE,
    NOT_CONFIGURED_MESSAGE,
    UNDECRYPTABLE_MESSAGE,
    EncryptionNotConfigured,
    UndecryptableValue,
    decrypt,
    encrypt,
    encryption_configured,
    generate_key,
    rotate,
)

OLD_KEY = generate_key()
NEW_KEY = generate_key()


@pytest.fixture
def key(monkeypatch):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, NEW_KEY)
    return NEW_KEY


def test_generate_key_makes_a_fernet_key():
    assert Fernet(generate_key())
    assert generate_key() != generate_key()


@pytest.mark.parametrize("value", ["s3cret!", "", "päss wörd ✓", "line1\nline2", "x" * 10_000])
def test_round_trip(key, value):
    assert decrypt(encrypt(value)) == value


def test_token_is_text_that_never_contains_the_plaintext(key):
    token = encrypt("hunter2-password")

    assert isinstance(token, str)
    assert "hunter2" not in token
    assert token != encrypt("hunter2-password")


def test_configured_with_a_valid_key(key):
    assert encryption_configured()


@pytest.mark.parametrize("setting", [None, "", "  ", " , ,\n"])
def test_not_configured_says_how_to_set_a_key(monkeypatch, setting):
    if setting is None:
        monkeypatch.delenv(KEY_ENVIRONMENT_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, setting)

    assert not encryption_configured()
    for function in (encrypt, decrypt, rotate):
        with pytest.raises(EncryptionNotConfigured) as caught:
            function("anything")
        assert str(caught.value) == NOT_CONFIGURED_MESSAGE
    assert "ROLLCALL_ENCRYPTION_KEY" in NOT_CONFIGURED_MESSAGE
    assert "Fernet.generate_key()" in NOT_CONFIGURED_MESSAGE


@pytest.mark.parametrize(
    ("setting", "position", "count"),
    [
        pytest.param("not-a-valid-key-TOPSECRET", 1, 1, id="not-base64"),
        pytest.param(f"{NEW_KEY},c2hvcnQtVE9QU0VDUkVU", 2, 2, id="second-too-short"),  # valid base64, not 32 bytes
        pytest.param(f"{NEW_KEY} TOPSECRETé", 2, 2, id="second-not-ascii"),
    ],
)
def test_invalid_key_is_refused_without_showing_the_key(monkeypatch, setting, position, count):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, setting)

    assert not encryption_configured()
    with pytest.raises(EncryptionNotConfigured) as caught:
        encrypt("value")

    message = str(caught.value)
    assert message == INVALID_KEY_MESSAGE.format(position=position, count=count)
    assert "invalid key" in message
    assert "TOPSECRET" not in message
    assert "c2hvcnQtVE9QU0VDUkVU" not in message
    assert NEW_KEY not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


@pytest.mark.parametrize("separator", [",", ", ", " ", "\n", " ,\n "])
def test_keys_are_separated_by_commas_or_whitespace(monkeypatch, separator):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, OLD_KEY)
    token = encrypt("value")
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, f" {NEW_KEY}{separator}{OLD_KEY}\n")

    assert decrypt(token) == "value"


def test_first_key_encrypts(monkeypatch):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, f"{NEW_KEY},{OLD_KEY}")

    token = encrypt("value")

    assert Fernet(NEW_KEY).decrypt(token.encode()) == b"value"


def test_rotation_old_key_still_decrypts_and_rotate_moves_to_the_new_key(monkeypatch):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, OLD_KEY)
    old_token = encrypt("value")

    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, f"{NEW_KEY},{OLD_KEY}")
    assert decrypt(old_token) == "value"
    new_token = rotate(old_token)

    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, NEW_KEY)
    assert decrypt(new_token) == "value"
    with pytest.raises(UndecryptableValue):
        decrypt(old_token)


def test_wrong_key_is_undecryptable(monkeypatch):
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, OLD_KEY)
    token = encrypt("value")
    monkeypatch.setenv(KEY_ENVIRONMENT_VARIABLE, NEW_KEY)

    for function in (decrypt, rotate):
        with pytest.raises(UndecryptableValue) as caught:
            function(token)
        assert str(caught.value) == UNDECRYPTABLE_MESSAGE
        assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize("token", ["", "garbage", "gAAAAA", "päss", "value"])
def test_damaged_token_is_undecryptable(key, token):
    with pytest.raises(UndecryptableValue):
        decrypt(token)


def test_tampered_token_is_undecryptable(key):
    token = encrypt("value")
    tampered = token[:-5] + ("A" if token[-5] != "A" else "B") + token[-4:]

    with pytest.raises(UndecryptableValue):
        decrypt(tampered)
