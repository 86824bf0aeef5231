"""The world a load test runs in (scripts/load_test.py): a throw-away PostgreSQL database on 127.0.0.1, the release
and operators set up in it, gunicorn serving it, and the consistency check of the history once gunicorn stopped."""

import datetime
import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PASSWORD = "rollcall-load-operator"  # every simulated operator's password, on a throw-away database
OPERATOR_GROUP = "Operator"
CLUSTERS = 5
READY_TIMEOUT = 60  # seconds to wait for gunicorn to answer /healthz


def parse_database_url(url: str, marker: str = "load") -> urllib.parse.SplitResult:
    """The database URL, refused unless it is PostgreSQL on 127.0.0.1/localhost or an SQLite file, named *`marker`*
    (it is dropped and recreated: the name says it is disposable)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme in {"postgres", "postgresql"}:
        if parts.hostname not in LOCAL_HOSTS:
            raise SystemExit(f"Refusing database host {parts.hostname!r}: the load test only runs on 127.0.0.1.")
        name = parts.path.lstrip("/")
    elif parts.scheme == "sqlite":
        name = Path(parts.path).name
    else:
        raise SystemExit(f"Unsupported database URL {url!r}: use postgres://…@127.0.0.1/… or sqlite:////path.")
    if marker not in name:
        raise SystemExit(
            f"Refusing database {name!r}: it is dropped and recreated, so its name must contain {marker!r}."
        )
    return parts


def _maintenance_connection(parts: urllib.parse.SplitResult):
    import psycopg

    url = urllib.parse.urlunsplit(("postgresql", parts.netloc, "/postgres", parts.query, ""))
    return psycopg.connect(url, autocommit=True, connect_timeout=5)


def drop_database(url: str, marker: str = "load") -> None:
    """Drop the load database (PostgreSQL) or delete its file (SQLite), if it exists."""
    parts = parse_database_url(url, marker)
    if parts.scheme == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(parts.path + suffix).unlink(missing_ok=True)
        return
    from psycopg import sql

    with _maintenance_connection(parts) as connection:
        name = sql.Identifier(parts.path.lstrip("/"))
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


def recreate_database(url: str, marker: str = "load") -> None:
    """Start from an empty database, so that runs are repeatable."""
    drop_database(url, marker)
    parts = parse_database_url(url, marker)
    if parts.scheme == "sqlite":
        Path(parts.path).parent.mkdir(parents=True, exist_ok=True)
        return
    from psycopg import sql

    with _maintenance_connection(parts) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(parts.path.lstrip("/"))))


def production_environment(database_url: str, workdir: Path) -> dict:
    """The environment of this process and gunicorn: production settings (DEBUG off) on the load database."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "ROLLCALL_"))}
    env.pop("DATABASE_URL", None)
    env.update(
        {
            "DATABASE_URL": database_url,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DJANGO_STATIC_ROOT": str(workdir / "static"),
            "DJANGO_LOG_LEVEL": "WARNING",
            "ROLLCALL_DATA_DIR": str(workdir / "data"),
        }
    )
    return env


