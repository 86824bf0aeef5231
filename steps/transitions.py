"""The status transitions of a customer step: one table that the services enforce and the screens read."""

from steps.choices import StepStatus

# status → {action: new status}. Nothing else is allowed.
STEP_TRANSITIONS: dict[str, dict[str, str]] = {
    StepStatus.PENDING: {"mark_done": StepStatus.DONE, "skip": StepStatus.SKIPPED},
    StepStatus.DONE: {"revert": StepStatus.REVERTED},
    StepStatus.SKIPPED: {"reopen": StepStatus.PENDING},
    StepStatus.REVERTED: {"mark_done": StepStatus.DONE, "skip": StepStatus.SKIPPED},
}
ACTION_VERBS = {"mark_done": "mark as done", "skip": "skip", "revert": "revert", "reopen": "undo the skip of"}
# A step still to be carried out: pending, or reverted (done once, then undone).
OUTSTANDING = (StepStatus.PENDING, StepStatus.REVERTED)
