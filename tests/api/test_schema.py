"""The OpenAPI 3 schema at /api/schema/ is valid, and its interactive page at /api/docs/ loads only Rollcall's own
static files (drf-spectacular-sidecar), never a CDN."""

import re

import yaml
from django.core.management import call_command
from openapi_spec_validator import validate

from tests.api.conftest import ApiClient


def test_the_schema_is_valid_openapi_3_and_names_every_resource(api):
    response = api.get("/api/schema/")

    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    validate(schema)
    assert schema["openapi"].startswith("3.")
    assert {"/api/steps/", "/api/steps/{id}/done/", "/api/releases/{id}/activate/", "/api/clusters/"} <= set(
        schema["paths"]
    )
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API token from the API tokens page.",
    }


def test_a_step_action_documents_its_version_and_its_forms_fields(api):
    schema = yaml.safe_load(api.get("/api/schema/", {"format": "json"}).content)

    skip = schema["components"]["schemas"]["StepSkipRequest"]["properties"]
    assert set(skip) == {"version", "reason"}


def test_the_schema_needs_a_token_or_a_session():
    assert ApiClient().get("/api/schema/").status_code == 401


def test_the_docs_page_loads_only_local_assets(client, user):
    client.force_login(user)

    page = client.get("/api/docs/").content.decode()

    assert "swagger-ui" in page
    sources = re.findall(r'(?:src|href)="([^"]+)"', page) + re.findall(r"""['"](https?://[^'"]+)['"]""", page)
    assert sources
    assert all(source.startswith("/static/") for source in sources if not source.startswith("/api/")), sources
    assert "cdn" not in page.lower()


def test_the_docs_page_needs_a_login(client):
    response = client.get("/api/docs/")

    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_schema_is_generated_without_a_warning(capsys):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")

    assert "Warning" not in capsys.readouterr().err
