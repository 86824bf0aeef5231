"""The API tokens page's form: the shape of the input; the bounds are api.services'."""

from django import forms

from api.services import DEFAULT_EXPIRY_DAYS, MAX_EXPIRY_DAYS


class ApiTokenForm(forms.Form):
    """A new token: what it is for, and after how many days it stops working."""

    name = forms.CharField(max_length=100, help_text="What uses it, e.g. jenkins-deploy.")
    expires_in_days = forms.IntegerField(
        label="Expires after (days)", min_value=1, max_value=MAX_EXPIRY_DAYS, initial=DEFAULT_EXPIRY_DAYS
    )
