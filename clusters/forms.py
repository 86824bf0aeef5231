"""The cluster form: the shape of the input; whether the name is free is clusters.services' decision."""

from django import forms

from clusters.models import Cluster
from core.forms import MetadataField, MultilineTextField
from core.validators import validate_json_object

METADATA_HELP = 'A JSON object, e.g. {"region": "us-east-1", "api": "https://k8s.example.com"}.'


class ClusterForm(forms.Form):
    """Create or edit a cluster (FC-001, FC-002)."""

    name = forms.CharField(max_length=100)
    kubeconfig_path = forms.CharField(
        label="Kubeconfig path", max_length=500, required=False, help_text="e.g. ~/.kube/prod-us-config"
    )
    description = MultilineTextField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    is_active = forms.BooleanField(label="Active", required=False, initial=True)
    metadata = MetadataField(
        required=False,
        initial=dict,
        validators=[validate_json_object],
        help_text=METADATA_HELP,
        widget=forms.Textarea(attrs={"rows": 4, "class": "code"}),
    )

    @classmethod
    def for_cluster(cls, cluster: Cluster, data=None) -> "ClusterForm":
        """The form filled with `cluster`'s current values; with `data`, what was submitted on top of them."""
        initial = {name: getattr(cluster, name) for name in cls.base_fields}
        return cls(data, initial=initial)

    def changes(self) -> dict:
        """The fields whose submitted value differs from the initial one, with their new values."""
        return {name: self.cleaned_data[name] for name in self.changed_data}
