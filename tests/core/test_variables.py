"""The `#{name}` renderer: what is a reference, what stays literal, what is refused, and the round trips."""

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from core.variables import (
    VARIABLE_NAME_RE,
    Literal,
    Reference,
    Rendered,
    TemplateSyntaxError,
    check,
    escape,
    is_valid_name,
    parse,
    referenced_names,
    render,
    unparse,
)

PROPERTIES = settings(derandomize=True, max_examples=200, deadline=None, database=None)

names = st.from_regex(VARIABLE_NAME_RE, fullmatch=True).filter(lambda name: len(name) <= 20)
# Text rich in the characters the syntax cares about, so the generator meets escapes and broken references often.
syntax_heavy_text = st.text(alphabet=st.sampled_from("#{}ab_.-1 \n$"), max_size=40)
any_text = st.one_of(st.text(), syntax_heavy_text)
values_text = st.one_of(st.text(max_size=6), syntax_heavy_text)


@pytest.mark.parametrize("name", ["x", "_", "db", "db.host", "db-host", "DB_HOST", "a1", "a.b-c_d.9"])
def test_valid_names(name):
    assert is_valid_name(name)


@pytest.mark.parametrize("name", ["", "1abc", "a b", " a", "a ", ".a", "-a", "a$", "a\n", "é", "a/b"])
def test_invalid_names(name):
    assert not is_valid_name(name)


def test_reference_is_replaced_by_its_value():
    assert render("kubectl -n #{namespace} get pods", {"namespace": "acme"}).text == "kubectl -n acme get pods"


def test_dotted_and_dashed_names():
    result = render("#{db.host}:#{db-port}", {"db.host": "pg.local", "db-port": "5432"})

    assert result.text == "pg.local:5432"
    assert referenced_names("#{db.host}:#{db-port}") == {"db.host", "db-port"}


def test_names_are_case_sensitive():
    assert render("#{Host}", {"host": "x"}).missing == ("Host",)


@pytest.mark.parametrize(
    "text",
    [
        'echo "$HOME" ${PATH} ${VAR:-default} $(date) #comment',
        "helm upgrade app chart --set image={{ .Values.image.tag }} {{- if .Values.x }}",
        "SELECT 1; # a MySQL comment\n-- a comment\nSELECT '#';",
        "key: value\nlist:\n  - {a: 1}\n# yaml comment",
        "#",
        "##",
        "# heading",
        "#}",
        "{}",
        "}{",
        "{#}",
        "a#b#c",
        "trailing #",
        "",
    ],
)
def test_other_text_is_literal(text):
    assert parse(text) == ([Literal(text)] if text else [])
    assert render(text, {"VAR": "no", "PATH": "no"}) == Rendered(text=text, missing=(), spans=())


def test_double_hash_writes_a_literal_reference():
    assert render("##{x}", {"x": "value"}).text == "#{x}"
    assert parse("##{x}") == [Literal("#{x}")]
    assert referenced_names("##{x}") == frozenset()


def test_double_hash_escapes_even_an_invalid_or_unterminated_reference():
    assert render("ruby -e 'puts \"##{1 + 1}\"' ##{", {}).text == "ruby -e 'puts \"#{1 + 1}\"' #{"


def test_triple_hash_is_a_literal_hash_then_the_escape():
    # The last two `#` before `{` make the escape, so no reference is left.
    assert render("###{x}", {"x": "value"}).text == "##{x}"
    assert render("####{x}", {"x": "value"}).text == "###{x}"
    assert referenced_names("###{x}") == frozenset()


def test_escape_then_reference():
    assert render("##{#{x}", {"x": "v"}).text == "#{v"


def test_multiline_content():
    text = "#!/bin/bash\nset -eu\n# deploy #{app}\nhelm upgrade #{app} ./chart -n #{namespace}\n"

    result = render(text, {"app": "billing", "namespace": "acme"})

    assert result.text == "#!/bin/bash\nset -eu\n# deploy billing\nhelm upgrade billing ./chart -n acme\n"
    assert referenced_names(text) == {"app", "namespace"}


def test_missing_names_stay_verbatim_and_are_listed_sorted_and_once():
    result = render("#{b} #{a} #{b} #{c}", {"c": "C"})

    assert result.text == "#{b} #{a} #{b} C"
    assert result.missing == ("a", "b")


def test_values_are_inserted_as_they_are_not_rendered_again():
    result = render("#{a}", {"a": "#{b} ##{", "b": "no"})

    assert result.text == "#{b} ##{"
    assert result.missing == ()


def test_spans_point_at_each_substituted_value():
    result = render("user=#{user}\npass=#{password} #{missing} #{user}", {"user": "admin", "password": "s3cret!"})

    assert result.spans == ((5, 10, "user"), (16, 23, "password"), (35, 40, "user"))
    assert [(result.text[start:end], name) for start, end, name in result.spans] == [
        ("admin", "user"),
        ("s3cret!", "password"),
        ("admin", "user"),
    ]


def test_an_empty_value_has_an_empty_span():
    assert render("a#{x}b", {"x": ""}) == Rendered(text="ab", missing=(), spans=((1, 1, "x"),))


