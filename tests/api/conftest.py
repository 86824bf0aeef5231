"""Fixtures of the API tests: a world with an active release, tokens for each role, and a client that sends one."""

import json
from types import SimpleNamespace

import pytest
from django.test import Client

from api.services import api_token_create
from tests.test_csrf import build_routes_world


class ApiClient:
    """Django's test client speaking JSON with a bearer token (or none)."""

    def __init__(self, token: str | None = None):
        self.client = Client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path, params=None, **headers):
        return self.client.get(path, params or {}, headers={**self.headers, **headers})

    def _send(self, method, path, body, headers):
        data = body if isinstance(body, str | bytes) else json.dumps(body)
        return getattr(self.client, method)(
            path, data, content_type="application/json", headers={**self.headers, **headers}
        )

    def post(self, path, body=None, **headers):
        return self._send("post", path, {} if body is None else body, headers)

    def patch(self, path, body=None, **headers):
        return self._send("patch", path, {} if body is None else body, headers)

    def delete(self, path, **headers):
        return self.client.delete(path, headers={**self.headers, **headers})


@pytest.fixture
def routes_world(user):
    """tests.test_csrf's world: v2.5.0 active for customer-a and customer-b (customer-c left out), a draft v2.6.0."""
    return build_routes_world(user)


@pytest.fixture
def make_token():
    """A token for a user, as its secret: `make_token(user, "jenkins")`."""

    def make(user, name: str = "jenkins", days: int = 90) -> str:
        return api_token_create(user=user, name=name, expires_in_days=days)[1]

    return make


@pytest.fixture
def api(user, make_token):
    """The release manager's API client."""
    return ApiClient(make_token(user))


@pytest.fixture
def roles(user, operator, viewer, make_token):
    """An API client per role."""
    return SimpleNamespace(
        release_manager=ApiClient(make_token(user)),
        operator=ApiClient(make_token(operator)),
        viewer=ApiClient(make_token(viewer)),
    )
