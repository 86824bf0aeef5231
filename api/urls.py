"""api URLs."""

app_name = "api"
urlpatterns: list = []
