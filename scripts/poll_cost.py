"""Poll cost: what open screens polling for live updates (issue 9, "Live") cost the server, as % of one CPU core.

Run with `make poll-cost` (or `python scripts/poll_cost.py --help`). By default: a fresh PostgreSQL database
`rollcall_poll_load` on 127.0.0.1 (dropped and recreated, so its name must contain "load"), 200 customers and a
release of 10 template steps activated for all of them, gunicorn with 3 production-mode workers on a free port of
127.0.0.1 (the set-up of `make load`, scripts/load_server.py), and 50 viewers, each logged in with a session of its
own. Each opens the release's matrix and then polls as the browser does: the poller's URL from the page, with htmx's
headers, every POLL_SECONDS (the viewers start spread over one interval, as people open pages at different
times), following the cursor each answer with changes gives. With `--changes N`, N steps are marked done during the
run by someone else, spread over it, so that some polls answer with fragments.

Measured over the run (after every viewer has logged in and opened the matrix, at least OVERLAP after the set-up):
the CPU time (user + system) of the gunicorn processes, master and workers, from /proc/<pid>/stat, divided by the wall
time: % of one core. Also printed: polls and their answers, latency, and PostgreSQL's CPU time: that of the open
backends of the run's database (kept connections, with --conn-max-age) plus what ended backends (a connection per
request, by default) gave back to the postmaster, for every database of the server: an upper bound of the database's
share when nothing else uses the server, noise when something does.

Only 127.0.0.1 is used. Standard library only, plus Django and psycopg from the project for the set-up. The run stops
by itself after --duration seconds; every loop is bounded.
"""

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import threading
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path

# The sibling modules, however this file is loaded (as a script, or by file path from the tests).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_report import percentile
from load_server import (
    free_port,
    parse_database_url,
    production_environment,
    recreate_database,
    set_up,
    start_gunicorn,
    stop_gunicorn,
    wait_until_ready,
)
from load_test import Browser

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/rollcall_poll_load"
BUDGET = 5.0  # % of one core that 50 open matrices may cost (issue 9)
POLL_SECONDS = 2.0  # steps.live.POLL_SECONDS; read from there once Django is set up
LOGIN_SLOTS = 3  # viewers logging in at once: a login hashes the password, slowly on purpose
POLLER_RE = re.compile(r'<div id="live-updates"[^>]*?\bhx-get="([^"]+)"')


# --- pure helpers (tested in tests/test_poll_cost.py) ----------------------------------------------------------


def poller_url(html: str) -> str | None:
    """The URL the page's poller asks next (the page's, or the one an answer swaps in out of band); None without."""
    found = POLLER_RE.search(html)
    return unescape(found.group(1)) if found else None


def cpu_ticks(stat: str) -> tuple[int, int]:
    """(own CPU time, CPU time of reaped children) in clock ticks, from the text of /proc/<pid>/stat.

    The process name (field 2) is in parentheses and may hold spaces or parentheses: fields are counted after the
    last ")". utime, stime, cutime, cstime are fields 14 to 17.
    """
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(value) for value in fields[11:15])
    return utime + stime, cutime + cstime


def percent_of_core(cpu_seconds: float, wall_seconds: float) -> float:
    """CPU time over wall time, as % of one core."""
    return 100 * cpu_seconds / wall_seconds if wall_seconds > 0 else 0.0


def verdict(percent: float, budget: float = BUDGET) -> str:
    return f"{'within' if percent < budget else 'OVER'} the budget of {budget:g} % of one core"


# --- reading /proc ---------------------------------------------------------------------------------------------


