"""Bench: every figure of issue 10's table, each beside its raw limit measured in the same run, and its target.

Run with `make bench` (or `python scripts/bench.py --help`). On SQLite, then on PostgreSQL when it answers
(`--postgres-url`, default the disposable database `rollcall_bench_disposable` on 127.0.0.1, dropped and recreated;
its name must contain "bench"), for two sizes:

- reference: 5 clusters, 500 customers, a release of 40 template steps (20 deploy, 20 verify);
- scale: 2,000 customers x 100 template steps (200,000 customer steps and as many history events).

For each size a first subprocess (scripts/bench_worker.py) builds the data (clusters, customers, template steps and
an operator with bulk_create; the release is activated through the real service, which is the activation figure,
then the same steps and events are inserted again with a raw executemany, and on PostgreSQL with COPY, inside a
transaction that is rolled back). A second, fresh subprocess measures through the public entry points only: URLs
through Django's test client with production settings (DEBUG off, the static files' manifest, an operator's session;
the browser's Accept-Encoding, the htmx headers of the side panel), each request paying its database connection as
under gunicorn. It reads the process's peak memory (ru_maxrss) right after the first matrix requests, so the build's
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
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# The sibling module, however this file is loaded (as a script, or by file path from the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_worker import CLUSTERS, Size, progress, run_worker
from load_server import drop_database, parse_database_url, production_environment, recreate_database

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/rollcall_bench_disposable"
MARKER = "bench"  # every database the bench drops has it in its name
MB = 1_000_000


# --- pure helpers (tested in tests/test_bench.py) ---------------------------------------------------------------


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
        if completed.returncode != 0:  # reported with the figures; the other sizes and databases still run
            figures.setdefault("failures", []).append(f"the {phase} exited with status {completed.returncode}")
            progress(f"  FAILED: {figures['failures'][-1]}")
            break
        measured = json.loads(result.read_text())
        failures = figures.get("failures", []) + measured.pop("failures", [])
        figures.update(measured, failures=failures)
        progress(f"  {phase} done in {time.perf_counter() - started:.0f} s")
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
            "matrix, one category" if size.name == "reference" else "matrix, first response",
            f"{page('matrix')} ({show('matrix_sent_bytes')} sent)",
            "",
            "matrix_ms",
            "matrix_bytes",
        ),
    ]
    if figures.get("matrix_first_chunk_ms") is not None:
        lines.append(line("  first streamed chunk", show("matrix_first_chunk_ms")))
    action_raw = f"UPDATE+progress SELECT {show('raw_action_ms')}"
    action_raw += f" → {ratio(figures.get('action_ms'), figures.get('raw_action_ms'))}"
    lines += [
        line("  process peak memory", f"{show('peak_mib')} (at start: {show('rss_before_mib')})", "", "peak_mib"),
        line(
            "  every table, scrolled",
            f"{show('matrix_all_ms')}, {show('matrix_all_bytes')}, {show('matrix_all_requests')} requests, "
            f"peak {show('peak_all_mib')}",
            f"SELECT+join {show('raw_matrix_ms')}, {show('raw_matrix_bytes')} → {show('matrix_ratio')}",
            "matrix_ratio",
        ),
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
        return run_worker(args)
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
