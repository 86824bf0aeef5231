"""`{{ step.status|status_label }}`: a step status as every screen shows it (steps.choices.STATUS_LABELS)."""

from django import template

from steps.choices import STATUS_LABELS

register = template.Library()


@register.filter
def status_label(status: str) -> str:
    """The label of a status ("✅ Done"), or the status itself if it is unknown."""
    return STATUS_LABELS.get(status, status)
