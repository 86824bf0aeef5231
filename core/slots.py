"""Large fragments written in Python, put into a rendered page once, as bytes.

Django's template engine joins every level's output into a new string: a fragment of a megabyte (a matrix's
10,000 cells) inside a page's blocks, partials and loops is copied twice at each of about eight levels, and as a
string of emoji (four bytes a character), which costs more than writing it. A view hands such a fragment to
`Slots.hold()`, which gives the template a short placeholder instead, and `Slots.fill()` puts each fragment into the
rendered response's bytes in its placeholder's place: encoded once, copied once.

A placeholder carries a random token of the request: page content is escaped (`<` becomes `&lt;`), and no text can
guess the token anyway, so only the view's own placeholders are replaced.
"""

import re
import secrets

from django.utils.safestring import SafeString, mark_safe


class Slots:
    """The fragments one response holds back from its template until `fill()`."""

    def __init__(self) -> None:
        self._token = secrets.token_hex(8)
        self._fragments: list[str] = []

    def hold(self, html: SafeString | None) -> SafeString | None:
        """A placeholder for `html` (already safe HTML) to put in the template context in its place; nothing (None or
        empty) stays as it is, so that the template can still test it."""
        if not html:
            return html
        self._fragments.append(html)
        return mark_safe(f"<!--{self._token}:{len(self._fragments) - 1}-->")

    def fill(self, response):
        """`response` with each placeholder replaced by its fragment."""
        if not self._fragments:
            return response
        charset = response.charset
        # split() with a group: text, fragment index, text, fragment index, …, text.
        parts = re.split(rf"<!--{self._token}:(\d+)-->", response.content.decode(charset))
        response.content = b"".join(
            (self._fragments[int(part)] if index % 2 else part).encode(charset) for index, part in enumerate(parts)
        )
        return response
