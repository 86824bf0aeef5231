"""Validators for input shapes shared by several models."""

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


def validate_json_object(value) -> None:
    """Metadata is a JSON object (key → value), never a list or a bare value."""
    if not isinstance(value, dict):
        raise ValidationError('Metadata must be a JSON object, e.g. {"region": "us-east-1"}.')
