"""Property-based hostile input to every API endpoint (issue 11, item 6): random and malformed JSON bodies (wrong
types, huge numbers, NUL characters, lists and objects where text is expected, ids of other kinds or of nothing,
bodies that are no JSON object or no JSON at all) and malformed filters never get a 500; a refused write (4xx)
changes nothing; and a Viewer's token changes nothing whatever it sends.

As tests/test_fuzz.py: one world per endpoint, each example in a savepoint rolled back after it."""

import json
from dataclasses import dataclass

import pytest
from django.db import transaction
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clusters.models import Cluster
from customers.models import Customer
from releases.models import Release
from runs.models import Run
from steps.actions import STEP_ACTIONS
from steps.models import CustomerStep, StepTemplate
from tests.api.conftest import ApiClient
from tests.test_csrf import build_routes_world
from tests.test_hostile_input import database_snapshot

FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
KINDS = {
    "cluster": Cluster,
    "customer": Customer,
    "release": Release,
    "template step": StepTemplate,
    "customer step": CustomerStep,
    "run": Run,
}
NONEXISTENT_IDS = [0, -1, 999_999, 2**31, 2**63, 10**20]
CUSTOMER_FIELDS = ["name", "cluster", "namespace", "description", "is_active", "metadata"]
RELEASE_FIELDS = ["name", "type", "version_number", "release_date", "description", "metadata", "context_guard"]
TEMPLATE_FIELDS = ["release", "name", "category", "type", "content", "description", "position"]
STEP_FIELDS = ["version", "notes", "reason", "content", "name", "type", "description"]
# method, path (with the kind of object its {id} names), fields of the body.
WRITES = {
    "cluster create": (
        "post",
        "/api/clusters/",
        None,
        ["name", "kubeconfig_path", "description", "is_active", "metadata"],
    ),
    "cluster change": ("patch", "/api/clusters/{id}/", "cluster", ["name", "description", "is_active", "metadata"]),
    "customer create": ("post", "/api/customers/", None, CUSTOMER_FIELDS),
    "customer change": ("patch", "/api/customers/{id}/", "customer", CUSTOMER_FIELDS),
    "release create": ("post", "/api/releases/", None, RELEASE_FIELDS),
    "release change": ("patch", "/api/releases/{id}/", "release", RELEASE_FIELDS),
    "release activate": ("post", "/api/releases/{id}/activate/", "release", ["exclude_customers", "exclude_clusters"]),
    "release add customers": ("post", "/api/releases/{id}/add-customers/", "release", ["customers"]),
    "release clone": ("post", "/api/releases/{id}/clone/", "release", ["name", "version_number"]),
    "release archive": ("post", "/api/releases/{id}/archive/", "release", []),
    "release import": ("post", "/api/releases/import/", None, ["definition"]),
    "template steps reorder": ("post", "/api/releases/{id}/reorder-template-steps/", "release", ["category", "order"]),
    "template step create": ("post", "/api/template-steps/", None, TEMPLATE_FIELDS),
    "template step change": ("patch", "/api/template-steps/{id}/", "template step", TEMPLATE_FIELDS),
    "template step delete": ("delete", "/api/template-steps/{id}/", "template step", []),
    "custom step create": (
        "post",
        "/api/steps/",
        None,
        [
            "release",
            "customer",
            "name",
            "category",
            "type",
            "content",
            "description",
            "position",
            "relative_to",
            "add_to_template",
        ],
    ),
    **{f"step {name}": ("post", f"/api/steps/{{id}}/{name}/", "customer step", STEP_FIELDS) for name in STEP_ACTIONS},
    "step run": ("post", "/api/steps/{id}/run/", "customer step", ["sha256"]),
    "run cancel": ("post", "/api/runs/{id}/cancel/", "run", []),
}
READS = {
    "/api/steps/": ["release", "customer", "cluster", "namespace", "category", "status", "type", "template", "name"],
    "/api/customers/": ["cluster", "name", "namespace", "is_active"],
    "/api/clusters/": ["name", "is_active"],
    "/api/releases/": ["name", "status", "type"],
    "/api/template-steps/": ["release", "category", "name"],
    "/api/runs/": ["step", "state", "batch", "output"],
}
PAGING = ["page", "page_size"]
WORDS = [
    *("deploy", "verify", "bash", "sql", "text", "release", "hotfix", "onboarding", "before", "after"),
    *("pending", "done", "skipped", "reverted", "draft", "active", "archived", "true", "false", "", " "),
    *("v2.5.0", "v2.6.0", "customer-a", "customer-c", "prod-us", "spare", "Deploy app", "cust-a-prod"),
    *("2030-01-15", "2024-02-30", "9999-12-31", "1e10", "NaN", "\x00", "a\x00b", "<script>", "../../etc"),
]


@dataclass(frozen=True)
class ObjectId:
    """The id of an object of `kind` (of any kind, or of nothing, when None), picked when the request is sent."""

    kind: str | None
    index: int

    def resolve(self) -> int:
        if self.kind is None:
            ids = sorted({pk for model in KINDS.values() for pk in _ids(model)} | set(NONEXISTENT_IDS))
        else:
            ids = _ids(KINDS[self.kind]) or NONEXISTENT_IDS
        return ids[self.index % len(ids)]


