"""The management commands: seed_demo builds the spec's example world, archive_releases closes finished releases."""

from io import StringIO

import pytest
from django.contrib.auth import authenticate, get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from clusters.models import Cluster
from clusters.services import CLUSTER_NAME_TAKEN, cluster_create
from core.variables import render
from customers.models import Customer
from dashboard.management.commands.seed_demo import (
    ALREADY_PRESENT,
    DB_HOST,
    DEMO_RELEASE,
    DEMO_USER_TAKEN,
    HOTFIX_RELEASE,
)
from history.choices import EventAction
from history.models import SYSTEM_ACTOR, Event
from releases.choices import ReleaseStatus, ReleaseType
from releases.management.commands.archive_releases import NONE_READY
from releases.models import Enrollment, Release
from releases.services import release_activate
from steps.choices import StepCategory, StepStatus, StepType
from steps.models import STEP_ORDER, CustomerStep, StepTemplate
from steps.services import customer_step_mark_done, customer_step_revert, customer_step_skip
from tests.factories import ClusterFactory, CustomerFactory, ReleaseFactory, StepTemplateFactory
from variables.models import Variable
from variables.selectors import resolved_values

pytestmark = pytest.mark.django_db

EXPECTED_CUSTOMERS = {
    "customer-a": ("prod-us", "cust-a-prod"),
    "customer-b": ("prod-us", "cust-b-prod"),
    "customer-c": ("prod-us", "cust-c-prod"),
    "customer-d": ("prod-eu", "cust-d-prod"),
    "customer-e": ("prod-eu", "cust-e-prod"),
    "demo-customer": ("staging", "demo-customer"),
}


def run(command: str, *args) -> str:
    out = StringIO()
    call_command(command, *args, stdout=out)
    return out.getvalue()


def row_counts() -> dict[str, int]:
    """Rows in every table the commands write to, deleted rows included."""
    return {
        "clusters": Cluster.all_objects.count(),
        "customers": Customer.all_objects.count(),
        "releases": Release.objects.count(),
        "enrollments": Enrollment.objects.count(),
        "template steps": StepTemplate.all_objects.count(),
        "customer steps": CustomerStep.all_objects.count(),
        "events": Event.objects.count(),
        "variables": Variable.all_objects.count(),
        "users": get_user_model().objects.count(),
    }


# --- seed_demo ----------------------------------------------------------------------------------------------------


def test_seed_demo_creates_the_clusters_and_customers_of_the_spec():
    run("seed_demo")

    clusters = {cluster.name: cluster for cluster in Cluster.objects.all()}
    assert {name: (c.kubeconfig_path, c.region) for name, c in clusters.items()} == {
        "prod-us": ("~/.kube/prod-us-config", "us-east-1"),
        "prod-eu": ("~/.kube/prod-eu-config", "eu-west-1"),
        "staging": ("~/.kube/staging-config", "internal"),
    }
    customers = Customer.objects.select_related("cluster")
    assert {c.name: (c.cluster.name, c.namespace) for c in customers} == EXPECTED_CUSTOMERS


def test_seed_demo_creates_an_active_release_partly_carried_out():
    run("seed_demo")

    release = Release.objects.get(name=DEMO_RELEASE)
    assert (release.status, release.type, release.version_number) == (
        ReleaseStatus.ACTIVE,
        ReleaseType.RELEASE,
        "v2.5.0",
    )
    assert release.release_date is not None
    assert release.description
    kinds = set(StepTemplate.objects.filter(release=release).values_list("category", "type"))
    assert kinds == {(category, type) for category in StepCategory.values for type in StepType.values}

    steps = CustomerStep.objects.filter(release=release)
    assert set(steps.values_list("customer__name", flat=True)) == set(EXPECTED_CUSTOMERS)
    assert steps.filter(status=StepStatus.DONE).exists()
    skipped = steps.get(status=StepStatus.SKIPPED)
    assert skipped.skip_reason.strip()
    overridden = steps.get(is_overridden=True)
    assert (overridden.customer.name, overridden.template.name) == ("customer-b", "Run migration SQL")
    assert overridden.content != overridden.template.content
    custom = steps.get(is_custom=True)
    assert custom.customer.name == "customer-a"
    deploy_order = list(
        steps.filter(customer=custom.customer, category=StepCategory.DEPLOY)
        .order_by(*STEP_ORDER)
        .values_list("name", flat=True)
    )
    assert deploy_order.index(custom.name) == deploy_order.index("Run migration SQL") + 1


