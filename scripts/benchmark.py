"""Benchmark on a fresh SQLite database: activate a release of 40 template steps (20 deploy, 20 verify) for 500
customers, then read its matrix for one category.

Run with `make benchmark` (or `python scripts/benchmark.py [customers] [steps]`). Prints the time and the number of
queries of the activation itself (the set-up is not timed), then the time of a GET of the release matrix for the
deploy category as a logged-in superuser (median of 7 after 2 warm-ups, DEBUG off), its size and its queries.
"""

import datetime
import os
import shutil
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

MATRIX_WARM_UPS = 2
MATRIX_RUNS = 7


def main(customers: int = 500, steps: int = 40) -> None:
    data_dir = tempfile.mkdtemp(prefix="rollcall-bench-")
    try:
        benchmark(data_dir, customers, steps)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def benchmark(data_dir: str, customers: int, steps: int) -> None:
    """Set up a fresh SQLite database in `data_dir`, activate the release, read its matrix; print the figures."""
    os.environ["ROLLCALL_DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # Debug at start-up only for its secret key and plain static files storage (no collectstatic manifest); the
    # matrix is measured with DEBUG off, as it is served.
    os.environ.setdefault("DJANGO_DEBUG", "1")
    # whitenoise warns when collectstatic has not run; the matrix page serves no static file itself.
    warnings.filterwarnings("ignore", message="No directory at: ")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext, override_settings
    from django.urls import reverse

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

    deploy_steps = StepTemplate.objects.filter(release=release, category="deploy").count()
    client = Client(HTTP_HOST="localhost")
    client.force_login(get_user_model().objects.create_superuser("bench", password=None))
    url = reverse("steps:matrix", args=[release.pk]) + "?category=deploy"
    timings = []
    with override_settings(DEBUG=False):
        for run in range(MATRIX_WARM_UPS + MATRIX_RUNS):
            started = time.perf_counter()
            response = client.get(url)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"GET {url} answered {response.status_code}")
            if run >= MATRIX_WARM_UPS:
                timings.append(elapsed)
        # Counted apart from the timed runs: capturing queries forces the debug cursor.
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
    print(
        f"matrix ({customers} customers x {deploy_steps} steps, one category): "
        f"{statistics.median(timings) * 1000:.0f} ms median of {MATRIX_RUNS}, "
        f"{len(response.content) / 1_000_000:.2f} MB, {len(queries)} queries"
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
