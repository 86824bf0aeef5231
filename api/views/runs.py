"""Runs through the API (issue 13), so that a pipeline can drive execution: see what a step's run would execute
(`GET steps/<id>/run/`), start it (`POST steps/<id>/run/`, 202 and the run's address), read the run while it runs
and after (`GET runs/<id>/`: state, exit code, output), list runs and cancel one.

The rules are runs.services', as on the screens: a role without "Run steps" is 403, a run that can't start or be
cancelled as things stand is 409 with why, and when execution is off (ROLLCALL_EXECUTION) every one of these
endpoints is 404. Reading runs needs only what reading steps needs."""

from django.db.models.functions import Length
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from api.filters import RunFilter
from api.serializers_runs import OutputParamSerializer, RunPlanSerializer, RunSerializer, RunStartSerializer
from api.views.base import ApiViewSet
from runs.models import Run
from runs.services import EXECUTION_OFF, execution_enabled, run_cancel, run_plan, run_start
from steps.models import CustomerStep

OUTPUT_PARAMETER = OpenApiParameter(
    "output",
    OpenApiTypes.BOOL,
    description="Whether the answer carries the output: true by default for one run, false for the list.",
)
REFUSALS = {
    400: OpenApiResponse(description="Bad input, next to its field."),
    403: OpenApiResponse(description="Your role may not run steps."),
    404: OpenApiResponse(description="No such step or run, or execution is off here (ROLLCALL_EXECUTION)."),
    409: OpenApiResponse(description="Refused as things stand (the detail says why)."),
}


def _runs():
    return Run.objects.select_related("step__customer", "started_by", "cancelled_by")


def _steps():
    return CustomerStep.objects.select_related("release", "customer__cluster")


class ExecutionViewSet(ApiViewSet):
    """A viewset that is there only when execution is on: 404 with why otherwise (after authentication, so that a
    caller without a valid token still learns that first)."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if not execution_enabled():
            raise NotFound(EXECUTION_OFF)


class StepRunViewSet(ExecutionViewSet):
    """A customer step's run: what it would execute, and starting it."""

    queryset = _steps().order_by("id")
    serializer_class = RunPlanSerializer

    @extend_schema(
        summary="Start a run of a step on its customer's cluster",
        tags=["runs"],
        description="Queues the run; the worker runs it. Poll the run (the Location header) until its state is no "
        "longer queued or running. Give `sha256` (text_sha256 of GET) to run only the text you looked at.",
        request=RunStartSerializer,
        responses={202: RunSerializer, **REFUSALS},
        parameters=[
            OpenApiParameter(
                "Location", OpenApiTypes.URI, OpenApiParameter.HEADER, response=[202], description="The run's address."
            )
        ],
    )
    @action(detail=True, methods=["post"], url_path="run", url_name="run")
    def run(self, request, pk=None):
        """Start a run of the step (its text as confirmed, when `sha256` is given)."""
        step = self.get_object()
        start = RunStartSerializer(data=request.data)
        start.is_valid(raise_exception=True)
        run = run_start(step=step, user=request.user, expected_sha256=start.validated_data.get("sha256", ""))
        address = reverse("api:run-detail", args=[run.pk])
        data = RunSerializer(_runs().get(pk=run.pk), context=self.get_serializer_context()).data
        return Response(data, status=status.HTTP_202_ACCEPTED, headers={"Location": address})

    @extend_schema(
        summary="What a run of a step would execute, and where",
        tags=["runs"],
        description="Refused as the start would be: a text step, a done step, an unresolved variable, a run going.",
        responses={200: RunPlanSerializer, **{code: REFUSALS[code] for code in (403, 404, 409)}},
    )
    @run.mapping.get
    def plan(self, request, pk=None):
        """The text the run would execute (sensitive values masked), its SHA-256 and where it would run."""
        step = self.get_object()
        plan = run_plan(step=step, user=request.user)
        return Response(
            self.get_serializer(
                {
                    "step": step.pk,
                    "customer_name": step.customer.name,
                    "cluster_name": plan.cluster_name,
                    "context": plan.context,
                    "namespace": plan.namespace,
                    "shown_text": plan.shown_text,
                    "text_sha256": plan.sha256,
                }
            ).data
        )


@extend_schema_view(
    list=extend_schema(
        summary="List runs, newest first; filter by step, state or batch",
        parameters=[OUTPUT_PARAMETER],
        responses={200: RunSerializer(many=True), 400: REFUSALS[400], 404: REFUSALS[404]},
    ),
    retrieve=extend_schema(
        summary="Read a run: where it stands and its output",
        description="Poll it until `state` is no longer queued or running; `?output=false` while polling.",
        parameters=[OUTPUT_PARAMETER],
        responses={200: RunSerializer, 400: REFUSALS[400], 404: REFUSALS[404]},
    ),
)
class RunViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ExecutionViewSet):
    """Runs of steps on their customers' clusters, newest first."""

    queryset = _runs().order_by("-id")
    serializer_class = RunSerializer
    filterset_class = RunFilter

    def with_output(self) -> bool:
        """`?output=`: the output is in the answer for one run, not in a list, unless asked otherwise."""
        param = OutputParamSerializer(data=self.request.query_params)
        param.is_valid(raise_exception=True)
        asked = param.validated_data["output"]
        return self.action != "list" if asked is None else asked

    def get_queryset(self):
        runs = super().get_queryset()
        if self.request is not None and not self.with_output():
            # The output may be a megabyte a run: not read at all when it is not sent, only its length.
            runs = runs.defer("output").annotate(output_kept=Length("output"))
        return runs

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("with_output", self.request is None or self.with_output())
        return super().get_serializer(*args, **kwargs)

    @extend_schema(
        summary="Cancel a run",
        description="A queued run ends at once (cancelled); a running one is stopped by its worker within a second "
        "or so (cancel_requested_at is set; poll the run). A run that has ended is 409.",
        request=None,
        responses={200: RunSerializer, **{code: REFUSALS[code] for code in (403, 404, 409)}},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """Cancel the run."""
        run = run_cancel(run=self.get_object(), user=request.user)
        return Response(RunSerializer(_runs().get(pk=run.pk), context=self.get_serializer_context()).data)
