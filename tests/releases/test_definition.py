"""Releases as code (issue 11, item 4): a release's definition exported to YAML and imported as a new draft or into
the draft of the same name, through the release and step services; bad files refused with line numbers, changing
nothing; the exported files valid against the published JSON Schema."""

import datetime
import json
import textwrap

import jsonschema
import pytest
import yaml
from django.core.exceptions import PermissionDenied
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import crypto
from core.variables import TemplateSyntaxError, check
from history.choices import EventAction
from history.models import Event
from releases.choices import ReleaseStatus
from releases.definition import (
    SCHEMA_PATH,
    TOO_DEEP,
    DefinitionError,
    export_definition,
    import_definition,
)
from releases.models import Release
from releases.services import VERSION_NUMBER_REQUIRED, release_activate, release_create, release_update
from steps.models import StepTemplate
from steps.services import template_step_add
from tests.factories import ClusterFactory, CustomerFactory
from variables.models import Variable
from variables.services import variable_create

pytestmark = pytest.mark.django_db

DEFINITION = textwrap.dedent(
    """\
    name: v2.5.0
    type: release
    version: v2.5.0
    date: 2026-12-01
    description: |
      Quarterly release.
      Needs the DB migration.
    context_guard: false
    steps:
      deploy:
        - name: Deploy app
          type: bash
          content: |
            kubectl -n #{namespace} apply -f app.yaml
            kubectl -n #{namespace} rollout status deploy/app
          description: Rolls out the new image
        - name: Run migration
          type: sql
          content: UPDATE settings SET value = 'v2.5.0' WHERE key = 'version';
          description: ''
      verify:
        - name: Health check
          type: bash
          content: curl -fsS https://#{namespace}.example.com/healthz
          description: ''
    variables:
      - name: DB_HOST
        value: db.internal
    """
)


def _state():
    """Everything an import can change."""
    return (
        list(Release.objects.order_by("pk").values_list("name", "type", "version_number", "description", "status")),
        list(StepTemplate.all_objects.order_by("pk").values_list("name", "category", "content", "order_index")),
        list(Variable.all_objects.order_by("pk").values_list("key", "value", "is_sensitive", "deleted_at")),
        Event.objects.count(),
    )


def _problems(text: str, user=None) -> list[tuple[int | None, str]]:
    before = _state()
    with pytest.raises(DefinitionError) as refused:
        import_definition(text, user=user)
    assert _state() == before
    return refused.value.problems


def _line_of(text: str, fragment: str) -> int:
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


def _schema_validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _as_json(text: str):
    """The YAML as the JSON data model sees it: an unquoted date is the string of that date."""
    return json.loads(json.dumps(yaml.safe_load(text), default=str))


def test_import_creates_a_draft_with_its_steps_in_order_and_its_variables(user):
    result = import_definition(DEFINITION, user=user)

    release = result.release
    assert result.created
    assert (release.name, release.type, release.status) == ("v2.5.0", "release", ReleaseStatus.DRAFT)
    assert (release.version_number, release.release_date) == ("v2.5.0", datetime.date(2026, 12, 1))
    assert release.description == "Quarterly release.\nNeeds the DB migration.\n"
    steps = StepTemplate.objects.filter(release=release).order_by("category", "order_index")
    assert [(s.category, s.name, s.type) for s in steps] == [
        ("deploy", "Deploy app", "bash"),
        ("deploy", "Run migration", "sql"),
        ("verify", "Health check", "bash"),
    ]
    assert steps[0].content.endswith("rollout status deploy/app\n")
    assert [(v.key, v.value) for v in Variable.objects.filter(release=release)] == [("DB_HOST", "db.internal")]
    assert result.summary() == f"Created draft release v2.5.0 (id {release.pk})."


def test_import_records_the_same_history_as_the_release_page(user):
    release = import_definition(DEFINITION, user=user).release

    actions = list(Event.objects.order_by("pk").values_list("action", "actor_id"))
    assert actions == [
        (EventAction.RELEASE_CREATED, user.pk),
        *[(EventAction.TEMPLATE_STEP_ADDED, user.pk)] * 3,
        (EventAction.VARIABLE_ADDED, user.pk),
    ]
    assert Event.objects.filter(release=release).exists()


