"""Cluster screens: the list, create and edit, delete, and the cluster view with its customers' release status."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import reswap

from accounts.permissions import ADD_CLUSTER, CHANGE_CLUSTER, require
from clusters import services
from clusters.forms import ClusterForm
from clusters.models import Cluster
from clusters.selectors import clusters_with_customers
from core.errors import DomainError
from core.forms import add_domain_error
from steps.progress import cluster_release_status
from variables.selectors import variables_of

REFUSED = 422


@require_GET
@login_required
def cluster_list(request):
    """Every cluster with its status, kubeconfig path, region and customers (FC-004)."""
    return render(request, "clusters/cluster_list.html", {"clusters": clusters_with_customers()})


@require_http_methods(["GET", "POST"])
@login_required
def cluster_create(request):
    """Add a cluster (FC-001); a refusal (BR-C02: the name is taken) shows next to the field."""
    require(request.user, ADD_CLUSTER)
    form = ClusterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            cluster = services.cluster_create(user=request.user, **form.cluster_values())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Cluster {cluster.name} created.")
            return redirect("clusters:cluster_detail", cluster.pk)
    status = REFUSED if form.is_bound else 200
    return render(request, "clusters/cluster_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def cluster_edit(request, pk: int):
    """Edit a cluster (FC-002): only the changed fields go to the service."""
    require(request.user, CHANGE_CLUSTER)
    cluster = get_object_or_404(Cluster, pk=pk)
    form = ClusterForm.for_cluster(cluster, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.cluster_update(cluster=cluster, user=request.user, **form.changes())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Cluster {form.cleaned_data['name']} saved.")
            return redirect("clusters:cluster_detail", cluster.pk)
    status = REFUSED if form.is_bound else 200
    return render(request, "clusters/cluster_form.html", {"form": form, "cluster": cluster}, status=status)


@require_POST
@login_required
def cluster_delete(request, pk: int):
    """Soft-delete a cluster (FC-003), refused while it has active customers (BR-C01).

    htmx: the card is replaced by nothing and the message comes out of band; otherwise back to the list.
    """
    cluster = get_object_or_404(Cluster.all_objects, pk=pk)
    try:
        services.cluster_delete(cluster=cluster, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        status = REFUSED
    else:
        messages.success(request, f"Cluster {cluster.name} deleted.")
        status = 200
    if not request.htmx:
        return redirect("clusters:cluster_list")
    response = render(request, "_messages.html", {"oob": True}, status=status)
    # A refused delete leaves the card in place: only the message is swapped in (out of band).
    return reswap(response, "none") if status == REFUSED else response


@require_GET
@login_required
def cluster_detail(request, pk: int):
    """A cluster, its variables, its customers and where each stands in every active release (FC-005, FV-006)."""
    cluster = get_object_or_404(Cluster.all_objects, pk=pk)
    releases, rows, totals = cluster_release_status(cluster)
    return render(
        request,
        "clusters/cluster_detail.html",
        {
            "cluster": cluster,
            "metadata_json": json.dumps(cluster.metadata, indent=2, ensure_ascii=False),
            "releases": releases,
            "rows": rows,
            "totals": totals,
            "variables": variables_of(cluster),
        },
    )
