"""The bench's two phases (scripts/bench.py runs each in a fresh subprocess): build a size's data and time its
activation against its raw limits, then measure every page and action of it through the URLs.

Django is set up inside each phase, with the environment the parent gave (production settings on the bench's
database), so Rollcall's modules are imported there, after django.setup(): an import order, not a cycle.
"""

import datetime
import html
import json
import os
import re
import resource
import shutil
import statistics
import sys
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

CLUSTERS = 5
OPERATOR = "bench-operator"
BROWSER = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br", "HTTP_ACCEPT": "text/html"}


@dataclass(frozen=True)
class Size:
    """A data set: its name in the report, customers and template steps (half deploy, half verify)."""

    name: str
    customers: int
    steps: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.customers:,} customers x {self.steps} steps"


def median(values: list[float]) -> float | None:
    """The median of `values`; None when there is none."""
    return statistics.median(values) if values else None


# --- the worker: build ------------------------------------------------------------------------------------------


def _django():
    import django

    django.setup()


def _rows(cursor, table: str, columns: list[str], where: str, params, *, as_text: bool):
    """The rows of `table` as the database gives them (as text on PostgreSQL, so that they go back in as they are)."""
    from django.db import connection

    quote = connection.ops.quote_name
    select = ", ".join(f"{quote(column)}::text" if as_text else quote(column) for column in columns)
    cursor.execute(f"SELECT {select} FROM {quote(table)} WHERE {where}", params)
    return cursor.fetchall()


def raw_activation(release_pk: int) -> dict:
    """The raw limit of an activation: the same customer steps and history events the service wrote, inserted again
    with one executemany per table (and, on PostgreSQL, with COPY) into the same tables, with their indexes and
    constraints, after deleting them, inside transactions that are rolled back. Returns milliseconds by method."""
    from django.db import connection, transaction

    from history.models import Event
    from steps.models import CustomerStep

    quote = connection.ops.quote_name
    postgres = connection.vendor == "postgresql"
    tables = []
    with connection.cursor() as cursor:
        for model, where in (
            (CustomerStep, f"{quote('release_id')} = %s"),
            (Event, f"{quote('release_id')} = %s AND {quote('customer_step_id')} IS NOT NULL"),
        ):
            columns = [field.column for field in model._meta.concrete_fields]
            rows = _rows(cursor, model._meta.db_table, columns, where, [release_pk], as_text=postgres)
            tables.append((model._meta.db_table, columns, where, rows))

    def insert(method: str) -> float:
        with transaction.atomic(), connection.cursor() as cursor:
            for table, _, where, _ in reversed(tables):  # events first: they point at the steps
                cursor.execute(f"DELETE FROM {quote(table)} WHERE {where}", [release_pk])
            started = time.perf_counter()
            for table, columns, _, rows in tables:
                names = ", ".join(quote(column) for column in columns)
                if method == "copy":
                    with cursor.copy(f"COPY {quote(table)} ({names}) FROM STDIN") as copy:
                        for row in rows:
                            copy.write_row(row)
                else:
                    placeholders = ", ".join(["%s"] * len(columns))
                    cursor.executemany(f"INSERT INTO {quote(table)} ({names}) VALUES ({placeholders})", rows)
            elapsed = time.perf_counter() - started
            transaction.set_rollback(True)
        return elapsed * 1000

    figures = {"raw_executemany_ms": insert("executemany")}
    if postgres:
        figures["raw_copy_ms"] = insert("copy")
    return figures


