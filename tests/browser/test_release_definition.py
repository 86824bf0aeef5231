"""Issue 11, item 4: a release manager downloads a draft's definition from its page, edits it, and uploads it with
Import definition; a broken file comes back with its problem and line next to the file field, and nothing changes."""

import re

from django.urls import reverse
from playwright.sync_api import expect

from steps.models import StepTemplate


def test_download_edit_and_import_a_definition_from_the_release_page(logged_in, live_server, world, tmp_path):
    page = logged_in
    release = world.release
    page.goto(live_server.url + reverse("releases:release_detail", args=[release.pk]))

    with page.expect_download() as download:
        page.get_by_role("link", name="Download definition (YAML)").click()
    path = tmp_path / download.value.suggested_filename
    download.value.save_as(path)
    text = path.read_text()
    assert text.startswith("name: v2.5.0\ntype: release\n")

    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("    type: sql", "    typ: sql"))
    page.get_by_role("link", name="Import definition").click()
    page.get_by_label("Definition (YAML)").set_input_files(broken)
    page.get_by_role("button", name="Import").click()
    field = page.locator(".field.has-error")
    expect(field).to_contain_text("missing key 'type' in step")
    expect(field).to_contain_text("unknown key 'typ' in step (did you mean 'type'?)")
    expect(field.get_by_role("alert").first).to_have_text(re.compile(r"^line \d+: "))
    assert StepTemplate.objects.get(release=release, name="Run migration").type == "sql"

    path.write_text(text.replace("name: Health check", "name: Smoke test"))
    page.get_by_label("Definition (YAML)").set_input_files(path)
    page.get_by_role("button", name="Import").click()
    page.wait_for_url(live_server.url + reverse("releases:release_detail", args=[release.pk]))
    expect(page.get_by_role("status")).to_contain_text("Updated draft release v2.5.0")
    expect(page.locator("#template-steps-verify")).to_contain_text("Smoke test")
