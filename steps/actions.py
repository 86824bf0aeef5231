"""Every action on one customer step, as one table (STYLE: a pattern repeated becomes a table): the service it calls,
its form and what it did. The screens (steps/views/actions.py, one route `steps/<id>/<action>/`) and the API
(api/views/steps.py, `POST /api/steps/<id>/<action>/`) both run it; neither restates a rule."""

from collections.abc import Callable
from dataclasses import dataclass

from django import forms

from steps.forms import CustomStepEditForm, NotesForm, OverrideForm, SkipForm
from steps.services import (
    customer_step_edit_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_reopen,
    customer_step_reset_to_template,
    customer_step_revert,
    customer_step_skip,
    customer_step_update_notes,
)


@dataclass(frozen=True)
class StepAction:
    """One action: the service it calls (with the form's cleaned data as keyword arguments), what it did (for the
    message), its form and the panel's name for it, and whether it can change progress."""

    service: Callable
    done: str
    form: type[forms.Form] | None = None
    form_name: str | None = None
    open_section: str | None = None
    progress_changed: bool = True


STEP_ACTIONS = {
    "done": StepAction(customer_step_mark_done, "marked as done", NotesForm, "notes_form"),
    "skip": StepAction(customer_step_skip, "skipped", SkipForm, "skip_form", "skip"),
    "revert": StepAction(customer_step_revert, "reverted", NotesForm, "notes_form"),
    "reopen": StepAction(customer_step_reopen, "skip undone"),
    "notes": StepAction(customer_step_update_notes, "notes saved", NotesForm, "notes_form", progress_changed=False),
    "override": StepAction(
        customer_step_override, "content overridden", OverrideForm, "override_form", "override", progress_changed=False
    ),
    "reset": StepAction(customer_step_reset_to_template, "reset to template", progress_changed=False),
    "edit": StepAction(customer_step_edit_custom, "edited", CustomStepEditForm, "edit_form", "edit", False),
    "remove": StepAction(customer_step_remove_custom, "removed"),
}
