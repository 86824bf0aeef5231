"""Customer screens: the list by cluster, create and edit (a move asks first), archive, and the customer view."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.permissions import ADD_CUSTOMER, CHANGE_CUSTOMER, require
from core.errors import DomainError
from core.forms import add_domain_error
from core.htmx import render_page_or_partial
from customers import services
from customers.forms import CustomerFilter, CustomerForm
from customers.models import Customer
from customers.selectors import CUSTOMER_ORDERINGS, CUSTOMER_PAGE_SIZE, customer_events, customers_per_cluster
from steps.progress import annotate_customers_progress, customer_release_history, customers_with_progress
from variables.selectors import variables_of

REFUSED = 422


@require_GET
@login_required
def customer_list(request):
    """Customers grouped by cluster, filtered by clusters and sorted (FM-004, FM-006, §8.3), a page at a time;
    htmx gets the list."""
    # Sorting by progress needs every customer's progress (in SQL); otherwise only the page's customers need theirs.
    by_progress = request.GET.get("sort") == "progress"
    customers = customers_with_progress() if by_progress else Customer.objects.select_related("cluster")
    customer_filter = CustomerFilter(request.GET, queryset=customers.order_by(*CUSTOMER_ORDERINGS["cluster"]))
    customer_filter.is_valid()  # an unknown cluster is reported beside the form; the valid choices still apply
    sort = customer_filter.form.cleaned_data.get("sort") or "cluster"
    cluster_counts = customers_per_cluster(customer_filter.form.cleaned_data.get("cluster"))
    paginator = Paginator(customer_filter.qs, CUSTOMER_PAGE_SIZE)
    paginator.count = sum(cluster_counts.values())  # what the page's count query would say, without the aggregate
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = list(page.object_list)
    if not by_progress:
        annotate_customers_progress(page.object_list)
    for customer in page.object_list:
        customer.cluster.customer_count = cluster_counts.get(customer.cluster_id, 0)
    return render_page_or_partial(
        request,
        "customers/customer_list.html",
        {
            "filter": customer_filter,
            "page_obj": page,
            "customers": page.object_list,
            "grouped": sort == "cluster",
            "sort": sort,
        },
        partial="customer_list",
        target="customer-list",
    )


@require_http_methods(["GET", "POST"])
@login_required
def customer_create(request):
    """Add a customer to a cluster's namespace (FM-001); a refusal (BR-M01) shows next to its field."""
    require(request.user, ADD_CUSTOMER)
    form = CustomerForm(request.POST or None, initial={"cluster": request.GET.get("cluster")})
    if request.method == "POST" and form.is_valid():
        try:
            customer = services.customer_create(user=request.user, **form.customer_values())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Customer {customer.name} created in {customer.location}.")
            return redirect("customers:customer_detail", customer.pk)
    status = REFUSED if form.is_bound else 200
    return render(request, "customers/customer_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def customer_edit(request, pk: int):
    """Edit a customer (FM-002); a new cluster is only saved once the move warning is confirmed (BR-M02)."""
    require(request.user, CHANGE_CUSTOMER)
    customer = get_object_or_404(Customer.objects.select_related("cluster"), pk=pk)
    form = CustomerForm.for_customer(customer, request.POST or None)
    context = {"form": form, "customer": customer}
    if request.method == "POST" and form.is_valid():
        move_to = form.unconfirmed_move()
        if move_to is not None:
            context["move_to"] = move_to
            return render(request, "customers/customer_form.html", context)
        try:
            customer = services.customer_update(customer=customer, user=request.user, **form.changes())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Customer {customer.name} saved ({customer.location}).")
            return redirect("customers:customer_detail", customer.pk)
    status = REFUSED if form.is_bound else 200
    return render(request, "customers/customer_form.html", context, status=status)


@require_POST
@login_required
def customer_delete(request, pk: int):
    """Archive a customer (FM-003, BR-M03). htmx: the customer's card shows it archived; otherwise to the list."""
    customer = get_object_or_404(Customer.all_objects.select_related("cluster"), pk=pk)
    try:
        customer = services.customer_delete(customer=customer, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        status = REFUSED
    else:
        messages.success(request, f"Customer {customer.name} archived; its steps and history are kept.")
        status = 200
    if not request.htmx:
        return redirect("customers:customer_list") if status == 200 else redirect("customers:customer_detail", pk)
    return render(request, "customers/customer_detail.html#archived", {"customer": customer}, status=status)


@require_GET
@login_required
def customer_detail(request, pk: int):
    """A customer: cluster, namespace, metadata, its variables, the releases it is in with its progress, its history
    (FM-005)."""
    customer = get_object_or_404(Customer.all_objects.select_related("cluster"), pk=pk)
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "metadata_json": json.dumps(customer.metadata, indent=2, ensure_ascii=False),
            "enrollments": customer_release_history(customer),
            "events": customer_events(customer),
            "variables": variables_of(customer),
        },
    )
