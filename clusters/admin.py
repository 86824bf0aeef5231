"""The admin for clusters: deleted ones included, every change through clusters.services."""

from django.contrib import admin
from django.db.models import Count, Q

from clusters.models import Cluster
from clusters.services import cluster_create, cluster_delete, cluster_restore, cluster_update
from core.admin import DeletedFilter, SoftDeleteAdmin


@admin.register(Cluster)
class ClusterAdmin(SoftDeleteAdmin):
    """Clusters, deleted ones included; every change goes through clusters.services."""

    list_display = ("name", "region", "active_customers", "is_active", "deleted", "updated_at")
    list_filter = (DeletedFilter, "is_active")
    search_fields = ("name", "description", "kubeconfig_path")
    fields = (
        "name",
        "kubeconfig_path",
        "description",
        "is_active",
        "metadata",
        "created_at",
        "updated_at",
        "deleted_at",
    )
    readonly_fields = ("created_at", "updated_at", "deleted_at")
    actions = ["restore_selected"]

    def get_queryset(self, request):
        # Counted as cluster_delete counts them: the active customers that block a deletion (BR-C01).
        active = Q(customers__is_active=True, customers__deleted_at__isnull=True)
        return super().get_queryset(request).annotate(active_customer_count=Count("customers", filter=active))

    @admin.display(description="active customers", ordering="active_customer_count")
    def active_customers(self, cluster) -> int:
        return cluster.active_customer_count

    def create_object(self, request, data):
        return cluster_create(user=request.user, **data)

    def update_object(self, request, cluster, changes):
        return cluster_update(cluster=cluster, user=request.user, **changes)

    def delete_object(self, request, cluster):
        cluster_delete(cluster=cluster, user=request.user)

    @admin.action(description="Restore selected clusters", permissions=["change"])
    def restore_selected(self, request, queryset):
        self.apply_to_all(
            request, queryset, lambda cluster: cluster_restore(cluster=cluster, user=request.user), done="Restored"
        )
