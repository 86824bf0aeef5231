"""The shape of what the API reads and writes. Serializers check the shape of input only; every rule is the
services' (the same ones the screens call), so a refusal reads the same on a screen and in a pipeline."""

from django import forms
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from clusters.models import Cluster
from customers.models import Customer
from releases.choices import ReleaseType
from releases.models import Release
from steps.choices import Position, StepCategory, StepType
from steps.models import CustomerStep, StepTemplate

METADATA_NOT_OBJECT = 'Metadata is a JSON object, e.g. {"region": "us-east-1"}.'
# Beyond any database's integer: no object has such an id (and SQLite can't even compare with it).
MAX_ID = 10**18
UNKNOWN_BY_ID_OR_NAME = "Unknown {model}: {value}."
AMBIGUOUS_NAME = "Several {model}s are called {value}: use the id."


@extend_schema_field({"oneOf": [{"type": "integer"}, {"type": "string"}], "description": "An id or a name."})
class IdOrNameField(serializers.Field):
    """A related object given by its id (a number) or its name (text); answered as its id."""

    default_error_messages = {"invalid": "Give an id (a number) or a name (text)."}

    def __init__(self, *, queryset, name_field: str = "name", **kwargs):
        self.queryset = queryset
        self.name_field = name_field
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        model = self.queryset.model._meta.verbose_name
        if isinstance(data, bool) or not isinstance(data, int | str) or data == "":
            self.fail("invalid")
        if isinstance(data, int):
            found = list(self.queryset.filter(pk=data)[:1]) if 0 < data < MAX_ID else []
        elif data.isascii() and data.isdigit() and len(data) <= 18:
            found = list(self.queryset.filter(pk=int(data))[:1])
        else:
            found = list(self.queryset.filter(**{self.name_field: data})[:2])
            if len(found) > 1:
                raise serializers.ValidationError(AMBIGUOUS_NAME.format(model=model, value=data))
        if not found:
            raise serializers.ValidationError(UNKNOWN_BY_ID_OR_NAME.format(model=model, value=data))
        return found[0]

    def get_attribute(self, instance):
        """The related object's id as the row holds it: no query to load the object."""
        if len(self.source_attrs) == 1:
            return getattr(instance, f"{self.source_attrs[0]}_id")
        return super().get_attribute(instance)

    def to_representation(self, value):
        return getattr(value, "pk", value)


class MetadataField(serializers.JSONField):
    """Free-form metadata: a JSON object."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            raise serializers.ValidationError(METADATA_NOT_OBJECT)
        return value


class ClusterSerializer(serializers.ModelSerializer):
    """A cluster; `region` is read from its metadata."""

    metadata = MetadataField(required=False)
    region = serializers.CharField(read_only=True)

    class Meta:
        model = Cluster
        fields = [
            "id",
            "name",
            "region",
            "kubeconfig_path",
            "description",
            "is_active",
            "metadata",
            "created_at",
            "updated_at",
        ]
        validators: list = []  # uniqueness is clusters.services' to decide, with its message


class CustomerSerializer(serializers.ModelSerializer):
    """A customer: one tenant in one namespace of one cluster (given by id or name)."""

    cluster = IdOrNameField(queryset=Cluster.objects.all())
    cluster_name = serializers.CharField(source="cluster.name", read_only=True)
    metadata = MetadataField(required=False)

    class Meta:
        model = Customer
        fields = [
            "id",
            "name",
            "cluster",
            "cluster_name",
            "namespace",
            "description",
            "is_active",
            "metadata",
            "created_at",
            "updated_at",
        ]
        validators: list = []


class ReleaseSerializer(serializers.ModelSerializer):
    """A release; `progress` is its overall percentage (spec §8.2) and whether it is complete, for an active one."""

    metadata = MetadataField(required=False)
    type = serializers.ChoiceField(choices=ReleaseType.choices, default=ReleaseType.RELEASE)
    progress = serializers.SerializerMethodField()

    class Meta:
        model = Release
        fields = [
            "id",
            "name",
            "type",
            "status",
            "version_number",
            "release_date",
            "description",
            "metadata",
            "context_guard",
            "run_timeout_minutes",
            "covers_all_customers",
            "cloned_from",
            "activated_at",
            "archived_at",
            "created_at",
            "updated_at",
            "progress",
        ]
        read_only_fields = ["status", "covers_all_customers", "cloned_from", "activated_at", "archived_at"]
        validators: list = []

    def get_progress(self, release) -> dict | None:
        overall = self.context.get("overall", {}).get(release.pk)
        return None if overall is None else {"percent": overall.percent, "complete": overall.complete}


class CountsSerializer(serializers.Serializer):
    """Steps counted: how many, how many done or skipped, the percentage done and whether nothing is left."""

    total = serializers.IntegerField()
    done = serializers.IntegerField()
    skipped = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True)
    complete = serializers.BooleanField()


class ProgressPartSerializer(serializers.Serializer):
    """Progress of the release, of a cluster or of a customer: every category together and per category."""

    id = serializers.IntegerField(required=False)
    name = serializers.CharField(required=False)
    cluster = serializers.IntegerField(required=False)
    percent = serializers.FloatField(allow_null=True)
    complete = serializers.BooleanField()
    categories = serializers.DictField(child=serializers.DictField())


class ReleaseProgressSerializer(serializers.Serializer):
    """A release's progress (spec §8.2) overall, per cluster and per customer, each also per category."""

    overall = ProgressPartSerializer()
    clusters = ProgressPartSerializer(many=True)
    customers = ProgressPartSerializer(many=True)


