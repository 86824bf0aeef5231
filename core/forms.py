"""Form pieces every app shares: refusals shown on the form, script text kept byte for byte, JSON metadata."""

import json

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS
from django.forms.fields import InvalidJSONInput

from core.errors import DomainError


def add_domain_error(form: forms.Form, error: DomainError) -> None:
    """Put the refusal's messages next to the fields they name, or at the top of the form."""
    errors = error.errors or {NON_FIELD_ERRORS: [error.message]}
    for field, messages in errors.items():
        target = field if field in form.fields else None
        for message in messages:
            form.add_error(target, message)


class MultilineTextField(forms.CharField):
    """Text from a textarea, kept as written: no stripping, and the CRLF line endings a browser sends read as LF.

    A form sent back unchanged then changes nothing: a script's content survives a round trip byte for byte, so
    editing only the notes of a done step does not count as changing its locked content.
    """

    def __init__(self, *, strip=False, **kwargs):
        super().__init__(strip=strip, **kwargs)

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")

    def has_changed(self, initial, data):
        return super().has_changed((initial or "").replace("\r\n", "\n"), data)


class MetadataField(forms.JSONField):
    """Metadata typed as JSON; an empty box means no metadata ({}), never null."""

    def to_python(self, value):
        try:
            value = super().to_python(value)
        except RecursionError as error:  # JSON nested deeper than Python's parser goes
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid") from error
        return {} if value is None else value

    def bound_data(self, data, initial):
        try:
            return super().bound_data(data, initial)
        except RecursionError:
            return InvalidJSONInput(data)

    def prepare_value(self, value):
        text = super().prepare_value(value)
        try:
            text.encode()
        except UnicodeEncodeError:  # a refused lone surrogate: shown back escaped, as it was typed
            text = json.dumps(value, ensure_ascii=True, cls=self.encoder)
        return text


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    """A multiple choice of objects by id that refuses ids no database column can hold before querying (SQLite
    raises OverflowError on integers of 2**63 and more)."""

    def _check_values(self, value):
        for pk in value:
            text = str(pk)
            if not (text.isascii() and text.isdigit()) or int(text) >= 2**63:
                raise forms.ValidationError(
                    self.error_messages["invalid_pk_value"], code="invalid_pk_value", params={"pk": pk}
                )
        return super()._check_values(value)
