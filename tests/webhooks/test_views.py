"""The webhook pages: for whoever may change releases; the secret is shown once, at creation, and never again; the
delivery log pages through deliveries in a constant number of queries and can send one again."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core import crypto
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services import customer_step_mark_done
from tests.queue import run_due_tasks
from webhooks.choices import DeliveryStatus, EventType
from webhooks.models import Delivery, Subscription
from webhooks.services import notify
from webhooks.signing import SIGNATURE_HEADER, verify


@pytest.fixture
def rm_client(client, user):
    client.force_login(user)
    return client


def _create(client, url: str, **fields):
    data = {"name": "Jenkins", "target_url": url, "events": [EventType.STEP_STATUS_CHANGED], "format": "json", **fields}
    return client.post(reverse("webhooks:subscription_create"), data)


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_release_managers_reach_the_webhook_pages(client, request, role, subscribe, user):
    subscription, _ = subscribe("https://ci.example.com/hook")
    delivery = Delivery.objects.create(subscription=subscription, event_type="release.activated", payload={})
    client.force_login(request.getfixturevalue(role))

    for name, args in [
        ("subscription_list", []),
        ("subscription_create", []),
        ("subscription_detail", [subscription.pk]),
        ("subscription_edit", [subscription.pk]),
    ]:
        assert client.get(reverse(f"webhooks:{name}", args=args)).status_code == 403, name
    assert (
        client.post(reverse("webhooks:subscription_set_active", args=[subscription.pk]), {"active": "0"}).status_code
        == 403
    )
    assert client.post(reverse("webhooks:delivery_redeliver", args=[delivery.pk])).status_code == 403
    assert _create(client, "https://other.example.com/").status_code == 403
    assert Subscription.objects.count() == 1 and Subscription.objects.get().is_active
    assert "Webhooks</a>" not in client.get(reverse("dashboard:dashboard")).content.decode()


def test_a_release_manager_sees_the_webhooks_link(rm_client):
    page = rm_client.get(reverse("dashboard:dashboard")).content.decode()
    assert f'href="{reverse("webhooks:subscription_list")}"' in page


def test_the_secret_is_shown_once_at_creation_and_never_again(rm_client, world, receiver, monkeypatch):
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())

    response = _create(rm_client, receiver.url)

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    subscription = Subscription.objects.get()
    page = response.content.decode()
    secret = page.split('id="webhook-secret" class="mono">')[1].split("<")[0]
    assert secret.startswith("whsec_") and "shown this once" in page
    assert subscription.secret_encrypted and secret not in subscription.secret  # stored encrypted
    for url in [
        reverse("webhooks:subscription_list"),
        subscription.get_absolute_url(),
        reverse("webhooks:subscription_edit", args=[subscription.pk]),
    ]:
        other = rm_client.get(url)
        assert other.status_code == 200 and secret not in other.content.decode(), url

    # …and the deliveries are signed with it.
    release_activate(release=world.release, user=world.user)
    customer_step_mark_done(step=CustomerStep.objects.filter(release=world.release).first(), user=world.user)
    run_due_tasks()
    [request] = receiver.requests
    assert verify(secret, request["body"], request["headers"][SIGNATURE_HEADER], now=int(time.time()))


def test_the_secret_is_never_in_the_admin(admin_client, subscribe):
    subscription, secret = subscribe("https://ci.example.com/hook")
    for url in [
        reverse("admin:webhooks_subscription_changelist"),
        reverse("admin:webhooks_subscription_change", args=[subscription.pk]),
    ]:
        response = admin_client.get(url)
        assert response.status_code == 200 and secret not in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"target_url": "ftp://files.example.com/x"}, "target_url", "Enter an http:// or https:// URL"),
        ({"target_url": "not a url"}, "target_url", "Enter an http:// or https:// URL"),
        ({"events": []}, "events", "This field is required."),
        ({"events": ["release.exploded"]}, "events", "Select a valid choice."),
        ({"name": ""}, "name", "This field is required."),
    ],
)
def test_bad_input_is_refused_next_to_its_field_and_creates_nothing(rm_client, fields, field, message):
    response = _create(rm_client, "https://ci.example.com/hook", **fields)

    assert response.status_code == 422
    assert message in str(response.context["form"].errors[field])
    assert Subscription.objects.count() == 0


def test_edit_keeps_the_url_left_blank_and_never_shows_its_path(rm_client, subscribe):
    subscription, _ = subscribe("https://hooks.slack.com/services/T000/B000/very-secret-path")
    url = reverse("webhooks:subscription_edit", args=[subscription.pk])
    assert "very-secret-path" not in rm_client.get(url).content.decode()

    response = rm_client.post(
        url, {"name": "Slack", "target_url": "", "events": [EventType.RELEASE_ARCHIVED], "format": "slack"}
    )

    assert response.status_code == 302
    subscription.refresh_from_db()
    assert subscription.target_url == "https://hooks.slack.com/services/T000/B000/very-secret-path"
    assert (subscription.name, subscription.events, subscription.format) == ("Slack", ["release.archived"], "slack")
    for page in (rm_client.get(subscription.get_absolute_url()), rm_client.get(reverse("webhooks:subscription_list"))):
        assert "very-secret-path" not in page.content.decode()
        assert "https://hooks.slack.com/…" in page.content.decode()


def test_deactivate_keeps_the_delivery_log_and_stops_the_events(rm_client, active_world, receiver, subscribe):
    subscription, _ = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    steps = list(CustomerStep.objects.filter(release=active_world.release)[:2])
    customer_step_mark_done(step=steps[0], user=active_world.user)
    run_due_tasks()

    response = rm_client.post(
        reverse("webhooks:subscription_set_active", args=[subscription.pk]), {"active": "0"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200 and response["HX-Redirect"] == subscription.get_absolute_url()
    subscription.refresh_from_db()
    assert not subscription.is_active
    customer_step_mark_done(step=steps[1], user=active_world.user)
    run_due_tasks()
    assert len(receiver.requests) == 1 and Delivery.objects.count() == 1
    page = rm_client.get(subscription.get_absolute_url()).content.decode()
    assert "Inactive" in page and f'id="delivery-{Delivery.objects.get().pk}"' in page


@pytest.fixture
def active_world(world):
    release_activate(release=world.release, user=world.user)
    return world


def test_the_delivery_log_shows_status_code_and_attempts_and_redelivers(rm_client, active_world, receiver, subscribe):
    subscription, _ = subscribe(receiver.url, events=[EventType.STEP_STATUS_CHANGED])
    receiver.codes = [500]
    customer_step_mark_done(
        step=CustomerStep.objects.filter(release=active_world.release).first(), user=active_world.user
    )
    run_due_tasks()
    delivery = Delivery.objects.get()

    page = rm_client.get(subscription.get_absolute_url()).content.decode()
    row = page[page.index(f'id="delivery-{delivery.pk}"') :].split("</tr>")[0]
    assert "Pending" in row and "<td>500</td>" in row and "<td>1</td>" in row and "HTTP 500" in row
    assert "Redeliver" not in row  # still being retried

    Delivery.objects.filter(pk=delivery.pk).update(status=DeliveryStatus.FAILED)
    response = rm_client.post(reverse("webhooks:delivery_redeliver", args=[delivery.pk]))
    assert response.status_code == 302
    again = Delivery.objects.exclude(pk=delivery.pk).get()
    assert (again.redelivery_of_id, again.event_id, again.status) == (delivery.pk, delivery.event_id, "pending")


def test_a_pending_delivery_is_not_redelivered(rm_client, subscribe):
    subscription, _ = subscribe("https://ci.example.com/hook")
    delivery = Delivery.objects.create(subscription=subscription, event_type="release.activated", payload={})

    response = rm_client.post(reverse("webhooks:delivery_redeliver", args=[delivery.pk]), follow=True)

    assert "Only a delivered or failed delivery can be sent again; this one is pending." in response.content.decode()
    assert Delivery.objects.count() == 1


def _event(number: int) -> dict:
    return {"id": f"00000000-0000-0000-0000-{number:012d}", "type": "release.activated", "actor": {"username": "rm"}}


def test_the_delivery_log_pages_in_a_constant_number_of_queries(rm_client, subscribe):
    subscription, _ = subscribe("https://ci.example.com/hook", events=[EventType.RELEASE_ACTIVATED])
    url = subscription.get_absolute_url()
    rm_client.get(url)  # the session and permissions, read once
    counts = []
    for total in (3, 60):
        start = Delivery.objects.count()
        notify(EventType.RELEASE_ACTIVATED, lambda start=start, total=total: [_event(n) for n in range(start, total)])
        with CaptureQueriesContext(connection) as queries:
            page = rm_client.get(url).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert page.count('id="delivery-') == 25 and "Page 1 of 3" in page
    assert rm_client.get(url + "?page=3").content.decode().count('id="delivery-') == 10


def test_the_list_reads_every_subscription_in_a_constant_number_of_queries(rm_client, subscribe):
    url = reverse("webhooks:subscription_list")
    rm_client.get(url)
    counts = []
    for number in (1, 10):
        while Subscription.objects.count() < number:
            subscribe(
                f"https://ci.example.com/{Subscription.objects.count()}", name=f"hook {Subscription.objects.count()}"
            )
        with CaptureQueriesContext(connection) as queries:
            page = rm_client.get(url).content.decode()
        counts.append(len(queries))
    assert counts[0] == counts[1] and page.count('id="subscription-') == 10


def test_every_webhook_post_needs_the_csrf_token(user, subscribe):
    from django.test import Client

    subscription, _ = subscribe("https://ci.example.com/hook")
    delivery = Delivery.objects.create(subscription=subscription, event_type="release.activated", payload={})
    delivery.status = DeliveryStatus.FAILED
    delivery.save()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    posts = {
        reverse("webhooks:subscription_create"): {
            "name": "x",
            "target_url": "https://x.example.com/",
            "events": ["release.activated"],
            "format": "json",
        },
        reverse("webhooks:subscription_edit", args=[subscription.pk]): {
            "name": "renamed",
            "events": ["release.activated"],
            "format": "json",
        },
        reverse("webhooks:subscription_set_active", args=[subscription.pk]): {"active": "0"},
        reverse("webhooks:delivery_redeliver", args=[delivery.pk]): {},
    }

    for url, data in posts.items():
        assert client.post(url, data).status_code == 403, url

    assert Subscription.objects.count() == 1 and Delivery.objects.count() == 1
    subscription.refresh_from_db()
    assert (subscription.name, subscription.is_active) == ("CI", True)


def test_a_slack_subscriptions_log_shows_the_text_that_was_sent(client, user, subscribe):
    subscription, _ = subscribe("https://hooks.example.com/x", format="slack")
    Delivery.objects.create(
        subscription=subscription,
        event_type="release.archived",
        payload={
            "type": "release.archived",
            "release": {"id": 1, "name": "v2.5.0"},
            "actor": {"username": "rm", "via": "API token 'jenkins'"},
        },
    )
    client.force_login(user)

    html = client.get(reverse("webhooks:subscription_detail", args=[subscription.pk])).content.decode()

    assert (
        "&quot;text&quot;: &quot;📦 Release v2.5.0 was archived by rm via API token &#x27;jenkins&#x27;&quot;" in html
    )
