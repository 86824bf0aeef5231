"""`{% step_url "steps:step_done" step.pk %}`: a customer step's URL, as `{% url %}` gives it, without a reverse() per
use: a list of hundreds of steps (the cross-customer view) writes six of them a row, and each reverse() walks the URL
resolver. The URL of id 0 is reversed once per name (and script prefix) and the id put in its place."""

from functools import lru_cache

from django import template
from django.urls import get_script_prefix, reverse

register = template.Library()


@lru_cache(maxsize=64)
def _around_id(name: str, script_prefix: str) -> tuple[str, str]:
    """What comes before and after the id in the URL `name` of a step (its only argument)."""
    before, after = reverse(name, args=[0]).rsplit("/0/", 1)
    return f"{before}/", f"/{after}"


@register.simple_tag
def step_url(name: str, pk: int) -> str:
    before, after = _around_id(name, get_script_prefix())
    return f"{before}{int(pk)}{after}"
