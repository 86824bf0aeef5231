"""Step content as the side panel shows it: line numbers and Pygments highlighting for bash and SQL, plain text
otherwise (FS-005). Pygments escapes the content, so its output is the one piece of HTML marked safe."""

from django.utils.safestring import SafeString, mark_safe
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import BashLexer, SqlLexer, TextLexer

from steps.choices import StepType

LEXERS = {StepType.BASH: BashLexer, StepType.SQL: SqlLexer, StepType.TEXT: TextLexer}
# The CSS class of the block; static/css/pygments.css holds the colours for it.
CSS_CLASS = "code-block"


def highlight_content(content: str, step_type: str) -> SafeString:
    """The content as an HTML table of line numbers and highlighted lines. Leading and trailing blank lines are
    kept, so line numbers match the text that is copied or downloaded."""
    lexer = LEXERS.get(step_type, TextLexer)(stripnl=False)
    formatter = HtmlFormatter(linenos="table", nowrap=False, cssclass=CSS_CLASS)
    # Pygments escapes the content it is given.
    return mark_safe(highlight(content, lexer, formatter))


def stylesheet() -> str:
    """The colours of every token class, scoped to the code block: the content of static/css/pygments.css."""
    return HtmlFormatter().get_style_defs(f".{CSS_CLASS}")
