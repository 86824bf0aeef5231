"""A refused action (403) in the server log: one line saying what was refused, no traceback."""

import logging

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_a_refused_action_logs_one_line_without_a_traceback(client, viewer, caplog):
    client.force_login(viewer)

    with caplog.at_level(logging.INFO):
        response = client.post(reverse("clusters:cluster_create"), {"name": "prod-ap"})

    assert response.status_code == 403
    [record] = caplog.records
    assert (record.name, record.levelname) == ("django.request", "WARNING")
    assert record.exc_info is None
    line = logging.Formatter(settings.LOGGING["formatters"]["simple"]["format"]).format(record)
    assert line.endswith("Forbidden (Permission denied): /clusters/new/")
    assert "\n" not in line
