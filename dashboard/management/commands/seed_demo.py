"""`manage.py seed_demo`: fill an empty database with the spec's example world, through the services."""

from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from accounts.permissions import OPERATOR, RELEASE_MANAGER, VIEWER
from clusters.services import cluster_create
from core.errors import DomainError
from customers.models import Customer
from customers.services import customer_create
from releases.choices import ReleaseType
from releases.models import Release
from releases.services import release_activate, release_create
from steps.choices import Position, StepCategory, StepStatus, StepType
from steps.models import CustomerStep, StepTemplate
from steps.services import (
    customer_step_add_custom,
    customer_step_mark_done,
    customer_step_override,
    customer_step_skip,
    template_step_add,
)
from variables.services import variable_set

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_RELEASE = "v2.5.0"
# One demo user per role, with the demo password: (username, role).
DEMO_ROLE_USERS = [("viewer", VIEWER), ("operator", OPERATOR), ("manager", RELEASE_MANAGER)]
HOTFIX_RELEASE = "Hotfix 2.5.1"

ALREADY_PRESENT = "Demo data already present; nothing changed."
DEMO_USER_TAKEN = "A user named {username} exists but release {release} does not; seed_demo fills an empty database."
SEED_REFUSED = "Cannot seed the demo data: {error} seed_demo only fills an empty database."
LOGIN_WARNING = "Log in as {username} / {password}: a superuser for local demos only, never on a shared server."
ROLE_USERS_NOTE = "Or as {users} (password {password}): one user per role."

# The database host of each customer, a customer variable its migration step uses as #{DB_HOST}.
DB_HOST = "DB_HOST"
# The kubectl context of each cluster, a cluster variable (steps.rendering's context guard reads the same name).
KUBE_CONTEXT = "kube_context"
# The release's default image tag.
IMAGE_TAG = "IMAGE_TAG"
# Where a SQL step runs when steps run from Rollcall (runs/): the release's database workload and user, and each
# customer's database, named as its namespace (the migration's guard checks it).
RUN_DEFAULTS = {"DB_TARGET": "deploy/postgres", "DB_USER": "migrator"}
DB_NAME = "DB_NAME"

# (name, kubeconfig path, region, description, [(customer, namespace, DB_HOST)]). customer-e has no DB_HOST yet (its
# database is still being moved), so its migration step can't be rendered: the demo's blocked step.
CLUSTERS = [
    (
        "prod-us",
        "~/.kube/prod-us-config",
        "us-east-1",
        "Production, United States",
        [
            ("customer-a", "cust-a-prod", "db-1.prod-us.internal"),
            ("customer-b", "cust-b-prod", "db-2.prod-us.internal"),
            ("customer-c", "cust-c-prod", "db-3.prod-us.internal"),
        ],
    ),
    (
        "prod-eu",
        "~/.kube/prod-eu-config",
        "eu-west-1",
        "Production, Europe",
        [("customer-d", "cust-d-prod", "db-1.prod-eu.internal"), ("customer-e", "cust-e-prod", None)],
    ),
    (
        "staging",
        "~/.kube/staging-config",
        "internal",
        "Internal staging",
        [("demo-customer", "demo-customer", "db.staging.internal")],
    ),
]

# The first lines of every migration: how to run it, and a guard that stops it on any other customer's database.
MIGRATION_PREAMBLE = (
    "-- psql -h #{DB_HOST} -d #{namespace} -v ON_ERROR_STOP=1 -f run-migration.sql\n"
    "DO $$ BEGIN\n"
    "  IF current_database() <> '#{namespace}' THEN\n"
    "    RAISE EXCEPTION 'connected to %, not #{namespace}', current_database();\n"
    "  END IF;\n"
    "END $$;\n"
)

