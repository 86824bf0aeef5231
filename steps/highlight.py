"""Step content as the side panel shows it: line numbers and Pygments highlighting for bash and SQL, plain text
otherwise (FS-005), with the values substituted for the customer subtly marked. Pygments escapes the content, so
its output is the one piece of HTML marked safe."""

from functools import lru_cache

from django.utils.safestring import SafeString, mark_safe
from pygments import format as format_tokens
from pygments.formatters import HtmlFormatter
from pygments.lexers import BashLexer, SqlLexer, TextLexer
from pygments.token import Token

from steps.choices import StepType

LEXERS = {StepType.BASH: BashLexer, StepType.SQL: SqlLexer, StepType.TEXT: TextLexer}
# The CSS class of the block; static/css/pygments.css holds the colours for it.
CSS_CLASS = "code-block"
# A token of Rollcall's own for a substituted value: Pygments gives it the class "g-Substituted".
SUBSTITUTED = Token.Generic.Substituted


def _tokens(content: str, lexer, spans):
    """The lexer's tokens, cut at the edges of the substituted values, which become SUBSTITUTED tokens."""
    edges = sorted({edge for start, end, _name in spans for edge in (start, end)})
    inside = [(start, end) for start, end, _name in spans]
    for index, token_type, value in lexer.get_tokens_unprocessed(content):
        cuts = [edge - index for edge in edges if index < edge < index + len(value)]
        for begin, finish in zip([0, *cuts], [*cuts, len(value)], strict=True):
            piece, at = value[begin:finish], index + begin
            substituted = any(start <= at < end for start, end in inside)
            yield (SUBSTITUTED if substituted else token_type), piece


# A template step's content is the same for every customer whose step follows it: a process highlights it once for
# the panels that show it next (256 contents of at most CACHED_CHARS each: a few megabytes at most).
CACHED_CHARS = 16_000


def highlight_content(content: str, step_type: str, spans=()) -> SafeString:
    """The content as an HTML table of line numbers and highlighted lines; `spans` ((start, end, name) offsets, as
    core.variables.render gives them) are marked. Leading and trailing blank lines are kept, so line numbers match
    the text that is copied or downloaded."""
    if len(content) <= CACHED_CHARS:
        return _highlighted(content, step_type, tuple(spans))
    return _highlight(content, step_type, spans)


@lru_cache(maxsize=256)
def _highlighted(content: str, step_type: str, spans: tuple) -> SafeString:
    return _highlight(content, step_type, spans)


def _highlight(content: str, step_type: str, spans) -> SafeString:
    if not content.endswith("\n"):
        content += "\n"  # as Pygments' own preprocessing does; the offsets before it are unchanged
    lexer = LEXERS.get(step_type, TextLexer)(stripnl=False)
    formatter = HtmlFormatter(linenos="table", nowrap=False, cssclass=CSS_CLASS)
    # Pygments escapes the content it is given.
    return mark_safe(format_tokens(_tokens(content, lexer, spans), formatter))


def stylesheet() -> str:
    """The colours of every token class, scoped to the code block: the content of static/css/pygments.css."""
    return HtmlFormatter().get_style_defs(f".{CSS_CLASS}")
