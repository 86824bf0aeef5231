"""Releases as code: a release's definition (its fields, template steps and variable defaults) written as YAML, and
read back into a new draft or into the draft of the same name.

    export_definition(release) -> str
    import_definition(text, *, user) -> ImportResult       (raises DefinitionError: every problem with its line)

The YAML is parsed with PyYAML's safe loader, composed into nodes (never constructed into Python objects by tags) so
that every problem names its line. An import goes through the same services as the release page (release_create,
release_update, template_step_add/update/delete/reorder, variable_create/update/delete), so the same rules apply
and the history records each change; it runs in one transaction, so a refused import changes nothing.

A sensitive variable's value never leaves Rollcall: the export writes its name with `sensitive: true` and no value,
and an import refuses a file that gives one (set it on the release page). The format is described by the JSON Schema
beside this module (release-definition.schema.json), published at /api/schema/release-definition.json.
"""

import datetime
import difflib
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.db import transaction
from django.utils.text import slugify

from accounts.permissions import ADD_RELEASE, CHANGE_RELEASE, require
from core.errors import DomainError
from core.validators import STEP_CONTENT_MAX_CHARS
from core.variables import TemplateSyntaxError, check, is_valid_name
from releases.choices import ReleaseStatus, ReleaseType
from releases.models import Release
from releases.services import release_create, release_update
from steps.choices import StepCategory, StepType
from steps.models import StepTemplate
from steps.services import template_step_add, template_step_delete, template_step_update, template_steps_reorder
from variables.models import INVALID_NAME, Variable
from variables.selectors import variables_of
from variables.services import variable_create, variable_delete, variable_update

SCHEMA_PATH = Path(__file__).with_name("release-definition.schema.json")

# The keys of each part of a definition, in the order an export writes them.
RELEASE_KEYS = (
    "name",
    "type",
    "version",
    "date",
    "description",
    "context_guard",
    "run_timeout_minutes",
    "steps",
    "variables",
)
STEP_KEYS = ("name", "type", "content", "description")
VARIABLE_KEYS = ("name", "value", "sensitive")
REQUIRED_RELEASE_KEYS = ("name", "type")
REQUIRED_STEP_KEYS = ("name", "type", "content")
REQUIRED_VARIABLE_KEYS = ("name",)
# A service's refusal names a model field; the definition's key for it.
RELEASE_KEY_OF_FIELD = {"version_number": "version", "release_date": "date"}
NAME_MAX_CHARS = 200
VERSION_MAX_CHARS = 50

# The messages of a refused definition, each after "line N: ".
INVALID_YAML = "not valid YAML: {problem}"
UNACCEPTABLE_CHARACTER = "not valid YAML: the character {character} is not allowed in a YAML file"
EMPTY_DEFINITION = "the file is empty: a release definition needs at least a name and a type"
NOT_A_MAPPING = "{where} must be a mapping of keys ({keys}), not {actual}"
NOT_A_LIST = "{where} must be a list, not {actual}"
UNKNOWN_KEY = "unknown key '{key}' in {where}"
DID_YOU_MEAN = " (did you mean '{key}'?)"
KEY_NOT_TEXT = "a key in {where} must be text, not {actual}"
DUPLICATE_KEY = "key '{key}' appears twice in {where}"
MISSING_KEY = "missing key '{key}' in {where}"
WRONG_TYPE = "'{key}' in {where} must be {expected}, not {actual}"
QUOTE_IT = " (quote it: '{text}')"
BAD_CHOICE = "'{key}' in {where} must be one of {choices}, not '{value}'"
BLANK_TEXT = "'{key}' in {where} must not be empty"
TOO_LONG = "'{key}' in {where} holds at most {limit} characters; this has {length}"
UNSTORABLE_TEXT = "'{key}' in {where} cannot contain NUL characters or lone surrogates"
BAD_DATE = "'{key}' in {where} must be a date written YYYY-MM-DD, not '{value}'"
BAD_WHOLE_NUMBER = "'{key}' in {where} must be a whole number from {low} to {high}, not {actual}"
RUN_TIMEOUT_RANGE = (1, 24 * 60)
RUN_TIMEOUT_DEFAULT = 10
TOO_DEEP = "not valid YAML for a release definition: lists or mappings nested hundreds of levels deep"
ALIAS_REFUSED = "anchors and aliases (&name, *name) are not allowed in a release definition"
BAD_CONTENT = "step '{step}': {message}"
BAD_VARIABLE_NAME = "variable '{key}': " + INVALID_NAME
DUPLICATE_VARIABLE = "variable '{key}' is defined twice (first on line {line})"
SENSITIVE_VALUE = (
    "variable '{key}' is sensitive: its value never goes in a definition; leave 'value' out and set it on the "
    "release page"
)
RELEASE_NOT_DRAFT = (
    "release '{name}' is {status}: a definition only updates a draft; change the name in the file to import it as "
    "a new draft"
)
SEVERAL_DRAFTS = "{count} draft releases are named '{name}': rename all but one of them, or change the name in the file"
REFUSED = "{where}: {message}"

