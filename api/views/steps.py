"""Customer steps: the natural-key lookup a pipeline starts from, custom steps, and every step action of the
screens (steps.views.actions.STEP_ACTIONS: the same services, forms and refusals) at `steps/<id>/<action>/`."""

from collections.abc import Mapping

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from api.exceptions import NON_FIELD, NOT_FOUND, Conflict
from api.filters import CustomerStepFilter, ambiguous_named_objects, unknown_named_object
from api.serializers import CustomerStepSerializer, CustomStepCreateSerializer, serializer_for_form
from api.views.base import ApiViewSet
from core.errors import DomainError, StepChangedError
from steps.actions import STEP_ACTIONS, StepAction
from steps.forms import StepVersionForm
from steps.models import CustomerStep
from steps.services import customer_step_add_custom

JSON_OBJECT_REQUIRED = "Send the fields as a JSON object."
TEXT_REQUIRED = "Send this field as text."

CONFLICT_RESPONSE = inline_serializer(
    "Conflict",
    {
        "detail": serializers.CharField(),
        "errors": serializers.DictField(),
        "current": CustomerStepSerializer(help_text="The step as it is now."),
    },
)


def _steps():
    return CustomerStep.objects.select_related("release", "customer__cluster", "executed_by")


def form_data(data, fields) -> dict:
    """The request's fields for a form, as text: a form reads text, and a JSON number or list would read as
    something it was not meant to be. `version` may be a JSON number."""
    if not isinstance(data, Mapping):
        raise ValidationError({NON_FIELD: [JSON_OBJECT_REQUIRED]})
    values, errors = {}, {}
    for name in fields:
        if name not in data or data.get(name) is None:
            continue
        value = data.get(name)
        if isinstance(value, bool) or not isinstance(value, str | int):
            errors[name] = [TEXT_REQUIRED]
        else:
            values[name] = str(value)
    if errors:
        raise ValidationError(errors)
    return values


@extend_schema_view(
    list=extend_schema(
        summary="List customer steps; filter by release, customer, cluster (id or name), namespace, category, "
        "status, template step or name. An unknown release, customer or cluster is 404."
    ),
    retrieve=extend_schema(summary="Read a customer step"),
)
class CustomerStepViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Customer steps: one release's step for one customer. Removed (custom) steps are not listed."""

    queryset = _steps().order_by("id")
    serializer_class = CustomerStepSerializer
    filterset_class = CustomerStepFilter

    def list(self, request):
        ambiguous = ambiguous_named_objects(request.query_params)
        if ambiguous:
            raise ValidationError(ambiguous)
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        if not page:
            # Nothing found: a name that names nothing is a mistake worth saying (a query only when empty).
            unknown = unknown_named_object(request.query_params)
            if unknown:
                raise NotFound(NOT_FOUND.format(what=unknown))
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        summary="Add a custom step for one customer",
        request=CustomStepCreateSerializer,
        responses={201: CustomerStepSerializer},
    )
    def create(self, request):
        serializer = CustomStepCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        step = customer_step_add_custom(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(_steps().get(pk=step.pk)).data, status=status.HTTP_201_CREATED)

    def run_step_action(self, request, name: str) -> Response:
        """One of STEP_ACTIONS, as the screens run it: the version and the action's form validate the input, the
        service decides. A stale version or a refused transition is 409 with the step as it is now."""
        spec: StepAction = STEP_ACTIONS[name]
        step = self.get_object()
        form_fields = list(spec.form.base_fields) if spec.form else []
        data = form_data(request.data, ["version", *form_fields])
        version_form = StepVersionForm(data)
        if not version_form.is_valid():
            raise ValidationError(version_form.errors)
        form = spec.form(data) if spec.form else None
        if form is not None and not form.is_valid():
            raise ValidationError(form.errors)
        try:
            changed = spec.service(
                step=step,
                user=request.user,
                expected_version=version_form.cleaned_data["version"],
                **(form.cleaned_data if form else {}),
            )
        except StepChangedError as error:
            raise Conflict(error.message, state=self.get_serializer(error.step).data) from error
        except DomainError as error:
            if error.field or error.errors:
                raise
            current = _steps().filter(pk=step.pk).first()
            state = self.get_serializer(current).data if current else None
            raise Conflict(error.message, state=state) from error
        return Response(self.get_serializer(changed).data)


def _step_action_view(name: str, spec: StepAction):
    """The view of one step action: `POST steps/<id>/<name>/`."""

    def view(self, request, pk=None):
        return self.run_step_action(request, name)

    view.__name__ = name
    view.__doc__ = f"Step action: {spec.done}."
    view = action(detail=True, methods=["post"], url_path=name, url_name=name)(view)
    return extend_schema(
        summary=f"Step action: {spec.done}",
        request=serializer_for_form(name, spec.form),
        responses={
            200: CustomerStepSerializer,
            400: OpenApiResponse(description="Bad input, next to its field."),
            403: OpenApiResponse(description="Your role may not do this."),
            404: OpenApiResponse(description="No such step."),
            409: OpenApiResponse(CONFLICT_RESPONSE, description="Stale version or refused transition."),
        },
    )(view)


for _name, _spec in STEP_ACTIONS.items():
    setattr(CustomerStepViewSet, _name, _step_action_view(_name, _spec))