def _read_stat(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None


def process_tree(root: int) -> list[int]:
    """`root` and its descendants (gunicorn's master and its workers)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _read_stat(int(entry.name))
        if stat is None:
            continue
        parent = int(stat[stat.rindex(")") + 2 :].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def tree_cpu_seconds(root: int) -> float:
    """CPU time so far of `root` and its descendants, reaped children included."""
    ticks = 0
    for pid in process_tree(root):
        stat = _read_stat(pid)
        if stat is not None:
            own, reaped = cpu_ticks(stat)
            ticks += own + reaped
    return ticks / os.sysconf("SC_CLK_TCK")


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def postmaster_pid() -> int | None:
    """The PostgreSQL server's main process on this machine (a postgres whose parent is not one), if visible."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _comm(int(entry.name)) != "postgres":
            continue
        stat = _read_stat(int(entry.name))
        if stat is not None and _comm(int(stat[stat.rindex(")") + 2 :].split()[1])) != "postgres":
            return int(entry.name)
    return None


def backend_ticks(database: str) -> dict[int, int]:
    """Own CPU time, in clock ticks, of the open PostgreSQL backends serving `database`, by pid."""
    ticks = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or _comm(int(entry.name)) != "postgres":
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        stat = _read_stat(int(entry.name))
        if stat is not None and f" {database} " in title:
            ticks[int(entry.name)] = cpu_ticks(stat)[0]
    return ticks


def open_backends_cpu_seconds(before: dict[int, int], after: dict[int, int]) -> float:
    """CPU time the backends open at the end spent since the start (all of it for those opened meanwhile)."""
    return sum(ticks - before.get(pid, 0) for pid, ticks in after.items()) / os.sysconf("SC_CLK_TCK")


def reaped_cpu_seconds(pid: int | None) -> float | None:
    """The CPU time of the ended children of `pid` (PostgreSQL's backends, for the postmaster)."""
    stat = _read_stat(pid) if pid else None
    return cpu_ticks(stat)[1] / os.sysconf("SC_CLK_TCK") if stat else None


# --- the simulated viewers -------------------------------------------------------------------------------------


@dataclass
class Viewer:
    """One person with the matrix open: their browser, the poller's next URL and what the polls answered."""

    username: str
    browser: Browser
    matrix: str
    poll: str | None = None
    answers: Counter = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)

    def open_matrix(self) -> bool:
        status, html, _ = self.browser.request("GET", self.matrix, kind="matrix")
        self.poll = poller_url(html) if status == 200 else None
        return self.poll is not None

    def poll_once(self) -> None:
        started = time.perf_counter()
        status, html, headers = self.browser.request(
            "GET", self.poll, kind="poll", htmx=True, current=self.matrix, expect={200, 204}
        )
        self.latencies.append(time.perf_counter() - started)
        self.answers[status] += 1
        if status == 200:
            if headers.get("HX-Trigger") == "rollcall:live-reload":
                self.open_matrix()
            else:
                self.poll = poller_url(html) or self.poll

    def watch(self, start: float, deadline: float, interval: float) -> None:
        """Poll every `interval` seconds from `start` until `deadline` (a bounded loop: one poll per tick)."""
        ticks = int((deadline - start) / interval) + 1
        for tick in range(ticks):
            moment = start + tick * interval
            if moment >= deadline:
                return
            time.sleep(max(0.0, moment - time.perf_counter()))
            self.poll_once()


def change_steps(
    base_url: str, username: str, step_ids: list[int], start: float, deadline: float, *, current: str
) -> int:
    """Someone else marks `step_ids` done, spread between `start` and `deadline`; returns how many were answered."""
    browser = Browser(base_url)
    if not step_ids or not browser.log_in(username):
        return 0
    done = 0
    gap = (deadline - start) / (len(step_ids) + 1)
    for index, pk in enumerate(step_ids, start=1):
        time.sleep(max(0.0, start + index * gap - time.perf_counter()))
        status, _, _ = browser.request(
            "POST", f"/steps/{pk}/done/", kind="done", data={"notes": "poll-cost run"}, htmx=True, current=current
        )
        done += status == 200
    return done


