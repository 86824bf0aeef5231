from django.apps import AppConfig


class HistoryConfig(AppConfig):
    name = "history"

    def ready(self):
        # Authentication in the audit trail: Django's and axes' signals become events (history.auth_events).
        from history.auth_events import connect

        connect()
