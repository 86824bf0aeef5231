"""Fixtures shared by every test."""

import os
from types import SimpleNamespace

import pytest

# pytest-playwright runs an event loop in the main thread; Django's live server fixtures must still work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def user(db, django_user_model):
    """A release manager who makes changes."""
    return django_user_model.objects.create_user(username="rm", password="rollcall-test-pw")


@pytest.fixture
def world(db, user):
    """The spec's example world: prod-us (customer-a..c), prod-eu (customer-d, customer-e), staging (demo-customer),
    a draft release with two deploy steps and one verify step."""
    from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory

    prod_us = ClusterFactory(name="prod-us", metadata={"region": "us-east-1"})
    prod_eu = ClusterFactory(name="prod-eu", metadata={"region": "eu-west-1"})
    staging = ClusterFactory(name="staging", metadata={"region": "internal"})
    customers = {
        name: CustomerFactory(cluster=cluster, name=name, namespace=f"cust-{name[-1]}-prod")
        for name, cluster in [
            ("customer-a", prod_us),
            ("customer-b", prod_us),
            ("customer-c", prod_us),
            ("customer-d", prod_eu),
            ("customer-e", prod_eu),
        ]
    }
    customers["demo-customer"] = CustomerFactory(cluster=staging, name="demo-customer", namespace="demo")
    release = ReleaseFactory(name="v2.5.0", version_number="v2.5.0")
    templates = [
        StepTemplateFactory(release=release, name="Deploy app", category="deploy", type="bash", order_index=0),
        StepTemplateFactory(release=release, name="Run migration", category="deploy", type="sql", order_index=1),
        StepTemplateFactory(release=release, name="Health check", category="verify", type="bash", order_index=0),
    ]
    return SimpleNamespace(
        clusters={"prod-us": prod_us, "prod-eu": prod_eu, "staging": staging},
        customers=customers,
        release=release,
        templates=templates,
        user=user,
    )
