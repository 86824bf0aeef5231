"""Every change to steps, one module per sub-domain: the template layer (templates), one customer's content
(content: overrides and custom steps), execution (done, skip, revert, undo a skip, notes, Mark All) and the same
actions on many steps at once (bulk). The rules they share, and the messages of their refusals, are in rules; the
status transitions in steps.transitions.

Callers import the services from here.
"""

from steps.services.bulk import customer_steps_bulk_transition
from steps.services.content import (
    customer_step_add_custom,
    customer_step_edit_custom,
    customer_step_override,
    customer_step_remove_custom,
    customer_step_reset_to_template,
)
from steps.services.execution import (
    customer_step_mark_done,
    customer_step_reopen,
    customer_step_revert,
    customer_step_skip,
    customer_step_update_notes,
    customer_steps_mark_all_done,
)
from steps.services.templates import (
    template_step_add,
    template_step_delete,
    template_step_update,
    template_steps_reorder,
)

__all__ = [
    "customer_step_add_custom",
    "customer_step_edit_custom",
    "customer_step_mark_done",
    "customer_step_override",
    "customer_step_remove_custom",
    "customer_step_reopen",
    "customer_step_reset_to_template",
    "customer_step_revert",
    "customer_step_skip",
    "customer_step_update_notes",
    "customer_steps_bulk_transition",
    "customer_steps_mark_all_done",
    "template_step_add",
    "template_step_delete",
    "template_step_update",
    "template_steps_reorder",
]
