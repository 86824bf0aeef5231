"""A change made with a token is recorded as its user's, through the token: the audit page, its CSV export and the
dashboard's recent activity say "rm via API token 'jenkins'"; the screens' own changes say only "rm"."""

import csv
import io

from django.urls import reverse

from history.context import acting_via, current_via
from history.models import Event

VIA_LABEL = "rm via API token &#x27;jenkins&#x27;"


def test_the_audit_page_the_csv_and_the_dashboard_name_the_token(routes_world, api, client):
    api.post(f"/api/steps/{routes_world.pending.pk}/skip/", {"reason": "done by hand"})
    client.force_login(routes_world.user)

    audit = client.get(reverse("audit:audit")).content.decode()
    export = client.get(reverse("audit:audit_export"))
    dashboard = client.get(reverse("dashboard:dashboard")).content.decode()

    rows = list(csv.reader(io.StringIO(b"".join(export.streaming_content).decode())))
    actors = {(row[1], row[2], row[7]) for row in rows[1:]}
    assert ("rm via API token 'jenkins'", "step.skipped", "customer-a: Deploy app") in actors
    assert ("rm", "step.skipped", "customer-a: Health check") in actors  # the world's own, on the screens
    assert {actor for actor, _, _ in actors} == {"rm", "rm via API token 'jenkins'"}
    assert f"<td>{VIA_LABEL}</td>" in audit
    assert f"by {VIA_LABEL}" in dashboard


def test_the_label_lasts_as_long_as_the_request():
    assert current_via() == ""
    with acting_via("API token 'a'"):
        with acting_via("API token 'b'"):
            assert current_via() == "API token 'b'"
        assert current_via() == "API token 'a'"
    assert current_via() == ""


def test_a_failed_api_request_leaves_no_label_behind(routes_world, api, client):
    api.post(f"/api/steps/{routes_world.done.pk}/skip/", {"reason": "x"})  # 409

    assert current_via() == ""
    client.force_login(routes_world.user)
    client.post(f"/steps/{routes_world.pending.pk}/done/")
    assert Event.objects.filter(action="step.done").latest("id").via == ""