# (category, type, name, content) in execution order within each category.
RELEASE_STEPS = [
    (
        StepCategory.DEPLOY,
        StepType.TEXT,
        "Deploy via Jenkins",
        "Open Jenkins job 'rollcall-app-deploy', choose namespace #{namespace}, set IMAGE_TAG=#{IMAGE_TAG} and run "
        "it.\n"
        "Wait for the build to turn green before the next step.",
    ),
    (
        StepCategory.DEPLOY,
        StepType.SQL,
        "Run migration SQL",
        MIGRATION_PREAMBLE + "ALTER TABLE users ADD COLUMN last_login_ip VARCHAR(45);\n"
        "CREATE INDEX users_last_login_ip_idx ON users (last_login_ip);",
    ),
    (
        StepCategory.DEPLOY,
        StepType.BASH,
        "Update ConfigMap",
        "kubectl --context #{kube_context} -n #{namespace} apply -f configmaps/app-config-#{version}.yaml\n"
        "kubectl --context #{kube_context} -n #{namespace} rollout restart deployment/app\n"
        "kubectl --context #{kube_context} -n #{namespace} rollout status deployment/app --timeout=300s",
    ),
    (
        StepCategory.VERIFY,
        StepType.BASH,
        "Health check API",
        "curl -fsS https://#{namespace}.apps.example.com/api/health | jq -e '.status == \"ok\"'",
    ),
    (
        StepCategory.VERIFY,
        StepType.SQL,
        "Verify row counts",
        "SELECT count(*) AS users_total, count(last_login_ip) AS users_with_ip FROM users;\n"
        "-- users_total must match the count taken before the release.",
    ),
    (
        StepCategory.VERIFY,
        StepType.TEXT,
        "Smoke test login",
        "Log in with the smoke-test account, open the dashboard and check that the version in the footer is "
        "#{version}.",
    ),
]

HOTFIX_STEPS = [
    (
        StepCategory.DEPLOY,
        StepType.BASH,
        "Raise session timeout",
        "kubectl --context #{kube_context} -n #{namespace} set env deployment/app SESSION_TIMEOUT_SECONDS=3600",
    ),
    (
        StepCategory.VERIFY,
        StepType.TEXT,
        "Check session survives 30 minutes",
        "Log in, stay idle for 30 minutes, reload: the session must still be open.",
    ),
]


def _add_template_steps(release: Release, steps, user) -> dict[str, StepTemplate]:
    return {
        name: template_step_add(release=release, user=user, name=name, category=category, type=type, content=content)
        for category, type, name, content in steps
    }


