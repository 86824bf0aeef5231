"""The subscription form: its shape only; the URL's scheme and the events are checked by webhooks.services."""

from django import forms

from webhooks.choices import EventType, PayloadFormat

KEEP_URL_HELP = "Leave blank to keep the current URL (pages show only its host: its path may be a secret)."


class SubscriptionForm(forms.Form):
    name = forms.CharField(max_length=200, help_text="Who receives it, e.g. “Jenkins” or “#releases on Slack”.")
    target_url = forms.CharField(
        label="Target URL",
        max_length=2000,
        help_text="http:// or https://. Rollcall POSTs each event there.",
        # A text input, styled as the others (rollcall.css has no rule for type=url); the service checks the scheme.
        widget=forms.TextInput(
            attrs={"placeholder": "https://ci.example.com/hooks/rollcall", "autocomplete": "off", "inputmode": "url"}
        ),
    )
    events = forms.MultipleChoiceField(choices=EventType.choices, widget=forms.CheckboxSelectMultiple)
    format = forms.ChoiceField(choices=PayloadFormat.choices, initial=PayloadFormat.JSON, widget=forms.RadioSelect)

    @classmethod
    def for_subscription(cls, subscription, data=None) -> "SubscriptionForm":
        """The form to edit `subscription`: its values, except the URL, which is never sent back to a page."""
        form = cls(
            data,
            initial={"name": subscription.name, "events": subscription.events, "format": subscription.format},
        )
        form.fields["target_url"].required = False
        form.fields["target_url"].help_text = KEEP_URL_HELP
        return form

    def changes(self) -> dict:
        """The cleaned values for subscription_update, without the URL when it was left blank."""
        values = dict(self.cleaned_data)
        if not values.get("target_url"):
            values.pop("target_url", None)
        return values
