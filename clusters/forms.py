"""The cluster form: the shape of the input; whether the name is free is clusters.services' decision."""

from django import forms

from clusters.models import Cluster
from core.forms import MetadataField, MultilineTextField
from core.validators import validate_json_object

# The metadata key the Region field stands for (Cluster.region reads it).
REGION = "region"
METADATA_HELP = 'Anything else, as a JSON object, e.g. {"api": "https://k8s.example.com"}.'
REGION_TWICE = "The region is set twice, differently: in Region and in Metadata. Keep one."
# The service's fields, in the order the form asks for them.
CLUSTER_FIELDS = ("name", "kubeconfig_path", "description", "is_active", "metadata")


class ClusterForm(forms.Form):
    """Create or edit a cluster (FC-001, FC-002). The region is a field of its own and is kept in the metadata
    ("region"); left blank, the metadata has none."""

    name = forms.CharField(max_length=100)
    region = forms.CharField(max_length=100, required=False, help_text="e.g. us-east-1")
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

    def __init__(self, *args, current_metadata: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_metadata = current_metadata or {}

    @classmethod
    def for_cluster(cls, cluster: Cluster, data=None) -> "ClusterForm":
        """The form filled with `cluster`'s current values, the region apart from the rest of its metadata; with
        `data`, what was submitted on top of them."""
        metadata = cluster.metadata if isinstance(cluster.metadata, dict) else {}
        initial = {name: getattr(cluster, name) for name in CLUSTER_FIELDS}
        initial["metadata"] = {key: value for key, value in metadata.items() if key != REGION}
        initial["region"] = cluster.region
        return cls(data, initial=initial, current_metadata=metadata)

    def clean(self):
        """Put the region back into the metadata: the Region field's value, blank for none. A region typed into
        the metadata is kept when the field is blank; an unchanged Region keeps the value as it was stored."""
        cleaned = super().clean()
        metadata = cleaned.get("metadata")
        if not isinstance(metadata, dict) or "region" not in cleaned:
            return cleaned
        region = cleaned["region"]
        typed = metadata.get(REGION)
        if region and typed is not None and typed != region:
            self.add_error("metadata", REGION_TWICE)
            return cleaned
        if "region" not in self.changed_data and REGION in self.current_metadata:
            region = self.current_metadata[REGION]
        rest = {key: value for key, value in metadata.items() if key != REGION}
        if region != "":
            cleaned["metadata"] = {REGION: region, **rest}
        elif typed is not None:
            cleaned["metadata"] = {REGION: typed, **rest}
        else:
            cleaned["metadata"] = rest
        return cleaned

    def cluster_values(self) -> dict:
        """The cluster's fields as submitted, for creating it."""
        return {name: self.cleaned_data[name] for name in CLUSTER_FIELDS}

    def changes(self) -> dict:
        """The cluster's fields whose submitted value differs from the current one, with their new values."""
        changes = {name: self.cleaned_data[name] for name in self.changed_data if name in CLUSTER_FIELDS}
        changes.pop("metadata", None)
        if self.cleaned_data["metadata"] != self.current_metadata:
            changes["metadata"] = self.cleaned_data["metadata"]
        return changes