_STR = "tag:yaml.org,2002:str"
_TAG_WORDS = {
    "tag:yaml.org,2002:str": "text",
    "tag:yaml.org,2002:int": "a number",
    "tag:yaml.org,2002:float": "a number",
    "tag:yaml.org,2002:bool": "true or false",
    "tag:yaml.org,2002:null": "empty (null)",
    "tag:yaml.org,2002:timestamp": "a date",
    "tag:yaml.org,2002:seq": "a list",
    "tag:yaml.org,2002:map": "a mapping",
}
_DATE_RE = re.compile(r"\A\d{4}-\d{2}-\d{2}\Z")
_CONSTRUCTOR = yaml.constructor.SafeConstructor()

Problem = tuple[int | None, str]


class DefinitionError(DomainError):
    """A release definition refused: `problems` lists each (line, message), line counted from 1 (None: the file).

    The message has one problem a line ("line 7: unknown key 'contnet' in step"); `errors` puts them all under the
    key "definition", the upload form's file field.
    """

    def __init__(self, problems: list[Problem]):
        self.problems = sorted(problems, key=lambda problem: (problem[0] or 0, problem[1]))
        lines = [format_problem(line, message) for line, message in self.problems]
        super().__init__("\n".join(lines), errors={"definition": lines})


def format_problem(line: int | None, message: str) -> str:
    """One problem as people read it: "line 7: unknown key 'contnet' in step"."""
    return message if line is None else f"line {line}: {message}"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: the release, whether it was created (or a draft updated), and each change in words."""

    release: Release
    created: bool
    changes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One sentence for a message or a command's output."""
        if self.created:
            return f"Created draft release {self.release.name} (id {self.release.pk})."
        if not self.changes:
            return f"Draft release {self.release.name} (id {self.release.pk}) already matches the definition."
        return f"Updated draft release {self.release.name} (id {self.release.pk})."


# Export ---------------------------------------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Block style with lists indented under their key; text of several lines as `|` block scalars."""

    def increase_indent(self, flow=False, indentless=False):
        return super().increase_indent(flow, False)


# Characters YAML reads back as another line break (or drops) unless they are escaped: text holding one is written
# double-quoted, with escapes. Text of several lines is a `|` block, unless a line ends in a space or tab (a block
# scalar can't keep those): then it is double-quoted too.
_NEEDS_ESCAPES = re.compile(r"[\r\x85\u2028\u2029\ufeff]")
_TRAILING_BLANK = re.compile(r"[ \t]\n|[ \t]\Z")


def _represent_text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if _NEEDS_ESCAPES.search(text):
        style = '"'
    elif "\n" in text and not _TRAILING_BLANK.search(text):
        style = "|"
    else:
        style = None
    return dumper.represent_scalar(_STR, text, style=style)


_Dumper.add_representer(str, _represent_text)


