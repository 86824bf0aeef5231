"""Bench: every figure of issue 10's table, each beside its raw limit measured in the same run, and its target.

Run with `make bench` (or `python scripts/bench.py --help`). On SQLite, then on PostgreSQL when it answers
(`--postgres-url`, default the disposable database `rollcall_bench_disposable` on 127.0.0.1, dropped and recreated;
its name must contain "bench"), for two sizes:

- reference: 5 clusters, 500 customers, a release of 40 template steps (20 deploy, 20 verify);
- scale: 2,000 customers x 100 template steps (200,000 customer steps and as many history events).

For each size a first subprocess builds the data (clusters, customers, template steps and an operator with
bulk_create; the release is activated through the real service, which is the activation figure, then the same
steps and events are inserted again with a raw executemany, and on PostgreSQL with COPY, inside a transaction that
is rolled back). A second, fresh subprocess measures through the public entry points only: URLs through Django's
test client with production settings (DEBUG off, the static files' manifest, an operator's session; the browser's
Accept-Encoding, the htmx headers of the side panel), each request paying its database connection as under
gunicorn. It reads the process's peak memory (ru_maxrss) right after the first matrix requests, so the build's
memory does not count.

Figures are medians of --repeats runs (default 7) after warm-up. Raw limits: the matrix against one plain SELECT
of the same cells joined into `<td>` strings (status class, id and version per cell); an action against one
single-row UPDATE and the progress SELECT of its customer, committed. Each figure shows its target from the issue
and ✓/✗; one summary line per database ends the run. `--quick` for smaller sizes and 3 runs.
"""

