"""Per-customer variables in step content: `#{name}` is replaced by the customer's value, as in Octopus Deploy.

Substitution only: nothing is evaluated, so the content around a reference (bash `$VAR` and `${VAR}`, SQL, YAML,
Helm `{{ .Values.x }}`, a `#` comment) is copied as written. The syntax is:

- `#{name}` refers to a variable. A name starts with a letter or `_` and goes on with letters, digits, `_`, `.`
  and `-` (`db.host`, `db-host`); names are case-sensitive.
- `##{` writes a literal `#{`, so `##{name}` renders as `#{name}`. In a run of `#` before `{` the last two make the
  escape and the ones before stay literal: `###{x}` renders as `##{x}`. A consequence is that a literal `#` cannot
  stand right before a reference; put the `#` into the value instead.
- Any other `#{` is a reference, and one that is not closed on its line or whose name is not valid (`#{}`,
  `#{1abc}`, `#{a b}`, `#{ name }`) is a syntax error. It is refused rather than copied as text so that a typo is
  caught when the content is saved, not discovered in a customer's runbook; the message tells how to write a
  literal `#{` (which Ruby's `"#{...}"` interpolation needs).

Values are inserted as they are, never rendered again: a value containing `#{x}` stays `#{x}`.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Text without it refers to no variable (and renders as it is).
VARIABLE_START = "#{"
VARIABLE_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.-]*")

# An escape, or a reference with its body up to the closing brace or the end of its line.
_TOKEN_RE = re.compile(r"##\{|#\{(?P<body>[^}\r\n]*)(?P<close>\})?")

_LITERAL_HINT = "or write ##{ for a literal #{."
_SHOWN_BODY_CHARS = 40


class TemplateSyntaxError(ValueError):
    """Content a release manager wrote has a `#{` that is not a valid reference; `line` and `column` count from 1."""

    def __init__(self, message: str, *, line: int, column: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True, slots=True)
class Literal:
    """Text copied as it is; `text` is what it renders as (a `##{` in the content is `#{` here)."""

    text: str


@dataclass(frozen=True, slots=True)
class Reference:
    """A `#{name}` to replace by the value of `name`."""

    name: str


Token = Literal | Reference


@dataclass(frozen=True, slots=True)
class Rendered:
    """Content with the values substituted.

    `missing` lists the names that had no value, sorted; their `#{name}` stays in `text` as written so the reader
    sees what is not filled in. `spans` holds `(start, end, name)` for every substituted value, offsets into `text`,
    so a page can mark substituted values and mask sensitive ones.
    """

    text: str
    missing: tuple[str, ...]
    spans: tuple[tuple[int, int, str], ...]


def is_valid_name(name: str) -> bool:
    """Whether `name` can be written as `#{name}`."""
    return VARIABLE_NAME_RE.fullmatch(name) is not None


def parse(text: str) -> list[Token]:
    """Split content into literal text and references; adjacent literal text is one `Literal`.

    Raises TemplateSyntaxError at the first `#{` that is unterminated or names no valid variable.
    """
    tokens: list[Token] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN_RE.finditer(text):
        literal.append(text[position : match.start()])
        position = match.end()
        body = match.group("body")
        if body is None:
            literal.append("#{")
            continue
        if match.group("close") is None or not is_valid_name(body):
            raise _syntax_error(text, match.start(), body, closed=match.group("close") is not None)
        if any(literal):
            tokens.append(Literal("".join(literal)))
        literal = []
        tokens.append(Reference(body))
    literal.append(text[position:])
    if any(literal):
        tokens.append(Literal("".join(literal)))
    return tokens


def _syntax_error(text: str, offset: int, body: str, *, closed: bool) -> TemplateSyntaxError:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    if not closed:
        message = f"Unterminated #{{ on line {line}: close it with }} {_LITERAL_HINT}"
    elif body == "":
        message = f"Empty #{{}} on line {line}: put a variable name between the braces, {_LITERAL_HINT}"
    else:
        shown = body if len(body) <= _SHOWN_BODY_CHARS else body[:_SHOWN_BODY_CHARS] + "…"
        message = (
            f"Invalid variable name in #{{{shown}}} on line {line}: a name starts with a letter or _ and has only "
            f"letters, digits, _, . and - (no spaces), {_LITERAL_HINT}"
        )
    return TemplateSyntaxError(message, line=line, column=column)


def referenced_names(text: str) -> frozenset[str]:
    """The names the content refers to. Raises TemplateSyntaxError on bad syntax."""
    return frozenset(token.name for token in parse(text) if isinstance(token, Reference))


def check(text: str) -> None:
    """Refuse content with bad syntax (raises TemplateSyntaxError); for validating content when it is saved."""
    parse(text)


def render(text: str, values: Mapping[str, str]) -> Rendered:
    """Substitute `values` into the content; a name without a value is reported in `missing`, never raised.

    Raises TemplateSyntaxError on bad syntax only.
    """
    parts: list[str] = []
    spans: list[tuple[int, int, str]] = []
    missing: set[str] = set()
    length = 0
    for token in parse(text):
        if isinstance(token, Literal):
            piece = token.text
        elif token.name in values:
            piece = values[token.name]
            spans.append((length, length + len(piece), token.name))
        else:
            piece = "#{" + token.name + "}"
            missing.add(token.name)
        parts.append(piece)
        length += len(piece)
    return Rendered(text="".join(parts), missing=tuple(sorted(missing)), spans=tuple(spans))


def escape(text: str) -> str:
    """Content that renders as `text` exactly: every `#{` becomes `##{`."""
    return text.replace("#{", "##{")


def unparse(tokens: Iterable[Token]) -> str:
    """The content that parses back into `tokens`, so `unparse(parse(text)) == text` (e.g. after renaming a name).

    Raises ValueError for tokens no content can express: an invalid name, or literal text ending in `#` right before
    a reference (it would read as the `##{` escape).
    """
    parts: list[str] = []
    literal: list[str] = []
    for token in tokens:
        if isinstance(token, Literal):
            literal.append(token.text)
            continue
        if not is_valid_name(token.name):
            raise ValueError(f"{token.name!r} is not a valid variable name.")
        pending = "".join(literal)
        if pending.endswith("#"):
            raise ValueError(f"A literal # cannot stand right before #{{{token.name}}}.")
        parts.append(escape(pending) + "#{" + token.name + "}")
        literal = []
    parts.append(escape("".join(literal)))
    return "".join(parts)
