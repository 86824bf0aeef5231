"""A customer step as its customer runs it: the content with the variables substituted (`#{name}`, core.variables),
a first line that names the target, and, for bash in a release that asks for it, a kubectl context guard.

What Copy and Download give (and what Mark as Done keeps the SHA-256 of) is `step_text`: values in clear. What a
screen shows is `displayed_content`: sensitive values masked. A step that uses a variable with no value for its
customer is unresolved; an outstanding one is blocked: it can't be copied, downloaded or marked done until the value
is set (skipping it still works).
"""

import hashlib
import re
import shlex
from dataclasses import dataclass

from accounts.permissions import EXECUTE_STEPS, require
from core.errors import DomainError
from core.variables import VARIABLE_START, Rendered, TemplateSyntaxError, render
from steps.choices import StepType
from steps.transitions import OUTSTANDING
from variables.selectors import displayed_values, resolved_values, sensitive_names

COMMENT_PREFIXES = {StepType.BASH: "# ", StepType.SQL: "-- ", StepType.TEXT: ""}
# Characters that would end a one-line comment or hide text: line breaks (\u2028 and \u2029 too) and controls.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]+")
# The variable that names a customer's kubectl context for the guard; without one, the cluster's name.
CONTEXT_VARIABLE = "kube_context"
UNRESOLVED = (
    "{step} for {customer} can't be {verb}: no value for {names}. Set it on the customer, its cluster or the release."
)
CONTENT_INVALID = "The content of {step} can't be rendered: {error}"


def missing_names(step, defined: frozenset[str]) -> tuple[str, ...]:
    """The variables `step` uses that have no value for its customer, given the names defined for it."""
    return tuple(sorted(set(step.variables) - defined))


def blocked_names(step, defined: frozenset[str]) -> tuple[str, ...]:
    """The missing variables of a step still to be carried out (pending or reverted): what blocks it."""
    return missing_names(step, defined) if step.status in OUTSTANDING else ()


def header(step) -> str:
    """The first line: `# Rollcall: v2.5.0 · Run migration · customer-a · prod-us/cust-a-prod` in the step's comment
    syntax (a plain line for text), so a pasted or downloaded script says where it belongs. Line breaks and other
    control characters in the names become spaces: nothing in a name can end the comment."""
    customer = step.customer
    parts = (step.release.name, step.name, customer.name, f"{customer.cluster.name}/{customer.namespace}")
    line = " · ".join(CONTROL_CHARACTERS.sub(" ", part) for part in parts)
    return f"{COMMENT_PREFIXES[step.type]}Rollcall: {line}\n"


def _guarded(step, body: str, values: dict[str, str]) -> str:
    """The script inside a check of kubectl's current context: pasted into the wrong terminal or run there, nothing
    of it runs, and it ends non-zero. One compound command, so a shell reads all of it before running any."""
    context = values.get(CONTEXT_VARIABLE) or step.customer.cluster.name
    quoted = shlex.quote(context)
    return (
        f'if [ "$(kubectl config current-context)" = {quoted} ]; then\n'
        f"{body}"
        "else\n"
        "  printf 'Rollcall: stopped: kubectl context is %s, not %s.\\n' "
        f'"$(kubectl config current-context)" {quoted} >&2\n'
        "  false\n"
        "fi\n"
    )


def _render(step, values: dict[str, str]) -> Rendered:
    try:
        return render(step.content, values)
    except TemplateSyntaxError as error:
        raise DomainError(CONTENT_INVALID.format(step=step.name, error=error.message)) from None


@dataclass(frozen=True)
class StepText:
    """What Copy and Download give: the header, the rendered content (in the guard when asked), values in clear."""

    text: str
    missing: tuple[str, ...]

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()


def step_text(step, values: dict[str, str] | None = None) -> StepText:
    """The step's text for its customer, with sensitive values decrypted. Needs step.release and step.customer
    (with its cluster). One query for the values, unless the customer's `values` (resolved_values) are given or the
    step needs none (no variable in its content, no kubectl context guard around it)."""
    guarded = step.type == StepType.BASH and step.release.context_guard
    if values is None:
        values = resolved_values(step.customer, step.release) if guarded or VARIABLE_START in step.content else {}
    rendered = _render(step, values)
    body = rendered.text if rendered.text.endswith("\n") or not rendered.text else rendered.text + "\n"
    if guarded:
        body = _guarded(step, body, values)
    return StepText(text=header(step) + body, missing=rendered.missing)


def refuse_unresolved(step, missing: tuple[str, ...], *, verb: str) -> None:
    """Refuse to copy, download or mark done a step whose text can't be rendered for its customer."""
    if missing:
        raise DomainError(
            UNRESOLVED.format(step=step.name, customer=step.customer.name, verb=verb, names=", ".join(missing))
        )


def displayed(content: str, *, customer, release) -> Rendered | None:
    """Content as a screen shows it for `customer` in `release`: sensitive values masked, nothing decrypted; None
    when the content's `#{` syntax is broken (the raw content is shown instead). One query, none for content that
    uses no variable (most steps)."""
    try:
        return render(content, displayed_values(customer, release) if VARIABLE_START in content else {})
    except TemplateSyntaxError:
        return None


def displayed_content(step) -> Rendered | None:
    """A customer step's content as a screen shows it for its customer (see `displayed`)."""
    return displayed(step.content, customer=step.customer, release=step.release)


def downloadable_text(step, user) -> StepText:
    """What Copy and Download give `user`: the step's text, refused while a variable has no value. A value marked
    sensitive goes only to those who may carry the step out (PermissionDenied otherwise)."""
    if set(step.variables) & sensitive_names(step.customer, step.release):
        require(user, EXECUTE_STEPS)
    text = step_text(step)
    refuse_unresolved(step, text.missing, verb="copied or downloaded")
    return text
