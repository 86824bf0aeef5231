"""Every API error as JSON: `{"detail": message, "errors": {field: [messages]}}`.

The services' refusals map to HTTP as a pipeline needs them: a refusal naming a field (bad input) is 400, one about
the state of things (a stale version, a transition the step or release can't make, an archived release) is 409 with
the current state where there is one, a role that may not act 403, an unknown id or name 404, no valid token 401.
"""

from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import status
from rest_framework.exceptions import APIException, NotFound, ValidationError
from rest_framework.views import exception_handler

from core.errors import DomainError

NON_FIELD = "non_field_errors"
NOT_FOUND = "Not found: {what}."
TOO_LARGE = "The request is too large."


class PayloadTooLarge(APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = TOO_LARGE


class Conflict(APIException):
    """409: refused because of the state of things; `state` is that state (e.g. the step as it is now)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "Refused in the current state."

    def __init__(self, detail: str, *, state: dict | None = None):
        super().__init__(detail)
        self.state = state


def _flatten(data, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as {"field" or "field.sub" or "field.0": [messages]}."""
    if isinstance(data, dict):
        errors: dict[str, list[str]] = {}
        for key, value in data.items():
            name = NON_FIELD if key in (NON_FIELD, NON_FIELD_ERRORS) and not prefix else f"{prefix}{key}"
            for field, messages in _flatten(value, f"{name}.").items():
                errors.setdefault(field, []).extend(messages)
        return errors
    if isinstance(data, list):
        if all(not isinstance(item, dict | list) for item in data):
            return {prefix.rstrip(".") or NON_FIELD: [str(item) for item in data]}
        errors = {}
        for index, item in enumerate(data):
            for field, messages in _flatten(item, f"{prefix}{index}.").items():
                errors.setdefault(field, []).extend(messages)
        return errors
    return {prefix.rstrip(".") or NON_FIELD: [str(data)]}


def _message(errors: dict[str, list[str]]) -> str:
    field, messages = next(iter(errors.items()))
    return messages[0] if field == NON_FIELD else f"{field}: {messages[0]}"


def domain_error_as_api(error: DomainError) -> APIException:
    """A service's refusal: 400 with the field when it names one, else 409."""
    if error.field or error.errors:
        return ValidationError(
            {
                NON_FIELD if field == NON_FIELD_ERRORS else field: list(messages)
                for field, messages in error.errors.items()
            }
        )
    return Conflict(error.message)


def api_exception_handler(exc, context):
    """DRF's handler, for the services' errors too, answering the one JSON shape."""
    if isinstance(exc, DomainError):
        exc = domain_error_as_api(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    elif isinstance(exc, ObjectDoesNotExist):
        exc = NotFound(NOT_FOUND.format(what=str(exc).split(" matching")[0]))
    elif isinstance(exc, DjangoValidationError):
        exc = ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {NON_FIELD: exc.messages})
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ValidationError):
        errors = _flatten(response.data) or {NON_FIELD: ["Invalid input."]}
        response.data = {"detail": _message(errors), "errors": errors}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"detail": str(detail), "errors": {}}
    if isinstance(exc, Conflict) and exc.state is not None:
        response.data["current"] = exc.state
    return response