def _first_steps(release_pk: int, count: int) -> list[int]:
    from django.db import connection

    from steps.models import CustomerStep

    steps = CustomerStep.objects.filter(release_id=release_pk, category="deploy").order_by("pk")
    ids = list(steps.values_list("pk", flat=True)[:count])
    connection.close()
    return ids


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL, help="dropped and recreated (name: *load*)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument("--viewers", type=int, default=50, help="simulated people with the matrix open")
    parser.add_argument("--customers", type=int, default=200)
    parser.add_argument("--steps", type=int, default=10, help="template steps, deploy and verify in turn")
    parser.add_argument("--duration", type=float, default=30, help="seconds of polling measured")
    parser.add_argument("--changes", type=int, default=0, help="steps someone else marks done during the run")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: a free one)")
    parser.add_argument(
        "--conn-max-age",
        type=int,
        default=0,
        help="DATABASE_CONN_MAX_AGE for gunicorn (default 0: the connection pool, Rollcall's default on PostgreSQL)",
    )
    args = parser.parse_args(argv)
    if min(args.workers, args.viewers, args.customers, args.steps) < 1 or args.duration <= 0 or args.changes < 0:
        parser.error("workers, viewers, customers, steps and duration must be positive, changes not negative")

    parse_database_url(args.database_url)
    workdir = Path(tempfile.mkdtemp(prefix="rollcall-poll-cost-"))
    server = None
    try:
        env = {**production_environment(args.database_url, workdir), "DATABASE_CONN_MAX_AGE": str(args.conn_max_age)}
        os.environ.clear()
        os.environ.update(env)
        recreate_database(args.database_url)
        print(f"Setting up {args.customers} customers x {args.steps} steps and {args.viewers + 1} users…", flush=True)
        release_pk, _, usernames, _ = set_up(customers=args.customers, steps=args.steps, operators=args.viewers + 1)
        from steps.live import OVERLAP
        from steps.live import POLL_SECONDS as interval

        # A screen's first poll reads again what changed in the OVERLAP before it was drawn: the set-up's steps, if
        # drawn within it. A real matrix is opened long after activation, so the viewers open it only after that.
        quiet_from = time.perf_counter() + OVERLAP.total_seconds()

        changer, viewers_names = usernames[0], usernames[1:]
        to_change = _first_steps(release_pk, args.changes)
        port = args.port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        server = start_gunicorn(port=port, workers=args.workers, env=env, log_path=workdir / "gunicorn.log")
        wait_until_ready(server, base_url)
        matrix = f"/releases/{release_pk}/matrix/"
        viewers = [Viewer(name, Browser(base_url), matrix) for name in viewers_names]
        print(
            f"gunicorn with {args.workers} workers at {base_url}, database connections kept {args.conn_max_age} s; "
            f"{len(viewers)} viewers log in…",
            flush=True,
        )
        slots = threading.Semaphore(LOGIN_SLOTS)

        def log_in(viewer: Viewer) -> None:
            with slots:
                viewer.browser.log_in(viewer.username)

        threads = [threading.Thread(target=log_in, args=(viewer,)) for viewer in viewers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        time.sleep(max(0.0, quiet_from - time.perf_counter()))
        for viewer in viewers:
            viewer.open_matrix()
        ready = [viewer for viewer in viewers if viewer.poll]
        if len(ready) < len(viewers):
            print(f"Only {len(ready)} of {len(viewers)} viewers opened the matrix.")
            return 1
        time.sleep(interval)  # let the logins' work settle before measuring

        postmaster = postmaster_pid()
        database = urllib.parse.urlsplit(args.database_url).path.lstrip("/")
        cpu_before, db_before = tree_cpu_seconds(server.pid), reaped_cpu_seconds(postmaster)
        backends_before = backend_ticks(database)
        wall_start = time.perf_counter()
        deadline = wall_start + args.duration
        spread = random.Random(0)
        threads = [
            threading.Thread(target=viewer.watch, args=(wall_start + spread.uniform(0, interval), deadline, interval))
            for viewer in ready
        ]
        changer_result = []
        threads.append(
            threading.Thread(
                target=lambda: changer_result.append(
                    change_steps(base_url, changer, to_change, wall_start, deadline - interval, current=matrix)
                )
            )
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - wall_start
        cpu = tree_cpu_seconds(server.pid) - cpu_before
        db_after = reaped_cpu_seconds(postmaster)
        open_backends = open_backends_cpu_seconds(backends_before, backend_ticks(database))

        answers = sum((viewer.answers for viewer in ready), Counter())
        latencies = sorted(latency for viewer in ready for latency in viewer.latencies)
        polls = sum(answers.values())
        share = percent_of_core(cpu, wall)
        print(
            f"\n{len(ready)} viewers polled every {interval:g} s for {wall:.1f} s: {polls} polls "
            f"({polls / wall:.1f}/s), answers {dict(sorted(answers.items(), key=lambda item: str(item[0])))}; "
            f"steps changed meanwhile: {changer_result[0] if changer_result else 0} of {len(to_change)}."
        )
        if latencies:
            print(
                f"Poll latency: p50 {1000 * percentile(latencies, 50):.1f} ms, "
                f"p95 {1000 * percentile(latencies, 95):.1f} ms, max {1000 * latencies[-1]:.1f} ms."
            )
        print(
            f"gunicorn (master + {args.workers} workers): {cpu:.2f} s CPU in {wall:.1f} s = {share:.2f} % of one core"
            f" ({1000 * cpu / max(polls, 1):.2f} ms per poll), {verdict(share)}."
        )
        if db_before is not None and db_after is not None:
            ended = db_after - db_before
            db = ended + open_backends
            print(
                f"PostgreSQL: {db:.2f} s CPU = {percent_of_core(db, wall):.2f} % of one core ({open_backends:.2f} s in "
                f"the open backends of {database}, {ended:.2f} s in backends that ended, of every database of the "
                "server: others' work included)."
            )
        print(f"Machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} (other work skews the figures).")
        errors = [sample for viewer in ready for sample in viewer.browser.samples if sample.problem]
        if errors:
            print(f"{len(errors)} errors, e.g. {errors[0].problem} on {errors[0].kind}.")
        return 1 if errors else 0
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
