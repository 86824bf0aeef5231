"""The API lists' filters (django-filter). Releases, customers, clusters and template steps are given by id or by
name, so that a pipeline that knows only names finds its step: `?release=v2.5.0&customer=customer-a&name=…`."""

import django_filters
from django.db.models import Q

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseStatus, ReleaseType
from releases.models import Release
from runs.choices import RunState
from runs.models import Run
from steps.choices import StepCategory, StepStatus, StepType
from steps.models import CustomerStep, StepTemplate


def is_id(value: str) -> bool:
    """A value that names an object by its id: digits only, small enough for any database's integer."""
    return value.isascii() and value.isdigit() and len(value) <= 18


def id_or_name(field: str, value: str) -> Q:
    """`field` is the object with this id or this name (a number may be either: a release may be called 2025)."""
    by_name = Q(**{f"{field}__name": value})
    return Q(**{f"{field}_id": int(value)}) | by_name if is_id(value) else by_name


class IdOrNameFilter(django_filters.CharFilter):
    """A related object by its id or its name."""

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        return qs.filter(id_or_name(self.field_name, value))


class ClusterFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Cluster
        fields = ["name", "is_active"]


class CustomerFilter(django_filters.FilterSet):
    cluster = IdOrNameFilter(field_name="cluster", help_text="A cluster's id or name.")
    name = django_filters.CharFilter()
    namespace = django_filters.CharFilter()
    is_active = django_filters.BooleanFilter()

    class Meta:
        model = Customer
        fields = ["cluster", "name", "namespace", "is_active"]


class ReleaseFilter(django_filters.FilterSet):
    name = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=ReleaseStatus.choices)
    type = django_filters.ChoiceFilter(choices=ReleaseType.choices)

    class Meta:
        model = Release
        fields = ["name", "status", "type"]


class TemplateStepFilter(django_filters.FilterSet):
    release = IdOrNameFilter(field_name="release", help_text="A release's id or name.")
    category = django_filters.ChoiceFilter(choices=StepCategory.choices)
    name = django_filters.CharFilter()

    class Meta:
        model = StepTemplate
        fields = ["release", "category", "name"]


class CustomerStepFilter(django_filters.FilterSet):
    release = IdOrNameFilter(field_name="release", help_text="A release's id or name.")
    customer = IdOrNameFilter(field_name="customer", help_text="A customer's id or name.")
    cluster = IdOrNameFilter(field_name="customer__cluster", help_text="A cluster's id or name.")
    namespace = django_filters.CharFilter(field_name="customer__namespace")
    category = django_filters.ChoiceFilter(choices=StepCategory.choices)
    status = django_filters.ChoiceFilter(choices=StepStatus.choices)
    type = django_filters.ChoiceFilter(choices=StepType.choices)
    template = django_filters.NumberFilter(field_name="template", min_value=1, max_value=10**18)
    name = django_filters.CharFilter(help_text="The step's exact name.")

    class Meta:
        model = CustomerStep
        fields = ["release", "customer", "cluster", "namespace", "category", "status", "type", "template", "name"]


class RunFilter(django_filters.FilterSet):
    step = django_filters.NumberFilter(field_name="step", min_value=1, max_value=10**18, help_text="A step's id.")
    state = django_filters.ChoiceFilter(choices=RunState.choices)
    batch = django_filters.NumberFilter(field_name="batch", min_value=1, max_value=10**18, help_text="A batch's id.")

    class Meta:
        model = Run
        fields = ["step", "state", "batch"]


# The filters that name an object, and the objects they name: an empty answer says which of them names nothing.
NAMED_OBJECTS = {
    "release": Release.objects.all(),
    "customer": Customer.objects.all(),
    "cluster": Cluster.objects.all(),
}


def unknown_named_object(params) -> str | None:
    """The first of the release, customer or cluster filters in `params` that names nothing, as "release v9"."""
    for param, queryset in NAMED_OBJECTS.items():
        value = params.get(param)
        if value and not queryset.filter(_own(value)).exists():
            return f"{queryset.model._meta.verbose_name} {value}"
    return None


AMBIGUOUS = "Several {model}s are called {value}: give its id instead."


def ambiguous_named_objects(params) -> dict[str, list[str]]:
    """The release, customer or cluster filters in `params` whose name fits several objects (a customer's name is
    unique only with its cluster and namespace; a release's not at all), as field errors: a pipeline that looks a step
    up by names must not act on whichever came first. One query per such filter given."""
    errors = {}
    for param, queryset in NAMED_OBJECTS.items():
        value = params.get(param)
        if value and len(queryset.filter(_own(value)).values_list("pk", flat=True)[:2]) > 1:
            errors[param] = [AMBIGUOUS.format(model=queryset.model._meta.verbose_name, value=value)]
    return errors


def _own(value: str) -> Q:
    """An object with this id or this name."""
    return Q(pk=int(value)) | Q(name=value) if is_id(value) else Q(name=value)
