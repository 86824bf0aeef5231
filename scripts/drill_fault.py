"""Fault drill: simulated operators work on gunicorn and PostgreSQL while the database goes away under them.

Run with `make drill` (or `python scripts/drill_fault.py --help`). The load test's machinery (scripts/load_test.py,
scripts/load_server.py: a fresh database, the release, the operators, gunicorn, the consistency check) runs while
this script, from another thread, ends every connection Rollcall holds to its database twice
(`pg_terminate_backend` on the drill database's backends) and, with --restart-postgres, restarts the PostgreSQL
cluster serving the database once (`pg_ctlcluster --skip-systemctl-redirect <version> <cluster> restart`: every
database on that server loses its connections, so never on a server a test suite is using).

It passes when:
- a request in flight fails only with 503 and a Retry-After (core/unavailable.py), never a 500 or no answer (a hung
  worker or a dropped connection);
- after each fault, Rollcall serves a page that reads the database again within 5 s of the database answering;
- no action answered as done is lost (each 200 to "done" is a done event in the step's history) and every step's
  status is the one its last history event left (load_server.check_consistency).

Printed: requests by status, each fault's recovery time, actions lost. Exit status 1 when a condition fails. The
database URL must be PostgreSQL on 127.0.0.1 and its name must contain "drill" (it is dropped and recreated).
"""

import argparse
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import (
    _maintenance_connection,
    check_consistency,
    drop_database,
    free_port,
    parse_database_url,
    production_environment,
    recreate_database,
    set_up,
    start_gunicorn,
    stop_gunicorn,
    wait_until_ready,
)
from load_test import Browser, Clock, Operator, run_operators

MARKER = "drill"
RECOVERY_TARGET = 5.0  # seconds from the database answering to Rollcall serving a page from it again
RECOVERY_TIMEOUT = 60.0
DONE_RE = re.compile(r"^/steps/(\d+)/done/$")


class DrillBrowser(Browser):
    """An operator's browser that also notes each step answered as done, and a 503 without Retry-After as an error."""

    def __init__(self, base_url: str):
        super().__init__(base_url)
        self.done: Counter = Counter()  # step pk → times answered 200 to "done"

    def request(self, method, path, **kwargs):
        status, text, headers = super().request(method, path, **kwargs)
        if status == 503:
            sample = self.samples[-1]
            sample.problem = "" if headers.get("Retry-After") else "503 without Retry-After"
        done = DONE_RE.match(path)
        if method == "POST" and done and status == 200:
            self.done[int(done.group(1))] += 1
        return status, text, headers


def terminate_backends(parts: urllib.parse.SplitResult) -> int:
    """End every connection to the drill database but this one's; how many were ended."""
    with _maintenance_connection(parts) as connection:
        rows = connection.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [parts.path.lstrip("/")],
        ).fetchall()
    return sum(1 for (ended,) in rows if ended)


def cluster_of(parts: urllib.parse.SplitResult) -> tuple[str, str]:
    """(version, cluster name) of the local PostgreSQL cluster listening on the URL's port (pg_lsclusters)."""
    port = str(parts.port or 5432)
    listing = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=True).stdout
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) >= 3 and fields[2] == port:
            return fields[0], fields[1]
    raise SystemExit(f"No local PostgreSQL cluster listens on port {port} (pg_lsclusters): cannot restart it.")


def restart_postgres(parts: urllib.parse.SplitResult) -> None:
    version, cluster = cluster_of(parts)
    subprocess.run(
        ["pg_ctlcluster", "--skip-systemctl-redirect", version, cluster, "restart"],
        check=True,
        capture_output=True,
        timeout=120,
    )


def database_answers(parts: urllib.parse.SplitResult) -> bool:
    try:
        with _maintenance_connection(parts) as connection:
            connection.execute("SELECT 1")
        return True
    except Exception:
        return False


def wait_for_recovery(parts, probe: Browser, page: str, started: float) -> tuple[float, float]:
    """Poll until the database answers, then until Rollcall serves `page` (which reads it); returns
    (seconds from `started`, the fault, until the database answered, seconds from then until Rollcall served the
    page)."""
    deadline = started + RECOVERY_TIMEOUT
    while not database_answers(parts):
        if time.perf_counter() > deadline:
            raise RuntimeError("the database did not answer again")
        time.sleep(0.05)
    answered = time.perf_counter()
    while True:
        status, _, _ = probe.request("GET", page, kind="probe", expect={200, 503})
        if status == 200:
            return answered - started, time.perf_counter() - answered
        if time.perf_counter() > deadline:
            raise RuntimeError(f"Rollcall did not serve {page} again")
        time.sleep(0.05)


def run_faults(parts, clock: Clock, probe: Browser, page: str, *, terminations: int, restart: bool, log: list):
    """Wait for the clock, then spread the faults over the run: terminations first, the restart last."""
    while clock.started is None:
        time.sleep(0.05)
    faults = ["terminate"] * terminations + (["restart"] if restart else [])
    for index, fault in enumerate(faults):
        time.sleep(max(0.0, clock.started + clock.duration * (index + 1) / (len(faults) + 1) - time.perf_counter()))
        started = time.perf_counter()
        at = started - clock.started
        ended = terminate_backends(parts) if fault == "terminate" else None
        if fault == "restart":
            restart_postgres(parts)
        down, recovery = wait_for_recovery(parts, probe, page, started)
        log.append((fault, at, ended, down, recovery))


