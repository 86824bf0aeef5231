from django.urls import path

from history import views

app_name = "history"

urlpatterns = [
    path("", views.audit, name="audit"),
    path("export.csv", views.audit_export, name="audit_export"),
]
