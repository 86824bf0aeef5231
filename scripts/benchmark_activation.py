"""Benchmark: activate a release of 40 template steps for 500 customers on a fresh SQLite database.

Run with `make benchmark` (or `python scripts/benchmark_activation.py [customers] [steps]`). Prints the time and
the number of queries of the activation itself; the set-up is not timed.
"""

import datetime
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(customers: int = 500, steps: int = 40) -> None:
    os.environ["ROLLCALL_DATA_DIR"] = tempfile.mkdtemp(prefix="rollcall-bench-")
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DJANGO_DEBUG", "1")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    # Rollcall's models load only once django.setup() has read the settings: no import cycle, an import order.
    from clusters.models import Cluster
    from customers.models import Customer
    from releases.services import release_activate, release_create
    from steps.models import CustomerStep, StepTemplate

    call_command("migrate", verbosity=0)
    clusters = Cluster.objects.bulk_create(Cluster(name=f"cluster-{n}") for n in range(5))
    Customer.objects.bulk_create(
        Customer(cluster=clusters[n % 5], name=f"customer-{n}", namespace=f"cust-{n}-prod") for n in range(customers)
    )
    release = release_create(
        user=None, name="bench", type="release", version_number="v1", release_date=datetime.date(2024, 1, 15)
    )
    StepTemplate.objects.bulk_create(
        StepTemplate(
            release=release,
            name=f"Step {n}",
            category="deploy" if n % 2 else "verify",
            type="bash",
            content=f"kubectl rollout status deploy/app-{n}\n" * 5,
            order_index=n // 2,
        )
        for n in range(steps)
    )
    started = time.perf_counter()
    with CaptureQueriesContext(connection) as queries:
        release_activate(release=release, user=None)
    elapsed = time.perf_counter() - started
    created = CustomerStep.objects.filter(release=release).count()
    print(f"activated for {customers} customers x {steps} steps: {created} customer steps (+ as many history events)")
    print(f"time {elapsed * 1000:.0f} ms, {len(queries)} queries")


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
