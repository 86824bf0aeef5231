"""The variable form of the table editor: the shape of the input. Rules (names, duplicates, size, encryption) are
variables.services'."""

from django import forms

from core.forms import MultilineTextField
from variables.models import Variable


class VariableForm(forms.Form):
    """A variable's name, value and sensitivity, for adding one or editing one in place.

    A sensitive value never comes back into the page: editing one starts with an empty value box (left empty, the
    stored value is kept), and a refused form marked sensitive comes back without the value that was typed.
    """

    key = forms.CharField(label="Name", max_length=200)
    value = MultilineTextField(required=False, widget=forms.Textarea(attrs={"rows": 1}))
    is_sensitive = forms.BooleanField(label="Sensitive", required=False)

    def __init__(self, data=None, *, variable: Variable | None = None):
        initial = None
        if variable is not None:
            initial = {
                "key": variable.key,
                "value": "" if variable.is_sensitive else variable.value,
                "is_sensitive": variable.is_sensitive,
            }
        super().__init__(data, initial=initial)
        self.variable = variable

    def full_clean(self):
        super().full_clean()
        # Shown again after a refusal, the value typed as sensitive would be in the page in clear: drop it from the
        # data the form renders (cleaned_data, which the service gets, keeps it).
        if self.is_bound and self["is_sensitive"].value():
            self.data = self.data.copy()
            self.data["value"] = ""

    def changes(self) -> dict:
        """What variable_update gets: name and sensitivity, and the value unless it is a sensitive one left empty."""
        changes = {"key": self.cleaned_data["key"], "is_sensitive": self.cleaned_data["is_sensitive"]}
        if not (self.variable.is_sensitive and self.cleaned_data["value"] == ""):
            changes["value"] = self.cleaned_data["value"]
        return changes
