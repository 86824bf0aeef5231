"""Runs of steps on the clusters: a step's run (confirm, start, watch, cancel, download its output) and a batch of
runs for a cluster. Every route answers 404 while execution is off (ROLLCALL_EXECUTION)."""

from django.urls import path

from runs import views, views_batch

app_name = "runs"

urlpatterns = [
    path("steps/<int:pk>/runs/", views.step_runs, name="step_runs"),
    path("steps/<int:pk>/run/", views.run_confirm, name="run_confirm"),
    path("steps/<int:pk>/run/start/", views.run_start, name="run_start"),
    path("runs/<int:pk>/", views.run_detail, name="run_detail"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run_cancel"),
    path("runs/<int:pk>/output/", views.run_output, name="run_output"),
    path("template-steps/<int:pk>/clusters/<int:cluster_pk>/run/", views_batch.batch_start, name="batch_start"),
    path("runs/batches/<int:pk>/", views_batch.batch_detail, name="batch_detail"),
    path("runs/batches/<int:pk>/cancel/", views_batch.batch_cancel, name="batch_cancel"),
]
