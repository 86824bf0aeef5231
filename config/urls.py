"""Rollcall URL configuration: one include per app, Django's login and logout, the admin and the health check."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard.views import healthz
from releases.views_definition import release_definition_schema

urlpatterns = [
    path("", include("dashboard.urls")),
    path("clusters/", include("clusters.urls")),
    path("customers/", include("customers.urls")),
    path("releases/", include("releases.urls")),
    path("", include("steps.urls")),
    path("", include("runs.urls")),
    path("audit/", include("audit.urls")),
    path("variables/", include("variables.urls")),
    # Before the API's include: the release definition's schema is a plain file, public, outside the API's auth.
    path("api/schema/release-definition.json", release_definition_schema, name="release_definition_schema"),
    path("api/", include("api.urls")),
    path("webhooks/", include("webhooks.urls")),
    # The login page (with single sign-on's link when configured) and single sign-on's /oidc/ routes.
    path("", include("accounts.urls")),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
]

# A refused action (PermissionDenied from a service) answers 403 with a readable page, or the message for htmx.
handler403 = "accounts.views.permission_denied"
# A request that lost its database connection answers 503 with Retry-After (core/unavailable.py); else the 500 page.
handler500 = "core.unavailable.server_error"