def definition_data(release: Release) -> dict:
    """The definition of a release as plain data, keys in export order (three queries)."""
    templates = StepTemplate.objects.filter(release=release).order_by("category", "order_index", "id")
    steps: dict[str, list[dict]] = {category: [] for category in StepCategory.values}
    for template in templates:
        steps[template.category].append(
            {
                "name": template.name,
                "type": template.type,
                "content": template.content,
                "description": template.description,
            }
        )
    variables = [
        {"name": variable.key, "sensitive": True}
        if variable.is_sensitive
        else {"name": variable.key, "value": variable.value}
        for variable in variables_of(release)
    ]
    return {
        "name": release.name,
        "type": release.type,
        "version": release.version_number,
        "date": release.release_date,
        "description": release.description,
        "context_guard": release.context_guard,
        # Written only when it is not the default: most definitions never run a step from Rollcall.
        **(
            {"run_timeout_minutes": release.run_timeout_minutes}
            if release.run_timeout_minutes != RUN_TIMEOUT_DEFAULT
            else {}
        ),
        "steps": steps,
        "variables": variables,
    }


def definition_filename(release: Release) -> str:
    """The file a downloaded definition is saved as: the release's name as a slug ("v2-5-0.yaml"). slugify keeps
    only [a-z0-9_-], so no path, quote or line break reaches the header."""
    return f"{slugify(release.name.replace('.', '-')) or 'release'}.yaml"


def export_definition(release: Release) -> str:
    """The release's definition as YAML text: keys in a fixed order, several-line text as `|` blocks, so that the
    same release always exports to the same text. A sensitive variable appears without its value."""
    return yaml.dump(
        definition_data(release),
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=1_000_000,
    )


# Reading --------------------------------------------------------------------------------------------------------


@dataclass
class _Step:
    line: int
    category: str
    name: str
    type: str
    content: str
    description: str


@dataclass
class _Variable:
    line: int
    name: str
    value: str | None
    sensitive: bool


@dataclass
class _Definition:
    lines: dict[str, int]
    name: str
    type: str
    version: str
    date: datetime.date | None
    description: str
    context_guard: bool
    run_timeout_minutes: int
    steps: dict[str, list[_Step]]
    variables: list[_Variable]


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return _TAG_WORDS.get(node.tag, f"a value tagged {node.tag}")


