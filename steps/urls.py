"""The step screens, included at the site root: the matrix and a customer's steps under releases/, one template
step across customers under template-steps/, one customer step and its actions under steps/."""

from django.urls import path

from steps.views import actions, bulk, customer, live, matrix, panel, template_step

app_name = "steps"

urlpatterns = [
    path("releases/<int:release_pk>/matrix/", matrix.matrix, name="matrix"),
    path("releases/<int:release_pk>/customers/<int:customer_pk>/", customer.customer_steps, name="customer_steps"),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/mark-all/<slug:category>/",
        customer.mark_all,
        name="mark_all",
    ),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/add-step/",
        customer.custom_step_add,
        name="custom_step_add",
    ),
    path("releases/<int:release_pk>/bulk/", bulk.bulk_action, name="bulk_action"),
    path("template-steps/<int:pk>/", template_step.template_step_status, name="template_step_status"),
    # What changed in a release since a screen's cursor: the step screens poll it (live updates, steps/live.py).
    path("releases/<int:release_pk>/changes/", live.live_changes, name="live_changes"),
    path("steps/<int:pk>/", panel.step_detail, name="step_detail"),
    path("steps/<int:pk>/download/", panel.step_download, name="step_download"),
    # Every action on a step: one view and one route shape, steps/<pk>/<action>/, for each action of the table
    # STEP_ACTIONS, named step_<action> (steps:step_done, steps:step_skip, …) so that each can be reversed.
    *(
        path(f"steps/<int:pk>/{action}/", actions.step_action, {"action": action}, name=f"step_{action}")
        for action in actions.STEP_ACTIONS
    ),
]
