"""Fixtures for the variables' tests."""

import pytest

from core import crypto


@pytest.fixture
def encryption_key(monkeypatch) -> str:
    """A fresh ROLLCALL_ENCRYPTION_KEY for the test."""
    key = crypto.generate_key()
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, key)
    return key


@pytest.fixture
def no_encryption_key(monkeypatch) -> None:
    """No ROLLCALL_ENCRYPTION_KEY, whatever the environment running the tests holds."""
    monkeypatch.delenv(crypto.KEY_ENVIRONMENT_VARIABLE, raising=False)
