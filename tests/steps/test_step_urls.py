"""`{% step_url %}` writes the same URL as `{% url %}`, without a reverse() per use."""

import pytest
from django.template import engines
from django.urls import reverse, set_script_prefix

STEP_URLS = ["steps:step_detail", "steps:step_done", "steps:step_revert", "steps:step_reopen", "steps:step_reset"]


def _render(source: str, **context) -> str:
    return engines["django"].from_string("{% load step_urls %}" + source).render(context)


@pytest.mark.parametrize("name", STEP_URLS)
@pytest.mark.parametrize("pk", [1, 7, 40, 123456789])
def test_step_url_is_the_url_of_that_step(name, pk):
    assert _render(f"{{% step_url '{name}' pk %}}", pk=pk) == reverse(name, args=[pk])


def test_step_url_follows_the_script_prefix_rollcall_is_served_under():
    set_script_prefix("/rollcall/")
    try:
        url = _render("{% step_url 'steps:step_done' 12 %}")
        assert url == reverse("steps:step_done", args=[12]) and url.startswith("/rollcall/")
    finally:
        set_script_prefix("/")
