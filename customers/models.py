"""A customer: one tenant in one namespace of one cluster."""

from django.db import models
from django.urls import reverse

from core.models import SoftDeleteModel
from core.validators import validate_json_object, validate_namespace


class Customer(SoftDeleteModel):
    """A tenant deployed in a namespace of a cluster. Deleting one archives it (soft delete)."""

    cluster = models.ForeignKey("clusters.Cluster", on_delete=models.PROTECT, related_name="customers")
    name = models.CharField(max_length=100)
    namespace = models.CharField(max_length=63, validators=[validate_namespace])
    description = models.TextField(blank=True)
    is_active = models.BooleanField("active", default=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["cluster", "namespace"],
                condition=models.Q(deleted_at__isnull=True),
                name="customer_namespace_unique_in_cluster",
                violation_error_message="This namespace is already used by another customer on this cluster.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("customers:customer_detail", args=[self.pk])

    @property
    def location(self) -> str:
        """Where the customer runs, as release managers write it: cluster/namespace."""
        return f"{self.cluster.name}/{self.namespace}"
