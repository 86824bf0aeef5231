"""The audit log's filter: which events to show or export. Archived and deleted objects stay choosable, since
their history is kept."""

import datetime
from itertools import groupby

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.forms.models import ModelChoiceIterator
from django.forms.utils import flatatt
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from clusters.models import Cluster
from customers.models import Customer
from history.choices import EventAction
from releases.models import Release
from steps.models import CustomerStep, StepTemplate

# The group each kind of event is listed under, by the prefix of its value ("step.done" → customer steps).
ACTION_GROUPS = {
    "cluster": "Clusters",
    "customer": "Customers",
    "release": "Releases",
    "template_step": "Template steps",
    "step": "Customer steps",
    "run": "Runs on the clusters",
}

# A day's bounds are computed in the site's time zone; one day of margin keeps them inside what datetime holds.
EARLIEST_DAY = datetime.date.min + datetime.timedelta(days=1)
LATEST_DAY = datetime.date.max - datetime.timedelta(days=1)
DAY_OUT_OF_RANGE = f"Enter a date between {EARLIEST_DAY:%Y-%m-%d} and {LATEST_DAY:%Y-%m-%d}."
DATES_REVERSED = "The end date is before the start date."


def _grouped_actions() -> list[tuple[str, list[tuple[str, str]]]]:
    """The event kinds, grouped by the kind of object they concern, in the order EventAction lists them."""
    by_prefix = groupby(EventAction.choices, key=lambda choice: choice[0].split(".")[0])
    return [(ACTION_GROUPS.get(prefix, prefix), list(choices)) for prefix, choices in by_prefix]


def _start_of_day(day: datetime.date) -> datetime.datetime:
    """Midnight at the start of `day` in the site's time zone."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _validate_day(day: datetime.date) -> None:
    if not EARLIEST_DAY <= day <= LATEST_DAY:
        raise forms.ValidationError(DAY_OUT_OF_RANGE, code="out_of_range")


class ClusterChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, cluster: Cluster) -> str:
        return f"{cluster.name} (deleted)" if cluster.is_deleted else cluster.name


class CustomerChoices(ModelChoiceIterator):
    """The customer filter's options read as rows, not model instances: there is one per customer (2,000 at scale)."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        rows = self.queryset.values_list("pk", "name", "cluster__name", "namespace", "deleted_at")
        for pk, name, cluster, namespace, deleted_at in rows:
            yield (pk, f"{name} ({cluster}/{namespace}){' (archived)' if deleted_at else ''}")


class CustomerChoiceField(forms.ModelChoiceField):
    """A customer with the cluster and namespace it runs in, since names repeat across clusters."""

    iterator = CustomerChoices


class PlainSelect(forms.Select):
    """A select that writes its options itself instead of rendering a template for each: the customer filter lists
    every customer (2,000 at scale), and Django's per-option templates took about a second for them."""

    def render(self, name, value, attrs=None, renderer=None):
        chosen = {str(item) for item in self.format_value(value)}
        options = "".join(
            f'<option value="{escape(choice_value)}"{" selected" if str(choice_value) in chosen else ""}>'
            f"{escape(label)}</option>"
            for choice_value, label in self.choices
        )
        return format_html(
            "<select{}>{}</select>", flatatt({**self.build_attrs(self.attrs, attrs), "name": name}), mark_safe(options)
        )


class ClusterChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = ClusterChoiceField


class CustomerChoiceFilter(django_filters.ModelChoiceFilter):
    field_class = CustomerChoiceField


class AuditFilterForm(forms.Form):
    """The filter's form: a date range must run forwards."""

    def clean(self):
        cleaned_data = super().clean()
        start, end = cleaned_data.get("date_from"), cleaned_data.get("date_to")
        if start and end and end < start:
            self.add_error("date_to", DATES_REVERSED)
        return cleaned_data


class AuditFilter(django_filters.FilterSet):
    """Events by release, cluster, customer, user, kind and date range (both days included, in the site's time
    zone), and by customer step or template step for the links from a step's own screens."""

    release = django_filters.ModelChoiceFilter(
        queryset=Release.objects.order_by("-created_at", "-id"), empty_label="All releases", widget=PlainSelect
    )
    cluster = ClusterChoiceFilter(
        queryset=Cluster.all_objects.order_by("name"), empty_label="All clusters", widget=PlainSelect
    )
    customer = CustomerChoiceFilter(
        queryset=Customer.all_objects.select_related("cluster").order_by("name", "id"),
        empty_label="All customers",
        widget=PlainSelect,
    )
    user = django_filters.ModelChoiceFilter(
        field_name="actor",
        label="User",
        queryset=get_user_model().objects.order_by(get_user_model().USERNAME_FIELD),
        empty_label="Everyone",
        null_label="system (no user)",
        widget=PlainSelect,
    )
    action = django_filters.MultipleChoiceFilter(
        choices=_grouped_actions(), label="Event kind", widget=forms.CheckboxSelectMultiple, distinct=False
    )
    date_from = django_filters.DateFilter(
        label="From", method="occurred_from", widget=forms.DateInput(attrs={"type": "date"}), validators=[_validate_day]
    )
    date_to = django_filters.DateFilter(
        label="To", method="occurred_to", widget=forms.DateInput(attrs={"type": "date"}), validators=[_validate_day]
    )
    customer_step = django_filters.ModelChoiceFilter(
        queryset=CustomerStep.all_objects.select_related("customer__cluster"), widget=forms.HiddenInput
    )
    template_step = django_filters.ModelChoiceFilter(
        queryset=StepTemplate.all_objects.select_related("release"), widget=forms.HiddenInput
    )

    class Meta:
        form = AuditFilterForm

    def occurred_from(self, queryset, name, value):
        return queryset.filter(occurred_at__gte=_start_of_day(value))

    def occurred_to(self, queryset, name, value):
        return queryset.filter(occurred_at__lt=_start_of_day(value + datetime.timedelta(days=1)))

    def filter_queryset(self, queryset):
        """A filter with an invalid value shows nothing rather than more than was asked for."""
        if self.form.errors:
            return queryset.none()
        return super().filter_queryset(queryset)
