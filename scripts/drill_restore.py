"""Restore drill: back up a database full of work, wipe it, restore it, and find it exactly as it was.

Run with `make drill` (or `python scripts/drill_restore.py --help`), on an SQLite file (`sqlite:////…/drill.sqlite3`)
or PostgreSQL on 127.0.0.1; the database's name must contain "drill" (it is dropped, wiped and recreated).

1. build the demo world (`manage.py seed_demo`) and --actions actions (1,000) through the services, on random
   customer steps (seeded): mark done, skip, revert or undo a skip, as the step's status allows;
2. back up: SQLite with its online backup API (`backup_sqlite`), PostgreSQL with `pg_dump -Fc`;
3. wipe: delete the file, or drop the database;
4. restore: the backup copied back (SQLite), or `pg_restore` into a new database (PostgreSQL);
5. compare: every table's row count, and the history chain (every customer step's status is the one its last
   history event left, load_server.check_consistency) before and after. Differences must be 0.

Printed: rows per table before and after, the differences, the backup's size and the backup and restore times.
Exit status 1 when there is a difference.
"""

import argparse
import io
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import check_consistency, drop_database, parse_database_url, production_environment, recreate_database

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
MARKER = "drill"
SKIP_REASON = "Not needed for this customer (restore drill)."


def backup_sqlite(source: str | Path, target: str | Path) -> None:
    """A consistent copy of an SQLite database, even while it is in use (sqlite3's online backup API)."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    origin.close()
    copy.close()


def _pg_arguments(parts: urllib.parse.SplitResult) -> tuple[list[str], dict]:
    arguments = ["-h", parts.hostname, "-p", str(parts.port or 5432), "-U", parts.username or "postgres"]
    env = {**os.environ, **({"PGPASSWORD": parts.password} if parts.password else {})}
    return arguments, env


def backup(parts: urllib.parse.SplitResult, target: Path) -> None:
    if parts.scheme == "sqlite":
        backup_sqlite(parts.path, target)
        return
    arguments, env = _pg_arguments(parts)
    subprocess.run(["pg_dump", "-Fc", *arguments, "-d", parts.path.lstrip("/"), "-f", str(target)], check=True, env=env)


def restore(parts: urllib.parse.SplitResult, source: Path) -> None:
    if parts.scheme == "sqlite":
        backup_sqlite(source, parts.path)
        return
    arguments, env = _pg_arguments(parts)
    subprocess.run(
        ["pg_restore", "--exit-on-error", "--no-owner", *arguments, "-d", parts.path.lstrip("/"), str(source)],
        check=True,
        env=env,
    )


def build_world(actions: int, seed: int) -> dict:
    """Migrate, seed the demo world, then `actions` actions through the services; what was done, by kind."""
    import django

    django.setup()
    # Rollcall's modules load only once django.setup() has read the settings: an import order, not a cycle.
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from core.errors import DomainError
    from steps.models import CustomerStep
    from steps.services import customer_step_mark_done, customer_step_reopen, customer_step_revert, customer_step_skip

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=io.StringIO())
    user = get_user_model().objects.create_superuser("drill-operator", password=None)
    step_pks = list(CustomerStep.objects.order_by("pk").values_list("pk", flat=True))
    rng = random.Random(seed)
    done: dict[str, int] = {"done": 0, "skip": 0, "revert": 0, "reopen": 0, "refused": 0}
    while sum(done.values()) - done["refused"] < actions and done["refused"] < actions * 10:
        step = CustomerStep.objects.get(pk=rng.choice(step_pks))
        try:
            if step.status in {"pending", "reverted"}:
                if rng.random() < 0.15:
                    customer_step_skip(step=step, user=user, reason=SKIP_REASON)
                    done["skip"] += 1
                else:
                    customer_step_mark_done(step=step, user=user, notes="restore drill")
                    done["done"] += 1
            elif step.status == "done":
                customer_step_revert(step=step, user=user, notes="restore drill")
                done["revert"] += 1
            elif step.status == "skipped":
                customer_step_reopen(step=step, user=user)
                done["reopen"] += 1
            else:
                done["refused"] += 1
        except DomainError:
            done["refused"] += 1  # e.g. a step whose script needs a variable the customer lacks
    return done


def snapshot() -> tuple[dict[str, int], int, int]:
    """Rows per table, and the history chain: (rows, customer steps, steps their history does not explain)."""
    from django.db import connection

    from releases.models import Release

    with connection.cursor() as cursor:
        tables = sorted(connection.introspection.table_names(cursor))
        rows = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")
            rows[table] = cursor.fetchone()[0]
    steps = mismatches = 0
    for release_pk in Release.objects.order_by("pk").values_list("pk", flat=True):
        consistency = check_consistency(release_pk)  # closes the connection: the next query opens a new one
        steps += consistency.steps
        mismatches += len(consistency.mismatches)
    connection.close()
    return rows, steps, mismatches


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="sqlite:////…drill….sqlite3 or postgres://…/…drill…")
    parser.add_argument("--actions", type=int, default=1000, help="actions through the services (default 1,000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    parts = parse_database_url(args.database_url, MARKER)
    if parts.scheme == "sqlite" and not Path(parts.path).is_absolute():
        parser.error("an SQLite URL needs an absolute path: sqlite:////path/to/drill.sqlite3")

    workdir = Path(tempfile.mkdtemp(prefix="rollcall-restore-drill-"))
    try:
        os.environ.clear()
        os.environ.update(production_environment(args.database_url, workdir))
        recreate_database(args.database_url, MARKER)
        engine = "SQLite" if parts.scheme == "sqlite" else "PostgreSQL"
        print(f"Restore drill on {engine}: the demo world and {args.actions} actions…", flush=True)
        started = time.perf_counter()
        done = build_world(args.actions, args.seed)
        print(f"built in {time.perf_counter() - started:.1f} s: " + ", ".join(f"{k} {v}" for k, v in done.items()))
        before, steps_before, chain_before = snapshot()

        from django.db import connections

        connections.close_all()
        target = workdir / ("backup.sqlite3" if parts.scheme == "sqlite" else "backup.dump")
        started = time.perf_counter()
        backup(parts, target)
        backup_seconds = time.perf_counter() - started
        drop_database(args.database_url, MARKER)  # the wipe
        recreate_database(args.database_url, MARKER)
        started = time.perf_counter()
        restore(parts, target)
        restore_seconds = time.perf_counter() - started

        after, steps_after, chain_after = snapshot()
        tables = sorted(before.keys() | after.keys())
        differences = [table for table in tables if before.get(table) != after.get(table)]
        width = max(map(len, tables))
        print(f"{'table':<{width}}  {'before':>8}  {'after':>8}")
        for table in tables:
            mark = "" if table not in differences else "  DIFFERS"
            print(f"{table:<{width}}  {before.get(table, '-'):>8}  {after.get(table, '-'):>8}{mark}")
        print(f"rows          {sum(before.values())} before, {sum(after.values())} after, in {len(tables)} tables")
        print(
            f"history chain {steps_before} steps, {chain_before} unexplained before; "
            f"{steps_after} steps, {chain_after} unexplained after"
        )
        total = len(differences) + abs(steps_after - steps_before) + chain_before + chain_after
        print(f"differences   {total}")
        print(f"backup        {backup_seconds:.2f} s ({target.stat().st_size / 1e6:.1f} MB)")
        print(f"restore       {restore_seconds:.2f} s")
        print("\nOK: restored with no difference." if total == 0 else "\nFAILED.")
        return 1 if total else 0
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(args.database_url, MARKER)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
