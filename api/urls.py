"""The REST API (`/api/`): the resources, the OpenAPI schema and its interactive page, and the API tokens page.

The API answers for itself who is logged in (a token, or the session with CSRF), so Rollcall's login redirect
(core.middleware.LoginRequiredMiddleware) leaves its routes alone; the tokens page is an ordinary page."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import DefaultRouter

from api.views import tokens
from api.views.inventory import ClusterViewSet, CustomerViewSet
from api.views.releases import ReleaseViewSet, TemplateStepViewSet
from api.views.steps import CustomerStepViewSet

app_name = "api"

router = DefaultRouter()
router.register("clusters", ClusterViewSet, basename="cluster")
router.register("customers", CustomerViewSet, basename="customer")
router.register("releases", ReleaseViewSet, basename="release")
router.register("template-steps", TemplateStepViewSet, basename="template-step")
router.register("steps", CustomerStepViewSet, basename="step")

api_patterns = [
    *router.urls,
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
for pattern in api_patterns:
    pattern.callback = login_not_required(pattern.callback)

urlpatterns = [
    path("tokens/", tokens.token_list, name="token_list"),
    path("tokens/<int:pk>/revoke/", tokens.token_revoke, name="token_revoke"),
    *api_patterns,
]