@pytest.mark.parametrize(
    ("text", "message", "line", "column"),
    [
        ("echo #{name", "Unterminated #{ on line 1: close it with } or write ##{ for a literal #{.", 1, 6),
        ("a\nb\nc #{name\n}", "Unterminated #{ on line 3: close it with } or write ##{ for a literal #{.", 3, 3),
        ("x\n#{}", "Empty #{} on line 2: put a variable name between the braces, or write ##{ for a literal #{.", 2, 1),
        ("#{1abc}", "Invalid variable name in #{1abc} on line 1:", 1, 1),
        ("ok #{a}\n  #{a b}", "Invalid variable name in #{a b} on line 2:", 2, 3),
        ("#{ name }", "Invalid variable name in #{ name } on line 1:", 1, 1),
        ('puts "#{1 + 1}"', "Invalid variable name in #{1 + 1} on line 1:", 1, 7),
    ],
)
def test_syntax_errors_say_what_and_where(text, message, line, column):
    with pytest.raises(TemplateSyntaxError) as caught:
        check(text)

    assert str(caught.value).startswith(message)
    assert str(caught.value).endswith("or write ##{ for a literal #{.")
    assert (caught.value.line, caught.value.column) == (line, column)
    assert isinstance(caught.value, ValueError)


def test_invalid_name_message_explains_the_rule_and_shortens_a_long_body():
    with pytest.raises(TemplateSyntaxError) as caught:
        check("#{" + "x " * 100 + "}")

    assert "a name starts with a letter or _ and has only letters, digits, _, . and -" in str(caught.value)
    assert len(str(caught.value)) < 250


@pytest.mark.parametrize("function", [parse, referenced_names, check, lambda text: render(text, {})])
def test_every_entry_point_refuses_bad_syntax(function):
    with pytest.raises(TemplateSyntaxError):
        function("fine #{ok} then #{")


def test_parse_joins_adjacent_literal_text():
    assert parse("a##{b}#c #{x}}") == [Literal("a#{b}#c "), Reference("x"), Literal("}")]


def test_unparse_writes_back_after_a_rename():
    tokens = [Reference("new") if token == Reference("old") else token for token in parse("##{old} #{old}\n")]

    assert unparse(tokens) == "##{old} #{new}\n"


def test_unparse_refuses_tokens_no_content_can_express():
    with pytest.raises(ValueError, match="not a valid variable name"):
        unparse([Reference("a b")])
    with pytest.raises(ValueError, match="literal # cannot stand right before"):
        unparse([Literal("issue #"), Reference("number")])


def test_escape_doubles_every_reference_opening():
    assert escape("#{a} ##{ # { }") == "##{a} ###{ # { }"


@PROPERTIES
@given(text=any_text, values=st.dictionaries(st.sampled_from(["a", "b", "a_", "b-1.a"]), values_text, max_size=3))
def test_render_raises_nothing_but_syntax_errors(text, values):
    try:
        result = render(text, values)
    except TemplateSyntaxError as error:
        assert error.line >= 1
        assert error.column >= 1
        return
    for start, end, name in result.spans:
        assert result.text[start:end] == values[name]


@PROPERTIES
@given(text=any_text)
def test_parse_raises_nothing_but_syntax_errors_and_unparses_back(text):
    try:
        tokens = parse(text)
    except TemplateSyntaxError:
        return
    assert unparse(tokens) == text


@PROPERTIES
@given(text=any_text)
def test_escaped_text_renders_as_itself(text):
    assert render(escape(text), {}) == Rendered(text=text, missing=(), spans=())


@st.composite
def templates_parts_and_values(draw):
    """Literal chunks each followed by a reference or nothing, and values for some of the names referenced."""
    pool = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    literals = st.one_of(st.text(max_size=8), syntax_heavy_text)
    parts = draw(st.lists(st.tuples(literals, st.one_of(st.none(), st.sampled_from(pool))), max_size=6))
    values = draw(st.dictionaries(st.sampled_from(pool), values_text))
    return parts, values


@PROPERTIES
@given(parts_and_values=templates_parts_and_values())
def test_built_template_renders_as_the_expected_concatenation(parts_and_values):
    parts, values = parts_and_values
    # Joining escaped chunks can put a `#` from one against a `{` from the next, so the literal run is escaped whole.
    template, expected, literal_run = "", "", ""
    expected_spans = []
    for literal, name in parts:
        literal_run += literal
        expected += literal
        if name is not None:
            # A literal `#` right before a reference would read as the `##{` escape: that text can't be written.
            assume(not literal_run.endswith("#"))
            template += escape(literal_run) + "#{" + name + "}"
            literal_run = ""
            if name in values:
                expected_spans.append((len(expected), len(expected) + len(values[name]), name))
            expected += values.get(name, "#{" + name + "}")
    template += escape(literal_run)

    result = render(template, values)

    referenced = {name for _, name in parts if name is not None}
    assert result == Rendered(
        text=expected, missing=tuple(sorted(referenced - values.keys())), spans=tuple(expected_spans)
    )
    assert referenced_names(template) == referenced
