"""The one error type every service raises when a business rule refuses an operation."""


class DomainError(Exception):
    """A refusal a person can read: the message says what was refused and why.

    `field` names the input that caused it, when there is one, so a form can show the message next to it;
    `errors` maps every offending field to its messages when validation found several.
    """

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})

    def __str__(self) -> str:
        return self.message


class StepChangedError(DomainError):
    """Someone else changed the step after the person acting last saw it; `step` is its current state."""

    def __init__(self, message: str, *, step):
        super().__init__(message)
        self.step = step
