"""Customer forms: the shape of the input, and the customers list's filter. Rules are customers.services'."""

import django_filters
from django import forms

from clusters.forms import METADATA_HELP
from clusters.models import Cluster
from core.forms import IdMultipleChoiceField, MetadataField, MultilineTextField
from core.validators import validate_json_object
from customers.models import Customer
from customers.selectors import CUSTOMER_ORDERINGS
from customers.services import EDITABLE_FIELDS


class ClusterChoiceField(forms.ModelChoiceField):
    """A cluster that is not deleted; inactive ones say so."""

    def label_from_instance(self, cluster: Cluster) -> str:
        return cluster.name if cluster.is_active else f"{cluster.name} (inactive)"


class CustomerForm(forms.Form):
    """Create or edit a customer (FM-001, FM-002). A new cluster is a move: it needs `confirm_move` set to the
    new cluster's id, sent by the checkbox of the move warning (BR-M02)."""

    cluster = ClusterChoiceField(queryset=Cluster.objects.order_by("name"))
    name = forms.CharField(max_length=100)
    namespace = forms.CharField(
        max_length=63,
        help_text="The Kubernetes namespace, e.g. cust-a-prod: lower-case letters, digits and '-' (RFC 1123 label).",
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
    confirm_move = forms.IntegerField(required=False, widget=forms.HiddenInput)

    @classmethod
    def for_customer(cls, customer: Customer, data=None) -> "CustomerForm":
        """The form filled with `customer`'s current values; with `data`, what was submitted on top of them."""
        return cls(data, initial={name: getattr(customer, name) for name in EDITABLE_FIELDS})

    def customer_values(self) -> dict:
        """The customer's fields as submitted, for creating it."""
        return {name: self.cleaned_data[name] for name in EDITABLE_FIELDS}

    def changes(self) -> dict:
        """The customer's fields whose submitted value differs from the current one, with their new values."""
        return {name: self.cleaned_data[name] for name in self.changed_data if name in EDITABLE_FIELDS}

    def unconfirmed_move(self) -> Cluster | None:
        """The cluster the customer would move to, when the move has not been confirmed yet."""
        target = self.changes().get("cluster")
        return target if target is not None and self.cleaned_data["confirm_move"] != target.pk else None


class IdMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    field_class = IdMultipleChoiceField


class CustomerFilter(django_filters.FilterSet):
    """The customers list's filter (FM-006: one or more clusters) and sort (spec §8.3)."""

    cluster = IdMultipleChoiceFilter(
        queryset=Cluster.objects.order_by("name"),
        widget=forms.CheckboxSelectMultiple,
        label="Clusters",
        distinct=False,
    )
    sort = django_filters.ChoiceFilter(
        choices=[(key, key.capitalize()) for key in CUSTOMER_ORDERINGS],
        method="sort_customers",
        empty_label=None,
        label="Sort by",
    )

    def sort_customers(self, queryset, name, value):
        return queryset.order_by(*CUSTOMER_ORDERINGS[value])
