"""The shape of input on the step screens. Business refusals (a skip without a reason, a done step's locked content,
an empty script…) come from steps.services and are shown on these forms with core.forms.add_domain_error."""

from django import forms

from core.forms import MultilineTextField
from steps.choices import BLOCKED, Position, StepCategory, StepStatus, StepType

VERSION_INVALID = "This page sent an unknown version of the step: reload the step and try again."
CODE_WIDGET_ATTRS = {"class": "code", "rows": 12, "spellcheck": "false", "autocomplete": "off"}


class ContentField(forms.CharField):
    """A script, query or instructions, kept exactly as typed — except the CRLF line ends browsers send for a
    textarea, which become LF: a bash script with CR in it fails in the terminal."""

    def __init__(self, **kwargs):
        kwargs.setdefault("strip", False)
        kwargs.setdefault("required", False)  # an empty script is refused by the service, with its message
        kwargs.setdefault("widget", forms.Textarea(attrs=CODE_WIDGET_ATTRS))
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


class MatrixFilterForm(forms.Form):
    """The matrix's tab and filters (FR-007): category, one cluster, one status."""

    category = forms.ChoiceField(choices=StepCategory.choices, required=False, widget=forms.HiddenInput)
    cluster = forms.TypedChoiceField(coerce=int, required=False, empty_value=None, label="Cluster")
    status = forms.ChoiceField(
        choices=[("", "All Status"), *StepStatus.choices, (BLOCKED, "Blocked")], required=False, label="Status"
    )

    def __init__(self, *args, clusters, **kwargs):
        super().__init__(*args, **kwargs)
        self.clusters = {cluster.pk: cluster for cluster in clusters}
        self.fields["cluster"].choices = [("", "All Clusters"), *((c.pk, c.name) for c in clusters)]

    def filters(self) -> dict:
        """The category, cluster and status to show; what did not validate is left unfiltered."""
        data = {}
        if self.is_bound:
            self.is_valid()  # cleaned_data keeps the fields that validated
            data = self.cleaned_data
        return {
            "category": data.get("category") or StepCategory.DEPLOY,
            "cluster": self.clusters.get(data.get("cluster")),
            "status": data.get("status") or None,
        }


class StepVersionForm(forms.Form):
    """The version of the step the page showed when the person acted (optimistic versioning): a change made from a
    stale page is refused by the service instead of overwriting the newer state. Blank or absent means "the step as
    it is now"."""

    version = forms.IntegerField(
        required=False,
        min_value=1,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": VERSION_INVALID,
            "min_value": VERSION_INVALID,
        },
    )


class NotesForm(forms.Form):
    """Execution notes, saved on their own or with Mark as Done / Revert (FET-001)."""

    notes = MultilineTextField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Enter execution notes..."}),
    )


class SkipForm(forms.Form):
    """Why a step is skipped; the service refuses a blank reason (BR-S03)."""

    reason = MultilineTextField(
        required=False,
        label="Reason for skipping (required)",
        widget=forms.Textarea(attrs={"rows": 2, "aria-required": "true", "placeholder": "Why is this step skipped?"}),
    )


class OverrideForm(forms.Form):
    """This customer's own content for a template step (FCS-002)."""

    content = ContentField(label="Content for this customer")


class CustomStepEditForm(forms.Form):
    """A custom step's name, type, content and description."""

    name = forms.CharField(max_length=200, label="Step Name")
    type = forms.ChoiceField(choices=StepType.choices, label="Type")
    content = ContentField(label="Content")
    description = MultilineTextField(required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Description")


class CustomStepAddForm(CustomStepEditForm):
    """A step for one customer (spec §5.8): where it goes among the customer's steps, and whether it becomes a
    template step for every customer instead (BR-S06)."""

    category = forms.ChoiceField(choices=StepCategory.choices, label="Category")
    relative_to = forms.ChoiceField(required=False, label="Insert Position")
    add_to_template = forms.BooleanField(required=False, label="Add to template (apply to all customers)")

    # Insert Position right after Category: the page offers only the chosen category's positions (static/js/layout.js),
    # and a refusal of either shows near the top of the dialog.
    field_order = ("name", "category", "relative_to", "type", "content", "description", "add_to_template")

    def __init__(self, *args, steps_by_category: dict[str, list], **kwargs):
        super().__init__(*args, **kwargs)
        self.steps = {step.pk: step for steps in steps_by_category.values() for step in steps}
        choices = [("", "At the end of the category")]
        for category, steps in steps_by_category.items():
            options = []
            for step in steps:
                options += [
                    (f"{Position.BEFORE}:{step.pk}", f"Before «{step.name}»"),
                    (f"{Position.AFTER}:{step.pk}", f"After «{step.name}»"),
                ]
            if options:
                choices.append((StepCategory(category).label, options))
        self.fields["relative_to"].choices = choices

    def clean_relative_to(self) -> tuple[str | None, object]:
        """(position, step) from "before:<id>" / "after:<id>", or (None, None) for the end of the category."""
        value = self.cleaned_data["relative_to"]
        if not value:
            return None, None
        position, pk = value.split(":")
        return position, self.steps[int(pk)]


SELECTION_REQUIRED = "Select at least one step."
SELECTION_INVALID = "This page sent a selection that can't be read: reload it and select again."
SELECTION_TOO_LARGE = "Select at most {max} steps at once."
BULK_SELECTION_MAX = 5000


class StepSelectionField(forms.Field):
    """The selected steps, each as "<id>:<version>" (the version the page showed), from checkboxes (one value each)
    or from one field listing them separated by spaces or commas: {id: version}."""

    widget = forms.MultipleHiddenInput
    default_error_messages = {"required": SELECTION_REQUIRED, "invalid": SELECTION_INVALID}

    def to_python(self, value) -> dict[int, int]:
        tokens = " ".join(value or []).replace(",", " ").split()
        selection = {}
        for token in tokens:
            pk, _, version = token.partition(":")
            if not (token.isascii() and pk.isdigit() and version.isdigit() and len(pk) <= 18 and len(version) <= 9):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
            selection[int(pk)] = int(version)
        if len(selection) > BULK_SELECTION_MAX:
            raise forms.ValidationError(SELECTION_TOO_LARGE.format(max=BULK_SELECTION_MAX), code="too_large")
        return selection


class BulkActionForm(forms.Form):
    """A bulk action (issue 9): the posted button's action, the selected steps with their versions, and the one
    reason a skip gives them all (the service refuses a blank one, next to this field)."""

    action = forms.ChoiceField(
        choices=[("mark_done", "Mark as Done"), ("skip", "Skip"), ("revert", "Revert")],
        error_messages={"required": "Choose Mark as Done, Skip or Revert.", "invalid_choice": "Unknown bulk action."},
    )
    steps = StepSelectionField()
    reason = forms.CharField(
        required=False,
        label="Reason for skipping",
        widget=forms.TextInput(attrs={"placeholder": "Why are these steps skipped?", "autocomplete": "off"}),
    )