def set_up(*, customers: int, steps: int, operators: int) -> tuple[int, list[int], list[str], str]:
    """Migrate, collect the static files, create clusters, customers, an active release and the operators.

    Returns the release's pk, the customers' pks, the operators' usernames and how they were given their rights.
    """
    import django

    django.setup()
    # Rollcall's modules load only once django.setup() has read the settings: an import order, not a cycle.
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from clusters.models import Cluster
    from customers.models import Customer
    from releases.services import release_activate, release_create
    from steps.services import template_step_add

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    clusters = Cluster.objects.bulk_create(Cluster(name=f"load-cluster-{n}") for n in range(min(CLUSTERS, customers)))
    created = Customer.objects.bulk_create(
        Customer(cluster=clusters[n % len(clusters)], name=f"customer-{n:03d}", namespace=f"cust-{n:03d}-prod")
        for n in range(customers)
    )
    release = release_create(
        user=None, name="Load test", type="release", version_number="v9.9.9", release_date=datetime.date.today()
    )
    for n in range(steps):
        category = "deploy" if n % 2 == 0 else "verify"
        template_step_add(
            release=release,
            user=None,
            name=f"{category.title()} step {n // 2 + 1}",
            category=category,
            type="bash",
            content=f"kubectl -n $NAMESPACE rollout status deploy/app-{n}\n",
        )
    release_activate(release=release, user=None)

    User = get_user_model()
    password = make_password(PASSWORD)  # hashed once: hashing is slow on purpose
    users = User.objects.bulk_create(User(username=f"operator-{n:02d}", password=password) for n in range(operators))
    group = Group.objects.filter(name=OPERATOR_GROUP).first()
    if group is not None:
        group.user_set.add(*users)
        rights = f"in the group {OPERATOR_GROUP!r}"
    else:
        User.objects.filter(pk__in=[user.pk for user in users]).update(is_superuser=True, is_staff=True)
        rights = f"superusers (there is no group {OPERATOR_GROUP!r})"
    # Statistics, as a database in use has them (autovacuum gathers them a minute or so after a change): without
    # them PostgreSQL plans the freshly filled tables as if they held one row each (a progress aggregate then joins
    # every counter to every customer: 20 times its cost), which measures the empty database, not Rollcall.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    connection.close()
    return release.pk, [customer.pk for customer in created], [user.username for user in users], rights


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_gunicorn(*, port: int, workers: int, env: dict, log_path: Path) -> subprocess.Popen:
    """gunicorn serving Rollcall on 127.0.0.1:port, its output in `log_path`."""
    gunicorn = Path(sys.executable).parent / "gunicorn"
    command = [str(gunicorn)] if gunicorn.exists() else [sys.executable, "-m", "gunicorn"]
    command += ["config.wsgi:application", "--bind", f"127.0.0.1:{port}", "--workers", str(workers)]
    with open(log_path, "wb") as log:
        return subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_until_ready(server: subprocess.Popen, base_url: str) -> None:
    """Poll /healthz until it answers 200; give up when gunicorn exits or after READY_TIMEOUT seconds."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn exited with status {server.returncode} before answering")
        try:
            with urllib.request.urlopen(base_url + "/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except (OSError, http.client.HTTPException):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer {base_url}/healthz within {READY_TIMEOUT} s")


def stop_gunicorn(server: subprocess.Popen) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


@dataclass
class Consistency:
    """What the check found: how many steps, which disagree with their history, how many execution events."""

    steps: int
    mismatches: list[tuple[int, str, str | None]]  # (step pk, status, status its last history event left)
    execution_events: int


def check_consistency(release_pk: int) -> Consistency:
    """Compare every customer step of the release with its history, in this process, after the run."""
    # Imported here, after set_up() has run django.setup(): an import order, not a cycle.
    from django.db import connection

    from history.choices import EventAction
    from history.models import Event
    from steps.models import CustomerStep

    created = {EventAction.STEP_CREATED, EventAction.STEP_CUSTOM_ADDED}
    executions = {EventAction.STEP_DONE, EventAction.STEP_SKIPPED, EventAction.STEP_REVERTED, EventAction.STEP_REOPENED}
    statuses = dict(CustomerStep.all_objects.filter(release_id=release_pk).values_list("pk", "status"))
    last: dict[int, str] = {}
    execution_events = 0
    events = (
        Event.objects.filter(customer_step__release_id=release_pk)
        .order_by("occurred_at", "id")
        .values_list("customer_step_id", "action", "after")
    )
    for step_pk, action, after in events.iterator(chunk_size=5000):
        if isinstance(after, dict) and "status" in after:
            last[step_pk] = after["status"]
        elif action in created:
            last[step_pk] = "pending"
        execution_events += action in executions
    connection.close()
    mismatches = [(pk, status, last.get(pk)) for pk, status in sorted(statuses.items()) if last.get(pk) != status]
    return Consistency(steps=len(statuses), mismatches=mismatches, execution_events=execution_events)


# --- the report ------------------------------------------------------------------------------------------------
