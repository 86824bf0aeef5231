"""The step screens, included at the site root: the matrix and a customer's steps under releases/, one template
step across customers under template-steps/, one customer step and its actions under steps/."""

from django.urls import path

from steps import views

app_name = "steps"

urlpatterns = [
    path("releases/<int:release_pk>/matrix/", views.matrix, name="matrix"),
    path("releases/<int:release_pk>/customers/<int:customer_pk>/", views.customer_steps, name="customer_steps"),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/mark-all/<slug:category>/",
        views.mark_all,
        name="mark_all",
    ),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/add-step/",
        views.custom_step_add,
        name="custom_step_add",
    ),
    path("template-steps/<int:pk>/", views.template_step_status, name="template_step_status"),
    path("steps/<int:pk>/", views.step_detail, name="step_detail"),
    path("steps/<int:pk>/download/", views.step_download, name="step_download"),
    path("steps/<int:pk>/done/", views.step_done, name="step_done"),
    path("steps/<int:pk>/skip/", views.step_skip, name="step_skip"),
    path("steps/<int:pk>/revert/", views.step_revert, name="step_revert"),
    path("steps/<int:pk>/reopen/", views.step_reopen, name="step_reopen"),
    path("steps/<int:pk>/notes/", views.step_notes, name="step_notes"),
    path("steps/<int:pk>/override/", views.step_override, name="step_override"),
    path("steps/<int:pk>/reset/", views.step_reset, name="step_reset"),
    path("steps/<int:pk>/edit/", views.step_edit, name="step_edit"),
    path("steps/<int:pk>/remove/", views.step_remove, name="step_remove"),
]
