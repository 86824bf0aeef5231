"""What can happen to the things Rollcall tracks."""

from django.db import models


class EventAction(models.TextChoices):
    CLUSTER_CREATED = "cluster.created", "Cluster created"
    CLUSTER_UPDATED = "cluster.updated", "Cluster edited"
    CLUSTER_DELETED = "cluster.deleted", "Cluster deleted"
    CLUSTER_RESTORED = "cluster.restored", "Cluster restored"
    CUSTOMER_CREATED = "customer.created", "Customer created"
    CUSTOMER_UPDATED = "customer.updated", "Customer edited"
    CUSTOMER_MOVED = "customer.moved", "Customer moved to another cluster"
    CUSTOMER_DELETED = "customer.deleted", "Customer archived"
    CUSTOMER_RESTORED = "customer.restored", "Customer restored"
    RELEASE_CREATED = "release.created", "Release created"
    RELEASE_UPDATED = "release.updated", "Release edited"
    RELEASE_ACTIVATED = "release.activated", "Release activated"
    RELEASE_CUSTOMERS_ADDED = "release.customers_added", "Customers added to release"
    RELEASE_CLONED = "release.cloned", "Release cloned"
    RELEASE_ARCHIVED = "release.archived", "Release archived"
    TEMPLATE_STEP_ADDED = "template_step.added", "Template step added"
    TEMPLATE_STEP_UPDATED = "template_step.updated", "Template step edited"
    TEMPLATE_STEP_REORDERED = "template_step.reordered", "Template steps reordered"
    TEMPLATE_STEP_DELETED = "template_step.deleted", "Template step deleted"
    STEP_CREATED = "step.created", "Created from template"
    STEP_UPDATED_FROM_TEMPLATE = "step.updated_from_template", "Updated from template"
    STEP_DETACHED = "step.detached", "Kept after its template step was deleted"
    STEP_REMOVED_WITH_TEMPLATE = "step.removed_with_template", "Removed with its template step"
    STEP_CUSTOM_ADDED = "step.custom_added", "Custom step added"
    STEP_CUSTOM_EDITED = "step.custom_edited", "Custom step edited"
    STEP_CUSTOM_REMOVED = "step.custom_removed", "Custom step removed"
    STEP_OVERRIDDEN = "step.overridden", "Content overridden"
    STEP_RESET = "step.reset", "Reset to template"
    STEP_DONE = "step.done", "Marked as Done"
    STEP_SKIPPED = "step.skipped", "Skipped"
    STEP_REVERTED = "step.reverted", "Reverted"
    STEP_REOPENED = "step.reopened", "Skip undone"
    STEP_NOTES_CHANGED = "step.notes_changed", "Notes changed"
    VARIABLE_ADDED = "variable.added", "Variable added"
    VARIABLE_CHANGED = "variable.changed", "Variable changed"
    VARIABLE_DELETED = "variable.deleted", "Variable deleted"
    API_TOKEN_CREATED = "api_token.created", "API token created"
    API_TOKEN_REVOKED = "api_token.revoked", "API token revoked"
    WEBHOOK_CREATED = "webhook.created", "Webhook subscribed"
    WEBHOOK_UPDATED = "webhook.updated", "Webhook edited"
    WEBHOOK_ACTIVATED = "webhook.activated", "Webhook activated"
    WEBHOOK_DEACTIVATED = "webhook.deactivated", "Webhook deactivated"
    WEBHOOK_REDELIVERED = "webhook.redelivered", "Webhook delivery sent again"
    RUN_STARTED = "run.started", "Run started"
    RUN_FINISHED = "run.finished", "Run finished"
    RUN_CANCELLED = "run.cancelled", "Run cancelled"
    RUN_BATCH_STARTED = "run.batch_started", "Run for a cluster started"
    LOGIN = "auth.login", "Signed in"
    LOGIN_FAILED = "auth.login_failed", "Sign-in failed"
    LOCKED_OUT = "auth.locked_out", "Locked out"
    UNLOCKED = "auth.unlocked", "Unlocked"
    LOGOUT = "auth.logout", "Signed out"
    GROUPS_CHANGED = "auth.groups_changed", "Role or groups changed"
    USER_ACTIVATED = "auth.user_activated", "User activated"
    USER_DEACTIVATED = "auth.user_deactivated", "User deactivated"
    SESSIONS_ENDED = "auth.sessions_ended", "Other sessions logged out"


# Per-step events that follow from a change already recorded once (activation, customers added, a template step
# added, edited or deleted in an active release): the record keeps every one, recent activity shows only the change.
FOLLOW_ON_ACTIONS = (
    EventAction.STEP_CREATED,
    EventAction.STEP_UPDATED_FROM_TEMPLATE,
    EventAction.STEP_DETACHED,
    EventAction.STEP_REMOVED_WITH_TEMPLATE,
)

# Who signed in, failed, was locked out or unlocked, signed out (or logged out their other sessions), changed role or
# was (de)activated: the audit log's, not the dashboard's recent activity of the releases (every sign-in would push
# the changes out of it).
AUTH_ACTIONS = (
    EventAction.LOGIN,
    EventAction.LOGIN_FAILED,
    EventAction.LOCKED_OUT,
    EventAction.UNLOCKED,
    EventAction.LOGOUT,
    EventAction.GROUPS_CHANGED,
    EventAction.USER_ACTIVATED,
    EventAction.USER_DEACTIVATED,
    EventAction.SESSIONS_ENDED,
)
# What the dashboard's recent activity leaves out (its partial index, event_recent_change_idx, too).
NOT_RECENT_ACTIVITY = (*FOLLOW_ON_ACTIONS, *AUTH_ACTIONS)
