"""The variable row: the database holds its invariants (one scope, one name per scope, sensitive values only
encrypted), and a page can only ever get a masked sensitive value from it."""

import pytest
from django.db import IntegrityError, transaction

from variables.models import MASK, Variable, scope_of

pytestmark = pytest.mark.django_db


def test_a_variable_belongs_to_exactly_one_scope(world):
    customer, release = world.customers["customer-a"], world.release
    for scopes in ({}, {"customer": customer, "release": release}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Variable.objects.create(key="DB_HOST", value="db", **scopes)


def test_a_name_is_unique_per_scope_among_live_variables(world):
    customer = world.customers["customer-a"]
    Variable.objects.create(customer=customer, key="DB_HOST", value="db-1", deleted_at="2026-01-01T00:00Z")
    Variable.objects.create(customer=customer, key="DB_HOST", value="db-2")
    Variable.objects.create(customer=world.customers["customer-b"], key="DB_HOST", value="db-3")
    Variable.objects.create(cluster=customer.cluster, key="DB_HOST", value="db-4")
    with pytest.raises(IntegrityError), transaction.atomic():
        Variable.objects.create(customer=customer, key="DB_HOST", value="db-5")


def test_a_sensitive_row_never_holds_a_plain_value(world):
    customer = world.customers["customer-a"]
    with pytest.raises(IntegrityError), transaction.atomic():
        Variable.objects.create(customer=customer, key="DB_PASSWORD", value="hunter2", is_sensitive=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variable.objects.create(customer=customer, key="DB_HOST", value="db", encrypted_value="token")


def test_display_value_masks_a_sensitive_value(world):
    customer = world.customers["customer-a"]
    plain = Variable(customer=customer, key="DB_HOST", value="db")
    secret = Variable(customer=customer, key="DB_PASSWORD", encrypted_value="gAAAA-token", is_sensitive=True)
    assert (plain.display_value, secret.display_value) == ("db", MASK)


def test_owner_and_scope(world):
    customer, cluster, release = world.customers["customer-a"], world.clusters["prod-us"], world.release
    for owner, scope in ((customer, "customer"), (cluster, "cluster"), (release, "release")):
        assert scope_of(owner) == scope
        assert Variable(**{scope: owner}, key="x").owner == owner
    with pytest.raises(TypeError):
        scope_of(world.templates[0])
