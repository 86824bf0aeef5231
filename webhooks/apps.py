from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _refresh_heard_events(sender, using, **kwargs) -> None:
    """After migrate (a new database, a test database, a flush) the cached event types start from its subscriptions,
    so that the first event after it costs no query either."""
    from webhooks.services import refresh_heard_events

    if using == "default":
        refresh_heard_events()


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Webhooks"

    def ready(self) -> None:
        post_migrate.connect(_refresh_heard_events, sender=self, dispatch_uid="webhooks.refresh_heard_events")
