"""Validators for input shapes shared by several models."""

import math

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator

# A Kubernetes namespace name is an RFC 1123 label: lower-case letters, digits and '-', starting and ending with
# a letter or digit, at most 63 characters.
validate_namespace = RegexValidator(
    r"\A[a-z0-9]([-a-z0-9]*[a-z0-9])?\Z",
    "Enter a valid Kubernetes namespace: lower-case letters, digits and '-', starting and ending with a letter "
    "or digit (RFC 1123 label).",
)

STEP_CONTENT_MAX_CHARS = 256 * 1024
validate_step_content_size = MaxLengthValidator(
    STEP_CONTENT_MAX_CHARS, "Step content is limited to 256 KB (%(limit_value)d characters); this has %(show_value)d."
)


METADATA_MAX_DEPTH = 20


def _storable_text(text: str) -> bool:
    """Text every database stores and gives back: no NUL character, no lone UTF-16 surrogate."""
    return "\x00" not in text and not any("\ud800" <= char <= "\udfff" for char in text)


def _refuse_unstorable(value, depth: int = 0) -> None:
    if depth > METADATA_MAX_DEPTH:
        raise ValidationError(f"Metadata may nest at most {METADATA_MAX_DEPTH} levels deep.")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValidationError("Metadata numbers must be finite (no NaN or Infinity).")
    if isinstance(value, str) and not _storable_text(value):
        raise ValidationError("Metadata text cannot contain NUL characters or lone surrogates.")
    if isinstance(value, dict):
        for key, item in value.items():
            _refuse_unstorable(key, depth + 1)
            _refuse_unstorable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _refuse_unstorable(item, depth + 1)


def validate_json_object(value) -> None:
    """Metadata is a JSON object (key → value), never a list or a bare value, holding only what JSON columns of
    both databases store: finite numbers, text without NUL characters, a sane depth."""
    if not isinstance(value, dict):
        raise ValidationError('Metadata must be a JSON object, e.g. {"region": "us-east-1"}.')
    _refuse_unstorable(value)
