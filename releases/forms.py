"""The shape of what the release screens send; the rules themselves are the services' (releases, steps)."""

from django import forms
from django.conf import settings

from core.forms import MultilineTextField
from releases.choices import ReleaseType
from steps.choices import StepCategory, StepType


class ReleaseForm(forms.Form):
    """Create or edit a release (FR-001)."""

    name = forms.CharField(max_length=200)
    type = forms.ChoiceField(choices=ReleaseType.choices, initial=ReleaseType.RELEASE)
    version_number = forms.CharField(max_length=50, required=False, help_text="Required for type release, e.g. v2.5.0.")
    release_date = forms.DateField(
        label="Target date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="When the release is planned; required for type release.",
    )
    description = MultilineTextField(required=False, widget=forms.Textarea(attrs={"rows": 4}))
    context_guard = forms.BooleanField(
        required=False,
        label="kubectl context guard",
        help_text="Copied and downloaded bash steps stop unless kubectl's current context is the customer's cluster "
        "(its kube_context variable, or the cluster's name).",
    )
    run_timeout_minutes = forms.IntegerField(
        label="Run time limit (minutes)",
        required=False,
        min_value=1,
        max_value=24 * 60,
        initial=10,
        help_text="A step run on its cluster from Rollcall is stopped after this long (left empty: unchanged, 10 for "
        "a new release).",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not settings.ROLLCALL_EXECUTION:
            del self.fields["run_timeout_minutes"]  # nothing runs from Rollcall: nothing to limit

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("run_timeout_minutes", 0) is None:
            del cleaned["run_timeout_minutes"]  # not given: the release keeps its limit (a new one gets 10)
        return cleaned


class TemplateStepForm(forms.Form):
    """Edit a template step (FS-002, FCS-007)."""

    name = forms.CharField(max_length=200)
    category = forms.ChoiceField(choices=StepCategory.choices)
    type = forms.ChoiceField(choices=StepType.choices)
    # Not required here: a blank step is refused by the service, with its own message.
    content = forms.CharField(
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "class": "code", "spellcheck": "false"}),
        help_text="The script, the query or the instructions.",
    )
    description = MultilineTextField(required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def clean_content(self) -> str:
        """Browsers send line breaks as CRLF; a script is stored with the LF line breaks a shell expects."""
        return self.cleaned_data["content"].replace("\r\n", "\n")


class TemplateStepCreateForm(TemplateStepForm):
    """Add a template step (FS-001), at a position in its category or at the end."""

    position = forms.IntegerField(
        min_value=1, required=False, help_text="1 puts it first in its category; leave empty to add it at the end."
    )

    def service_arguments(self) -> dict:
        """The arguments of template_step_add: the 1-based position becomes a 0-based index."""
        arguments = dict(self.cleaned_data)
        position = arguments.pop("position")
        arguments["index"] = None if position is None else position - 1
        return arguments


class CustomerSelectionForm(forms.Form):
    """The customers checked in the customer picker; `customers` lists those offered."""

    customers = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, **kwargs)
        self.offered = customers
        self.fields["customers"].choices = [(customer.pk, customer.name) for customer in customers]

    def selected_ids(self) -> set[int]:
        """The checked customers: every one offered before anything was posted, then the valid ones posted (call
        after validation)."""
        if not self.is_bound:
            return {customer.pk for customer in self.offered}
        return set(self.cleaned_data.get("customers", []))


class ActivationForm(CustomerSelectionForm):
    """Activate a release for the checked customers (FR-003). `shown` lists every customer the dialog showed (all
    offered when absent), so that only customers the user unchecked are left out, not those that became active
    since the dialog opened."""

    shown = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, customers=customers, **kwargs)
        self.fields["shown"].choices = self.fields["customers"].choices

    def exclusions(self) -> tuple[list[int], list[int]]:
        """The unchecked customers and the clusters left without any checked customer, as
        (exclude_customers, exclude_clusters) for release_activate; both empty when everything is checked."""
        checked = set(self.cleaned_data["customers"])
        shown = set(self.cleaned_data["shown"]) or {customer.pk for customer in self.offered}
        unchecked = [customer for customer in self.offered if customer.pk in shown - checked]
        clusters_kept = {customer.cluster_id for customer in self.offered if customer.pk in checked}
        exclude_clusters = sorted({customer.cluster_id for customer in unchecked} - clusters_kept)
        exclude_customers = [customer.pk for customer in unchecked if customer.cluster_id in clusters_kept]
        return exclude_customers, exclude_clusters


class AddCustomersForm(CustomerSelectionForm):
    """Add late joiners to an active release."""

    def __init__(self, *args, customers, **kwargs):
        super().__init__(*args, customers=customers, **kwargs)
        self.fields["customers"].required = True
        self.fields["customers"].error_messages["required"] = "Select at least one customer to add."

    def selected_ids(self) -> set[int]:
        """Nothing is checked until the user checks it."""
        return super().selected_ids() if self.is_bound else set()


class ConfirmForm(forms.Form):
    """A confirmation step: nothing to fill in; a refusal shows at its top."""


class CloneForm(forms.Form):
    """Clone a release (FR-004); without a name the clone is called "<name> (copy)"."""

    name = forms.CharField(max_length=200, required=False)