import argparse
import datetime
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The sibling module, however this file is loaded (as a script, or by file path from the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import parse_database_url, production_environment, recreate_database

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/rollcall_bench_disposable"
MARKER = "bench"  # every database the bench drops has it in its name
CLUSTERS = 5
OPERATOR = "bench-operator"
BROWSER = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br", "HTTP_ACCEPT": "text/html"}
MB = 1_000_000
MIB = 1024 * 1024


@dataclass(frozen=True)
class Size:
    """A data set: its name in the report, customers and template steps (half deploy, half verify)."""

    name: str
    customers: int
    steps: int

    @property
    def label(self) -> str:
        return f"{self.name} {self.customers:,} customers x {self.steps} steps"


# --- pure helpers (tested in tests/test_bench.py) ---------------------------------------------------------------


def median(values: list[float]) -> float | None:
    """The median of `values`; None when there is none."""
    return statistics.median(values) if values else None


@dataclass(frozen=True)
class Target:
    """A limit from issue 10 on one figure: `key` in the measured figures, met when value <= limit (< if strict)."""

    key: str
    limit: float
    size: str | None = None  # "reference", "scale" or None for both
    database: str | None = None  # "sqlite", "postgresql" or None for both
    strict: bool = False

    def applies(self, size: str, database: str) -> bool:
        return self.size in (None, size) and self.database in (None, database)

    def met(self, value: float) -> bool:
        return value < self.limit if self.strict else value <= self.limit

    def describe(self) -> str:
        return f"{'<' if self.strict else '≤'} {format_value(self.key, self.limit)}"


TARGETS = [
    Target("activation_ms", 1000, size="reference", database="postgresql"),
    Target("matrix_ms", 300, size="reference"),
    Target("matrix_bytes", 1.5 * MB, size="reference"),
    Target("matrix_ratio", 4, size="reference"),
    Target("matrix_ms", 500, size="scale"),  # the first response of a large (streamed) matrix
    Target("matrix_bytes", 1.5 * MB, size="scale"),
    Target("peak_mib", 250, size="scale", strict=True),
    Target("action_ms", 25),
    Target("action_queries", 10),
    *(Target(f"{page}_ms", 150, size="scale") for page in ("dashboard", "customers", "step_across", "audit")),
]


def format_value(key: str, value: float | None) -> str:
    """A figure as the report prints it, by the kind its key names."""
    if value is None:
        return "-"
    if key.endswith("_ms"):
        return f"{value:,.0f} ms" if value >= 10 else f"{value:.1f} ms"
    if key.endswith("_bytes"):
        return f"{value / MB:.2f} MB" if value >= 100_000 else f"{value / 1000:.1f} kB"
    if key.endswith("_mib"):
        return f"{value:.0f} MiB"
    if key.endswith("_ratio"):
        return f"{value:.1f}x"
    return f"{value:,.0f}"


def check(figures: dict, size: str, database: str) -> list[tuple[Target, float | None, bool]]:
    """Every target that applies to this size and database, with the figure measured and whether it is met (a
    figure that could not be measured is not met)."""
    checks = []
    for target in TARGETS:
        if target.applies(size, database):
            value = figures.get(target.key)
            checks.append((target, value, value is not None and target.met(value)))
    return checks


def mark(met: bool) -> str:
    return "✓" if met else "✗"


def summary_line(database: str, checks: list[tuple[str, tuple[Target, float | None, bool]]]) -> str:
    """One line for a database: how many targets are met, and the ones that are not; `checks` holds (size name,
    a check of that size)."""
    missed = [
        f"{size} {target.key} {format_value(target.key, value)} (target {target.describe()})"
        for size, (target, value, met) in checks
        if not met
    ]
    met = len(checks) - len(missed)
    line = f"{database}: {met}/{len(checks)} targets met"
    return line + (f"; missed: {', '.join(missed)}" if missed else "")


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
    _progress(f"  activating {size.customers * size.steps:,} customer steps through release_activate…")
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        release_activate(release=release, user=None)
    figures = {
        "activation_ms": (time.perf_counter() - started) * 1000,
        "activation_queries": len(queries),
        "customer_steps": CustomerStep.objects.filter(release=release).count(),
    }
    if size.name == "reference":
        _progress("  the same rows again with a raw executemany (and COPY on PostgreSQL)…")
        figures.update(raw_activation(release.pk))
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


def count_queries(client, method: str, url: str, data=None, **headers) -> int:
    """The queries of one more request (apart from the timed ones: capturing forces the debug cursor)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        fetch(client, method, url, data, **headers)
    return len(queries)


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


def raw_matrix(release_pk: int, category: str) -> bytes:
    """The raw limit of the matrix: one SELECT of its cells, joined into `<td>` strings with what a cell must show
    (status class and label, id, version), in cluster, step and customer order."""
    from django.db import connection

    from customers.models import Customer
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
            f'<td class="cell"><button id="cell-{pk}" data-version="{version}">'
            f'<span class="status status-{status}">{status.title()}</span></button></td>'
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

    def raw():
        figures["raw_matrix_ms"] = timed(lambda: raw_matrix(release.pk, "deploy"), repeats=repeats, warm_ups=warm_ups)
        figures["raw_matrix_bytes"] = len(raw_matrix(release.pk, "deploy"))
        if figures.get("matrix_ms"):
            figures["matrix_ratio"] = figures["matrix_ms"] / figures["raw_matrix_ms"]

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
        ("its raw limit", raw),
        ("the matrix, one cluster", cluster),
        ("mark done from the side panel", action),
        ("the dashboard", page("dashboard", reverse("dashboard:dashboard"))),
        ("the customers list", page("customers", reverse("customers:customer_list"))),
        ("a step across customers", page("step_across", reverse("steps:template_step_status", args=[template_pk]))),
        ("the audit page", page("audit", reverse("audit:audit"))),
    ]
    for name, part in parts:
        _progress(f"  {name}…")
        try:
            part()
        except Exception as failure:  # reported with the figures; the other parts are still measured
            figures["failures"].append(f"{name}: {type(failure).__name__}: {str(failure)[:200]}")
            _progress(f"  FAILED: {figures['failures'][-1]}")
    return figures


def _progress(message: str) -> None:
    print(message, flush=True)


def worker(args) -> int:
    """One phase of one size in this process (the parent runs each in a fresh one); the figures go to --result."""
    size = Size(args.size_name, args.customers, args.steps)
    if args.worker == "build":
        workdir = Path(os.environ["DJANGO_STATIC_ROOT"]).parent
        figures = build(size, static_root=workdir / "static", migrated=workdir / "migrated.sqlite3")
    else:
        figures = measure(size, repeats=args.repeats)
    Path(args.result).write_text(json.dumps(figures))
    return 0


# --- the run: both databases, both sizes, the report ------------------------------------------------------------


def run_size(database_url: str, size: Size, *, repeats: int, workdir: Path) -> dict:
    """Build then measure `size` on a fresh database, each phase in a subprocess; returns the figures of both."""
    recreate_database(database_url, MARKER)
    env = production_environment(database_url, workdir)
    env["DJANGO_LOG_LEVEL"] = "CRITICAL"  # a failing page is reported once, with the figures
    figures = {}
    for phase in ("build", "measure"):
        result = workdir / f"{phase}.json"
        command = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--worker",
            phase,
            "--size-name",
            size.name,
            "--customers",
            str(size.customers),
            "--steps",
            str(size.steps),
            "--repeats",
            str(repeats),
            "--result",
            str(result),
        ]
        started = time.perf_counter()
        completed = subprocess.run(command, cwd=PROJECT_DIR, env=env, check=False)
        if completed.returncode != 0:
            raise SystemExit(f"The {phase} of {size.label} failed (exit status {completed.returncode}).")
        figures.update(json.loads(result.read_text()))
        _progress(f"  {phase} done in {time.perf_counter() - started:.0f} s")
    return figures


def ratio(value: float | None, raw: float | None) -> str:
    """How many times its raw limit a figure is ("" when either is missing)."""
    return f"{value / raw:.2f}x" if value is not None and raw else ""


def report_lines(size: Size, figures: dict, database: str) -> list[str]:
    """The figures of one size on one database, each beside its raw limit and its targets."""
    targets = {}
    for target, _, met in check(figures, size.name, database):
        targets.setdefault(target.key, []).append(f"{target.describe()} {mark(met)}")

    def line(label: str, measured: str, raw: str = "", *keys: str) -> str:
        wanted = "  ".join(text for key in keys for text in targets.get(key, []))
        return f"  {label:<26}{measured:<48}{raw:<42}{wanted}".rstrip()

    def show(key: str) -> str:
        return format_value(key, figures.get(key))

    def page(prefix: str) -> str:
        return f"{show(prefix + '_ms')}, {show(prefix + '_bytes')}, {show(prefix + '_queries')} queries"

    activation_raw = ""
    if figures.get("raw_executemany_ms"):
        activation_raw = f"executemany {show('raw_executemany_ms')}"
        if figures.get("raw_copy_ms"):
            activation_raw += f", COPY {show('raw_copy_ms')}"
        activation_raw += f" → {ratio(figures.get('activation_ms'), figures['raw_executemany_ms'])}"
    lines = [
        f"{database} · {size.label} ({show('customer_steps')} customer steps and their events)",
        line(
            "activation",
            f"{show('activation_ms')}, {show('activation_queries')} queries",
            activation_raw,
            "activation_ms",
        ),
        line(
            "matrix, one category",
            f"{page('matrix')} ({show('matrix_sent_bytes')} sent)",
            f"SELECT+join {show('raw_matrix_ms')}, {show('raw_matrix_bytes')} → {show('matrix_ratio')}",
            "matrix_ms",
            "matrix_bytes",
            "matrix_ratio",
        ),
    ]
    if figures.get("matrix_first_chunk_ms") is not None:
        lines.append(line("  first streamed chunk", show("matrix_first_chunk_ms")))
    action_raw = f"UPDATE+progress SELECT {show('raw_action_ms')}"
    action_raw += f" → {ratio(figures.get('action_ms'), figures.get('raw_action_ms'))}"
    lines += [
        line("  process peak memory", f"{show('peak_mib')} (at start: {show('rss_before_mib')})", "", "peak_mib"),
        line("matrix, one cluster", page("cluster")),
        line(
            "mark done from the panel",
            f"{show('action_ms')}, {show('action_queries')} queries",
            action_raw,
            "action_ms",
            "action_queries",
        ),
        line("dashboard", page("dashboard"), "", "dashboard_ms"),
        line("customers list", page("customers"), "", "customers_ms"),
        line("step across customers", page("step_across"), "", "step_across_ms"),
        line("audit page", page("audit"), "", "audit_ms"),
    ]
    lines += [f"  FAILED {failure}" for failure in figures.get("failures", [])]
    return lines


def postgres_answers(url: str) -> bool:
    """Whether the PostgreSQL server of `url` accepts a connection (to its maintenance database)."""
    import psycopg

    parts = parse_database_url(url, MARKER)
    try:
        psycopg.connect(f"postgresql://{parts.netloc}/postgres", connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="100 x 20 and 400 x 40, 3 runs (unless given)")
    parser.add_argument("--repeats", type=int, default=None, help="timed runs per figure (default 7, quick 3)")
    parser.add_argument("--customers", type=int, default=None, help="reference size (default 500)")
    parser.add_argument("--steps", type=int, default=None, help="reference template steps (default 40)")
    parser.add_argument("--scale-customers", type=int, default=None, help="scale size (default 2000)")
    parser.add_argument("--scale-steps", type=int, default=None, help="scale template steps (default 100)")
    parser.add_argument("--no-scale", action="store_true", help="the reference size only")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    parser.add_argument("--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL))
    # A phase run by the parent in a subprocess.
    parser.add_argument("--worker", choices=["build", "measure"], help=argparse.SUPPRESS)
    parser.add_argument("--size-name", help=argparse.SUPPRESS)
    parser.add_argument("--result", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    quick = args.quick
    defaults = {
        "repeats": 3 if quick else 7,
        "customers": 100 if quick else 500,
        "steps": 20 if quick else 40,
        "scale_customers": 400 if quick else 2000,
        "scale_steps": 40 if quick else 100,
    }
    for name, value in defaults.items():
        if getattr(args, name) is None:
            setattr(args, name, value)
    if min(args.repeats, args.customers, args.steps, args.scale_customers, args.scale_steps) < 1:
        parser.error("repeats, customers and steps must be positive")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.worker:
        return worker(args)
    sizes = [Size("reference", args.customers, args.steps)]
    if not args.no_scale:
        sizes.append(Size("scale", args.scale_customers, args.scale_steps))
    workdir = Path(tempfile.mkdtemp(prefix="rollcall-bench-"))
    databases = [("sqlite", f"sqlite:///{workdir / 'data' / 'rollcall_bench.sqlite3'}")]
    if not args.no_postgres:
        if postgres_answers(args.postgres_url):
            databases.append(("postgresql", args.postgres_url))
        else:
            print(f"PostgreSQL at {args.postgres_url} does not answer: SQLite only.")
    print(
        f"Rollcall bench, {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC on {platform.node()} "
        f"({os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}): {', '.join(size.label for size in sizes)};"
        f" {CLUSTERS} clusters; medians of {args.repeats} after warm-up",
        flush=True,
    )
    report, summaries, failures = [], [], 0
    try:
        for database, url in databases:
            checks = []
            for size in sizes:
                print(f"[{database}] {size.label}…", flush=True)
                figures = run_size(url, size, repeats=args.repeats, workdir=workdir)
                report += report_lines(size, figures, database)
                failures += len(figures.get("failures", []))
                checks += [(size.name, item) for item in check(figures, size.name, database)]
            summaries.append(summary_line(database, checks))
            if database == "postgresql":
                from load_server import drop_database

                drop_database(url, MARKER)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"  {'figure':<26}{'measured':<48}{'raw limit (same run)':<42}target")
    print("\n".join(report))
    print()
    print("\n".join(summaries))
    if failures:
        print(f"{failures} part(s) could not be measured: see FAILED above.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