def build(size: Size, *, static_root: Path, migrated: Path) -> dict:
    """Migrate, create the data of `size` and activate its release through the service; returns the activation's
    figures and its raw limits. On SQLite the empty migrated database is kept in `migrated` for the next size."""
    _django()
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from clusters.models import Cluster
    from customers.models import Customer
    from releases.services import release_activate, release_create
    from steps.models import CustomerStep, StepTemplate

    sqlite = connection.vendor == "sqlite"
    if sqlite and migrated.exists():
        connection.close()
        shutil.copyfile(migrated, connection.settings_dict["NAME"])
    call_command("migrate", verbosity=0)
    if sqlite and not migrated.exists():
        with connection.cursor() as cursor:
            cursor.execute("VACUUM INTO %s", [str(migrated)])
    if not (static_root / "staticfiles.json").exists():
        call_command("collectstatic", interactive=False, verbosity=0)
    clusters = Cluster.objects.bulk_create(
        Cluster(name=f"bench-cluster-{n}") for n in range(min(CLUSTERS, size.customers))
    )
    Customer.objects.bulk_create(
        Customer(cluster=clusters[n % len(clusters)], name=f"customer-{n:04d}", namespace=f"cust-{n:04d}-prod")
        for n in range(size.customers)
    )
    release = release_create(
        user=None, name="Bench", type="release", version_number="v1.0.0", release_date=datetime.date(2026, 1, 15)
    )
    StepTemplate.objects.bulk_create(
        StepTemplate(
            release=release,
            name=f"{'Deploy' if n % 2 == 0 else 'Verify'} step {n // 2 + 1}",
            category="deploy" if n % 2 == 0 else "verify",
            type="bash",
            content=f"kubectl -n app rollout status deploy/app-{n}\n" * 5,
            order_index=n // 2,
        )
        for n in range(size.steps)
    )
    operator = get_user_model().objects.create_user(OPERATOR, password=None)
    group = Group.objects.filter(name="Operator").first()
    if group is None:  # the roles come from a migration; without them an operator is a superuser
        operator.is_superuser = operator.is_staff = True
        operator.save()
    else:
        operator.groups.add(group)
    progress(f"  activating {size.customers * size.steps:,} customer steps through release_activate…")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        release_activate(release=release, user=None)
    figures = {
        "activation_ms": (time.perf_counter() - started) * 1000,
        "activation_queries": len(queries),
        "customer_steps": CustomerStep.objects.filter(release=release).count(),
    }
    if size.name == "reference":
        progress("  the same rows again with a raw executemany (and COPY on PostgreSQL)…")
        figures.update(raw_activation(release.pk))
    if not sqlite:
        # What autovacuum does within a minute of such an insert on a server configured as usual: without the
        # tables' statistics PostgreSQL plans the matrix's queries blind (seconds each at 200,000 steps), which
        # would measure this machine's autovacuum = off rather than Rollcall.
        progress("  ANALYZE (as autovacuum would)…")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    connection.close()
    return figures


# --- the worker: measure ----------------------------------------------------------------------------------------


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def fetch(client, method: str, url: str, data=None, **headers):
    """One request through the test client, the whole body read (streamed or not), after closing the database
    connection as the end of a request under gunicorn does (so each request pays its connection, or its pool's
    checkout). Returns (status, body, seconds, seconds to the first streamed chunk or None)."""
    from django.db import close_old_connections

    close_old_connections()
    started = time.perf_counter()
    response = client.post(url, data or {}, **headers) if method == "POST" else client.get(url, **headers)
    first = None
    if response.streaming:
        chunks = []
        for chunk in response.streaming_content:
            if first is None:
                first = time.perf_counter() - started
            chunks.append(chunk)
        body = b"".join(chunks)
    else:
        body = response.content
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{method} {url} answered {response.status_code}: {body[:300]!r}")
    return response.status_code, body, elapsed, first


# Transaction control, which Django logs on SQLite (BEGIN IMMEDIATE, COMMIT) and not on PostgreSQL: not a query of the
# data, and not counted, so that both databases count the same statements (the tests count SAVEPOINT/RELEASE apart too).
TRANSACTION_CONTROL = re.compile(r"^\s*(BEGIN|COMMIT|ROLLBACK|SAVEPOINT|RELEASE SAVEPOINT)\b", re.IGNORECASE)


