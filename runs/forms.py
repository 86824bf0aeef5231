"""The shape of what the run screens send; the rules (how many at a time, at least one customer, which steps can
run) are runs.services'."""

from django import forms

from runs.services import MAX_CONCURRENCY

DEFAULT_CONCURRENCY = 4
BAD_SHA256 = "The run must name the text it confirms (its SHA-256, 64 hexadecimal digits): open the confirmation again."

NOT_OFFERED = "Choose among the customers listed: one of those sent can't run this step here (any more)."


class RunStartForm(forms.Form):
    """Start a run: the SHA-256 of the text the confirmation showed (the run starts only if it is still that text)."""

    sha256 = forms.RegexField(regex=r"\A[0-9a-f]{64}\Z", error_messages={"required": BAD_SHA256, "invalid": BAD_SHA256})


class BatchForm(forms.Form):
    """Run for a cluster: the customers to run the step for (among those the batch's plan offers), how many at a
    time and whether to stop at the first failure."""

    customers = forms.TypedMultipleChoiceField(
        coerce=int, required=False, error_messages={"invalid_choice": NOT_OFFERED}
    )
    concurrency = forms.IntegerField(
        label="At most this many at a time",
        initial=DEFAULT_CONCURRENCY,
        widget=forms.NumberInput(attrs={"min": 1, "max": MAX_CONCURRENCY}),
    )
    stop_on_failure = forms.BooleanField(label="Stop at the first failure", required=False, initial=True)

    def __init__(self, *args, offered: list[int], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["customers"].choices = [(pk, pk) for pk in offered]
        if not self.is_bound:
            self.initial["customers"] = list(offered)

    def selected_ids(self) -> set[int]:
        """The customers checked: as posted (the valid ones), or all those offered on a first showing."""
        if not self.is_bound:
            return set(self.initial["customers"])
        return {int(value) for value in self.data.getlist("customers") if value.isdigit()}
