"""A Kubernetes cluster that hosts customers."""

from django.db import models
from django.db.models.functions import Lower
from django.urls import reverse

from core.models import SoftDeleteModel
from core.validators import validate_json_object


class Cluster(SoftDeleteModel):
    """A Kubernetes cluster; customers live in its namespaces. Deleting one only hides it (soft delete)."""

    name = models.CharField(max_length=100)
    kubeconfig_path = models.CharField("kubeconfig path", max_length=500, blank=True)
    description = models.TextField(blank=True)
    is_active = models.BooleanField("active", default=True)
    metadata = models.JSONField(default=dict, blank=True, validators=[validate_json_object])
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                Lower("name"),
                condition=models.Q(deleted_at__isnull=True),
                name="cluster_name_unique",
                violation_error_message="A cluster with this name already exists.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("clusters:cluster_detail", args=[self.pk])

    @property
    def region(self) -> str:
        """The region recorded in the metadata, if any."""
        return str(self.metadata.get("region", "")) if isinstance(self.metadata, dict) else ""