def count_queries(client, method: str, url: str, data=None, **headers) -> int:
    """The queries of one more request (apart from the timed ones: capturing forces the debug cursor), transaction
    control left out."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fetch(client, method, url, data, **headers)
    return sum(1 for query in queries if not TRANSACTION_CONTROL.match(query["sql"]))


def time_page(client, url: str, *, repeats: int, warm_ups: int, prefix: str) -> dict:
    """Median time of a GET, the size of its body as sent to a browser and uncompressed, its queries."""
    timings, firsts = [], []
    for run in range(warm_ups + repeats):
        _, body, elapsed, first = fetch(client, "GET", url, **BROWSER)
        if run >= warm_ups:
            timings.append(elapsed * 1000)
            if first is not None:
                firsts.append(first * 1000)
    figures = {f"{prefix}_ms": median(timings), f"{prefix}_sent_bytes": len(body)}
    if firsts:
        figures[f"{prefix}_first_chunk_ms"] = median(firsts)
    figures[f"{prefix}_bytes"] = len(fetch(client, "GET", url)[1])
    figures[f"{prefix}_queries"] = count_queries(client, "GET", url, **BROWSER)
    return figures


TAG_RE = re.compile(r"<[a-z][^>]*>", re.IGNORECASE)
ATTRIBUTE_RE = re.compile(r'\b(hx-get|hx-trigger)="([^"]*)"')
LAZY_TRIGGERS = ("intersect", "revealed")  # htmx loads the element when it scrolls into view


def lazy_urls(page: str, page_url: str) -> list[str]:
    """The URLs a browser loads as it scrolls a page: every element's hx-get whose hx-trigger is `intersect` or
    `revealed` (a large matrix's further tables), resolved against the page's URL, in page order."""
    urls = []
    for tag in TAG_RE.findall(page):
        attributes = dict(ATTRIBUTE_RE.findall(tag))
        trigger = attributes.get("hx-trigger", "")
        if "hx-get" in attributes and any(lazy in trigger for lazy in LAZY_TRIGGERS):
            urls.append(urllib.parse.urljoin(page_url, html.unescape(attributes["hx-get"])))
    return urls


def time_whole_page(client, url: str, *, repeats: int, warm_ups: int, prefix: str) -> dict:
    """Median time of a page and every part of it loaded as it scrolls into view, one after the other as one
    browser would; their size uncompressed and the number of requests."""
    first = fetch(client, "GET", url)[1].decode()
    parts = lazy_urls(first, f"http://localhost{url}")
    scroll = {"HTTP_HX_REQUEST": "true", "HTTP_HX_CURRENT_URL": f"http://localhost{url}", **BROWSER}
    timings = []
    for run in range(warm_ups + repeats):
        elapsed = fetch(client, "GET", url, **BROWSER)[2]
        elapsed += sum(fetch(client, "GET", part, **scroll)[2] for part in parts)
        if run >= warm_ups:
            timings.append(elapsed * 1000)
    size = len(first) + sum(len(fetch(client, "GET", part, HTTP_HX_REQUEST="true")[1]) for part in parts)
    return {f"{prefix}_ms": median(timings), f"{prefix}_bytes": size, f"{prefix}_requests": 1 + len(parts)}


def raw_matrix(release_pk: int, category: str) -> bytes:
    """The raw limit of the matrix: one SELECT of its cells, joined into the `<td>` strings the matrix sends for a
    plain cell (id, version, status class and label), in cluster, step and customer order, encoded."""
    from django.db import connection

    from customers.models import Customer
    from steps.choices import STATUS_LABELS
    from steps.models import CustomerStep

    quote = connection.ops.quote_name
    steps, customers = quote(CustomerStep._meta.db_table), quote(Customer._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT s.id, s.status, s.version FROM {steps} s JOIN {customers} c ON c.id = s.customer_id "
            "WHERE s.release_id = %s AND s.category = %s AND s.deleted_at IS NULL "
            "ORDER BY c.cluster_id, s.template_id, c.name",
            [release_pk, category],
        )
        return "".join(
            f'<td><button id="cell-{pk}" name="step" value="{pk}" data-version="{version}" class="status-{status}">'
            f"{STATUS_LABELS[status]}</button></td>"
            for pk, status, version in cursor.fetchall()
        ).encode()


def raw_action(step_pk: int, release_pk: int, customer_pk: int) -> None:
    """The raw limit of an action: one single-row UPDATE and the progress SELECT of its customer, committed. It
    writes the notes, not the status, so that the data the other figures read stays as the services left it."""
    from django.db import connection, transaction

    from steps.models import CustomerStep

    steps = connection.ops.quote_name(CustomerStep._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {steps} SET notes = %s, updated_at = %s WHERE id = %s",
            [f"raw {time.perf_counter()}", datetime.datetime.now(datetime.UTC), step_pk],
        )
        cursor.execute(
            f"SELECT status, COUNT(*) FROM {steps} WHERE release_id = %s AND customer_id = %s AND deleted_at IS NULL "
            "GROUP BY status",
            [release_pk, customer_pk],
        )
        cursor.fetchall()


def timed(function, *, repeats: int, warm_ups: int) -> float:
    """Median milliseconds of `function()` over `repeats` runs after `warm_ups`."""
    timings = []
    for run in range(warm_ups + repeats):
        started = time.perf_counter()
        function()
        if run >= warm_ups:
            timings.append((time.perf_counter() - started) * 1000)
    return median(timings)


def measure(size: Size, *, repeats: int) -> dict:
    """Every figure of one size, through the URLs, in a fresh process. A part that fails (a page answering 500 while
    someone changes the code) is recorded in "failures" and the others are still measured."""
    _django()
    from django.contrib.auth import get_user_model
    from django.test import Client
    from django.urls import reverse

    from releases.models import Release
    from steps.models import CustomerStep, StepTemplate

    release = Release.objects.get(name="Bench")
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.get(username=OPERATOR))
    figures = {"rss_before_mib": _peak_mib(), "failures": []}
    warm_ups = 1 if size.customers * size.steps >= 100_000 else 2
    matrix_url = reverse("steps:matrix", args=[release.pk]) + "?category=deploy"
    cluster_pk = CustomerStep.objects.filter(release=release).values_list("customer__cluster_id", flat=True).first()
    template_pk = StepTemplate.objects.filter(release=release, category="deploy").order_by("order_index")[0].pk

    def matrix():
        figures.update(time_page(client, matrix_url, repeats=repeats, warm_ups=warm_ups, prefix="matrix"))
        figures["peak_mib"] = _peak_mib()

    def whole_matrix():
        figures.update(time_whole_page(client, matrix_url, repeats=repeats, warm_ups=warm_ups, prefix="matrix_all"))
        figures["peak_all_mib"] = _peak_mib()

    def raw():
        figures["raw_matrix_ms"] = timed(lambda: raw_matrix(release.pk, "deploy"), repeats=repeats, warm_ups=warm_ups)
        figures["raw_matrix_bytes"] = len(raw_matrix(release.pk, "deploy"))
        # Every cell against every cell: the first response alone, when the matrix loads its tables as they scroll
        # into view, holds only some of them.
        if figures.get("matrix_all_ms"):
            figures["matrix_ratio"] = figures["matrix_all_ms"] / figures["raw_matrix_ms"]

    def cluster():
        url = f"{matrix_url}&cluster={cluster_pk}"
        figures.update(time_page(client, url, repeats=repeats, warm_ups=warm_ups, prefix="cluster"))

    def action():
        pending = list(
            CustomerStep.objects.filter(release=release, category="deploy", status="pending")
            .order_by("customer_id", "pk")
            .values_list("pk", "version", "customer_id")[: warm_ups + repeats + 1]
        )
        panel = {
            "HTTP_HX_REQUEST": "true",
            "HTTP_HX_TARGET": "step-panel",
            "HTTP_HX_CURRENT_URL": f"http://localhost{matrix_url}",
            **BROWSER,
        }
        timings = []
        for run, (pk, version, _) in enumerate(pending[:-1]):
            url = reverse("steps:step_done", args=[pk])
            elapsed = fetch(client, "POST", url, {"version": version, "notes": "bench"}, **panel)[2]
            if run >= warm_ups:
                timings.append(elapsed * 1000)
        figures["action_ms"] = median(timings)
        pk, version, customer_pk = pending[-1]
        url = reverse("steps:step_done", args=[pk])
        figures["action_queries"] = count_queries(client, "POST", url, {"version": version, "notes": "bench"}, **panel)
        figures["raw_action_ms"] = timed(
            lambda: raw_action(pk, release.pk, customer_pk), repeats=repeats, warm_ups=warm_ups
        )

    def page(prefix, url):
        return lambda: figures.update(time_page(client, url, repeats=repeats, warm_ups=warm_ups, prefix=prefix))

    parts = [
        ("the matrix, one category", matrix),
        ("the matrix with every table loaded as it scrolls into view", whole_matrix),
        ("its raw limit", raw),
        ("the matrix, one cluster", cluster),
        ("mark done from the side panel", action),
        ("the dashboard", page("dashboard", reverse("dashboard:dashboard"))),
        ("the customers list", page("customers", reverse("customers:customer_list"))),
        ("a step across customers", page("step_across", reverse("steps:template_step_status", args=[template_pk]))),
        ("the audit page", page("audit", reverse("audit:audit"))),
    ]
    for name, part in parts:
        progress(f"  {name}…")
        try:
            part()
        except Exception as failure:  # reported with the figures; the other parts are still measured
            figures["failures"].append(f"{name}: {type(failure).__name__}: {str(failure)[:200]}")
            progress(f"  FAILED: {figures['failures'][-1]}")
    return figures


def progress(message: str) -> None:
    print(message, flush=True)


def run_worker(args) -> int:
    """One phase of one size in this process (the parent runs each in a fresh one); the figures go to --result."""
    size = Size(args.size_name, args.customers, args.steps)
    if args.worker == "build":
        workdir = Path(os.environ["DJANGO_STATIC_ROOT"]).parent
        figures = build(size, static_root=workdir / "static", migrated=workdir / "migrated.sqlite3")
    else:
        figures = measure(size, repeats=args.repeats)
    Path(args.result).write_text(json.dumps(figures))
    return 0