def actions_lost(operators: list[Operator], release_pk: int) -> tuple[int, int]:
    """(actions answered as done, those with no done event in their step's history)."""
    from history.choices import EventAction
    from history.models import Event

    answered: Counter = Counter()
    for operator in operators:
        answered.update(operator.browser.done)
    recorded = Counter(
        Event.objects.filter(customer_step__release_id=release_pk, action=EventAction.STEP_DONE).values_list(
            "customer_step_id", flat=True
        )
    )
    return sum(answered.values()), sum(max(0, count - recorded[pk]) for pk, count in answered.items())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL, dropped and recreated (name: *drill*)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--operators", type=int, default=20)
    parser.add_argument("--customers", type=int, default=100)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--duration", type=float, default=30, help="seconds of work; the faults are spread over it")
    parser.add_argument("--think-time", type=float, default=0.2, help="at most this many seconds between requests")
    parser.add_argument("--terminations", type=int, default=2, help="times every backend is terminated")
    parser.add_argument(
        "--restart-postgres",
        action="store_true",
        help="also restart the PostgreSQL cluster once (all its databases lose their connections)",
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    parts = parse_database_url(args.database_url, MARKER)
    if parts.scheme == "sqlite":
        parser.error("the fault drill needs PostgreSQL")

    workdir = Path(tempfile.mkdtemp(prefix="rollcall-drill-"))
    server = None
    try:
        env = production_environment(args.database_url, workdir)
        os.environ.clear()
        os.environ.update(env)
        recreate_database(args.database_url, MARKER)
        release_pk, customers, usernames, _ = set_up(
            customers=args.customers, steps=args.steps, operators=args.operators + 1
        )
        port = free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_gunicorn(port=port, workers=args.workers, env=env, log_path=workdir / "gunicorn.log")
        wait_until_ready(server, base_url)
        probe = Browser(base_url)
        if not probe.log_in(usernames[-1]):
            print("The probe could not log in.")
            return 1
        page = f"/releases/{release_pk}/customers/{customers[0]}/"
        seeds = random.Random(args.seed)
        operators = [
            Operator(
                username=username,
                own_customers=customers[index :: len(usernames) - 1],
                all_customers=customers,
                release_pk=release_pk,
                max_requests=100_000,
                rng=random.Random(seeds.random()),
                browser=DrillBrowser(base_url),
                think_time=(0.0, args.think_time),
            )
            for index, username in enumerate(usernames[:-1])
        ]
        clock = Clock(args.duration)
        faults: list = []
        failure: list = []

        def fault_thread():
            try:
                run_faults(
                    parts,
                    clock,
                    probe,
                    page,
                    terminations=args.terminations,
                    restart=args.restart_postgres,
                    log=faults,
                )
            except Exception as problem:
                failure.append(problem)

        thread = threading.Thread(target=fault_thread, name="faults")
        thread.start()
        print(
            f"{args.operators} operators for {args.duration:g} s on gunicorn ({args.workers} workers); faults: "
            f"{args.terminations} x terminate every backend"
            + (", 1 x restart PostgreSQL" if args.restart_postgres else ""),
            flush=True,
        )
        run_operators(operators, clock, login_slots=args.workers)
        thread.join()
        stop_gunicorn(server)
        server = None
        log_text = (workdir / "gunicorn.log").read_text(errors="replace")

        samples = [sample for operator in operators for sample in operator.browser.samples]
        by_status = Counter("no answer" if sample.status is None else sample.status for sample in samples)
        errors = [sample for sample in samples if sample.problem]
        hung = log_text.count("WORKER TIMEOUT")
        consistency = check_consistency(release_pk)
        answered, lost = actions_lost(operators, release_pk)

        print(f"requests      {len(samples)}: " + ", ".join(f"{k}: {v}" for k, v in sorted(by_status.items(), key=str)))
        print(
            f"failed        {sum(v for k, v in by_status.items() if k not in {200, 302, 409, 422})} "
            f"(503 with Retry-After: {by_status.get(503, 0)}; errors: {len(errors)})"
        )
        for fault, at, ended, down, recovery in faults:
            what = f"terminate ({ended} backends)" if fault == "terminate" else "restart PostgreSQL"
            print(
                f"fault         {what} at {at:.1f} s: database answered after {down:.2f} s, "
                f"Rollcall served again {recovery:.2f} s later"
            )
        print(f"hung workers  {hung}")
        print(f"actions lost  {lost} of {answered} answered as done")
        print(f"consistency   {consistency.steps} steps: {len(consistency.mismatches)} whose status differs")
        problems = [f"fault thread: {problem}" for problem in failure]
        problems += [f"{len(errors)} request errors (e.g. {errors[0].problem})"] if errors else []
        problems += [f"recovery {r:.2f} s > {RECOVERY_TARGET:g} s" for *_, r in faults if r > RECOVERY_TARGET]
        expected = args.terminations + int(args.restart_postgres)
        problems += [f"{len(faults)} of {expected} faults made"] if len(faults) != expected else []
        problems += ["a worker hung"] if hung else []
        problems += [f"{lost} actions lost"] if lost else []
        problems += ["inconsistent history"] if consistency.mismatches else []
        problems += ["no action answered as done"] if not answered else []
        print("\nOK: drill passed." if not problems else "\nFAILED: " + "; ".join(problems))
        if problems:
            print("Last lines of gunicorn's log:\n" + "\n".join(log_text.splitlines()[-30:]))
        return 1 if problems else 0
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(workdir, ignore_errors=True)
        drop_database(args.database_url, MARKER)


if __name__ == "__main__":
    sys.exit(main())