def test_round_trip_export_import_export_gives_the_same_text(user):
    release = import_definition(DEFINITION, user=user).release

    exported = export_definition(release)
    assert exported == DEFINITION
    release_update(release=release, user=user, name="v2.5.0-old")
    again = import_definition(exported, user=user).release
    assert again.pk != release.pk
    assert export_definition(again) == exported


def test_export_writes_keys_in_a_fixed_order_and_several_lines_as_a_block(user):
    release = release_create(user=user, name="Hotfix timeout", type="hotfix")
    template_step_add(release=release, user=user, name="Restart", category="verify", type="text", content="a\nb\n")

    text = export_definition(release)

    assert [line.split(":")[0] for line in text.splitlines() if not line.startswith(" ")] == [
        "name",
        "type",
        "version",
        "date",
        "description",
        "context_guard",
        "steps",
        "variables",
    ]
    assert "      content: |\n        a\n        b\n" in text
    assert "date: null\n" in text
    assert "  deploy: []\n" in text


def test_export_never_writes_a_sensitive_value(user, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    release = release_create(user=user, name="Hotfix timeout", type="hotfix")
    variable_create(owner=release, key="DB_PASSWORD", value="hunter2-secret", is_sensitive=True, user=user)
    variable_create(owner=release, key="DB_HOST", value="db.internal", user=user)

    text = export_definition(release)

    assert "hunter2-secret" not in text
    assert "variables:\n  - name: DB_HOST\n    value: db.internal\n  - name: DB_PASSWORD\n    sensitive: true\n" in text


def test_a_sensitive_variable_imports_without_its_value_and_keeps_the_value_a_draft_has(user, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    release = release_create(user=user, name="Hotfix timeout", type="hotfix")
    secret = variable_create(owner=release, key="DB_PASSWORD", value="hunter2-secret", is_sensitive=True, user=user)
    text = export_definition(release)
    token = Variable.objects.get(pk=secret.pk).encrypted_value

    result = import_definition(text, user=user)

    assert not result.created and result.changes == []
    assert Variable.objects.get(pk=secret.pk).encrypted_value == token
    release_update(release=release, user=user, name="Hotfix timeout (old)")
    created = import_definition(text, user=user).release
    copy = Variable.objects.get(release=created)
    assert (copy.key, copy.is_sensitive, crypto.decrypt(copy.encrypted_value)) == ("DB_PASSWORD", True, "")


def test_a_sensitive_variable_with_a_value_is_refused(user):
    text = DEFINITION.replace("value: db.internal", "value: db.internal\n    sensitive: true")

    problems = _problems(text)

    assert [line for line, _ in problems] == [_line_of(text, "    value: db.internal")]
    assert problems[0][1].startswith("variable 'DB_HOST' is sensitive: its value never goes in a definition")


def test_import_updates_the_draft_of_that_name_through_the_services(user):
    release = release_create(
        user=user, name="v2.5.0", type="release", version_number="v2.5.0", release_date=datetime.date(2026, 1, 1)
    )
    kept = template_step_add(
        release=release, user=user, name="Health check", category="verify", type="bash", content="curl old"
    )
    dropped = template_step_add(
        release=release, user=user, name="Old step", category="deploy", type="text", content="gone"
    )
    variable_create(owner=release, key="OLD", value="x", user=user)
    last_event = Event.objects.order_by("pk").last().pk

    result = import_definition(DEFINITION, user=user)

    assert not result.created and result.release.pk == release.pk
    assert export_definition(result.release) == DEFINITION
    kept.refresh_from_db()
    assert kept.content == "curl -fsS https://#{namespace}.example.com/healthz"
    assert StepTemplate.all_objects.get(pk=dropped.pk).is_deleted
    assert not Variable.objects.filter(release=release, key="OLD").exists()
    actions = sorted(Event.objects.filter(pk__gt=last_event).values_list("action", flat=True))
    assert actions == sorted(
        [
            EventAction.RELEASE_UPDATED,
            EventAction.TEMPLATE_STEP_UPDATED,
            EventAction.TEMPLATE_STEP_ADDED,
            EventAction.TEMPLATE_STEP_ADDED,
            EventAction.TEMPLATE_STEP_DELETED,
            EventAction.VARIABLE_ADDED,
            EventAction.VARIABLE_DELETED,
        ]
    )
    assert "deleted deploy step Old step" in result.changes


def test_import_puts_the_draft_steps_in_the_order_of_the_file(user):
    release = import_definition(DEFINITION, user=user).release
    deploy_app = DEFINITION[DEFINITION.index("    - name: Deploy app") : DEFINITION.index("    - name: Run migration")]
    run_migration = DEFINITION[DEFINITION.index("    - name: Run migration") : DEFINITION.index("  verify:")]
    reordered = DEFINITION.replace(deploy_app + run_migration, run_migration + deploy_app)

    result = import_definition(reordered, user=user)

    assert "reordered deploy steps" in result.changes
    names = list(
        StepTemplate.objects.filter(release=release, category="deploy")
        .order_by("order_index")
        .values_list("name", flat=True)
    )
    assert names == ["Run migration", "Deploy app"]
    assert export_definition(release) == reordered
    assert Event.objects.filter(action=EventAction.TEMPLATE_STEP_REORDERED).count() == 1


def test_importing_an_unchanged_definition_changes_nothing(user):
    import_definition(DEFINITION, user=user)
    events = Event.objects.count()

    result = import_definition(DEFINITION, user=user)

    assert result.changes == [] and "already matches" in result.summary()
    assert Event.objects.count() == events


def test_an_active_release_of_that_name_is_refused(user):
    release = import_definition(DEFINITION, user=user).release
    CustomerFactory(cluster=ClusterFactory())
    release_activate(release=release, user=user)

    problems = _problems(DEFINITION.replace("Health check", "Smoke test"), user)

    assert problems == [
        (
            1,
            "release 'v2.5.0' is active: a definition only updates a draft; change the name in the file to import it "
            "as a new draft",
        )
    ]


def test_bad_yaml_is_refused_with_its_line_and_changes_nothing(user):
    broken = DEFINITION.replace("    description: Rolls out the new image", "    description: [unclosed")

    problems = _problems(broken, user)

    assert len(problems) == 1
    line, message = problems[0]
    assert line in (16, 17) and message.startswith("not valid YAML: ")
    assert str(DefinitionError(problems)).startswith(f"line {line}: not valid YAML")


def test_a_tab_indentation_is_refused_with_its_line(user):
    problems = _problems("name: x\ntype: hotfix\nsteps:\n\tdeploy: []\n", user)

    assert [line for line, _ in problems] == [4]


def test_unknown_keys_are_refused_with_their_line_and_a_suggestion(user):
    text = DEFINITION.replace("      content: |", "      contnet: |").replace("context_guard", "context_gaurd")

    problems = _problems(text, user)

    assert problems == [
        (8, "unknown key 'context_gaurd' in the release (did you mean 'context_guard'?)"),
        (11, "missing key 'content' in step"),
        (13, "unknown key 'contnet' in step (did you mean 'content'?)"),
    ]
    assert "line 13: unknown key 'contnet' in step" in DefinitionError(problems).message


def test_wrong_types_are_refused_with_their_line(user):
    text = (
        DEFINITION.replace("version: v2.5.0", "version: 2.5")
        .replace("context_guard: false", "context_guard: maybe")
        .replace("date: 2026-12-01", "date: 2026-02-30")
        .replace("    type: sql", "    type: [sql]")
    )

    problems = _problems(text, user)

    assert problems == [
        (3, "'version' in the release must be text, not a number (quote it: '2.5')"),
        (4, "'date' in the release must be a date written YYYY-MM-DD, not '2026-02-30'"),
        (8, "'context_guard' in the release must be true or false, not text"),
        (_line_of(text, "type: [sql]"), "'type' in step must be text, not a list"),
    ]


def test_missing_keys_bad_choices_and_blank_text_are_refused(user):
    text = "name: '  '\ntype: minor\nsteps:\n  deploy:\n    - name: A\n      type: bash\n"
    text += "      content: '   '\n  later: []\n"

    problems = _problems(text, user)

    assert problems == [
        (1, "'name' in the release must not be empty"),
        (2, "'type' in the release must be one of onboarding, release, hotfix, not 'minor'"),
        (7, "'content' in step must not be empty"),
        (8, "unknown key 'later' in 'steps'"),
    ]


def test_a_document_that_is_not_a_mapping_or_is_empty_is_refused(user):
    assert _problems("", user) == [(None, "the file is empty: a release definition needs at least a name and a type")]
    assert _problems("- name: x\n", user) == [
        (
            1,
            "the release must be a mapping of keys (name, type, version, date, description, context_guard, "
            "run_timeout_minutes, steps, variables), not a list",
        )
    ]


def test_duplicate_keys_aliases_and_python_tags_are_refused(user):
    assert _problems("name: a\nname: b\ntype: hotfix\n", user) == [(2, "key 'name' appears twice in the release")]
    assert _problems("name: a\ntype: hotfix\ndescription: &d x\nversion: *d\n", user) == [
        (4, "anchors and aliases (&name, *name) are not allowed in a release definition")
    ]

    tagged = _problems("name: !!python/object/apply:os.system ['true']\ntype: hotfix\n", user)
    assert [line for line, _ in tagged] == [1]
    assert "must be text" in tagged[0][1]


def test_a_character_yaml_does_not_allow_is_refused_with_its_line(user):
    assert _problems("name: ok\ntype: hotfix\ndescription: a\x07b\n", user) == [
        (3, "not valid YAML: the character #x0007 is not allowed in a YAML file")
    ]
    assert [line for line, _ in _problems('name: ok\ntype: hotfix\ndescription: "a\\0b"\n', user)] == [3]


def test_a_service_refusal_is_reported_on_the_line_it_concerns(user):
    text = DEFINITION.replace("version: v2.5.0\n", "version: ''\n")

    problems = _problems(text, user)

    assert problems == [(3, VERSION_NUMBER_REQUIRED)]


def test_bad_content_syntax_and_bad_variable_names_are_refused(user):
    text = DEFINITION.replace("curl -fsS https://#{namespace}", "curl -fsS https://#{name space}").replace(
        "name: DB_HOST", "name: 1DB"
    )

    problems = _problems(text, user)

    assert [line for line, _ in problems] == [_line_of(text, "name space"), _line_of(text, "name: 1DB")]
    assert problems[0][1].startswith("step 'Health check': ")
    assert problems[1][1].startswith("variable '1DB': Variable names start with a letter")


def test_import_needs_a_release_manager(viewer, operator, user):
    for refused in (viewer, operator):
        before = _state()
        with pytest.raises(PermissionDenied):
            import_definition(DEFINITION, user=refused)
        assert _state() == before
    import_definition(DEFINITION, user=user)
    with pytest.raises(PermissionDenied):
        import_definition(DEFINITION.replace("Health check", "Smoke"), user=viewer)


def test_exported_definitions_validate_against_the_schema(user, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    validator = _schema_validator()
    release = import_definition(DEFINITION, user=user).release
    variable_create(owner=release, key="DB_PASSWORD", value="s3cret", is_sensitive=True, user=user)
    hotfix = release_create(user=user, name="Hotfix", type="hotfix")

    for exported in (export_definition(release), export_definition(hotfix)):
        validator.validate(_as_json(exported))
    invalid = _as_json(DEFINITION.replace("content: |", "contnet: |", 1))
    assert not validator.is_valid(invalid)
    sensitive_with_value = _as_json(DEFINITION.replace("value: db.internal", "value: x\n    sensitive: true"))
    assert not validator.is_valid(sensitive_with_value)


# Property: any names and contents a release manager could save survive export → import → export byte for byte.

STORABLE = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
TEXT = st.text(alphabet=STORABLE, max_size=60)
MULTILINE = st.lists(
    st.text(alphabet=STORABLE, max_size=20) | st.sampled_from(["", " ", "  trailing  ", "\t", "é ünïcødé ✓", "\r"]),
    min_size=1,
    max_size=6,
).map("\n".join)


def _valid_content(text: str) -> bool:
    try:
        check(text)
    except TemplateSyntaxError:
        return False
    return bool(text.strip())


NAMES = TEXT.map(str.strip).filter(bool).map(lambda name: name[:200])
STEP = st.fixed_dictionaries(
    {
        "name": NAMES,
        "category": st.sampled_from(["deploy", "verify"]),
        "type": st.sampled_from(["bash", "sql", "text"]),
        "content": (MULTILINE | TEXT).filter(_valid_content),
        "description": MULTILINE | TEXT,
    }
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    name=NAMES,
    fields=st.fixed_dictionaries(
        {
            "type": st.sampled_from(["release", "hotfix", "onboarding"]),
            "version_number": NAMES.map(lambda version: version[:50].strip()),
            "release_date": st.dates(min_value=datetime.date(1, 1, 1)),
            "context_guard": st.booleans(),
            "description": MULTILINE | TEXT,
        }
    ),
    steps=st.lists(STEP, max_size=4),
    values=st.lists(MULTILINE | TEXT, max_size=2),
)
def test_any_definition_round_trips_byte_for_byte(user, name, fields, steps, values):
    with transaction.atomic():
        release = release_create(user=user, name=name, **fields)
        for step in steps:
            template_step_add(release=release, user=user, **step)
        for index, value in enumerate(values):
            variable_create(owner=release, key=f"VAR_{index}", value=value, user=user)
        exported = export_definition(release)
        _schema_validator().validate(_as_json(exported))

        assert import_definition(exported, user=user).changes == []
        release_update(release=release, user=user, name=f"{name[:150]} (exported)")
        copy = import_definition(exported, user=user).release

        assert copy.pk != release.pk
        assert export_definition(copy) == exported
        transaction.set_rollback(True)


def test_deep_nesting_is_refused_not_a_crash(user):
    problems = _problems("name: x\ntype: hotfix\nsteps: " + "[" * 3000 + "]" * 3000 + "\n", user)

    assert problems == [(None, TOO_DEEP)]


def test_a_new_sensitive_variable_without_an_encryption_key_is_refused_on_its_line(user, monkeypatch):
    monkeypatch.delenv(crypto.KEY_ENVIRONMENT_VARIABLE, raising=False)
    text = DEFINITION.replace("value: db.internal", "sensitive: true")

    problems = _problems(text, user)

    assert [line for line, _ in problems] == [_line_of(text, "- name: DB_HOST")]
    assert problems[0][1].startswith("variable 'DB_HOST': Sensitive values need an encryption key")


def test_export_reads_a_constant_number_of_queries(user, django_assert_num_queries):
    release = import_definition(DEFINITION, user=user).release
    with django_assert_num_queries(2):
        small = export_definition(release)
    for index in range(20):
        template_step_add(release=release, user=user, name=f"Step {index}", category="verify", type="text", content="x")
        variable_create(owner=release, key=f"VAR_{index}", value="v", user=user)

    with django_assert_num_queries(2):
        large = export_definition(release)
    assert len(large) > len(small)


@st.composite
def _mangled_definitions(draw) -> str:
    """The example definition with a few characters replaced, inserted or deleted at random places."""
    text = DEFINITION
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(text)))
        piece = draw(st.sampled_from(["", ":", "-", " ", "\n", "\t", "'", '"', "[", "{", "&a", "*a", "!!", "#", "|"]))
        cut = draw(st.integers(min_value=0, max_value=3))
        text = text[:at] + piece + text[at + cut :]
    return text


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_mangled_definitions() | st.text(max_size=200))
def test_any_file_is_imported_or_refused_with_lines_never_a_crash(user, text):
    with transaction.atomic():
        before = _state()
        try:
            import_definition(text, user=user)
        except DefinitionError as refused:
            assert refused.problems and all(isinstance(message, str) and message for _, message in refused.problems)
            assert all(line is None or 1 <= line <= text.count("\n") + 2 for line, _ in refused.problems)
            assert _state() == before
        transaction.set_rollback(True)


def test_a_run_time_limit_other_than_ten_minutes_is_written_and_read_back(user):
    release = import_definition(DEFINITION, user=user).release
    assert release.run_timeout_minutes == 10 and "run_timeout_minutes" not in export_definition(release)
    release = release_update(release=release, user=user, run_timeout_minutes=45)
    exported = export_definition(release)
    assert "context_guard: false\nrun_timeout_minutes: 45\nsteps:" in exported
    release_update(release=release, user=user, name="v2.5.0-old")
    assert import_definition(exported, user=user).release.run_timeout_minutes == 45


@pytest.mark.parametrize("value", ["0", "1441", "'ten'", "2.5", "true"])
def test_a_run_time_limit_outside_a_day_or_not_a_whole_number_is_refused(value):
    text = DEFINITION.replace("context_guard: false\n", f"context_guard: false\nrun_timeout_minutes: {value}\n")
    problems = _problems(text)
    assert [line for line, _ in problems] == [_line_of(text, f"run_timeout_minutes: {value}")]
    assert problems[0][1].startswith("'run_timeout_minutes' in the release must be a whole number from 1 to 1440")
