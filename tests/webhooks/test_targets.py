"""Webhooks are not sent to Rollcall's own host nor to link-local addresses (a cloud's metadata service), unless
ROLLCALL_WEBHOOK_ALLOW_LOCAL allows it; private networks, where a company's Jenkins lives, are fine."""

import pytest

from core.errors import DomainError
from webhooks import services
from webhooks.models import Delivery, Subscription
from webhooks.tasks import attempt_delivery


@pytest.fixture
def local_refused(settings):
    settings.ROLLCALL_WEBHOOK_ALLOW_LOCAL = False


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://user:pass@127.0.0.1:9/hook",
        "http://[::1]/hook",
        "http://0.0.0.0/hook",
    ],
)
def test_a_loopback_or_link_local_target_is_refused_next_to_the_url(user, local_refused, url):
    with pytest.raises(DomainError, match="Rollcall does not send webhooks to") as refused:
        services.subscription_create(name="Probe", target_url=url, events=["release.archived"], user=user)

    assert refused.value.field == "target_url"
    assert not Subscription.objects.exists()


def test_a_private_network_receiver_is_allowed(user, local_refused):
    subscription, _ = services.subscription_create(
        name="Jenkins", target_url="http://10.20.30.40:8080/hook", events=["release.archived"], user=user
    )

    assert subscription.pk


def test_a_name_that_resolves_to_loopback_when_delivering_is_not_sent(user, subscribe, receiver, settings):
    subscription, _ = subscribe(receiver.url.replace("127.0.0.1", "localtest.localhost"))
    delivery = Delivery.objects.create(subscription=subscription, event_type="release.archived", payload={"id": 1})
    settings.ROLLCALL_WEBHOOK_ALLOW_LOCAL = False

    attempt_delivery(delivery.pk)

    delivery.refresh_from_db()
    assert "Rollcall does not send webhooks to 127.0.0.1" in delivery.last_error
    assert delivery.status == "pending" and receiver.requests == []