def test_seed_demo_defines_db_host_for_every_customer_but_one_so_its_migration_is_unresolved():
    run("seed_demo")

    release = Release.objects.get(name=DEMO_RELEASE)
    migration = StepTemplate.objects.get(release=release, name="Run migration SQL")
    assert "#{namespace}" in migration.content and "#{DB_HOST}" in migration.content
    with_db_host = set(Variable.objects.filter(key=DB_HOST).values_list("customer__name", flat=True))
    without_db_host = set(EXPECTED_CUSTOMERS) - with_db_host
    assert with_db_host < set(EXPECTED_CUSTOMERS) and len(without_db_host) == 1
    assert not Variable.objects.filter(is_sensitive=True).exists()

    for customer in Customer.objects.select_related("cluster"):
        step = CustomerStep.objects.get(release=release, customer=customer, name="Run migration SQL")
        rendered = render(step.content, resolved_values(customer, release))
        assert rendered.missing == ((DB_HOST,) if customer.name in without_db_host else ())
    (blocked,) = without_db_host
    assert CustomerStep.objects.get(release=release, customer__name=blocked, name="Run migration SQL").status == (
        StepStatus.PENDING
    )


def test_seed_demo_creates_a_draft_hotfix_and_the_demo_login():
    output = run("seed_demo")

    hotfix = Release.objects.get(name=HOTFIX_RELEASE)
    assert (hotfix.status, hotfix.type) == (ReleaseStatus.DRAFT, ReleaseType.HOTFIX)
    assert StepTemplate.objects.filter(release=hotfix).exists()
    assert not CustomerStep.objects.filter(release=hotfix).exists()
    demo = authenticate(username="demo", password="demo")
    assert demo is not None and demo.is_superuser
    assert set(Event.objects.values_list("actor_name", flat=True)) == {"demo"}
    assert "demo / demo" in output
    assert "local demos only" in output


def test_seed_demo_twice_changes_nothing():
    run("seed_demo")
    before = row_counts()

    output = run("seed_demo")

    assert output.strip() == ALREADY_PRESENT
    assert row_counts() == before


def test_seed_demo_refuses_a_database_with_a_cluster_of_the_same_name(user):
    cluster_create(user=user, name="prod-us")
    before = row_counts()

    with pytest.raises(CommandError, match=CLUSTER_NAME_TAKEN.format(name="prod-us")):
        run("seed_demo")

    assert row_counts() == before
    assert not get_user_model().objects.filter(username="demo").exists()


def test_seed_demo_refuses_an_existing_demo_user_without_the_demo_release(django_user_model):
    django_user_model.objects.create_user(username="demo", password="someone-elses-pw")
    before = row_counts()

    with pytest.raises(CommandError) as refused:
        run("seed_demo")

    assert str(refused.value) == DEMO_USER_TAKEN.format(username="demo", release=DEMO_RELEASE)
    assert row_counts() == before


# --- archive_releases -----------------------------------------------------------------------------------------


@pytest.fixture
def releases(user):
    """Three active releases for two customers: one finished (done + skipped), one with a pending step, one with
    a reverted step; and a draft."""
    cluster = ClusterFactory(name="prod-us")
    first, second = CustomerFactory(cluster=cluster), CustomerFactory(cluster=cluster)
    active = {}
    for name in ("finished", "pending", "reverted"):
        release = ReleaseFactory(name=name)
        StepTemplateFactory(release=release, category=StepCategory.DEPLOY, order_index=0)
        active[name] = release_activate(release=release, user=user)

    def step(release_name, customer):
        return CustomerStep.objects.get(release=active[release_name], customer=customer)

    customer_step_mark_done(step=step("finished", first), user=user)
    customer_step_skip(step=step("finished", second), user=user, reason="Not deployed on this tenant.")
    customer_step_mark_done(step=step("pending", first), user=user)
    for customer in (first, second):
        customer_step_mark_done(step=step("reverted", customer), user=user)
    customer_step_revert(step=step("reverted", second), user=user)
    return {**active, "draft": ReleaseFactory(name="draft")}


def statuses(releases) -> dict[str, str]:
    return {name: Release.objects.get(pk=release.pk).status for name, release in releases.items()}


def test_fr_005_archive_releases_archives_only_finished_releases(releases):
    events_before = Event.objects.count()

    output = run("archive_releases")

    assert statuses(releases) == {
        "finished": ReleaseStatus.ARCHIVED,
        "pending": ReleaseStatus.ACTIVE,
        "reverted": ReleaseStatus.ACTIVE,
        "draft": ReleaseStatus.DRAFT,
    }
    assert Event.objects.count() == events_before + 1
    event = Event.objects.get(action=EventAction.RELEASE_ARCHIVED)
    assert (event.release, event.actor, event.actor_name) == (releases["finished"], None, SYSTEM_ACTOR)
    assert output.splitlines() == ["Archived finished", "Archived 1 release(s)."]


def test_fr_005_archive_releases_dry_run_lists_and_changes_nothing(releases):
    events_before = Event.objects.count()
    statuses_before = statuses(releases)

    output = run("archive_releases", "--dry-run")

    assert statuses(releases) == statuses_before
    assert Event.objects.count() == events_before
    lines = output.splitlines()
    assert lines[0] == "Would archive finished"
    assert len(lines) == 2
    assert "nothing changed" in lines[1]


def test_fr_005_archive_releases_without_a_finished_release_says_so(releases):
    run("archive_releases")
    events_before = Event.objects.count()

    output = run("archive_releases")

    assert output.strip() == NONE_READY
    assert Event.objects.count() == events_before
