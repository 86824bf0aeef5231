from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.audit, name="audit"),
    path("export.csv", views.audit_export, name="audit_export"),
]
