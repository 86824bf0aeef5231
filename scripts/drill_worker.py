"""Worker crash drill: kill the task worker (kill -9) while webhook deliveries are queued, restart it, and count
what a receiver got.

Run with `make drill` (or `python scripts/drill_worker.py --help`). On a fresh database whose name contains "drill"
(an SQLite file by default, or PostgreSQL on 127.0.0.1): a subscription to a receiver on 127.0.0.1 (this process,
an HTTP server that answers 200 after --receiver-delay seconds and counts every event id it gets), --deliveries
events queued in tasks of --batch, `manage.py db_worker` started, killed with SIGKILL once a third of them arrived,
started again. A delivery that was being sent when the worker died stays claimed ("sending") until its claim's lease
expires (ROLLCALL_WEBHOOK_CLAIM_LEASE_SECONDS, 300 s in production, --lease here); the next `deliver` task then
queues it again (webhooks/tasks.py, requeue_stalled), so the drill queues an empty one after the lease.

Passes when every event reached the receiver, every delivery is recorded as delivered, and no event arrived twice
except one that was in flight at the kill: the receiver may have had it before the worker could record it, and
the redelivery sends it again (at least once, by design: receivers dedupe by the X-Rollcall-Event-Id header).
Printed: events queued, received, distinct, duplicates (and which were in flight), time to deliver them all.
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_server import drop_database, parse_database_url, production_environment, recreate_database

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))
MARKER = "drill"
EVENT_TYPE = "step.status_changed"
DEADLINE = 300  # seconds for everything to arrive


class Receiver(ThreadingHTTPServer):
    """A webhook receiver on 127.0.0.1: counts the event ids it is sent, answers 200 after `delay` seconds."""

    daemon_threads = True

    def __init__(self, delay: float):
        self.delay = delay
        self.received: Counter = Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    def total(self) -> int:
        with self.lock:
            return sum(self.received.values())


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with self.server.lock:
            self.server.received[self.headers.get("X-Rollcall-Event-Id", "")] += 1
        time.sleep(self.server.delay)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def start_worker(env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(condition, what: str, deadline: float) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True, help="dropped and recreated (name: *drill*)")
    parser.add_argument("--deliveries", type=int, default=300, help="events queued (default 300)")
    parser.add_argument("--batch", type=int, default=10, help="events per deliver task")
    parser.add_argument("--receiver-delay", type=float, default=0.02, help="seconds the receiver takes to answer")
    parser.add_argument("--lease", type=int, default=3, help="seconds a dead worker's claim holds (production: 300)")
    args = parser.parse_args(argv)
    parse_database_url(args.database_url, MARKER)

    workdir = Path(tempfile.mkdtemp(prefix="rollcall-worker-drill-"))
    receiver = Receiver(args.receiver_delay)
    threading.Thread(target=receiver.serve_forever, name="receiver", daemon=True).start()
    worker = None
    try:
        env = production_environment(args.database_url, workdir)
        env |= {"ROLLCALL_WEBHOOK_ALLOW_LOCAL": "1", "ROLLCALL_WEBHOOK_CLAIM_LEASE_SECONDS": str(args.lease)}
        os.environ.clear()
        os.environ.update(env)
        recreate_database(args.database_url, MARKER)

        import django

        django.setup()
        # Rollcall's modules load only once django.setup() has read the settings: an import order, not a cycle.
        from django.contrib.auth import get_user_model
        from django.core.management import call_command
        from django.db import connections, transaction

        from webhooks.choices import DeliveryStatus
        from webhooks.models import Delivery
        from webhooks.services import notify, subscription_create
        from webhooks.tasks import deliver

        call_command("migrate", verbosity=0)
        user = get_user_model().objects.create_superuser("drill-manager", password=None)
        target = f"http://127.0.0.1:{receiver.server_address[1]}/hook"
        subscription_create(name="Drill receiver", target_url=target, events=[EVENT_TYPE], user=user)
        events = [str(uuid.uuid4()) for _ in range(args.deliveries)]
        for start in range(0, len(events), args.batch):
            batch = events[start : start + args.batch]
            with transaction.atomic():
                notify(EVENT_TYPE, lambda batch=batch: [{"id": pk, "type": EVENT_TYPE, "data": {}} for pk in batch])
        connections.close_all()

        log_path = workdir / "worker.log"
        started = time.monotonic()
        deadline = started + DEADLINE
        worker = start_worker(env, log_path)
        wait_for(lambda: receiver.total() >= args.deliveries // 3, "a third of the events", deadline)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed_at = receiver.total()
        in_flight = set(
            map(str, Delivery.objects.filter(status=DeliveryStatus.SENDING).values_list("event_id", flat=True))
        )
        connections.close_all()
        print(f"killed the worker (SIGKILL) after {killed_at} of {args.deliveries} events; in flight: {len(in_flight)}")
        worker = start_worker(env, log_path)
        # After the lease, a deliver task (an empty one will do) queues again what the dead worker held.
        lease_over = time.monotonic() + args.lease + 0.5
        wait_for(lambda: time.monotonic() > lease_over, "the lease", deadline)
        deliver.enqueue([])

        def all_delivered() -> bool:
            done = Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count() == args.deliveries
            connections.close_all()
            return done

        wait_for(all_delivered, "every delivery to be recorded as delivered", deadline)
        elapsed = time.monotonic() - started
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        worker = None

        received = dict(receiver.received)
        missing = [pk for pk in events if pk not in received]
        duplicates = {pk: count - 1 for pk, count in received.items() if count > 1}
        unexplained = [pk for pk in duplicates if pk not in in_flight]
        print(f"events        {args.deliveries} queued in tasks of {args.batch}")
        print(
            f"received      {sum(received.values())} requests, {len(received)} distinct events, {len(missing)} missing"
        )
        print(
            f"duplicates    {sum(duplicates.values())} (in flight at the kill: {len(duplicates) - len(unexplained)}; "
            f"others: {len(unexplained)})"
        )
        print(f"delivered     all {args.deliveries} recorded as delivered in {elapsed:.1f} s (lease {args.lease} s)")
        ok = not missing and not unexplained
        print("\nOK: every event delivered, once after deduplication by event id." if ok else "\nFAILED.")
        return 0 if ok else 1
    finally:
        if worker is not None:
            worker.kill()
            worker.wait()
        receiver.shutdown()
        from django.conf import settings

        if settings.configured:
            from django.db import connections

            connections.close_all()
        drop_database(args.database_url, MARKER)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
