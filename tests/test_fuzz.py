"""Property-based hostile input (issue 4): random and malformed data posted to every form and htmx endpoint, and sent
to the filter forms of the customers list, the matrix and the audit log, never gets a 500, and a rejected request
(4xx) changes nothing. Text, bytes that are not UTF-8, huge strings, missing fields, wrong types, lists where one
value is expected, negative and overflowing numbers, ids of objects that do not exist or are of another kind, with
and without the htmx headers.

One world per endpoint, built once; each example runs in a savepoint rolled back after it, so every example starts
from that world and its snapshot is taken once."""

from dataclasses import dataclass

import pytest
from django.db import transaction
from django.urls import reverse
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from clusters.models import Cluster
from customers.models import Customer
from history.models import Event
from releases.models import Release
from runs.models import Run, RunBatch
from steps.models import CustomerStep, StepTemplate
from tests.runs import conftest as runs_fixtures
from tests.test_csrf import build_routes_world
from tests.test_hostile_input import database_snapshot

# A fixture: runs need execution on and a kubectl (the fake one).
kubectl = runs_fixtures.kubectl

FUZZ = settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.shrink],
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# The fields each endpoint reads (its form's, plus what the step actions and plain POSTs carry).
STEP_FIELDS = ["version", "next"]
FIELDS = {
    "clusters:cluster_create": ["name", "kubeconfig_path", "description", "is_active", "metadata"],
    "clusters:cluster_edit": ["name", "kubeconfig_path", "description", "is_active", "metadata"],
    "clusters:cluster_delete": [],
    "customers:customer_create": ["cluster", "name", "namespace", "description", "is_active", "metadata"],
    "customers:customer_edit": [
        "cluster",
        "name",
        "namespace",
        "description",
        "is_active",
        "metadata",
        "confirm_move",
    ],
    "customers:customer_delete": [],
    "releases:release_create": ["name", "type", "version_number", "release_date", "description"],
    "releases:release_edit": ["name", "type", "version_number", "release_date", "description"],
    "releases:release_activate": ["customers", "shown"],
    "releases:release_add_customers": ["customers"],
    "releases:release_clone": ["name"],
    "releases:release_archive": [],
    "releases:template_step_create": ["name", "category", "type", "content", "description", "position"],
    "releases:template_step_edit": ["name", "category", "type", "content", "description"],
    "releases:template_step_delete": [],
    "releases:template_steps_reorder": ["order"],
    "steps:step_done": ["notes", *STEP_FIELDS],
    "steps:step_skip": ["reason", *STEP_FIELDS],
    "steps:step_revert": ["notes", *STEP_FIELDS],
    "steps:step_reopen": STEP_FIELDS,
    "steps:step_notes": ["notes", *STEP_FIELDS],
    "steps:step_override": ["content", *STEP_FIELDS],
    "steps:step_reset": STEP_FIELDS,
    "steps:step_edit": ["name", "type", "content", "description", *STEP_FIELDS],
    "steps:step_remove": STEP_FIELDS,
    "steps:mark_all": ["next"],
    "steps:custom_step_add": [
        "name",
        "category",
        "type",
        "content",
        "description",
        "relative_to",
        "add_to_template",
    ],
    "runs:run_start": ["sha256"],
    "runs:run_cancel": [],
    "runs:batch_start": ["customers", "concurrency", "stop_on_failure"],
    "runs:batch_cancel": [],
}
GET_FIELDS = {
    "customers:customer_list": ["cluster", "sort"],
    "steps:matrix": ["category", "cluster", "status"],
    "audit:audit": [
        "release",
        "cluster",
        "customer",
        "user",
        "action",
        "date_from",
        "date_to",
        "customer_step",
        "template_step",
        "page",
    ],
    "audit:audit_export": ["release", "customer", "action", "date_from", "date_to"],
    "runs:run_detail": ["state", "seen"],
    "runs:step_runs": ["run", "state", "seen"],
}

