"""Customer steps through the API (issue 11, item 1): the natural-key lookup a pipeline starts from, the filters,
pagination, and every step action of the screens with their refusals: 409 with the current state for a stale
version or a refused transition, 403 for a role that may not act, 400 next to the field, 404 for what isn't there."""

import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.exceptions import NOT_FOUND
from history.models import Event
from history.selectors import events_for_customer_step
from releases.services import release_activate
from steps.models import CustomerStep
from steps.services.rules import SKIP_REASON_REQUIRED
from tests.api.conftest import ApiClient
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from tests.test_hostile_input import database_snapshot

STEPS_URL = "/api/steps/"


def _action(step, name: str) -> str:
    return f"/api/steps/{step.pk}/{name}/"


def test_a_token_made_by_the_command_marks_a_step_done_by_its_names(routes_world, client):
    """Done when: natural-key lookup plus POST, and the history shows the user via the API."""
    out = io.StringIO()
    call_command("api_token", "create", "rm", "--name", "jenkins", stdout=out, stderr=io.StringIO())
    pipeline = ApiClient(out.getvalue().strip())

    found = pipeline.get(STEPS_URL, {"release": "v2.5.0", "customer": "customer-a", "name": "Deploy app"})
    [step] = found.json()["results"]
    done = pipeline.post(_action(CustomerStep(pk=step["id"]), "done"), {"version": step["version"], "notes": "CI #42"})

    assert found.status_code == 200 and found.json()["count"] == 1
    assert (step["id"], step["status"], step["version"]) == (routes_world.pending.pk, "pending", 1)
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["version"], done.json()["notes"]) == ("done", 2, "CI #42")
    event = events_for_customer_step(routes_world.pending).last()
    assert (event.action, event.actor, event.via) == ("step.done", routes_world.user, "API token 'jenkins'")
    client.force_login(routes_world.user)
    panel = client.get(f"/steps/{step['id']}/").content.decode()
    assert "by rm via API token &#x27;jenkins&#x27;" in panel


def test_changes_made_on_the_screens_name_no_token(routes_world, client):
    client.force_login(routes_world.user)

    client.post(f"/steps/{routes_world.pending.pk}/done/")

    assert Event.objects.filter(action="step.done").latest("id").via == ""


def test_a_stale_version_is_409_with_the_current_state_and_changes_nothing(routes_world, roles):
    step = routes_world.pending
    roles.operator.post(_action(step, "notes"), {"notes": "first", "version": 1})
    before = database_snapshot()

    response = roles.release_manager.post(_action(step, "done"), {"version": 1})

    assert response.status_code == 409
    body = response.json()
    assert body["detail"].startswith("This step was changed by op at ")
    assert (body["current"]["id"], body["current"]["version"], body["current"]["notes"]) == (step.pk, 2, "first")
    assert database_snapshot() == before


def test_without_a_version_an_action_applies_to_the_current_state(routes_world, roles):
    step = routes_world.pending
    roles.operator.post(_action(step, "notes"), {"notes": "first"})

    response = roles.operator.post(_action(step, "done"))

    assert response.status_code == 200
    assert (response.json()["status"], response.json()["version"]) == ("done", 3)


def test_a_refused_transition_is_409_with_the_current_state(routes_world, api):
    before = database_snapshot()

    response = api.post(_action(routes_world.done, "skip"), {"reason": "not needed"})

    assert response.status_code == 409
    assert response.json()["detail"].startswith("Cannot skip step Run migration for customer-a: it is done")
    assert response.json()["current"]["status"] == "done"
    assert database_snapshot() == before


def test_a_viewer_token_reads_but_is_403_on_every_step_action(routes_world, roles):
    before = database_snapshot()

    read = roles.viewer.get(STEPS_URL)
    refused = {
        name: roles.viewer.post(_action(routes_world.pending, name), body).status_code
        for name, body in [
            ("done", {}),
            ("skip", {"reason": "x"}),
            ("notes", {"notes": "x"}),
            ("override", {"content": "echo x"}),
        ]
    }
    refused["revert"] = roles.viewer.post(_action(routes_world.done, "revert")).status_code
    refused["reopen"] = roles.viewer.post(_action(routes_world.skipped, "reopen")).status_code
    refused["reset"] = roles.viewer.post(_action(routes_world.overridden, "reset")).status_code
    refused["remove"] = roles.viewer.post(_action(routes_world.custom, "remove")).status_code

    assert read.status_code == 200 and read.json()["count"] > 0
    assert set(refused.values()) == {403}
    assert database_snapshot() == before


