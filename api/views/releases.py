"""Releases (with their progress) and their template steps, through releases.services and steps.services: create,
change, activate, add customers, clone, archive; add, change, reorder and delete template steps."""

from django.http import HttpResponse
from django.utils.http import content_disposition_header
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from api.definitions import YAML_MEDIA_TYPE, TextYamlParser, YamlTextParser, definition_text
from api.filters import ReleaseFilter, TemplateStepFilter
from api.serializers import (
    ActivateSerializer,
    AddCustomersSerializer,
    CloneSerializer,
    DefinitionImportSerializer,
    ReleaseDetailSerializer,
    ReleaseSerializer,
    ReorderSerializer,
    TemplateStepSerializer,
    TemplateStepUpdateSerializer,
)
from api.views.base import ApiViewSet
from customers.models import Customer
from releases.choices import ReleaseStatus
from releases.definition import definition_filename, export_definition
from releases.definition import import_definition as definition_import
from releases.models import Release
from releases.services import (
    release_activate,
    release_add_customers,
    release_archive,
    release_clone,
    release_create,
    release_update,
)
from steps.choices import StepCategory
from steps.models import StepTemplate
from steps.progress import ReleaseProgress, overall_by_release, release_progress
from steps.services import template_step_add, template_step_delete, template_step_update, template_steps_reorder

CATEGORIES = StepCategory.values


def _part(percent_of, complete_of) -> dict:
    """Progress of one part (the release, a cluster): every category together and each category."""
    return {
        "percent": percent_of(None),
        "complete": complete_of(None),
        "categories": {
            category: {"percent": percent_of(category), "complete": complete_of(category)} for category in CATEGORIES
        },
    }


def progress_detail(release: Release) -> dict:
    """The release's progress (spec §8.2) overall, per cluster and per customer, each per category: three queries
    (enrollments, counters, the customers' names), whatever the number of customers or steps."""
    progress: ReleaseProgress = release_progress(release)
    customers = Customer.all_objects.filter(pk__in=list(progress.cluster_of)).select_related("cluster")
    customers = sorted(customers, key=lambda customer: (customer.cluster.name, customer.name, customer.pk))
    clusters = {customer.cluster_id: customer.cluster for customer in customers}

    def counts(customer_id, category) -> dict:
        step_counts = progress.customer(customer_id, category)
        return {
            "total": step_counts.total,
            "done": step_counts.done,
            "skipped": step_counts.skipped,
            "percent": step_counts.percent,
            "complete": step_counts.complete,
        }

    return {
        "overall": _part(progress.overall_percent, progress.overall_complete),
        "clusters": [
            {
                "id": cluster.pk,
                "name": cluster.name,
                **_part(
                    lambda category, pk=cluster.pk: progress.cluster_percent(pk, category),
                    lambda category, pk=cluster.pk: progress.cluster_complete(pk, category),
                ),
            }
            for cluster in clusters.values()
        ],
        "customers": [
            {
                "id": customer.pk,
                "name": customer.name,
                "cluster": customer.cluster_id,
                **{key: value for key, value in counts(customer.pk, None).items() if key in ("percent", "complete")},
                "categories": {category: counts(customer.pk, category) for category in CATEGORIES},
            }
            for customer in customers
        ],
    }


