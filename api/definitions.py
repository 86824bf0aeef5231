"""Releases as code through the API: a release's definition as YAML (GET), and an import (POST) that creates a draft
or brings the draft of that name in line (releases.definition does both, with the same rules as the release page and
`manage.py release_import`)."""

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from api.exceptions import PayloadTooLarge
from releases.forms_definition import MAX_DEFINITION_BYTES

YAML_MEDIA_TYPE = "application/yaml"
NOT_TEXT = "A definition is UTF-8 text."
NO_DEFINITION = 'Send the definition as the request body (Content-Type: application/yaml) or as JSON {"definition": …}.'


class YamlTextParser(BaseParser):
    """A YAML body as text: parsing it is the definition's own work (safe loader only, with line numbers)."""

    media_type = YAML_MEDIA_TYPE

    def parse(self, stream, media_type=None, parser_context=None) -> str:
        raw = stream.read(MAX_DEFINITION_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_DEFINITION_BYTES:
            raise PayloadTooLarge()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ParseError(NOT_TEXT) from error


class TextYamlParser(YamlTextParser):
    """The same, for clients that send `text/yaml`."""

    media_type = "text/yaml"


def definition_text(data) -> str:
    """The definition in a request's data: the YAML body itself, or the `definition` of a JSON object."""
    if isinstance(data, str):
        return data
    text = data.get("definition") if hasattr(data, "get") else None
    if not isinstance(text, str):
        raise ParseError(NO_DEFINITION)
    if len(text.encode("utf-8", errors="surrogatepass")) > MAX_DEFINITION_BYTES:
        raise PayloadTooLarge()
    return text
