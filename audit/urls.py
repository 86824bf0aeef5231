from django.urls import path

from audit import evidence_views, views

app_name = "audit"

urlpatterns = [
    path("", views.audit, name="audit"),
    path("export.csv", views.audit_export, name="audit_export"),
    # The evidence report of a release, for all its customers or one (issue 11, item 5).
    path("releases/<int:release_pk>/evidence/", evidence_views.evidence_report, name="evidence_report"),
    path("releases/<int:release_pk>/evidence.csv", evidence_views.evidence_csv, name="evidence_csv"),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/evidence/",
        evidence_views.evidence_report,
        name="evidence_report_customer",
    ),
    path(
        "releases/<int:release_pk>/customers/<int:customer_pk>/evidence.csv",
        evidence_views.evidence_csv,
        name="evidence_csv_customer",
    ),
]
