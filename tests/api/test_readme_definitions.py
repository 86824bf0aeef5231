"""The README's API lines for releases as code (section Releases as code) work as written, with bash, curl and jq
against a live server: the definition downloads, and a file from the repository becomes a draft."""

import os
import shutil
import subprocess

from api.services import api_token_create
from releases.definition import export_definition
from releases.models import Release
from tests.factories import ReleaseFactory, StepTemplateFactory
from tests.readme import block_after


def _recipe() -> str:
    return block_after("Releases as code", "keeps its release definitions in `releases/`:")


def test_the_readme_lines_download_a_definition_and_import_one_as_a_draft(live_server, user, tmp_path):
    release = ReleaseFactory(name="v2.5.0", version_number="v2.5.0")
    StepTemplateFactory(release=release, name="Deploy app", category="deploy", order_index=0)
    (tmp_path / "releases").mkdir()
    (tmp_path / "releases" / "v2.6.0.yaml").write_text(export_definition(release).replace("v2.5.0", "v2.6.0"))
    _, token = api_token_create(user=user, name="gitlab")
    assert shutil.which("curl") and shutil.which("jq"), "the recipe needs curl and jq"

    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _recipe()],
        env={**os.environ, "ROLLCALL": live_server.url, "TOKEN": token, "RELEASE_ID": str(release.pk)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert run.returncode == 0, run.stderr
    assert (tmp_path / "exported.yaml").read_text() == export_definition(release)
    draft = Release.objects.get(name="v2.6.0")
    assert draft.status == "draft" and f'"id": {draft.pk}' in run.stdout and '"status": "draft"' in run.stdout
    assert [step.name for step in draft.template_steps.all()] == ["Deploy app"]
