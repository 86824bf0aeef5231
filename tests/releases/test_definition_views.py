"""Releases as code on the screens: Download definition on the release page, the Import definition upload (problems
next to the file field, 4xx, nothing changed), who may use them, and the published JSON Schema."""

import json

import jsonschema
import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from history.models import Event
from releases.definition import export_definition, import_definition
from releases.forms_definition import NOT_UTF8
from releases.models import Release
from releases.services import release_activate
from steps.models import StepTemplate
from tests.factories import ClusterFactory, CustomerFactory
from tests.releases.test_definition import DEFINITION
from variables.models import Variable

pytestmark = pytest.mark.django_db


def _state():
    return (
        list(Release.objects.order_by("pk").values_list("name", "status", "description")),
        list(StepTemplate.all_objects.order_by("pk").values_list("name", "content", "order_index", "deleted_at")),
        list(Variable.all_objects.order_by("pk").values_list("key", "value", "deleted_at")),
        Event.objects.count(),
    )


def _upload(text: str | bytes, name: str = "v2.5.0.yaml") -> dict:
    content = text.encode() if isinstance(text, str) else text
    return {"definition": SimpleUploadedFile(name, content, content_type="application/yaml")}


def _logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_release_page_links_to_its_definition_and_a_draft_to_the_import(user):
    release = import_definition(DEFINITION, user=user).release
    client = _logged_in(user)

    html = client.get(reverse("releases:release_detail", args=[release.pk])).content.decode()

    assert f'href="{reverse("releases:release_definition", args=[release.pk])}" download>Download definition' in html
    assert f'href="{reverse("releases:release_import")}"' in html
    CustomerFactory(cluster=ClusterFactory())
    release_activate(release=release, user=user)
    html = client.get(reverse("releases:release_detail", args=[release.pk])).content.decode()
    assert "Download definition (YAML)" in html
    assert "Import definition" not in html


def test_download_gives_the_yaml_as_an_attachment(user, viewer):
    release = import_definition(DEFINITION, user=user).release

    response = _logged_in(viewer).get(reverse("releases:release_definition", args=[release.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/yaml; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="v2-5-0.yaml"'
    assert response.content.decode() == DEFINITION


def test_download_of_an_unknown_release_is_404_and_needs_a_login(user):
    assert _logged_in(user).get(reverse("releases:release_definition", args=[999_999])).status_code == 404
    response = Client().get(reverse("releases:release_definition", args=[1]))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_upload_creates_a_draft_and_opens_it(user):
    client = _logged_in(user)

    response = client.post(reverse("releases:release_import"), _upload(DEFINITION))

    release = Release.objects.get(name="v2.5.0")
    assert response.status_code == 302 and response["Location"] == reverse("releases:release_detail", args=[release.pk])
    page = client.get(response["Location"]).content.decode()
    assert f"Created draft release v2.5.0 (id {release.pk})." in page
    assert export_definition(release) == DEFINITION


def test_upload_updates_the_draft_of_that_name(user):
    release = import_definition(DEFINITION, user=user).release
    client = _logged_in(user)

    response = client.post(reverse("releases:release_import"), _upload(DEFINITION.replace("curl -fsS", "curl -fsSL")))

    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Updated draft release v2.5.0" in page and "Changed verify step Health check: content." in page
    assert StepTemplate.objects.get(release=release, name="Health check").content.startswith("curl -fsSL")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            DEFINITION.replace("      content: |", "      contnet: |"),
            "line 11: missing key &#x27;content&#x27; in step",
        ),
        ("name: v9\ntype: hotfix\nsteps: [\n", "line 3: not valid YAML"),
        (DEFINITION.replace("version: v2.5.0", "version: 2.5"), "line 3: &#x27;version&#x27; in the release must be"),
        ("\xff\xfe".encode("latin-1") + b"name: x", NOT_UTF8),
    ],
)
def test_a_refused_upload_shows_its_problems_next_to_the_file_with_422_and_changes_nothing(user, content, message):
    client = _logged_in(user)
    before = _state()

    response = client.post(reverse("releases:release_import"), _upload(content))

    assert response.status_code == 422
    html = response.content.decode()
    field = html[html.index('<div class="field has-error">') :]
    assert 'name="definition"' in field.split("</div>\n</div>")[0]
    assert f'<div class="error" role="alert">{message}' in field
    assert _state() == before


def test_an_upload_over_an_active_release_is_refused(user):
    release = import_definition(DEFINITION, user=user).release
    CustomerFactory(cluster=ClusterFactory())
    release_activate(release=release, user=user)
    before = _state()

    response = _logged_in(user).post(reverse("releases:release_import"), _upload(DEFINITION))

    assert response.status_code == 422
    assert (
        "line 1: release &#x27;v2.5.0&#x27; is active: a definition only updates a draft" in response.content.decode()
    )
    assert _state() == before


def test_an_upload_without_a_file_is_refused(user):
    response = _logged_in(user).post(reverse("releases:release_import"), {})

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_viewers_and_operators_may_not_import(viewer, operator):
    before = _state()
    for refused in (viewer, operator):
        client = _logged_in(refused)
        assert client.get(reverse("releases:release_import")).status_code == 403
        assert client.post(reverse("releases:release_import"), _upload(DEFINITION)).status_code == 403
    assert _state() == before


def test_the_import_page_shows_the_form(user):
    response = _logged_in(user).get(reverse("releases:release_import"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html and 'type="file" name="definition"' in html


def test_the_schema_is_published_as_json_schema_and_validates_an_export(user):
    release = import_definition(DEFINITION, user=user).release

    response = Client().get("/api/schema/release-definition.json")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/schema+json"
    schema = json.loads(response.content)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    exported = json.loads(json.dumps(yaml.safe_load(export_definition(release)), default=str))
    jsonschema.Draft202012Validator(schema).validate(exported)
    assert reverse("release_definition_schema") == "/api/schema/release-definition.json"
