"""Writes through the API go through the same services as the screens (issue 11, item 1): clusters, customers and
releases created and changed; template steps added, changed, reordered and deleted; releases activated, joined,
cloned and archived. Same rules, same history (marked with the token), same refusals, as JSON."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from clusters.models import Cluster
from customers.models import Customer
from history.models import Event
from releases.models import Enrollment, Release
from releases.services import release_add_customers
from steps.models import CustomerStep, StepTemplate
from tests.factories import CustomerFactory
from tests.test_hostile_input import database_snapshot

VIA = "API token 'jenkins'"


def test_creating_and_changing_a_cluster(routes_world, api):
    created = api.post("/api/clusters/", {"name": "prod-ap", "metadata": {"region": "ap-south-1"}})
    cluster = Cluster.objects.get(name="prod-ap")
    changed = api.patch(f"/api/clusters/{cluster.pk}/", {"description": "Asia"})

    assert created.status_code == 201
    assert (created.json()["region"], created.json()["is_active"]) == ("ap-south-1", True)
    assert changed.status_code == 200 and changed.json()["description"] == "Asia"
    assert list(Event.objects.filter(cluster=cluster).values_list("action", "via").order_by("id")) == [
        ("cluster.created", VIA),
        ("cluster.updated", VIA),
    ]


def test_a_taken_cluster_name_is_400_next_to_the_name(routes_world, api):
    before = database_snapshot()

    response = api.post("/api/clusters/", {"name": "PROD-US"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["name"]
    assert database_snapshot() == before


@pytest.mark.parametrize(
    "body", [{}, {"name": ""}, {"name": "x", "metadata": [1]}, {"name": "x", "is_active": "maybe"}]
)
def test_a_bad_cluster_is_400_and_changes_nothing(routes_world, api, body):
    before = database_snapshot()

    response = api.post("/api/clusters/", body)

    assert response.status_code == 400
    assert response.json()["errors"]
    assert database_snapshot() == before


def test_creating_a_customer_by_its_clusters_name_joins_releases_for_everyone(routes_world, api):
    Release.objects.filter(pk=routes_world.release.pk).update(covers_all_customers=True)

    response = api.post("/api/customers/", {"name": "customer-x", "cluster": "prod-us", "namespace": "cust-x"})

    customer = Customer.objects.get(name="customer-x")
    assert response.status_code == 201 and response.json()["cluster"] == routes_world.clusters["prod-us"].pk
    assert CustomerStep.objects.filter(customer=customer, release=routes_world.release).count() == 3


def test_moving_a_customer_to_another_cluster(routes_world, api):
    customer = routes_world.customers["c"]

    response = api.patch(f"/api/customers/{customer.pk}/", {"cluster": "spare"})

    assert response.status_code == 200 and response.json()["cluster_name"] == "spare"
    assert Event.objects.filter(customer=customer, action="customer.moved", via=VIA).exists()


def test_a_taken_namespace_is_400(routes_world, api):
    response = api.post("/api/customers/", {"name": "x", "cluster": "prod-us", "namespace": "cust-a-prod"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["namespace"]


def test_an_unknown_cluster_name_is_400_next_to_the_cluster(routes_world, api):
    response = api.post("/api/customers/", {"name": "x", "cluster": "nowhere", "namespace": "x"})

    assert response.status_code == 400
    assert response.json()["errors"] == {"cluster": ["Unknown cluster: nowhere."]}


def test_a_release_from_creation_to_archive(routes_world, api):
    created = api.post("/api/releases/", {"name": "v3.0.0", "version_number": "v3.0.0", "release_date": "2026-12-01"})
    release_id = created.json()["id"]
    step = api.post(
        "/api/template-steps/",
        {"release": "v3.0.0", "name": "Deploy", "category": "deploy", "type": "bash", "content": "echo deploy"},
    )
    first = api.post(
        "/api/template-steps/",
        {
            "release": release_id,
            "name": "Backup",
            "category": "deploy",
            "type": "sql",
            "content": "select 1",
            "position": 1,
        },
    )
    edited = api.patch(f"/api/template-steps/{step.json()['id']}/", {"description": "the app"})
    activated = api.post(f"/api/releases/{release_id}/activate/", {"exclude_customers": ["customer-c"]})
    added = api.post(f"/api/releases/{release_id}/add-customers/", {"customers": ["customer-c"]})
    archived = api.post(f"/api/releases/{release_id}/archive/")

    assert created.status_code == 201 and created.json()["status"] == "draft"
    assert (step.status_code, first.status_code, first.json()["order"], step.json()["order"]) == (201, 201, 1, 1)
    assert edited.json()["description"] == "the app"
    assert activated.status_code == 200 and activated.json()["status"] == "active"
    assert activated.json()["progress_detail"]["overall"]["percent"] == 0.0
    assert added.json() == {"added": ["customer-c"]}
    assert archived.json()["status"] == "archived"
    release = Release.objects.get(pk=release_id)
    assert Enrollment.objects.filter(release=release).count() == 3
    assert set(Event.objects.filter(release=release, via=VIA).values_list("action", flat=True)) >= {
        "release.created",
        "template_step.added",
        "template_step.updated",
        "release.activated",
        "release.customers_added",
        "release.archived",
        "step.created",
    }


def test_a_release_of_type_release_needs_a_version_number(routes_world, api):
    response = api.post("/api/releases/", {"name": "v3", "release_date": "2026-12-01"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["version_number"]


def test_activating_an_active_release_is_409(routes_world, api):
    before = database_snapshot()

    response = api.post(f"/api/releases/{routes_world.release.pk}/activate/")

    assert response.status_code == 409
    assert response.json()["detail"] == "Release v2.5.0 is active; it cannot be activated."
    assert database_snapshot() == before


def test_cloning_and_changing_a_release(routes_world, api):
    cloned = api.post(f"/api/releases/{routes_world.release.pk}/clone/", {"name": "v2.6.1", "version_number": "v2.6.1"})
    changed = api.patch(f"/api/releases/{cloned.json()['id']}/", {"description": "next"})

    assert cloned.status_code == 201
    assert (cloned.json()["name"], cloned.json()["status"], cloned.json()["cloned_from"]) == (
        "v2.6.1",
        "draft",
        routes_world.release.pk,
    )
    assert StepTemplate.objects.filter(release_id=cloned.json()["id"]).count() == 3
    assert changed.json()["description"] == "next"


def test_reordering_and_deleting_template_steps(routes_world, api):
    w = routes_world
    order = [w.templates["migrate"].pk, w.templates["deploy_app"].pk]

    reordered = api.post(
        f"/api/releases/{w.release.pk}/reorder-template-steps/", {"category": "deploy", "order": order}
    )
    mismatch = api.post(f"/api/releases/{w.release.pk}/reorder-template-steps/", {"category": "deploy", "order": [1]})
    deleted = api.delete(f"/api/template-steps/{w.templates['health'].pk}/")

    assert [step["id"] for step in reordered.json()] == order
    assert mismatch.status_code == 409
    assert deleted.status_code == 204
    assert not StepTemplate.objects.filter(pk=w.templates["health"].pk).exists()


def test_a_release_reads_with_its_progress_per_category_cluster_and_customer(routes_world, api):
    body = api.get(f"/api/releases/{routes_world.release.pk}/").json()

    detail = body["progress_detail"]
    assert body["progress"] == {"percent": detail["overall"]["percent"], "complete": False}
    [cluster] = detail["clusters"]
    assert cluster["name"] == "prod-us"
    a, b = detail["customers"]
    assert (a["name"], b["name"]) == ("customer-a", "customer-b")
    assert a["categories"]["deploy"] == {"total": 3, "done": 1, "skipped": 0, "percent": 100 / 3, "complete": False}
    assert a["categories"]["verify"] == {"total": 1, "done": 0, "skipped": 1, "percent": 0.0, "complete": True}


def test_a_viewer_token_never_writes(routes_world, roles):
    w = routes_world
    before = database_snapshot()

    statuses = [
        roles.viewer.post("/api/clusters/", {"name": "x"}).status_code,
        roles.viewer.patch(f"/api/clusters/{w.clusters['spare'].pk}/", {"description": "x"}).status_code,
        roles.viewer.post("/api/customers/", {"name": "x", "cluster": "spare", "namespace": "x"}).status_code,
        roles.viewer.post("/api/releases/", {"name": "x", "type": "hotfix"}).status_code,
        roles.viewer.post(f"/api/releases/{w.draft.pk}/activate/").status_code,
        roles.viewer.post(f"/api/releases/{w.release.pk}/clone/").status_code,
        roles.viewer.post(f"/api/releases/{w.release.pk}/archive/").status_code,
        roles.viewer.delete(f"/api/template-steps/{w.templates['health'].pk}/").status_code,
        roles.viewer.post(
            "/api/template-steps/",
            {"release": w.draft.pk, "name": "x", "category": "deploy", "type": "bash", "content": "x"},
        ).status_code,
    ]

    assert set(statuses) == {403}
    assert database_snapshot() == before


def test_an_unknown_id_is_404_and_a_put_is_405(routes_world, api):
    assert api.patch("/api/clusters/999999/", {"name": "x"}).status_code == 404
    assert api.post("/api/releases/999999/archive/").status_code == 404
    response = api.client.put(
        f"/api/clusters/{routes_world.clusters['spare'].pk}/",
        "{}",
        content_type="application/json",
        headers=api.headers,
    )
    assert response.status_code == 405


def test_changing_one_field_of_a_hotfix_keeps_its_type(routes_world, api):
    hotfix = api.post("/api/releases/", {"name": "hotfix-7", "type": "hotfix"}).json()

    changed = api.patch(f"/api/releases/{hotfix['id']}/", {"description": "urgent"})

    assert (changed.json()["type"], changed.json()["description"]) == ("hotfix", "urgent")


def test_a_bad_namespace_is_400_next_to_it(routes_world, api):
    response = api.post("/api/customers/", {"name": "x", "cluster": "spare", "namespace": "Not_A_Namespace!"})

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["namespace"]


def test_a_release_reads_in_the_same_number_of_queries_at_two_sizes(routes_world, api, django_assert_num_queries):
    url = f"/api/releases/{routes_world.release.pk}/"
    api.get(url)
    with CaptureQueriesContext(connection) as small:
        api.get(url)
    newcomers = [CustomerFactory(cluster=routes_world.clusters["spare"], namespace=f"ns-{i}") for i in range(30)]
    release_add_customers(release=routes_world.release, customers=newcomers, user=routes_world.user)

    with django_assert_num_queries(len(small)):
        body = api.get(url).json()
    assert len(body["progress_detail"]["customers"]) == 32