def test_a_403_says_what_the_role_may_not_do(routes_world, roles):
    response = roles.viewer.post(_action(routes_world.pending, "done"))

    assert response.json() == {
        "detail": "You (vi) may not carry out steps (mark done, skip, revert, notes): your role does not allow it.",
        "errors": {},
    }


def test_an_operator_carries_out_steps_but_may_not_override(routes_world, roles):
    assert roles.operator.post(_action(routes_world.pending, "skip"), {"reason": "vendor did it"}).status_code == 200
    assert roles.operator.post(_action(routes_world.done, "revert"), {"notes": "broke"}).status_code == 200
    assert roles.operator.post(_action(routes_world.overridden, "override"), {"content": "x"}).status_code == 403


def test_every_step_action_of_the_screens_works(routes_world, api):
    w = routes_world
    answers = {
        "skip": api.post(_action(w.pending, "skip"), {"reason": "vendor did it"}),
        "reopen": api.post(_action(w.skipped, "reopen")),
        "revert": api.post(_action(w.done, "revert"), {"notes": "broke"}),
        "reset": api.post(_action(w.overridden, "reset")),
        "edit": api.post(
            _action(w.custom, "edit"), {"name": "Warm caches", "type": "bash", "content": "echo warm all"}
        ),
    }
    answers["override"] = api.post(_action(w.overridden, "override"), {"content": "echo only b"})
    answers["remove"] = api.post(_action(w.custom, "remove"))

    assert {name: response.status_code for name, response in answers.items()} == dict.fromkeys(answers, 200)
    assert answers["skip"].json()["skip_reason"] == "vendor did it"
    assert answers["reopen"].json()["status"] == "pending"
    assert answers["revert"].json()["status"] == "reverted"
    assert answers["reset"].json()["is_overridden"] is False
    assert answers["edit"].json()["name"] == "Warm caches"
    assert answers["override"].json()["content"] == "echo only b"
    assert CustomerStep.all_objects.get(pk=w.custom.pk).is_deleted


def test_a_skip_without_a_reason_is_400_next_to_the_reason(routes_world, api):
    before = database_snapshot()

    response = api.post(_action(routes_world.pending, "skip"), {"reason": "   "})

    assert response.status_code == 400
    assert response.json() == {
        "detail": f"reason: {SKIP_REASON_REQUIRED}",
        "errors": {"reason": [SKIP_REASON_REQUIRED]},
    }
    assert database_snapshot() == before


@pytest.mark.parametrize("body", [{"version": "two"}, {"version": 0}, {"notes": ["a"]}, {"notes": {"a": 1}}, [1, 2]])
def test_bad_input_to_an_action_is_400_and_changes_nothing(routes_world, api, body):
    before = database_snapshot()

    response = api.post(_action(routes_world.pending, "done"), body)

    assert response.status_code == 400
    assert response.json()["errors"]
    assert database_snapshot() == before


def test_malformed_json_is_400(routes_world, api):
    response = api.post(_action(routes_world.pending, "done"), "{not json")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("JSON parse error")


def test_an_unknown_step_is_404(routes_world, api):
    assert api.post("/api/steps/999999/done/").status_code == 404
    assert api.get("/api/steps/999999/").json() == {"detail": "No CustomerStep matches the given query.", "errors": {}}


@pytest.mark.parametrize(
    ("params", "names"),
    [
        (
            {"customer": "customer-b"},
            {("customer-b", "Deploy app"), ("customer-b", "Run migration"), ("customer-b", "Health check")},
        ),
        ({"customer": "customer-a", "category": "verify"}, {("customer-a", "Health check")}),
        ({"status": "done"}, {("customer-a", "Run migration")}),
        ({"status": "skipped", "cluster": "prod-us"}, {("customer-a", "Health check")}),
        ({"namespace": "cust-b-prod", "name": "Deploy app"}, {("customer-b", "Deploy app")}),
        ({"release": "v2.5.0", "name": "Warm cache"}, {("customer-a", "Warm cache")}),
    ],
)
def test_steps_filter_by_names_and_values(routes_world, api, params, names):
    response = api.get(STEPS_URL, params)

    assert response.status_code == 200
    assert {(step["customer_name"], step["name"]) for step in response.json()["results"]} == names


def test_steps_filter_by_ids_too(routes_world, api):
    w = routes_world
    by_ids = api.get(
        STEPS_URL,
        {
            "release": w.release.pk,
            "customer": w.customers["a"].pk,
            "cluster": w.clusters["prod-us"].pk,
            "template": w.templates["migrate"].pk,
        },
    )

    assert [step["id"] for step in by_ids.json()["results"]] == [w.done.pk]


