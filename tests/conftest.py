"""Fixtures shared by every test."""

import os
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db.models import Q
from django.db.models.signals import post_migrate

from accounts.backends import permissions_changed
from accounts.permissions import OPERATOR, RELEASE_MANAGER, ROLE_PERMISSIONS, VIEWER
from webhooks import services as webhook_services

# pytest-playwright runs an event loop in the main thread; Django's live server fixtures must still work.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def create_role_groups(sender, using, **kwargs) -> None:
    """Make sure the role groups of accounts/migrations/0001_roles exist with their permissions (post_migrate)."""
    from django.contrib.auth.models import Group, Permission

    for role, perms in ROLE_PERMISSIONS.items():
        wanted = Q()
        for perm in perms:
            app_label, codename = perm.split(".")
            wanted |= Q(content_type__app_label=app_label, codename=codename)
        found = list(Permission.objects.using(using).filter(wanted))
        assert len(found) == len(perms), f"{role}: missing permissions"
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set(found)


@pytest.fixture(scope="session", autouse=True)
def role_groups_outlive_transactional_tests():
    """A transactional test (live server, races) ends by emptying every table; Django then re-creates content types
    and permissions in post_migrate, but not the role groups the data migration wrote. They are re-created there
    too, so every test after it finds the database as the migrations left it, in whatever order the tests run.

    post_migrate goes out app by app and each app's permissions are created on its own signal: the roles, which
    need them all, come back on the signal of the last app with models.
    """
    from django.apps import apps

    last_app = [app for app in apps.get_app_configs() if app.models_module is not None][-1]
    post_migrate.connect(create_role_groups, sender=last_app, dispatch_uid="tests.create_role_groups")
    yield
    post_migrate.disconnect(sender=last_app, dispatch_uid="tests.create_role_groups")


@pytest.fixture
def user_with_role(db, django_user_model):
    """Make a user in a role's group: `user_with_role("ana", RELEASE_MANAGER, password="…")`."""
    from django.contrib.auth.models import Group

    def make(username: str, role: str, password: str = "rollcall-test-pw"):
        user = django_user_model.objects.create_user(username=username, password=password)
        user.groups.add(Group.objects.get(name=role))
        return user

    return make


@pytest.fixture
def user(user_with_role):
    """A release manager who makes changes."""
    return user_with_role("rm", RELEASE_MANAGER)


@pytest.fixture
def operator(user_with_role):
    """An operator: carries out steps, changes nothing else."""
    return user_with_role("op", OPERATOR)


@pytest.fixture
def viewer(user_with_role):
    """A viewer: reads everything, changes nothing."""
    return user_with_role("vi", VIEWER)


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


@pytest.fixture(autouse=True)
def no_webhook_subscription_outlives_its_test():
    """A test's subscriptions roll back with it, and so must the cached event types that some subscription hears
    (webhooks.services.heard_events, keyed by database): every test starts as the empty database is, nobody
    listening, known without a query (as in a running site, where the cache holds it)."""
    cache.set(webhook_services.heard_events_key(), frozenset())
    yield
    cache.set(webhook_services.heard_events_key(), frozenset())


@pytest.fixture(autouse=True)
def no_cached_permissions_outlive_their_test():
    """Users and roles roll back with each test, and ids come round again: permission sets cached by an earlier test
    (accounts.backends) must not answer for this one's users."""
    permissions_changed()
    yield
    permissions_changed()