@extend_schema_view(
    list=extend_schema(summary="List releases, newest first, with the overall progress of active ones"),
    retrieve=extend_schema(summary="Read a release with its progress per category, cluster and customer"),
    create=extend_schema(summary="Create a draft release", request=ReleaseSerializer, responses=ReleaseSerializer),
    partial_update=extend_schema(summary="Change a release", request=ReleaseSerializer, responses=ReleaseSerializer),
)
class ReleaseViewSet(mixins.ListModelMixin, ApiViewSet):
    """Releases and their lifecycle: draft → active → archived."""

    queryset = Release.objects.order_by("-created_at", "-id")
    serializer_class = ReleaseSerializer
    filterset_class = ReleaseFilter

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["overall"] = getattr(self, "overall", {})
        return context

    def list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        self.overall = overall_by_release([release for release in page if release.status == ReleaseStatus.ACTIVE])
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def _answer(self, release: Release, status_code=status.HTTP_200_OK) -> Response:
        """The release with its progress, as `retrieve` shows it."""
        if release.status == ReleaseStatus.ACTIVE:
            self.overall = overall_by_release([release])
        context = {**self.get_serializer_context(), "progress_detail": progress_detail(release)}
        return Response(ReleaseDetailSerializer(release, context=context).data, status=status_code)

    @extend_schema(responses=ReleaseDetailSerializer)
    def retrieve(self, request, pk=None):
        return self._answer(self.get_object())

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = release_create(user=request.user, **serializer.validated_data)
        return self._answer(release, status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        release = self.get_object()
        serializer = self.get_serializer(release, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return self._answer(release_update(release=release, user=request.user, **serializer.validated_data))

    @extend_schema(
        summary="The release's definition as YAML (releases as code)",
        responses={(200, YAML_MEDIA_TYPE): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def definition(self, request, pk=None):
        release = self.get_object()
        response = HttpResponse(export_definition(release), content_type=f"{YAML_MEDIA_TYPE}; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(False, definition_filename(release))
        return response

    @extend_schema(
        summary="Import a release definition: a new draft, or the draft of that name brought in line with it",
        description='The YAML as the body (Content-Type: application/yaml), or JSON `{"definition": "…"}`. '
        "201 with the new draft, 200 with the updated one; either way `changes` lists what changed. A refused "
        "definition is 400 with each problem and its line under `errors.definition`, and changes nothing.",
        request={YAML_MEDIA_TYPE: OpenApiTypes.STR, "application/json": DefinitionImportSerializer},
        responses={201: ReleaseDetailSerializer, 200: ReleaseDetailSerializer},
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=[YamlTextParser, TextYamlParser, JSONParser],
    )
    def import_definition(self, request):
        result = definition_import(definition_text(request.data), user=request.user)
        response = self._answer(result.release, status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)
        response.data["changes"] = result.changes
        return response

    @extend_schema(summary="Activate a draft", request=ActivateSerializer, responses=ReleaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def activate(self, request, pk=None):
        release = self.get_object()
        serializer = ActivateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        release = release_activate(
            release=release,
            user=request.user,
            exclude_customers=[customer.pk for customer in serializer.validated_data["exclude_customers"]],
            exclude_clusters=[cluster.pk for cluster in serializer.validated_data["exclude_clusters"]],
        )
        return self._answer(release)

    @extend_schema(
        summary="Add customers to an active release",
        request=AddCustomersSerializer,
        responses=inline_serializer("CustomersAdded", {"added": serializers.ListField(child=serializers.CharField())}),
    )
    @action(detail=True, methods=["post"], url_path="add-customers", url_name="add-customers")
    def add_customers(self, request, pk=None):
        release = self.get_object()
        serializer = AddCustomersSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        added = release_add_customers(
            release=release, customers=serializer.validated_data["customers"], user=request.user
        )
        return Response({"added": added})

    @extend_schema(summary="Clone a release as a new draft", request=CloneSerializer, responses=ReleaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def clone(self, request, pk=None):
        release = self.get_object()
        serializer = CloneSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        clone = release_clone(
            release=release,
            user=request.user,
            name=serializer.validated_data.get("name") or None,
            version_number=serializer.validated_data.get("version_number") or None,
        )
        return self._answer(clone, status.HTTP_201_CREATED)

    @extend_schema(summary="Archive an active release", request=None, responses=ReleaseDetailSerializer)
    @action(detail=True, methods=["post"])
    def archive(self, request, pk=None):
        return self._answer(release_archive(release=self.get_object(), user=request.user))

    @extend_schema(
        summary="Reorder the template steps of a category",
        request=ReorderSerializer,
        responses=TemplateStepSerializer(many=True),
    )
    @action(detail=True, methods=["post"], url_path="reorder-template-steps", url_name="reorder-template-steps")
    def reorder_template_steps(self, request, pk=None):
        release = self.get_object()
        serializer = ReorderSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ordered = template_steps_reorder(
            release=release,
            category=serializer.validated_data["category"],
            ordered_ids=serializer.validated_data["order"],
            user=request.user,
        )
        return Response(TemplateStepSerializer(ordered, many=True).data)


@extend_schema_view(
    list=extend_schema(summary="List template steps, in order"),
    retrieve=extend_schema(summary="Read a template step"),
    create=extend_schema(summary="Add a template step (an active release's customers get it at once)"),
    partial_update=extend_schema(
        summary="Change a template step (reaches customer steps that are pending and not overridden)",
        request=TemplateStepUpdateSerializer,
        responses=TemplateStepSerializer,
    ),
    destroy=extend_schema(summary="Delete a template step (steps someone acted on are kept)"),
)
class TemplateStepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Template steps: defined once per release, copied to every customer of it."""

    queryset = StepTemplate.objects.order_by("release_id", "category", "order_index", "id")
    serializer_class = TemplateStepSerializer
    filterset_class = TemplateStepFilter

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        position = data.pop("position", None)
        template_step = template_step_add(user=request.user, index=None if position is None else position - 1, **data)
        return Response(self.get_serializer(template_step).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        template_step = self.get_object()
        serializer = TemplateStepUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        template_step = template_step_update(
            template_step=template_step, user=request.user, **serializer.validated_data
        )
        return Response(self.get_serializer(template_step).data)

    def destroy(self, request, pk=None):
        template_step_delete(template_step=self.get_object(), user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