@pytest.mark.parametrize(
    ("params", "unknown"),
    [
        ({"release": "v9.9.9"}, "release v9.9.9"),
        ({"customer": "customer-z"}, "customer customer-z"),
        ({"cluster": "999999"}, "cluster 999999"),
    ],
)
def test_a_name_that_names_nothing_is_404(routes_world, api, params, unknown):
    response = api.get(STEPS_URL, {"release": "v2.5.0", **params} if "release" not in params else params)

    assert response.status_code == 404
    assert response.json()["detail"] == NOT_FOUND.format(what=unknown)


def test_a_known_name_without_matching_steps_is_an_empty_list(routes_world, api):
    response = api.get(STEPS_URL, {"release": "v2.5.0", "customer": "customer-c"})

    assert response.status_code == 200
    assert response.json()["count"] == 0


@pytest.mark.parametrize("params", [{"status": "exploded"}, {"category": "x"}, {"template": "abc"}])
def test_an_invalid_filter_value_is_400(routes_world, api, params):
    response = api.get(STEPS_URL, params)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == list(params)


def test_steps_come_in_pages(routes_world, api):
    first = api.get(STEPS_URL, {"page_size": 2}).json()
    second = api.get(STEPS_URL, {"page_size": 2, "page": 2}).json()
    capped = api.get(STEPS_URL, {"page_size": 100_000})

    total = CustomerStep.objects.count()
    assert first["count"] == total == 7
    assert len(first["results"]) == 2 and first["next"].endswith("page=2&page_size=2")
    assert {s["id"] for s in first["results"]}.isdisjoint({s["id"] for s in second["results"]})
    assert capped.status_code == 200 and len(capped.json()["results"]) == total
    assert api.get(STEPS_URL, {"page": 99}).status_code == 404


def test_adding_a_custom_step_by_names(routes_world, api):
    response = api.post(
        STEPS_URL,
        {
            "release": "v2.5.0",
            "customer": "customer-b",
            "name": "Flush CDN",
            "category": "deploy",
            "type": "bash",
            "content": "echo flush",
            "position": "after",
            "relative_to": routes_world.overridden.pk,
        },
    )

    assert response.status_code == 201
    step = CustomerStep.objects.get(pk=response.json()["id"])
    assert (step.customer, step.is_custom, step.anchor_id) == (
        routes_world.customers["b"],
        True,
        routes_world.templates["deploy_app"].pk,
    )
    assert Event.objects.get(customer_step=step).via == "API token 'jenkins'"


def test_a_custom_step_for_a_customer_outside_the_release_is_409(routes_world, api):
    before = database_snapshot()

    response = api.post(
        STEPS_URL,
        {
            "release": "v2.5.0",
            "customer": "customer-c",
            "name": "x",
            "category": "deploy",
            "type": "bash",
            "content": "x",
        },
    )

    assert response.status_code == 409
    assert response.json()["detail"] == "Customer customer-c is not in release v2.5.0."
    assert database_snapshot() == before


def _grow(count: int) -> None:
    """`count` more customers in an active release of three steps each."""
    cluster = ClusterFactory()
    for index in range(count):
        CustomerFactory(cluster=cluster, namespace=f"ns-{index}")
    release = ReleaseFactory()
    for index in range(3):
        StepTemplateFactory(release=release, category="deploy", order_index=index)
    release_activate(release=release, user=None)


@pytest.mark.parametrize(
    "url", ["/api/steps/", "/api/customers/", "/api/clusters/", "/api/releases/", "/api/template-steps/"]
)
def test_lists_read_in_the_same_number_of_queries_at_two_sizes(routes_world, api, django_assert_num_queries, url):
    api.get(url)  # the token's last use is noted once
    with CaptureQueriesContext(connection) as small:
        assert api.get(url, {"page_size": 500}).status_code == 200
    _grow(40)
    with django_assert_num_queries(len(small)):
        response = api.get(url, {"page_size": 500})
    assert response.json()["count"] > 0


def test_a_name_that_fits_several_releases_is_refused_rather_than_guessed(routes_world, api):
    ReleaseFactory(name="v2.5.0")  # an older release of the same name

    response = api.get("/api/steps/", {"release": "v2.5.0", "customer": "customer-a", "name": "Deploy app"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"release": ["Several releases are called v2.5.0: give its id instead."]}
    by_id = api.get("/api/steps/", {"release": routes_world.release.pk, "customer": "customer-a", "name": "Deploy app"})
    assert by_id.status_code == 200 and by_id.json()["count"] == 1