class _Reader:
    """Walks the composed YAML nodes, collecting every problem with its line instead of stopping at the first."""

    def __init__(self):
        self.problems: list[Problem] = []

    def refuse(self, node: yaml.Node | int | None, message: str) -> None:
        line = node if isinstance(node, int) or node is None else _line(node)
        self.problems.append((line, message))

    def mapping(self, node: yaml.Node, *, where: str, keys: tuple, required: tuple) -> dict[str, yaml.Node] | None:
        """The mapping's values by key; unknown, duplicate, non-text and missing keys are problems."""
        if not isinstance(node, yaml.MappingNode):
            self.refuse(node, NOT_A_MAPPING.format(where=where, keys=", ".join(keys), actual=_describe(node)))
            return None
        found: dict[str, yaml.Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _STR:
                self.refuse(key_node, KEY_NOT_TEXT.format(where=where, actual=_describe(key_node)))
                continue
            key = key_node.value
            if key not in keys:
                close = difflib.get_close_matches(key, keys, n=1)
                hint = DID_YOU_MEAN.format(key=close[0]) if close else ""
                self.refuse(key_node, UNKNOWN_KEY.format(key=key, where=where) + hint)
            elif key in found:
                self.refuse(key_node, DUPLICATE_KEY.format(key=key, where=where))
            else:
                found[key] = value_node
        for key in required:
            if key not in found:
                self.refuse(node, MISSING_KEY.format(key=key, where=where))
        return found

    def sequence(self, node: yaml.Node, *, where: str) -> list[yaml.Node]:
        """The items of a list; an empty value (null) is an empty list."""
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return []
        if not isinstance(node, yaml.SequenceNode):
            self.refuse(node, NOT_A_LIST.format(where=where, actual=_describe(node)))
            return []
        return list(node.value)

    def text(
        self, fields: dict, key: str, *, where: str, default: str = "", limit: int | None = None, blank: bool = True
    ) -> str:
        node = fields.get(key)
        if node is None:
            return default
        if not isinstance(node, yaml.ScalarNode) or node.tag != _STR:
            hint = QUOTE_IT.format(text=node.value) if isinstance(node, yaml.ScalarNode) and node.value else ""
            self.refuse(node, WRONG_TYPE.format(key=key, where=where, expected="text", actual=_describe(node)) + hint)
            return default
        value = node.value
        if "\x00" in value or any("\ud800" <= char <= "\udfff" for char in value):
            self.refuse(node, UNSTORABLE_TEXT.format(key=key, where=where))
        elif not blank and not value.strip():
            self.refuse(node, BLANK_TEXT.format(key=key, where=where))
        elif limit is not None and len(value.strip()) > limit:
            self.refuse(node, TOO_LONG.format(key=key, where=where, limit=limit, length=len(value.strip())))
        return value

    def choice(self, fields: dict, key: str, *, where: str, choices: list[str]) -> str:
        node = fields.get(key)
        value = self.text(fields, key, where=where)
        if node is not None and isinstance(node, yaml.ScalarNode) and node.tag == _STR and value not in choices:
            self.refuse(node, BAD_CHOICE.format(key=key, where=where, choices=", ".join(choices), value=value))
        return value

    def boolean(self, fields: dict, key: str, *, where: str, default: bool = False) -> bool:
        node = fields.get(key)
        if node is None:
            return default
        if not isinstance(node, yaml.ScalarNode) or node.tag != "tag:yaml.org,2002:bool":
            self.refuse(node, WRONG_TYPE.format(key=key, where=where, expected="true or false", actual=_describe(node)))
            return default
        return _CONSTRUCTOR.construct_yaml_bool(node)

    def whole_number(self, fields: dict, key: str, *, where: str, default: int, low: int, high: int) -> int:
        node = fields.get(key)
        if node is None:
            return default
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:int":
            value = _CONSTRUCTOR.construct_yaml_int(node)
            if low <= value <= high:
                return value
        actual = node.value if isinstance(node, yaml.ScalarNode) and node.value else _describe(node)
        self.refuse(node, BAD_WHOLE_NUMBER.format(key=key, where=where, low=low, high=high, actual=actual))
        return default

    def date(self, fields: dict, key: str, *, where: str) -> datetime.date | None:
        node = fields.get(key)
        if node is None:
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:null":
            return None
        if isinstance(node, yaml.ScalarNode) and node.tag in (_STR, "tag:yaml.org,2002:timestamp"):
            if _DATE_RE.match(node.value):
                try:
                    return datetime.date.fromisoformat(node.value)
                except ValueError:
                    pass
            self.refuse(node, BAD_DATE.format(key=key, where=where, value=node.value))
            return None
        self.refuse(
            node, WRONG_TYPE.format(key=key, where=where, expected="a date (YYYY-MM-DD)", actual=_describe(node))
        )
        return None


def _compose(text: str) -> yaml.Node:
    """The YAML document's node tree (safe loader, nothing constructed); a syntax error refused with its line."""
    try:
        # An alias makes one node appear in several places (and a chain of them, a huge walk): refused where it is.
        aliases = [
            event.start_mark.line + 1
            for event in yaml.parse(text, Loader=yaml.SafeLoader)
            if isinstance(event, yaml.AliasEvent)
        ]
        root = None if aliases else yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        problem = error.problem or error.context or "unreadable"
        # At the end of the file the parser points past the last line (after its newline): say the last line.
        line = min(mark.line + 1, len(text.splitlines()) or 1) if mark else None
        raise DefinitionError([(line, INVALID_YAML.format(problem=problem))]) from None
    except RecursionError:  # PyYAML's composer recurses once per level of nesting
        raise DefinitionError([(None, TOO_DEEP)]) from None
    except yaml.reader.ReaderError as error:
        line = text.count("\n", 0, error.position) + 1
        character = error.character if isinstance(error.character, int) else ord(error.character)
        raise DefinitionError([(line, UNACCEPTABLE_CHARACTER.format(character=f"#x{character:04x}"))]) from None
    if aliases:
        raise DefinitionError([(line, ALIAS_REFUSED) for line in aliases])
    if root is None:
        raise DefinitionError([(None, EMPTY_DEFINITION)])
    return root


def _read_step(reader: _Reader, node: yaml.Node, category: str) -> _Step | None:
    where = "step"
    fields = reader.mapping(node, where=where, keys=STEP_KEYS, required=REQUIRED_STEP_KEYS)
    if fields is None:
        return None
    name = reader.text(fields, "name", where=where, limit=NAME_MAX_CHARS, blank=False)
    step_type = reader.choice(fields, "type", where=where, choices=StepType.values)
    content = reader.text(fields, "content", where=where, limit=STEP_CONTENT_MAX_CHARS, blank=False)
    description = reader.text(fields, "description", where=where)
    if "content" in fields and content.strip():
        try:
            check(content)
        except TemplateSyntaxError as error:
            reader.refuse(fields["content"], BAD_CONTENT.format(step=name.strip(), message=error.message))
    return _Step(_line(node), category, name.strip(), step_type, content, description)


def _read_variables(reader: _Reader, node: yaml.Node) -> list[_Variable]:
    variables: list[_Variable] = []
    first_line: dict[str, int] = {}
    for item in reader.sequence(node, where="'variables'"):
        where = "variable"
        fields = reader.mapping(item, where=where, keys=VARIABLE_KEYS, required=REQUIRED_VARIABLE_KEYS)
        if fields is None:
            continue
        name = reader.text(fields, "name", where=where, limit=NAME_MAX_CHARS, blank=False).strip()
        sensitive = reader.boolean(fields, "sensitive", where=where)
        value = reader.text(fields, "value", where=where) if "value" in fields else None
        if "name" in fields and name and not is_valid_name(name):
            reader.refuse(fields["name"], BAD_VARIABLE_NAME.format(key=name))
        if sensitive and value is not None:
            reader.refuse(fields["value"], SENSITIVE_VALUE.format(key=name))
        if name in first_line:
            reader.refuse(item, DUPLICATE_VARIABLE.format(key=name, line=first_line[name]))
        first_line.setdefault(name, _line(item))
        variables.append(_Variable(_line(item), name, value, sensitive))
    return variables


def parse_definition(text: str) -> _Definition:
    """Read a definition, refusing it (DefinitionError) with every problem found and its line."""
    reader = _Reader()
    root = _compose(text)
    where = "the release"
    fields = reader.mapping(root, where=where, keys=RELEASE_KEYS, required=REQUIRED_RELEASE_KEYS)
    if fields is None:
        raise DefinitionError(reader.problems)
    definition = _Definition(
        lines={key: _line(node) for key, node in fields.items()} | {"": _line(root)},
        name=reader.text(fields, "name", where=where, limit=NAME_MAX_CHARS, blank=False).strip(),
        type=reader.choice(fields, "type", where=where, choices=ReleaseType.values),
        version=reader.text(fields, "version", where=where, limit=VERSION_MAX_CHARS).strip(),
        date=reader.date(fields, "date", where=where),
        description=reader.text(fields, "description", where=where),
        context_guard=reader.boolean(fields, "context_guard", where=where),
        run_timeout_minutes=reader.whole_number(
            fields,
            "run_timeout_minutes",
            where=where,
            default=RUN_TIMEOUT_DEFAULT,
            low=RUN_TIMEOUT_RANGE[0],
            high=RUN_TIMEOUT_RANGE[1],
        ),
        steps={category: [] for category in StepCategory.values},
        variables=[],
    )
    if "steps" in fields:
        steps_node = fields["steps"]
        is_null = isinstance(steps_node, yaml.ScalarNode) and steps_node.tag == "tag:yaml.org,2002:null"
        categories = (
            {} if is_null else reader.mapping(steps_node, where="'steps'", keys=tuple(StepCategory.values), required=())
        )
        for category, node in (categories or {}).items():
            for item in reader.sequence(node, where=f"'steps: {category}'"):
                step = _read_step(reader, item, category)
                if step is not None:
                    definition.steps[category].append(step)
    if "variables" in fields:
        definition.variables = _read_variables(reader, fields["variables"])
    if reader.problems:
        raise DefinitionError(reader.problems)
    return definition


# Import ---------------------------------------------------------------------------------------------------------


class _Refusal(Exception):
    """A service refused a part of the definition: the line of that part, and the service's message."""

    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message


def _at(line: int, where: str, call, **kwargs):
    """Call a service; its refusal becomes a problem on `line`, prefixed with what was being done."""
    try:
        return call(**kwargs)
    except DomainError as error:
        raise _Refusal(line, REFUSED.format(where=where, message=error.message)) from error


def _release_line(definition: _Definition, error: DomainError) -> int:
    key = RELEASE_KEY_OF_FIELD.get(error.field or "", error.field or "")
    return definition.lines.get(key, definition.lines["name"])


def _release_fields(definition: _Definition) -> dict:
    return {
        "name": definition.name,
        "type": definition.type,
        "version_number": definition.version,
        "release_date": definition.date,
        "description": definition.description,
        "context_guard": definition.context_guard,
        "run_timeout_minutes": definition.run_timeout_minutes,
    }


def _draft_to_update(definition: _Definition) -> Release | None:
    """The draft the definition names, or None for a new one; a non-draft (or several drafts) of that name refused."""
    same_name = list(Release.objects.filter(name=definition.name).order_by("pk"))
    line = definition.lines["name"]
    for release in same_name:
        if release.status != ReleaseStatus.DRAFT:
            status = release.get_status_display().lower()
            raise DefinitionError([(line, RELEASE_NOT_DRAFT.format(name=definition.name, status=status))])
    if len(same_name) > 1:
        raise DefinitionError([(line, SEVERAL_DRAFTS.format(count=len(same_name), name=definition.name))])
    return same_name[0] if same_name else None


def _create(definition: _Definition, user) -> ImportResult:
    try:
        release = release_create(user=user, **_release_fields(definition))
    except DomainError as error:
        raise _Refusal(_release_line(definition, error), error.message) from error
    changes = []
    for steps in definition.steps.values():
        for step in steps:
            _at(
                step.line,
                f"step '{step.name}'",
                template_step_add,
                release=release,
                user=user,
                name=step.name,
                category=step.category,
                type=step.type,
                content=step.content,
                description=step.description,
            )
            changes.append(f"added {step.category} step {step.name}")
    for variable in definition.variables:
        _at(
            variable.line,
            f"variable '{variable.name}'",
            variable_create,
            owner=release,
            key=variable.name,
            value=variable.value or "",
            is_sensitive=variable.sensitive,
            user=user,
        )
        changes.append(
            f"added variable {variable.name}" + (" (sensitive: set its value)" if variable.sensitive else "")
        )
    return ImportResult(release=release, created=True, changes=changes)


def _update_steps(release: Release, definition: _Definition, user, changes: list[str]) -> None:
    """Match the file's steps with the draft's by category and name, in order: edit those that differ, add the new
    ones, delete those the file no longer has, then put each category in the file's order."""
    existing = list(StepTemplate.objects.filter(release=release).order_by("category", "order_index", "id"))
    for category, steps in definition.steps.items():
        unmatched = [template for template in existing if template.category == category]
        ordered_ids = []
        for step in steps:
            match = next((template for template in unmatched if template.name == step.name), None)
            where = f"step '{step.name}'"
            if match is None:
                added = _at(
                    step.line,
                    where,
                    template_step_add,
                    release=release,
                    user=user,
                    name=step.name,
                    category=category,
                    type=step.type,
                    content=step.content,
                    description=step.description,
                )
                ordered_ids.append(added.pk)
                changes.append(f"added {category} step {step.name}")
                continue
            unmatched.remove(match)
            ordered_ids.append(match.pk)
            wanted = {"type": step.type, "content": step.content, "description": step.description}
            differing = {key: value for key, value in wanted.items() if getattr(match, key) != value}
            if differing:
                _at(step.line, where, template_step_update, template_step=match, user=user, **differing)
                changes.append(f"changed {category} step {step.name}: {', '.join(differing)}")
        for template in unmatched:
            _at(
                definition.lines.get("steps", 1),
                f"step '{template.name}'",
                template_step_delete,
                template_step=template,
                user=user,
            )
            changes.append(f"deleted {category} step {template.name}")
        current = list(
            StepTemplate.objects.filter(release=release, category=category)
            .order_by("order_index", "id")
            .values_list("pk", flat=True)
        )
        if current != ordered_ids:
            _at(
                definition.lines.get("steps", 1),
                f"'steps: {category}'",
                template_steps_reorder,
                release=release,
                category=category,
                ordered_ids=ordered_ids,
                user=user,
            )
            changes.append(f"reordered {category} steps")


def _update_variables(release: Release, definition: _Definition, user, changes: list[str]) -> None:
    """Define the file's variables on the draft, change those that differ, delete those the file no longer has. A
    sensitive variable without a value keeps the value it has."""
    existing: dict[str, Variable] = {variable.key: variable for variable in variables_of(release)}
    for variable in definition.variables:
        where = f"variable '{variable.name}'"
        current = existing.pop(variable.name, None)
        if current is None:
            _at(
                variable.line,
                where,
                variable_create,
                owner=release,
                key=variable.name,
                value=variable.value or "",
                is_sensitive=variable.sensitive,
                user=user,
            )
            changes.append(f"added variable {variable.name}")
        elif variable.sensitive and not current.is_sensitive:
            _at(variable.line, where, variable_update, variable=current, user=user, is_sensitive=True)
            changes.append(f"made variable {variable.name} sensitive")
        elif not variable.sensitive and (current.is_sensitive or current.value != (variable.value or "")):
            _at(
                variable.line,
                where,
                variable_update,
                variable=current,
                user=user,
                value=variable.value or "",
                is_sensitive=False,
            )
            changes.append(f"changed variable {variable.name}")
    for variable in existing.values():
        _at(
            definition.lines.get("variables", 1),
            f"variable '{variable.key}'",
            variable_delete,
            variable=variable,
            user=user,
        )
        changes.append(f"deleted variable {variable.key}")


def _update(release: Release, definition: _Definition, user) -> ImportResult:
    changes: list[str] = []
    fields = _release_fields(definition)
    differing = [key for key, value in fields.items() if getattr(release, key) != value]
    if differing:
        try:
            release = release_update(release=release, user=user, **fields)
        except DomainError as error:
            raise _Refusal(_release_line(definition, error), error.message) from error
        changes.append(f"changed {', '.join(differing)}")
    _update_steps(release, definition, user, changes)
    _update_variables(release, definition, user, changes)
    return ImportResult(release=release, created=False, changes=changes)


@transaction.atomic
def import_definition(text: str, *, user) -> ImportResult:
    """Import a definition: a new draft release, or the draft of the same name brought in line with it (its fields,
    template steps and variable defaults). Refused (DefinitionError, with every problem's line) when the file is not
    a valid definition, when a release of that name is active or archived, or when a service refuses a part of it;
    then nothing changes. `user` None is the system (a command); otherwise the user must be allowed to create
    (new) or change (update) releases."""
    definition = parse_definition(text)
    release = _draft_to_update(definition)
    require(user, ADD_RELEASE if release is None else CHANGE_RELEASE)
    try:
        return _create(definition, user) if release is None else _update(release, definition, user)
    except _Refusal as refusal:
        raise DefinitionError([(refusal.line, refusal.message)]) from refusal
