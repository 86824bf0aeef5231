"""The upload form of a release definition: the shape of the input (a UTF-8 text file of sane size). What the file
says is releases.definition's to judge."""

from django import forms

MAX_DEFINITION_BYTES = 2 * 1024 * 1024
TOO_LARGE = "A definition holds at most 2 MB; this file has {size} bytes."
NOT_UTF8 = "The file is not UTF-8 text: save it as UTF-8 and upload it again."


class DefinitionUploadForm(forms.Form):
    """A release definition (YAML) to import: a new draft, or the draft release of the same name updated."""

    definition = forms.FileField(
        label="Definition (YAML)",
        help_text=(
            "A file written by Download definition or manage.py release_export. A draft release of the name in the "
            "file is updated in place; otherwise a new draft is created."
        ),
        widget=forms.ClearableFileInput(attrs={"accept": ".yaml,.yml,application/yaml,text/yaml,text/plain"}),
    )

    def clean_definition(self) -> str:
        """The file's text."""
        upload = self.cleaned_data["definition"]
        if upload.size > MAX_DEFINITION_BYTES:
            raise forms.ValidationError(TOO_LARGE.format(size=upload.size))
        try:
            return upload.read().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise forms.ValidationError(NOT_UTF8) from None