STEP_ACTIONS = ("done", "skip", "revert", "reopen", "notes", "override", "reset", "edit", "remove")
KINDS = {"cluster": Cluster, "customer": Customer, "release": Release, "template step": StepTemplate}
KINDS |= {"customer step": CustomerStep, "event": Event, "run": Run, "run batch": RunBatch}
# The kind of object each URL argument names; a fuzzed request may name another kind, or nothing that exists.
URL_ARGUMENTS = {
    "clusters:cluster_edit": {"pk": "cluster"},
    "clusters:cluster_delete": {"pk": "cluster"},
    "customers:customer_edit": {"pk": "customer"},
    "customers:customer_delete": {"pk": "customer"},
    "releases:release_edit": {"pk": "release"},
    "releases:release_activate": {"pk": "release"},
    "releases:release_add_customers": {"pk": "release"},
    "releases:release_clone": {"pk": "release"},
    "releases:release_archive": {"pk": "release"},
    "releases:template_step_create": {"pk": "release"},
    "releases:template_step_edit": {"pk": "template step"},
    "releases:template_step_delete": {"pk": "template step"},
    "releases:template_steps_reorder": {"pk": "release", "category": "category"},
    "steps:mark_all": {"release_pk": "release", "customer_pk": "customer", "category": "category"},
    "steps:custom_step_add": {"release_pk": "release", "customer_pk": "customer"},
    "steps:matrix": {"release_pk": "release"},
    **{f"steps:step_{action}": {"pk": "customer step"} for action in STEP_ACTIONS},
    "runs:run_start": {"pk": "customer step"},
    "runs:run_cancel": {"pk": "run"},
    "runs:batch_start": {"pk": "template step", "cluster_pk": "cluster"},
    "runs:batch_cancel": {"pk": "run batch"},
    "runs:run_detail": {"pk": "run"},
    "runs:step_runs": {"pk": "customer step"},
}

NONEXISTENT_IDS = [0, 999_999, 2**31, 2**63, 10**20]
CHOICE_WORDS = [
    *("deploy", "verify", "DEPLOY", "bash", "sql", "text", "release", "hotfix", "maintenance"),
    *("pending", "done", "skipped", "reverted", "cluster", "name", "progress", "-name"),
    *("step.done", "release.created", "on", "off", "true", "false", "", " ", "\t", "before", "after"),
]
SHAPES = [
    *("{}", "[]", "null", '{"region": "us-east-1"}', '{"a": [1, {"b": null}]}', '"text"', "{", "[" * 50),
    *('{"replicas": NaN}', '{"region": "us\\u0000east"}'),
    *("2030-01-15", "2024-02-30", "0001-01-01", "9999-12-31", "01/15/2030", "-1", "0", "1e10", "1.5", "NaN"),
    *("/", "//evil.example.com/", "https://evil.example.com/", "javascript:alert(1)", "/steps/1/\r\nX-Evil: 1"),
    *("<script>alert(1)</script>", '"><svg onload=alert(1)>', "../../etc/passwd", "%00", "\x00", "a\r\nb"),
]
HX_TARGETS = ["side-panel", "dialog", "matrix-body", "customer-list", "audit-results", "release-page", "x"]


@dataclass(frozen=True)
class ObjectId:
    """The id of an object of `kind` (any kind, or of nothing, when None), picked when the request is sent: the
    objects change as accepted requests create and delete them, and what hypothesis draws must not depend on that."""

    kind: str | None
    index: int
    prefix: str = ""

    def resolve(self) -> str:
        if self.kind is None:
            ids = sorted({pk for model in KINDS.values() for pk in object_ids(model)} | set(NONEXISTENT_IDS))
        else:
            ids = object_ids(KINDS[self.kind])
        return f"{self.prefix}{ids[self.index % len(ids)]}"


@dataclass(frozen=True)
class Huge:
    """A huge value (its repr stays short): over the step content limit, or over Django's upload limit."""

    char: str
    length: int

    def resolve(self) -> str:
        return self.char * self.length


def object_ids(model) -> list[int]:
    return list(model._base_manager.order_by("pk").values_list("pk", flat=True))


def resolve(value):
    """The request as sent: every ObjectId and Huge in it replaced by its value."""
    if isinstance(value, dict):
        return {key: resolve(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item) for item in value]
    return value.resolve() if isinstance(value, ObjectId | Huge) else value


