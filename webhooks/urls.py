"""webhooks URLs."""

app_name = "webhooks"
urlpatterns: list = []