def _ids(model) -> list[int]:
    return list(model._base_manager.order_by("pk").values_list("pk", flat=True))


def resolve(value):
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return value.resolve() if isinstance(value, ObjectId) else value


def object_id(kind: str | None) -> st.SearchStrategy[ObjectId]:
    return st.builds(ObjectId, st.just(kind), st.integers(min_value=0, max_value=40))


def scalars() -> st.SearchStrategy:
    return st.one_of(
        st.text(alphabet=st.characters(codec="utf-8"), max_size=40),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.sampled_from(NONEXISTENT_IDS),
        st.floats(allow_nan=False, allow_infinity=False),
        st.booleans(),
        st.none(),
        object_id(None),
        st.sampled_from(WORDS),
        st.sampled_from([6_000_000, 262_145]).map(lambda size: "x" * size),
    )


def values() -> st.SearchStrategy:
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "region", ""]), inner, max_size=2)
        ),
        max_leaves=4,
    )


def bodies(fields: list[str]) -> st.SearchStrategy[tuple[str, object]]:
    """A JSON object with some of the fields (and a stray one), or another JSON value, or bytes that are no JSON:
    ("json", value) or ("raw", text or bytes)."""
    known = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, values()))
    stray = st.dictionaries(st.text(max_size=8), values(), max_size=1)
    as_object = st.builds(lambda stray, known: ("json", {**stray, **known}), stray, known)
    return st.one_of(
        as_object,
        as_object,
        as_object,
        values().map(lambda value: ("json", value)),
        st.binary(max_size=60).map(lambda raw: ("raw", raw)),
        st.sampled_from(["{", '{"version": 1,}', "[" * 200, '{"a": NaN}', ""]).map(lambda raw: ("raw", raw)),
    )


def queries(fields: list[str]) -> st.SearchStrategy[dict]:
    text = st.one_of(
        st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=30),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from(WORDS[:-5]),
        object_id(None).map(lambda ref: ref),
    )
    return st.fixed_dictionaries({}, optional=dict.fromkeys([*fields, *PAGING], text))


class World:
    """tests.test_csrf's world, a token per role, and the database as the world holds it."""

    def __init__(self, user, viewer):
        build_routes_world(user)
        from api.services import api_token_create

        self.clients = {
            "release manager": ApiClient(api_token_create(user=user, name="fuzz")[1]),
            "viewer": ApiClient(api_token_create(user=viewer, name="fuzz")[1]),
        }
        self.snapshot = database_snapshot()

    def send(self, role: str, method: str, path: str, body):
        """The answer, and the database as the request left it; rolled back afterwards."""
        client = self.clients[role]
        with transaction.atomic():
            if method == "get":
                response = client.get(path, body)
            elif method == "delete":
                response = client.delete(path)
            else:
                response = getattr(client, method)(path, body)
            after = database_snapshot()
            transaction.set_rollback(True)
        return response, after


@pytest.fixture
def api_fuzz_world(user, viewer, settings):
    # Hundreds of calls a minute from one token: the throttle is not what is tested here.
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"api": "100000/min"}}
    # The run endpoints are there only with execution on (tests/api/test_runs.py fuzzes them with runs to act on).
    settings.ROLLCALL_EXECUTION = True
    return World(user, viewer)


def _request(route: str, data):
    method, path, kind, fields = WRITES[route]
    if kind is not None:
        path = path.format(id=resolve(data.draw(st.one_of(object_id(kind), object_id(kind), object_id(None)))))
    shape, body = data.draw(bodies(fields), label="body")
    return method, path, json.dumps(resolve(body)) if shape == "json" else body


@pytest.mark.parametrize("route", sorted(WRITES))
@FUZZ
@given(data=st.data())
def test_a_malformed_write_never_fails_and_a_refusal_changes_nothing(api_fuzz_world, route, data):
    method, path, body = _request(route, data)

    response, after = api_fuzz_world.send("release manager", method, path, body)

    assert response.status_code < 500, response.content[:500]
    assert response.status_code in (204, 404) or response["Content-Type"] == "application/json"
    if 400 <= response.status_code < 500:
        assert after == api_fuzz_world.snapshot


@pytest.mark.parametrize("route", sorted(WRITES))
@FUZZ
@given(data=st.data())
def test_a_viewer_token_changes_nothing_whatever_it_sends(api_fuzz_world, route, data):
    method, path, body = _request(route, data)

    response, after = api_fuzz_world.send("viewer", method, path, body)

    assert 400 <= response.status_code < 500
    assert after == api_fuzz_world.snapshot


@pytest.mark.parametrize("path", sorted(READS))
@FUZZ
@given(data=st.data())
def test_malformed_filters_never_fail(api_fuzz_world, path, data):
    query = resolve(data.draw(queries(READS[path]), label="query"))

    response, after = api_fuzz_world.send("viewer", "get", path, query)

    assert response.status_code in (200, 400, 404), response.content[:500]
    assert after == api_fuzz_world.snapshot