class Command(BaseCommand):
    help = (
        "Fill an empty database with the spec's example world: 3 clusters, 6 customers, the active release v2.5.0 "
        "partly carried out and a draft hotfix, all made through the services. Creates the superuser "
        f"'{DEMO_USERNAME}' and one user per role ({', '.join(name for name, _ in DEMO_ROLE_USERS)}), all with "
        f"password '{DEMO_PASSWORD}': for local demos only. Running it again changes nothing."
    )

    def handle(self, *args, **options):
        user_model = get_user_model()
        with transaction.atomic():
            user_exists = user_model.objects.filter(username=DEMO_USERNAME).exists()
            if user_exists and Release.objects.filter(name=DEMO_RELEASE).exists():
                self.stdout.write(ALREADY_PRESENT)
                return
            usernames = [DEMO_USERNAME, *(name for name, _ in DEMO_ROLE_USERS)]
            taken = user_model.objects.filter(username__in=usernames).order_by("username").first()
            if taken is not None:
                raise CommandError(DEMO_USER_TAKEN.format(username=taken.username, release=DEMO_RELEASE))
            # The only place that creates these accounts; the password is a demo's, set without the validators.
            user = user_model.objects.create_superuser(username=DEMO_USERNAME, email="", password=DEMO_PASSWORD)
            for username, role in DEMO_ROLE_USERS:
                member = user_model.objects.create_user(username=username, password=DEMO_PASSWORD)
                member.groups.add(Group.objects.get(name=role))
            try:
                customers = self._create_clusters_and_customers(user)
                release = self._create_release(user)
                self._carry_out_some_steps(release, customers, user)
                hotfix = self._create_hotfix(user)
            except DomainError as error:
                raise CommandError(SEED_REFUSED.format(error=error)) from error
        self._report(customers, release, hotfix)

    def _create_clusters_and_customers(self, user) -> dict[str, Customer]:
        customers = {}
        for name, kubeconfig_path, region, description, members in CLUSTERS:
            cluster = cluster_create(
                user=user,
                name=name,
                kubeconfig_path=kubeconfig_path,
                description=description,
                metadata={"region": region},
            )
            variable_set(owner=cluster, key=KUBE_CONTEXT, value=f"deployer@{name}", user=user)
            for customer_name, namespace, db_host in members:
                customer = customer_create(user=user, cluster=cluster, name=customer_name, namespace=namespace)
                if db_host is not None:
                    variable_set(owner=customer, key=DB_HOST, value=db_host, user=user)
                    variable_set(owner=customer, key=DB_NAME, value=namespace, user=user)
                customers[customer_name] = customer
        return customers

    def _create_release(self, user) -> Release:
        release = release_create(
            user=user,
            name=DEMO_RELEASE,
            type=ReleaseType.RELEASE,
            version_number=DEMO_RELEASE,
            release_date=timezone.localdate(),
            description="Records the last login IP of every user and ships the new app configuration.",
        )
        variable_set(owner=release, key=IMAGE_TAG, value=DEMO_RELEASE, user=user)
        for key, value in RUN_DEFAULTS.items():
            variable_set(owner=release, key=key, value=value, user=user)
        _add_template_steps(release, RELEASE_STEPS, user)
        return release_activate(release=release, user=user)

    def _carry_out_some_steps(self, release: Release, customers: dict[str, Customer], user) -> None:
        """The matrix of spec §5.5: some customers part-way through, one override, one custom step, one skip."""

        def step(customer: str, name: str) -> CustomerStep:
            return CustomerStep.objects.get(release=release, customer=customers[customer], name=name)

        customer_step_override(
            step=step("customer-b", "Run migration SQL"),
            user=user,
            content=MIGRATION_PREAMBLE + "-- customer-b stores addresses in the legacy accounts table\n"
            "ALTER TABLE accounts ADD COLUMN last_login_ip VARCHAR(45);\n"
            "CREATE INDEX accounts_last_login_ip_idx ON accounts (last_login_ip);",
        )
        customer_step_add_custom(
            release=release,
            customer=customers["customer-a"],
            user=user,
            name="Backfill custom_field",
            category=StepCategory.DEPLOY,
            type=StepType.SQL,
            content="-- Custom migration for customer-a\n"
            "ALTER TABLE users ADD COLUMN custom_field VARCHAR(100);\n"
            "UPDATE users SET custom_field = 'value' WHERE id > 100;",
            position=Position.AFTER,
            relative_to=step("customer-a", "Run migration SQL"),
        )
        for customer, name, notes in [
            ("customer-a", "Deploy via Jenkins", "Jenkins build #1412"),
            ("customer-a", "Run migration SQL", ""),
            ("customer-a", "Backfill custom_field", "312 rows updated"),
            ("customer-a", "Health check API", ""),
            ("customer-b", "Deploy via Jenkins", "Jenkins build #1413"),
            ("customer-b", "Run migration SQL", ""),
            ("customer-d", "Deploy via Jenkins", "Jenkins build #1415"),
        ]:
            customer_step_mark_done(step=step(customer, name), user=user, notes=notes)
        customer_step_skip(
            step=step("customer-a", "Update ConfigMap"),
            user=user,
            reason="customer-a's ConfigMap is managed by their own GitOps pipeline; already rolled out.",
        )

    def _create_hotfix(self, user) -> Release:
        hotfix = release_create(
            user=user,
            name=HOTFIX_RELEASE,
            type=ReleaseType.HOTFIX,
            version_number="v2.5.1",
            release_date=timezone.localdate() + timedelta(days=7),
            description="Sessions expire after 5 minutes instead of 60.",
        )
        _add_template_steps(hotfix, HOTFIX_STEPS, user)
        return hotfix

    def _report(self, customers: dict[str, Customer], release: Release, hotfix: Release) -> None:
        steps = CustomerStep.objects.filter(release=release).aggregate(
            total=Count("id"),
            done=Count("id", filter=Q(status=StepStatus.DONE)),
            skipped=Count("id", filter=Q(status=StepStatus.SKIPPED)),
            overridden=Count("id", filter=Q(is_overridden=True)),
            custom=Count("id", filter=Q(is_custom=True)),
        )
        self.stdout.write(
            self.style.SUCCESS(
                f"Created {len(CLUSTERS)} clusters, {len(customers)} customers and 2 releases, acting as "
                f"{DEMO_USERNAME}."
            )
        )
        self.stdout.write(
            f"  {release.name} (active): {release.template_steps.count()} template steps, {steps['total']} customer "
            f"steps; {steps['done']} done, {steps['skipped']} skipped, {steps['overridden']} overridden, "
            f"{steps['custom']} custom."
        )
        self.stdout.write(f"  {hotfix.name} (draft): {hotfix.template_steps.count()} template steps.")
        self.stdout.write(self.style.WARNING(LOGIN_WARNING.format(username=DEMO_USERNAME, password=DEMO_PASSWORD)))
        self.stdout.write(
            ROLE_USERS_NOTE.format(
                users=", ".join(f"{name} ({role})" for name, role in DEMO_ROLE_USERS), password=DEMO_PASSWORD
            )
        )