def object_id(kind: str | None, prefix: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[ObjectId]:
    prefix = st.just("") if prefix is None else prefix
    return st.builds(ObjectId, st.just(kind), st.integers(min_value=0, max_value=40), prefix)


def field_values(*, huge: bool) -> st.SearchStrategy:
    """One submitted value: text, bytes read as Latin-1, numbers, ids of any kind, positions next to them, choice
    words, malformed shapes, and (in a POST) huge values."""
    values = [
        st.text(alphabet=st.characters(codec="utf-8"), max_size=60),
        st.binary(max_size=60).map(lambda raw: raw.decode("latin-1")),
        st.integers(min_value=-(2**70), max_value=2**70).map(str),
        st.sampled_from([-1, *NONEXISTENT_IDS]).map(str),
        object_id(None),
        object_id(None, prefix=st.sampled_from(["before:", "after:", "inside:"])),
        st.sampled_from(CHOICE_WORDS),
        st.sampled_from(SHAPES),
    ]
    if huge:
        values.append(st.builds(Huge, st.sampled_from(["x", "ü"]), st.sampled_from([262_145, 3_000_000])))
    return st.one_of(values)


def form_data(fields: list[str], *, huge: bool) -> st.SearchStrategy[dict]:
    """Some of the fields (any may be missing), each one value or a list of values, and stray fields."""
    value = field_values(huge=huge)
    one_or_many = st.one_of(value, st.lists(value, max_size=3))
    known = st.fixed_dictionaries({}, optional=dict.fromkeys(fields, one_or_many))
    stray = st.dictionaries(st.text(alphabet=st.characters(codec="utf-8"), min_size=1, max_size=10), value, max_size=2)
    return st.builds(lambda stray, known: {**stray, **known}, stray, known)


def htmx_headers() -> st.SearchStrategy[dict]:
    """No headers, or those htmx sends: HX-Request, a target and the page's URL."""
    return st.one_of(
        st.just({}),
        st.fixed_dictionaries(
            {"HTTP_HX_REQUEST": st.just("true")},
            optional={
                "HTTP_HX_TARGET": st.sampled_from(HX_TARGETS),
                "HTTP_HX_CURRENT_URL": st.one_of(
                    st.sampled_from(["http://testserver/releases/1/matrix/?status=done", "not a url", ""]),
                    st.text(alphabet=st.characters(codec="ascii", exclude_categories=("Cc",)), max_size=40),
                ),
                "HTTP_HX_HISTORY_RESTORE_REQUEST": st.just("true"),
            },
        ),
    )


def url_kwargs(route: str) -> st.SearchStrategy[dict]:
    """The URL arguments: mostly an object of the right kind, sometimes any id, or one of nothing."""
    arguments = {}
    for name, kind in URL_ARGUMENTS.get(route, {}).items():
        if kind == "category":
            arguments[name] = st.sampled_from(["deploy", "verify", "DEPLOY", "other", "-"])
        else:
            arguments[name] = st.one_of(object_id(kind), object_id(kind), object_id(None))
    return st.fixed_dictionaries(arguments)


def post_request(route: str) -> st.SearchStrategy[dict]:
    body = st.one_of(
        form_data(FIELDS[route], huge=True).map(lambda data: {"data": data}),
        st.binary(max_size=200).map(lambda raw: {"data": raw, "content_type": "application/x-www-form-urlencoded"}),
    )
    return st.fixed_dictionaries({"kwargs": url_kwargs(route), "body": body, "headers": htmx_headers()})


def get_request(route: str) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries(
        {"kwargs": url_kwargs(route), "query": form_data(GET_FIELDS[route], huge=False), "headers": htmx_headers()}
    )


class World:
    """The world the examples of one test run in, and a snapshot of the database as it holds it."""

    def __init__(self, user):
        build_routes_world(user)
        self.snapshot = database_snapshot()

    def send(self, client, method: str, url: str, request: dict, *, check_refusals: bool):
        """Send the request and return its answer, and the database as it left it when that needs checking (a
        refusal, or `check_refusals` false: always).

        The request runs in a savepoint rolled back afterwards: every example starts from the same world, so an
        accepted request does not take away what later examples act on, and a failing example can be replayed."""
        with transaction.atomic():
            if method == "GET":
                response = client.get(url, request["query"], **request["headers"])
            else:
                response = client.post(url, **request["body"], **request["headers"])
            refused = 400 <= response.status_code < 500
            after = database_snapshot() if refused or not check_refusals else None
            transaction.set_rollback(True)
        return response, after


@pytest.fixture
def fuzz_world(db, admin_user, kubectl):
    return World(admin_user)


@pytest.mark.parametrize("route", sorted(FIELDS))
@FUZZ
@given(data=st.data())
def test_malformed_post_never_fails_and_a_refusal_changes_nothing(admin_client, fuzz_world, route, data):
    request = resolve(data.draw(post_request(route), label="request"))
    url = reverse(route, kwargs=request["kwargs"])

    response, after = fuzz_world.send(admin_client, "POST", url, request, check_refusals=True)

    assert response.status_code < 500
    if 400 <= response.status_code < 500:
        assert after == fuzz_world.snapshot


@pytest.mark.parametrize("route", sorted(GET_FIELDS))
@FUZZ
@given(data=st.data())
def test_malformed_filters_never_fail_and_change_nothing(admin_client, fuzz_world, route, data):
    request = resolve(data.draw(get_request(route), label="request"))
    url = reverse(route, kwargs=request["kwargs"])

    response, after = fuzz_world.send(admin_client, "GET", url, request, check_refusals=False)

    assert response.status_code < 500
    assert after == fuzz_world.snapshot
