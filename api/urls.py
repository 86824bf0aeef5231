"""The REST API (`/api/`): the resources, the OpenAPI schema and its interactive page, and the API tokens page.

The API answers for itself who is calling (a token, or the session with CSRF): DRF marks its views so that
Rollcall's login redirect (core.middleware.LoginRequiredMiddleware) leaves them alone. The tokens page and the
interactive documentation are pages for people, behind the login page."""

from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from api.views import tokens
from api.views.inventory import ClusterViewSet, CustomerViewSet
from api.views.releases import ReleaseViewSet, TemplateStepViewSet
from api.views.runs import RunViewSet, StepRunViewSet
from api.views.steps import CustomerStepViewSet

app_name = "api"

router = DefaultRouter()
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("customers", CustomerViewSet, basename="customer")
router.register("releases", ReleaseViewSet, basename="release")
router.register("template-steps", TemplateStepViewSet, basename="template-step")
# A step's run (steps/<id>/run/) before the steps themselves: the API root's "steps" link is theirs.
router.register("steps", StepRunViewSet, basename="step-run")
router.register("steps", CustomerStepViewSet, basename="step")
router.register("runs", RunViewSet, basename="run")

urlpatterns = [
    # Pages for people, behind the login page as everywhere else (DRF marks its views as needing no login).
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    # Swagger UI with its start-up script as a file (?script) and its page styles in static/css: nothing inline, for
    # the Content-Security-Policy.
    path(
        "docs/",
        login_required(SpectacularSwaggerSplitView.as_view(url_name="api:schema", template_name="api/swagger_ui.html")),
        name="docs",
    ),
    # The API: a token, or the session with CSRF.
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    *router.urls,
]
