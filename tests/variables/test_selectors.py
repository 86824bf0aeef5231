"""Variable selectors: an owner's list, the values a customer resolves in a release (customer over cluster over
release defaults over built-ins), the names defined for many customers at once, in constant queries."""

import pytest

from core import crypto
from core.errors import DomainError
from releases.choices import ReleaseType
from tests.factories import CustomerFactory, ReleaseFactory
from variables.models import MASK
from variables.selectors import (
    BUILT_IN_NAMES,
    built_in_values,
    defined_names,
    displayed_values,
    resolved_values,
    variables_of,
)
from variables.services import variable_create, variable_delete

pytestmark = pytest.mark.django_db


def test_variables_of_lists_an_owners_live_variables_by_name(world):
    customer = world.customers["customer-a"]
    for key in ("ZONE", "DB_HOST", "REGION"):
        variable_create(owner=customer, key=key, value="x", user=world.user)
    gone = variable_create(owner=customer, key="AAA", value="x", user=world.user)
    variable_delete(variable=gone, user=world.user)
    variable_create(owner=customer.cluster, key="CLUSTER_ONLY", value="x", user=world.user)

    assert [variable.key for variable in variables_of(customer)] == ["DB_HOST", "REGION", "ZONE"]
    assert [variable.key for variable in variables_of(customer.cluster)] == ["CLUSTER_ONLY"]
    assert variables_of(world.release) == []


def test_built_ins_name_the_customer_its_namespace_cluster_release_and_version(world):
    customer = world.customers["customer-a"]
    assert resolved_values(customer, world.release) == {
        "customer": "customer-a",
        "namespace": "cust-a-prod",
        "cluster": "prod-us",
        "release": "v2.5.0",
        "version": "v2.5.0",
    }
    assert set(BUILT_IN_NAMES) == set(built_in_values(customer, world.release))


def test_version_is_empty_for_a_hotfix_without_one(world):
    hotfix = ReleaseFactory(name="Hotfix login", type=ReleaseType.HOTFIX, version_number="")
    assert resolved_values(world.customers["customer-a"], hotfix)["version"] == ""


def test_customer_beats_cluster_beats_release_beats_built_ins(world):
    customer = world.customers["customer-a"]
    neighbour = world.customers["customer-b"]
    elsewhere = world.customers["customer-d"]
    user = world.user
    for key in ("DB_HOST", "REGION", "TIER", "namespace"):
        variable_create(owner=world.release, key=key, value=f"release-{key}", user=user)
    for key in ("DB_HOST", "REGION"):
        variable_create(owner=customer.cluster, key=key, value=f"cluster-{key}", user=user)
    variable_create(owner=customer, key="DB_HOST", value="customer-DB_HOST", user=user)

    values = resolved_values(customer, world.release)
    assert {key: values[key] for key in ("DB_HOST", "REGION", "TIER", "namespace", "customer")} == {
        "DB_HOST": "customer-DB_HOST",
        "REGION": "cluster-REGION",
        "TIER": "release-TIER",
        "namespace": "release-namespace",
        "customer": "customer-a",
    }
    assert resolved_values(neighbour, world.release)["DB_HOST"] == "cluster-DB_HOST"
    assert resolved_values(elsewhere, world.release)["DB_HOST"] == "release-DB_HOST"


def test_another_releases_defaults_and_deleted_variables_do_not_resolve(world):
    customer = world.customers["customer-a"]
    variable_create(owner=ReleaseFactory(), key="OTHER", value="x", user=world.user)
    gone = variable_create(owner=customer, key="GONE", value="x", user=world.user)
    variable_delete(variable=gone, user=world.user)
    assert set(resolved_values(customer, world.release)) == set(BUILT_IN_NAMES)


def test_sensitive_values_resolve_in_clear_and_display_masked(world, encryption_key):
    customer = world.customers["customer-a"]
    variable_create(owner=world.release, key="DB_PASSWORD", value="default-pw", user=world.user)
    variable_create(owner=customer, key="DB_PASSWORD", value="s3cret", is_sensitive=True, user=world.user)
    variable_create(owner=customer, key="DB_HOST", value="db", user=world.user)

    assert resolved_values(customer, world.release)["DB_PASSWORD"] == "s3cret"
    shown = displayed_values(customer, world.release)
    assert (shown["DB_PASSWORD"], shown["DB_HOST"]) == (MASK, "db")


def test_a_sensitive_value_that_cant_be_decrypted_is_refused_with_how_to(world, encryption_key, monkeypatch):
    customer = world.customers["customer-a"]
    variable_create(owner=customer, key="DB_PASSWORD", value="s3cret", is_sensitive=True, user=world.user)

    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    with pytest.raises(DomainError) as refusal:
        resolved_values(customer, world.release)
    assert refusal.value.message == crypto.UNDECRYPTABLE_MESSAGE

    monkeypatch.delenv(crypto.KEY_ENVIRONMENT_VARIABLE)
    with pytest.raises(DomainError) as refusal:
        resolved_values(customer, world.release)
    assert refusal.value.message == crypto.NOT_CONFIGURED_MESSAGE
    assert displayed_values(customer, world.release)["DB_PASSWORD"] == MASK


def test_resolving_costs_one_query_however_many_variables(world, django_assert_num_queries):
    customer = world.customers["customer-a"]
    for index in range(5):
        variable_create(owner=customer, key=f"C{index}", value="x", user=world.user)
        variable_create(owner=customer.cluster, key=f"K{index}", value="x", user=world.user)
        variable_create(owner=world.release, key=f"R{index}", value="x", user=world.user)
    customer.cluster  # noqa: B018 (loaded, as a page's select_related would)
    with django_assert_num_queries(1):
        assert len(resolved_values(customer, world.release)) == len(BUILT_IN_NAMES) + 15


def test_defined_names_per_customer(world):
    a, b, d = world.customers["customer-a"], world.customers["customer-b"], world.customers["customer-d"]
    variable_create(owner=world.release, key="TIER", value="x", user=world.user)
    variable_create(owner=a.cluster, key="REGION", value="x", user=world.user)
    variable_create(owner=a, key="DB_HOST", value="x", user=world.user)
    variable_create(owner=ReleaseFactory(), key="OTHER", value="x", user=world.user)

    names = defined_names(release=world.release, customers=[a, b, d])

    assert names == {
        a.pk: frozenset({*BUILT_IN_NAMES, "TIER", "REGION", "DB_HOST"}),
        b.pk: frozenset({*BUILT_IN_NAMES, "TIER", "REGION"}),
        d.pk: frozenset({*BUILT_IN_NAMES, "TIER"}),
    }


def test_defined_names_cost_one_query_however_many_customers(world, django_assert_num_queries):
    customers = [CustomerFactory(cluster=world.clusters["prod-us"]) for _ in range(30)]
    for customer in customers[:10]:
        variable_create(owner=customer, key="DB_HOST", value="x", user=world.user)
    with django_assert_num_queries(1):
        names = defined_names(release=world.release, customers=customers)
    assert sum("DB_HOST" in defined for defined in names.values()) == 10
