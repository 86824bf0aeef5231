"""Releases as code through the API: a release's definition as YAML, and an import from YAML or JSON."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from releases.definition import export_definition
from releases.models import Release
from tests.api.conftest import ApiClient
from tests.test_hostile_input import database_snapshot

DEFINITION = """name: v2.7.0
type: hotfix
version: v2.7.0
steps:
  deploy:
  - name: Deploy app
    type: bash
    content: kubectl rollout restart deployment/app
"""


def _post_yaml(client: ApiClient, text: str, content_type: str = "application/yaml"):
    return client.client.post("/api/releases/import/", text, content_type=content_type, headers=client.headers)


def test_a_release_definition_downloads_as_the_release_page_exports_it(routes_world, roles):
    response = roles.viewer.get(f"/api/releases/{routes_world.release.pk}/definition/")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'inline; filename="v2-5-0.yaml"'  # as the release page names it
    assert response.content.decode() == export_definition(routes_world.release)


def test_an_imported_yaml_body_makes_a_draft_and_again_changes_nothing(routes_world, api):
    created = _post_yaml(api, DEFINITION)
    again = _post_yaml(api, DEFINITION, content_type="text/yaml")

    assert created.status_code == 201, created.content
    release = Release.objects.get(name="v2.7.0")
    assert (created.json()["id"], created.json()["status"], release.status) == (release.pk, "draft", "draft")
    assert [step.name for step in release.template_steps.all()] == ["Deploy app"]
    assert again.status_code == 200 and again.json()["changes"] == []
    assert export_definition(release).startswith("name: v2.7.0\ntype: hotfix\n")


def test_a_definition_sent_as_json_updates_the_draft_of_that_name(routes_world, api):
    _post_yaml(api, DEFINITION)

    response = api.post("/api/releases/import/", {"definition": DEFINITION.replace("Deploy app", "Deploy the app")})

    assert response.status_code == 200, response.content
    assert response.json()["changes"]
    assert [s.name for s in Release.objects.get(name="v2.7.0").template_steps.all()] == ["Deploy the app"]


@pytest.mark.parametrize(
    ("body", "line"),
    [
        ("name: v2.7.0\ntype: hotfix\nsteps:\n  deploy:\n  - name: Deploy\n    type: bash\n    contnet: x\n", 7),
        ("name: v2.7.0\ntype: [unclosed\n", 2),  # the file ends with the list unclosed: its last line
    ],
)
def test_a_bad_definition_is_400_with_its_line_and_changes_nothing(routes_world, api, body, line):
    before = database_snapshot()

    response = _post_yaml(api, body)

    assert response.status_code == 400
    assert any(f"line {line}" in problem for problem in response.json()["errors"]["definition"])
    assert database_snapshot() == before


def test_who_may_not_import_gets_403_and_without_a_token_401(routes_world, roles):
    before = database_snapshot()

    assert _post_yaml(roles.viewer, DEFINITION).status_code == 403
    assert _post_yaml(roles.operator, DEFINITION).status_code == 403
    assert _post_yaml(ApiClient(), DEFINITION).status_code == 401
    assert ApiClient().get(f"/api/releases/{routes_world.release.pk}/definition/").status_code == 401
    assert database_snapshot() == before


def test_a_body_that_is_not_a_definition_is_refused_clearly(routes_world, api):
    assert api.post("/api/releases/import/", {"name": "v2.7.0"}).status_code == 400
    assert _post_yaml(api, "x" * (2 * 1024 * 1024 + 1)).status_code == 413
    assert (
        api.client.post(
            "/api/releases/import/", b"\xff\xfe", content_type="application/yaml", headers=api.headers
        ).status_code
        == 400
    )


# Text a pipeline might send instead of a definition: anything, and YAML-looking lines with a definition's keys.
DEFINITION_LIKE = st.lists(
    st.sampled_from(
        [
            "name: v9",
            "type: hotfix",
            "type: nope",
            "steps:",
            "  deploy:",
            "  - name: x",
            "    type: sql",
            "    content: |",
            "      SELECT 1;",
            "variables: [",
            "- {name: A, value: 1}",
            "date: 2026-13-40",
            "version: [1]",
            "\tname: tab",
            "&a x: *a",
            "!!python/object:os.system x",
        ]
    ),
    max_size=12,
).map("\n".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=300), DEFINITION_LIKE))
def test_any_text_posted_as_a_definition_never_fails_and_a_refusal_changes_nothing(routes_world, api, text):
    before = database_snapshot()

    response = _post_yaml(api, text)

    assert response.status_code in (200, 201, 400), response.content[:300]
    assert response["Content-Type"] == "application/json"
    if response.status_code == 400:
        assert database_snapshot() == before
