"""Through what a change is made, when it is not the screens: the history notes it beside the actor.

The API's view layer wraps a request made with a token in `acting_via("API token 'jenkins'")`; every event the
services record while it lasts carries that label (`Event.via`). A context variable, not an argument: the services
keep their signatures, the screens and commands record nothing extra, and reading it costs no query.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_via: ContextVar[str] = ContextVar("history_via", default="")


def current_via() -> str:
    """The label of the channel the current change comes through; empty for the screens and commands."""
    return _via.get()


@contextmanager
def acting_via(label: str) -> Iterator[None]:
    """Mark every event recorded inside the block as made through `label` (e.g. "API token 'jenkins'")."""
    token = _via.set(label)
    try:
        yield
    finally:
        _via.reset(token)
