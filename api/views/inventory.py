"""Clusters and customers: list, read, create, change, through clusters.services and customers.services."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from api.filters import ClusterFilter, CustomerFilter
from api.serializers import ClusterSerializer, CustomerSerializer
from api.views.base import ApiViewSet
from clusters.models import Cluster
from clusters.services import cluster_create, cluster_update
from customers.models import Customer
from customers.services import customer_create, customer_update


@extend_schema_view(
    list=extend_schema(summary="List clusters"),
    retrieve=extend_schema(summary="Read a cluster"),
    create=extend_schema(summary="Create a cluster"),
    partial_update=extend_schema(summary="Change a cluster"),
)
class ClusterViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Clusters (deleted ones are not listed)."""

    queryset = Cluster.objects.order_by("name", "id")
    serializer_class = ClusterSerializer
    filterset_class = ClusterFilter

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cluster = cluster_create(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(cluster).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        cluster = self.get_object()
        serializer = self.get_serializer(cluster, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        cluster = cluster_update(cluster=cluster, user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(cluster).data)


@extend_schema_view(
    list=extend_schema(summary="List customers"),
    retrieve=extend_schema(summary="Read a customer"),
    create=extend_schema(summary="Create a customer"),
    partial_update=extend_schema(summary="Change a customer (a new cluster moves it)"),
)
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ApiViewSet):
    """Customers (archived ones are not listed)."""

    queryset = Customer.objects.select_related("cluster").order_by("name", "id")
    serializer_class = CustomerSerializer
    filterset_class = CustomerFilter

    def create(self, request):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        customer = customer_create(user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, pk=None):
        customer = self.get_object()
        serializer = self.get_serializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = customer_update(customer=customer, user=request.user, **serializer.validated_data)
        return Response(self.get_serializer(customer).data)
