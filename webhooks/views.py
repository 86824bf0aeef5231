"""Webhook screens, for whoever may change releases: the subscriptions, subscribe a URL (its secret shown once),
edit, deactivate or activate again, and each subscription's delivery log with a Redeliver button."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from core.errors import DomainError
from core.forms import add_domain_error
from webhooks import services
from webhooks.choices import PayloadFormat
from webhooks.forms import SubscriptionForm
from webhooks.models import Delivery, Subscription
from webhooks.payloads import slack_text
from webhooks.selectors import delivery_log, subscriptions_with_counts
from webhooks.tasks import max_attempts

REFUSED = 422


def _back_to(request, subscription: Subscription):
    """After a button on the subscription page: the page again, with its message (htmx: a client redirect)."""
    if request.htmx:
        return HttpResponseClientRedirect(subscription.get_absolute_url())
    return redirect(subscription)


DELIVERIES_PER_PAGE = 25


@require_GET
@login_required
def subscription_list(request):
    """Every webhook subscription with its events, format, state and how its deliveries went."""
    services.require_manager(request.user)
    return render(request, "webhooks/subscription_list.html", {"subscriptions": subscriptions_with_counts()})


@require_http_methods(["GET", "POST"])
@login_required
def subscription_create(request):
    """Subscribe a URL to events; the answer shows its signing secret, this once and never again."""
    services.require_manager(request.user)
    form = SubscriptionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            subscription, secret = services.subscription_create(user=request.user, **form.cleaned_data)
        except DomainError as error:
            add_domain_error(form, error)
        else:
            # Rendered, not redirected: the secret must not travel through a session or a URL to be shown later.
            response = render(
                request, "webhooks/subscription_created.html", {"subscription": subscription, "secret": secret}
            )
            response["Cache-Control"] = "no-store"
            return response
    status = REFUSED if form.is_bound else 200
    return render(request, "webhooks/subscription_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def subscription_edit(request, pk: int):
    """Change a subscription's name, URL (blank keeps it), events or format; its secret stays."""
    services.require_manager(request.user)
    subscription = get_object_or_404(Subscription, pk=pk)
    form = SubscriptionForm.for_subscription(subscription, request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.subscription_update(subscription=subscription, user=request.user, **form.changes())
        except DomainError as error:
            add_domain_error(form, error)
        else:
            messages.success(request, f"Webhook {form.cleaned_data['name']} saved.")
            return redirect(subscription)
    status = REFUSED if form.is_bound else 200
    return render(
        request, "webhooks/subscription_form.html", {"form": form, "subscription": subscription}, status=status
    )


@require_POST
@login_required
def subscription_set_active(request, pk: int):
    """Deactivate a subscription (its delivery log stays) or activate it again."""
    services.require_manager(request.user)
    subscription = get_object_or_404(Subscription, pk=pk)
    active = request.POST.get("active") == "1"
    try:
        services.subscription_set_active(subscription=subscription, active=active, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Webhook {subscription.name} {'activated' if active else 'deactivated'}.")
    return _back_to(request, subscription)


@require_GET
@login_required
def subscription_detail(request, pk: int):
    """A subscription and its delivery log, newest first, a page at a time: status, response code, attempts."""
    services.require_manager(request.user)
    subscription = get_object_or_404(Subscription.objects.select_related("created_by"), pk=pk)
    page = Paginator(delivery_log(subscription), DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    slack = subscription.format == PayloadFormat.SLACK
    for delivery in page:  # what the receiver gets: a Slack-compatible subscription, the one line of text
        sent = {"text": slack_text(delivery.payload)} if slack else delivery.payload
        delivery.payload_json = json.dumps(sent, indent=2, ensure_ascii=False)
    return render(
        request,
        "webhooks/subscription_detail.html",
        {"subscription": subscription, "page_obj": page, "max_attempts": max_attempts()},
    )


@require_POST
@login_required
def delivery_redeliver(request, pk: int):
    """Send a delivered or failed delivery again, as a new delivery of the same event."""
    services.require_manager(request.user)
    delivery = get_object_or_404(Delivery.objects.select_related("subscription"), pk=pk)
    try:
        services.delivery_redeliver(delivery=delivery, user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"The {delivery.event_type} event is queued to be sent again.")
    return _back_to(request, delivery.subscription)
