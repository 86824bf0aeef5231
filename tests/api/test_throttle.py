"""Calls are limited per token (ROLLCALL_API_THROTTLE_RATE): over the rate, 429 with Retry-After, and another token
is not slowed down."""

import os
import subprocess
import sys

import pytest

from tests.api.conftest import ApiClient


@pytest.fixture
def two_a_minute(settings):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "2/min"}}


def test_a_token_over_its_rate_gets_429_and_others_do_not(routes_world, user, operator, make_token, two_a_minute):
    busy, other = ApiClient(make_token(user)), ApiClient(make_token(operator))

    statuses = [busy.get("/api/clusters/").status_code for _ in range(3)]
    refused = busy.get("/api/clusters/")

    assert statuses == [200, 200, 429]
    assert refused.json()["detail"].startswith("Request was throttled.")
    assert int(refused["Retry-After"]) > 0
    assert other.get("/api/clusters/").status_code == 200


def test_the_rate_is_set_by_the_environment(tmp_path):
    code = "import django; django.setup(); from rest_framework.settings import api_settings; " + (
        "print(api_settings.DEFAULT_THROTTLE_RATES['api'])"
    )
    environment = {**os.environ, "ROLLCALL_API_THROTTLE_RATE": "5/hour", "ROLLCALL_DATA_DIR": str(tmp_path)}

    shown = subprocess.run([sys.executable, "-c", code], env=environment, capture_output=True, text=True, check=True)

    assert shown.stdout.strip() == "5/hour"
