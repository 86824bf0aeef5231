"""core.slots: large fragments put into a rendered page once, as bytes."""

from django.http import HttpResponse
from django.template import engines
from django.utils.safestring import mark_safe

from core.slots import Slots


def _render(template: str, context: dict) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(template).render(context))


def test_each_placeholder_becomes_its_fragment_where_the_template_put_it():
    slots = Slots()
    context = {"rows": slots.hold(mark_safe("<tr><td>✅ Done</td></tr>")), "heads": slots.hold(mark_safe("<th>a</th>"))}

    response = slots.fill(_render("<table><thead>{{ heads }}</thead><tbody>{{ rows }}</tbody></table>", context))

    assert (
        response.content.decode() == "<table><thead><th>a</th></thead><tbody><tr><td>✅ Done</td></tr></tbody></table>"
    )


def test_text_shaped_like_a_placeholder_is_escaped_and_stays_as_it_was():
    slots = Slots()
    placeholder = slots.hold(mark_safe("<b>secret fragment</b>"))
    typed = "".join(placeholder)  # the same text, as a user could type it: not marked safe

    response = slots.fill(_render("{{ typed }} {{ held }}", {"typed": typed, "held": placeholder}))

    assert response.content.decode() == f"{typed.replace('<', '&lt;').replace('>', '&gt;')} <b>secret fragment</b>"


def test_an_empty_fragment_stays_empty_so_the_template_can_test_it():
    slots = Slots()

    response = slots.fill(_render("{% if rows %}rows{% else %}none{% endif %}", {"rows": slots.hold(mark_safe(""))}))

    assert response.content == b"none"
