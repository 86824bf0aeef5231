"""`{% run_for_a_cluster_offered template_step as offered %}`: whether one template step across customers offers Run
for a cluster. The views and services check it all again: a page only hides what would be refused."""

from django import template

from accounts.permissions import RUN_STEPS
from releases.choices import ReleaseStatus
from runs import commands, services

register = template.Library()


@register.simple_tag(takes_context=True)
def run_for_a_cluster_offered(context, template_step) -> bool:
    """Execution is on, the step is a bash or SQL step of an active release, and the user may run steps."""
    return (
        services.execution_enabled()
        and not template_step.is_deleted
        and template_step.type in commands.RUNNABLE_TYPES
        and template_step.release.status == ReleaseStatus.ACTIVE
        and context["request"].user.has_perm(RUN_STEPS)
    )
