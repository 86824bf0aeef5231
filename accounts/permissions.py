"""Who may do what: the three roles (Django groups, created by migration 0001_roles) and the permission every
service asks for before it changes anything.

Viewer reads everything and changes nothing; Operator carries out steps (mark done, skip, revert, undo a skip,
notes, Mark All); Release manager also changes releases, template steps, customer steps (override, reset, custom
steps), clusters, customers and variables, and runs steps on the clusters ("Run steps", which an administrator
may also give another role or user). Superusers may do everything.
"""

from django.core.exceptions import PermissionDenied

VIEWER = "Viewer"
OPERATOR = "Operator"
RELEASE_MANAGER = "Release manager"

EXECUTE_STEPS = "steps.execute_customerstep"
RUN_STEPS = "runs.run_steps"
ADD_CLUSTER = "clusters.add_cluster"
CHANGE_CLUSTER = "clusters.change_cluster"
DELETE_CLUSTER = "clusters.delete_cluster"
ADD_CUSTOMER = "customers.add_customer"
CHANGE_CUSTOMER = "customers.change_customer"
DELETE_CUSTOMER = "customers.delete_customer"
ADD_RELEASE = "releases.add_release"
CHANGE_RELEASE = "releases.change_release"
ADD_ENROLLMENT = "releases.add_enrollment"
ADD_TEMPLATE_STEP = "steps.add_steptemplate"
CHANGE_TEMPLATE_STEP = "steps.change_steptemplate"
DELETE_TEMPLATE_STEP = "steps.delete_steptemplate"
ADD_CUSTOMER_STEP = "steps.add_customerstep"
CHANGE_CUSTOMER_STEP = "steps.change_customerstep"
DELETE_CUSTOMER_STEP = "steps.delete_customerstep"
ADD_VARIABLE = "variables.add_variable"
CHANGE_VARIABLE = "variables.change_variable"
DELETE_VARIABLE = "variables.delete_variable"

VIEWER_PERMISSIONS = (
    "clusters.view_cluster",
    "customers.view_customer",
    "releases.view_release",
    "releases.view_enrollment",
    "steps.view_steptemplate",
    "steps.view_customerstep",
    "history.view_event",
    "variables.view_variable",
)
OPERATOR_PERMISSIONS = (*VIEWER_PERMISSIONS, EXECUTE_STEPS)
RELEASE_MANAGER_PERMISSIONS = (
    *OPERATOR_PERMISSIONS,
    ADD_CLUSTER,
    CHANGE_CLUSTER,
    DELETE_CLUSTER,
    ADD_CUSTOMER,
    CHANGE_CUSTOMER,
    DELETE_CUSTOMER,
    ADD_RELEASE,
    CHANGE_RELEASE,
    ADD_TEMPLATE_STEP,
    CHANGE_TEMPLATE_STEP,
    DELETE_TEMPLATE_STEP,
    ADD_CUSTOMER_STEP,
    CHANGE_CUSTOMER_STEP,
    DELETE_CUSTOMER_STEP,
    ADD_ENROLLMENT,
    ADD_VARIABLE,
    CHANGE_VARIABLE,
    DELETE_VARIABLE,
    RUN_STEPS,
)
# Each role's group and its permissions ("app_label.codename"), weakest role first.
ROLE_PERMISSIONS = {
    VIEWER: VIEWER_PERMISSIONS,
    OPERATOR: OPERATOR_PERMISSIONS,
    RELEASE_MANAGER: RELEASE_MANAGER_PERMISSIONS,
}
# The roles as `manage.py adduser --role` spells them.
ROLE_OPTIONS = {"viewer": VIEWER, "operator": OPERATOR, "release-manager": RELEASE_MANAGER}

PERMISSION_REFUSED = "You ({user}) may not {what}: your role does not allow it."
# What each permission allows, in the words of the refusal.
ALLOWED_ACTIONS = {
    EXECUTE_STEPS: "carry out steps (mark done, skip, revert, notes)",
    ADD_CLUSTER: "add clusters",
    CHANGE_CLUSTER: "change clusters",
    DELETE_CLUSTER: "delete or restore clusters",
    ADD_CUSTOMER: "add customers",
    CHANGE_CUSTOMER: "change customers",
    DELETE_CUSTOMER: "archive or restore customers",
    ADD_RELEASE: "create or clone releases",
    CHANGE_RELEASE: "change, activate or archive releases or add customers to them",
    ADD_ENROLLMENT: "activate releases or add customers to them",
    ADD_TEMPLATE_STEP: "add template steps",
    CHANGE_TEMPLATE_STEP: "change or reorder template steps",
    DELETE_TEMPLATE_STEP: "delete template steps",
    ADD_CUSTOMER_STEP: "add custom steps",
    CHANGE_CUSTOMER_STEP: "override, reset or edit customer steps",
    DELETE_CUSTOMER_STEP: "remove custom steps",
    ADD_VARIABLE: "add variables",
    CHANGE_VARIABLE: "change variables",
    DELETE_VARIABLE: "delete variables",
    RUN_STEPS: "run steps on the clusters",
}


def require(user, perm: str) -> None:
    """Refuse (PermissionDenied) unless `user` holds `perm`. `user` None is the system itself (a command)."""
    if user is not None and not user.has_perm(perm):
        raise PermissionDenied(PERMISSION_REFUSED.format(user=user, what=ALLOWED_ACTIONS[perm]))