class ReleaseDetailSerializer(ReleaseSerializer):
    """A release with its progress per category, cluster and customer."""

    progress_detail = serializers.SerializerMethodField()

    class Meta(ReleaseSerializer.Meta):
        fields = [*ReleaseSerializer.Meta.fields, "progress_detail"]

    def get_progress_detail(self, release) -> ReleaseProgressSerializer:
        return self.context.get("progress_detail")


class TemplateStepSerializer(serializers.ModelSerializer):
    """A template step: defined once per release, copied to every customer. `position` is 1-based in its category."""

    release = IdOrNameField(queryset=Release.objects.all())
    position = serializers.IntegerField(min_value=1, max_value=10_000, required=False, write_only=True)
    order = serializers.SerializerMethodField()
    content = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=1_000_000)
    category = serializers.ChoiceField(choices=StepCategory.choices)
    type = serializers.ChoiceField(choices=StepType.choices)

    class Meta:
        model = StepTemplate
        fields = [
            "id",
            "release",
            "name",
            "category",
            "type",
            "content",
            "description",
            "variables",
            "position",
            "order",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["variables"]
        validators: list = []

    def get_order(self, template_step) -> int:
        """Its place in its category, 1 first."""
        return template_step.order_index + 1


class TemplateStepUpdateSerializer(serializers.Serializer):
    """What can change on a template step."""

    name = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=StepCategory.choices)
    type = serializers.ChoiceField(choices=StepType.choices)
    content = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=1_000_000)
    description = serializers.CharField(trim_whitespace=False, allow_blank=True)


class CustomerStepSerializer(serializers.ModelSerializer):
    """One customer's step: where it stands (status, version) and what it holds."""

    release_name = serializers.CharField(source="release.name", read_only=True)
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    cluster = serializers.IntegerField(source="customer.cluster_id", read_only=True)
    cluster_name = serializers.CharField(source="customer.cluster.name", read_only=True)
    namespace = serializers.CharField(source="customer.namespace", read_only=True)
    executed_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = CustomerStep
        fields = [
            "id",
            "release",
            "release_name",
            "customer",
            "customer_name",
            "cluster",
            "cluster_name",
            "namespace",
            "template",
            "name",
            "category",
            "type",
            "status",
            "version",
            "content",
            "description",
            "notes",
            "skip_reason",
            "executed_at",
            "executed_by",
            "evidence_sha256",
            "is_custom",
            "is_overridden",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class CustomStepCreateSerializer(serializers.Serializer):
    """A step for one customer (spec §5.8): at the end of its category, or before or after another of its steps;
    `add_to_template` makes it a template step for every customer instead."""

    release = IdOrNameField(queryset=Release.objects.all())
    customer = IdOrNameField(queryset=Customer.objects.all())
    name = serializers.CharField(max_length=200)
    category = serializers.ChoiceField(choices=StepCategory.choices)
    type = serializers.ChoiceField(choices=StepType.choices)
    content = serializers.CharField(trim_whitespace=False, allow_blank=True, max_length=1_000_000)
    description = serializers.CharField(trim_whitespace=False, allow_blank=True, required=False, default="")
    position = serializers.ChoiceField(choices=Position.choices, required=False, allow_null=True, default=None)
    relative_to = IdOrNameField(
        queryset=CustomerStep.objects.all(),
        required=False,
        allow_null=True,
        default=None,
        help_text="The id of the step to place it before or after.",
    )
    add_to_template = serializers.BooleanField(required=False, default=False)


class ActivateSerializer(serializers.Serializer):
    """Activate a draft for every active customer, or leave some customers or whole clusters out."""

    exclude_customers = serializers.ListField(
        child=IdOrNameField(queryset=Customer.objects.all()), required=False, default=list, max_length=1_000
    )
    exclude_clusters = serializers.ListField(
        child=IdOrNameField(queryset=Cluster.objects.all()), required=False, default=list, max_length=1_000
    )


class AddCustomersSerializer(serializers.Serializer):
    """Customers (ids or names) to add to an active release."""

    customers = serializers.ListField(
        child=IdOrNameField(queryset=Customer.objects.all()), allow_empty=False, max_length=1_000
    )


class CloneSerializer(serializers.Serializer):
    """A clone's name (default "<name> (copy)") and version number."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    version_number = serializers.CharField(max_length=50, required=False, allow_blank=True)


class ReorderSerializer(serializers.Serializer):
    """The template steps of one category, in their new order (every one of them, by id)."""

    category = serializers.ChoiceField(choices=StepCategory.choices)
    order = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_ID), allow_empty=False, max_length=10_000
    )


def serializer_for_form(name: str, form_class: type[forms.Form] | None) -> type[serializers.Serializer]:
    """The body of a step action for the schema: the version plus the fields of the form the screens use for it
    (steps.views.actions.STEP_ACTIONS). The form itself validates the input, as on the screens."""
    fields: dict[str, serializers.Field] = {
        "version": serializers.IntegerField(
            required=False,
            min_value=1,
            help_text="The version of the step you last saw; a stale one is refused with 409. Leave it out to act "
            "on the step as it is now.",
        )
    }
    for field_name, field in form_class.base_fields.items() if form_class else ():
        if isinstance(field, forms.ChoiceField):
            fields[field_name] = serializers.ChoiceField(choices=field.choices, required=field.required)
        else:
            fields[field_name] = serializers.CharField(
                required=field.required, allow_blank=not field.required, trim_whitespace=False
            )
    return type(f"Step{name.title()}Serializer", (serializers.Serializer,), fields)


class DefinitionImportSerializer(serializers.Serializer):
    """A release definition sent as JSON: the YAML text under `definition`."""

    definition = serializers.CharField(trim_whitespace=False)
