"""What lists of steps write for each step: `{% step_actions step %}`, a step's action bar (the customer checklist,
the cross-customer view), and `{% status_row step %}`, a customer's row in the cross-customer view.

Written in Python rather than as templates: the cross-customer view writes a row per customer (400 on a cluster's
page at 2,000 customers), and the template engine spent most of that page's time resolving the same two dozen
variables a row. What the user may do is read once per page, not once per row. Every value written is an integer,
one of the status choices or escaped.
"""

from html import escape

from django import template
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe

from releases.choices import ReleaseStatus
from steps.choices import StepStatus
from steps.templatetags.step_status import status_label
from steps.templatetags.step_urls import step_url

register = template.Library()

# The permissions a bar checks, read once per rendered page (render_context lives as long as one template render).
PERMISSIONS = ("steps.execute_customerstep", "steps.change_customerstep", "steps.delete_customerstep")


def _allowed(context) -> dict[str, bool]:
    allowed = context.render_context.get("step_actions_allowed")
    if allowed is None:
        perms = context.get("perms")
        allowed = {name: bool(perms) and name in perms for name in PERMISSIONS}
        context.render_context["step_actions_allowed"] = allowed
    return allowed


def _whose(step) -> tuple[str, str]:
    """("Run migration", "customer-a (prod-us/ns-a)"), escaped: the step and whose it is, for a confirmation."""
    customer = step.customer
    return escape(step.name), escape(f"{customer.name} ({customer.cluster.name}/{customer.namespace})")


def _post(name: str, pk: int, label: str, css: str, confirm: str = "", disabled: str = "") -> str:
    """A button that posts the action at once; `confirm` (already escaped) asks first."""
    url = step_url(name, pk)
    confirm = f' hx-confirm="{confirm}"' if confirm else ""
    return (
        f'<button type="submit" class="{css}" formaction="{url}" hx-post="{url}" hx-disabled-elt="this"'
        f"{disabled}{confirm}>{label}</button>"
    )


def _open(pk: int, label: str, panel: str = "") -> str:
    url = step_url("steps:step_detail", pk) + (f"?open={panel}" if panel else "")
    return f'<a class="button small" href="{url}" hx-get="{url}">{label}</a>'


@register.simple_tag(takes_context=True)
def status_row(context, step) -> str:
    """A customer's row in the cross-customer view (FV-005): the bulk checkbox while the release is active, the
    customer, its cluster and namespace, the status, the markers, when and by whom it was carried out, why it was
    skipped, what variables it misses, and its action bar. With `status_row_oob` in the context, swapped out of band;
    with `changed_by`, marked as a live update brought it."""
    customer = step.customer
    pk, version = int(step.pk), int(step.version)
    name, where = escape(customer.name), escape(f"{customer.cluster.name}/{customer.namespace}")
    oob = ' hx-swap-oob="true"' if context.get("status_row_oob") else ""
    head = []
    if _allowed(context)["steps.execute_customerstep"] and step.release.status == ReleaseStatus.ACTIVE:
        head.append(
            f'<input type="checkbox" class="bulk-select" name="steps" value="{pk}:{version}" form="bulk-form"'
            f' data-bulk-cluster="{int(customer.cluster_id)}" aria-label="Select {name} ({where})">'
        )
    head.append(f'<span class="name">{name}</span>')
    if context.get("changed_by"):
        head.append(render_to_string("steps/_live_mark.html", {"step": step, "changed_by": context["changed_by"]}))
    head.append(f'<span class="mono muted">{where}</span>')
    label = escape(status_label(step.status))
    head.append(f'<span class="status status-{escape(step.status)}">{label}</span>')
    if step.is_overridden:
        head.append('<span class="marker marker-overridden">⚠️ OVERRIDDEN</span>')
    if step.is_detached:
        head.append('<span class="marker marker-detached">DETACHED</span>')
    # One element a line, as the template wrote them: the whitespace between them is the space a reader sees.
    lines = [f'<li id="status-row-{pk}" data-version="{version}"{oob}>', '<div class="step-head">', *head, "</div>"]
    if step.executed_at:
        when = dateformat.format(timezone.localtime(step.executed_at), "Y-m-d H:i")
        by = f" by {escape(step.executed_by.get_username())}" if step.executed_by else ""
        lines.append(f'<div class="muted">{escape(step.get_status_display())}: {when}{by}</div>')
    if step.status == StepStatus.SKIPPED:
        lines.append(f'<div class="muted">Reason: {escape(step.skip_reason)}</div>')
    if step.actions.missing:
        lines.append(f'<div class="unresolved">⛔ Unresolved: {escape(step.actions.unresolved)}</div>')
    lines.append(step_actions(context, step))
    lines.append("</li>")
    return mark_safe("\n".join(lines))


@register.simple_tag(takes_context=True)
def step_actions(context, step, content_actions: bool = False) -> str:
    """The action bar of `step` (which carries `.actions`): a form whose buttons post or open the side panel."""
    allowed = _allowed(context)
    actions = step.actions
    pk = int(step.pk)
    csrf = str(context.get("csrf_token") or "")
    parts = [
        '<form method="post" class="step-actions" hx-target="#side-panel" hx-swap="innerHTML">',
        # As {% csrf_token %} writes it (nothing where the view provided no token).
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{escape(csrf)}">'
        if csrf and csrf != "NOTPROVIDED"
        else "",
        f'<input type="hidden" name="next" value="{escape(str(context.get("next_url", "")))}">',
        f'<input type="hidden" name="version" value="{int(step.version)}">',
        _open(pk, "View Content"),
    ]
    if allowed["steps.execute_customerstep"]:
        if actions.mark_done:
            disabled = f' disabled title="Unresolved: {escape(actions.unresolved)}"' if actions.blocked else ""
            parts.append(_post("steps:step_done", pk, "Mark as Done", "small primary", disabled=disabled))
        if actions.skip:
            parts.append(_open(pk, "Skip", "skip"))
        if actions.revert:
            confirm = "Revert {} for {}? It will need doing again.".format(*_whose(step))
            parts.append(_post("steps:step_revert", pk, "Revert", "small", confirm))
        if actions.reopen:
            parts.append(_post("steps:step_reopen", pk, "Undo Skip", "small"))
    if content_actions:
        if allowed["steps.change_customerstep"]:
            if actions.override:
                parts.append(_open(pk, "Override Content", "override"))
            if actions.reset:
                confirm = "Reset {} for {} to the template's content?".format(*_whose(step))
                parts.append(_post("steps:step_reset", pk, "Reset to Template", "small", confirm))
            if actions.edit:
                parts.append(_open(pk, "Edit", "edit"))
        if actions.delete and allowed["steps.delete_customerstep"]:
            confirm = "Delete the custom step {} of {}?".format(*_whose(step))
            parts.append(_post("steps:step_remove", pk, "Delete", "small danger", confirm))
    parts.append("</form>")
    return mark_safe("\n  ".join(parts))
