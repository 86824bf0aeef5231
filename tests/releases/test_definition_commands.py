"""`manage.py release_export` and `release_import`, and the README's "Releases as code" examples, run as written."""

import io
import re
import shlex
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from core import crypto
from history.models import SYSTEM_ACTOR, Event
from releases.definition import export_definition, import_definition
from releases.management.commands.release_export import NOT_FOUND, SEVERAL
from releases.models import Release
from releases.services import release_activate, release_create
from tests.factories import ClusterFactory, CustomerFactory
from tests.releases.test_definition import DEFINITION
from variables.services import variable_create

pytestmark = pytest.mark.django_db

README = Path(__file__).resolve().parents[2] / "README.md"


def _export(*args) -> str:
    out = io.StringIO()
    call_command("release_export", *args, stdout=out)
    return out.getvalue()


def _import(*args, **options) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("release_import", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def _refused(*args) -> tuple[int, list[str]]:
    """The exit status and standard error of a refused command, as `manage.py` gives them (Django's run_from_argv
    prints "CommandError: <message>" and exits with the error's returncode; it also closes the test's database)."""
    err = io.StringIO()
    with pytest.raises(CommandError) as refused:
        call_command(*args, stdout=io.StringIO(), stderr=err)
    return refused.value.returncode, [*err.getvalue().splitlines(), f"CommandError: {refused.value}"]


def test_export_by_name_or_id_writes_the_definition(user):
    release = import_definition(DEFINITION, user=user).release

    assert _export("v2.5.0") == DEFINITION
    assert _export(str(release.pk)) == DEFINITION


def test_export_refuses_an_unknown_or_ambiguous_release(user):
    first = release_create(user=user, name="Hotfix", type="hotfix")
    second = release_create(user=user, name="Hotfix", type="hotfix")

    with pytest.raises(CommandError, match=re.escape(NOT_FOUND.format(release="v9"))):
        _export("v9")
    with pytest.raises(CommandError) as refused:
        _export("Hotfix")
    assert str(refused.value) == SEVERAL.format(count=2, release="Hotfix", ids=f"{first.pk}, {second.pk}")


def test_import_creates_then_updates_and_says_what_it_did(user, tmp_path):
    path = tmp_path / "v2.5.0.yaml"
    path.write_text(DEFINITION)

    out, err = _import(str(path))

    release = Release.objects.get(name="v2.5.0")
    assert out.splitlines()[0] == f"Created draft release v2.5.0 (id {release.pk})."
    assert "  added deploy step Run migration" in out.splitlines()
    assert err == ""
    assert Event.objects.filter(release=release).first().actor_id is None  # the system

    path.write_text(DEFINITION.replace("db.internal", "db2.internal"))
    out, _ = _import(str(path), user="rm")
    assert out.splitlines() == [f"Updated draft release v2.5.0 (id {release.pk}).", "  changed variable DB_HOST"]
    assert Event.objects.order_by("pk").last().actor_id == user.pk
    assert export_definition(Release.objects.get(pk=release.pk)) == path.read_text()


def test_import_reads_standard_input(user, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.StringIO(DEFINITION))

    out, _ = _import("-")

    assert out.startswith("Created draft release v2.5.0")


def test_a_refused_import_writes_each_problem_with_its_line_to_stderr_and_exits_1(user, tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text(
        DEFINITION.replace("      content: |", "      contnet: |").replace("version: v2.5.0", "version: 2.5")
    )
    events = Event.objects.count()

    status, err = _refused("release_import", str(path))

    assert status == 1
    assert err == [
        f"{path}: line 3: 'version' in the release must be text, not a number (quote it: '2.5')",
        f"{path}: line 11: missing key 'content' in step",
        f"{path}: line 13: unknown key 'contnet' in step (did you mean 'content'?)",
        f"CommandError: {path}: the definition was refused; nothing changed.",
    ]
    assert not Release.objects.exists() and Event.objects.count() == events


def test_import_refuses_an_unknown_user_a_viewer_and_an_unreadable_file(viewer, tmp_path):
    path = tmp_path / "v2.5.0.yaml"
    path.write_text(DEFINITION)
    latin = tmp_path / "latin.yaml"
    latin.write_bytes("name: caf\xe9\n".encode("latin-1"))

    with pytest.raises(CommandError, match="No user is named nobody"):
        _import(str(path), user="nobody")
    with pytest.raises(CommandError, match="may not create or clone releases"):
        _import(str(path), user=viewer.username)
    with pytest.raises(CommandError, match="cannot be read as UTF-8 text"):
        _import(str(latin))
    with pytest.raises(CommandError, match="cannot be read"):
        _import(str(tmp_path / "missing.yaml"))
    assert not Release.objects.exists()


# The README's examples, run as written.


def _readme_section() -> str:
    text = README.read_text()
    start = text.index("## Releases as code\n")
    return text[start : text.index("\n## ", start + 1)]


def _code_blocks(section: str) -> list[list[str]]:
    blocks, current = [], []
    for line in section.splitlines():
        if line.startswith("    "):
            current.append(line[4:])
        elif current and line.strip() == "":
            continue
        elif current:
            blocks.append(current)
            current = []
    if current:
        blocks.append(current)
    return blocks


def _run(line: str, cwd: Path) -> None:
    """A README line: `python manage.py …` (with `> file`) through call_command, anything else through the shell."""
    if not line.startswith("python manage.py "):
        subprocess.run(line, shell=True, cwd=cwd, check=True)
        return
    words = shlex.split(line)[2:]
    if ">" in words:
        target = cwd / words[words.index(">") + 1]
        words = words[: words.index(">")]
        with target.open("w") as out:
            call_command(*words, stdout=out)
    else:
        call_command(*words, stdout=io.StringIO())


@pytest.fixture
def active_v250(user, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    release = import_definition(DEFINITION, user=user).release
    variable_create(owner=release, key="DB_PASSWORD", value="s3cret", is_sensitive=True, user=user)
    CustomerFactory(cluster=ClusterFactory())
    return release_activate(release=release, user=user)


def test_the_readme_commands_run_as_written(active_v250, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    commands = _code_blocks(_readme_section())[0]
    assert commands[0] == "python manage.py release_export v2.5.0 > v2.5.0.yaml"

    for line in commands:
        _run(line, tmp_path)

    new = Release.objects.get(name="v2.6.0")
    assert new.status == "draft" and new.version_number == "v2.6.0"
    assert "s3cret" not in (tmp_path / "v2.5.0.yaml").read_text()


def test_the_readme_example_file_round_trips(user, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    example = "\n".join(_code_blocks(_readme_section())[1]) + "\n"

    release = import_definition(example, user=user).release

    assert export_definition(release) == example


def test_the_readme_refusal_shows_what_the_command_prints(active_v250, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "v2.5.0.yaml").write_text(export_definition(active_v250))
    command, *expected = _code_blocks(_readme_section())[2]
    assert command.startswith("$ python manage.py release_import ")

    status, err = _refused(*shlex.split(command)[3:])

    assert status == 1
    assert err == expected


def test_the_system_actor_is_named_in_the_history(user, tmp_path):
    path = tmp_path / "v2.5.0.yaml"
    path.write_text(DEFINITION)

    _import(str(path))

    assert Event.objects.order_by("pk").first().actor_label == SYSTEM_ACTOR
