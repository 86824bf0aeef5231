"""Fixtures of the runs' tests: a fake kubectl (tests/runs/fake_kubectl.py) installed in a temporary directory,
execution turned on, and the example world's release active with kubeconfig paths and database variables."""

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from core import crypto
from releases.services import release_activate
from steps.models import CustomerStep
from variables.services import variable_set

FAKE = Path(__file__).with_name("fake_kubectl.py")
ROOT = Path(__file__).resolve().parents[2]


def worker_environment(*, database_url: str, kubectl: str, data_dir: Path) -> dict[str, str]:
    """The environment of a Rollcall process of its own (the production worker, manage.py) on `database_url`, with
    execution on and `kubectl`: nothing of the test process's but PATH and LANG."""
    return {
        **{name: os.environ[name] for name in ("PATH", "LANG") if name in os.environ},
        "DJANGO_DEBUG": "1",
        "ROLLCALL_DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "ROLLCALL_EXECUTION": "1",
        "ROLLCALL_KUBECTL": kubectl,
        "ROLLCALL_RUN_DIR": str(data_dir),
    }


def start_worker(env: dict[str, str]) -> subprocess.Popen:
    """`manage.py db_worker`, as `make serve` runs it, polling every 0.1 s."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay", "--no-reload"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


class FakeKubectl:
    """The installed fake: its path, the calls it recorded, and the behaviour of its next calls."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.path = directory / "kubectl"
        self.path.write_text(f"#!{sys.executable}\n" + FAKE.read_text())
        self.path.chmod(0o755)

    def mode(self, *words) -> None:
        (self.directory / "mode").write_text(" ".join(str(word) for word in words))

    def calls(self) -> list[dict]:
        records = self.directory / "calls.jsonl"
        if not records.exists():
            return []
        return [json.loads(line) for line in records.read_text().splitlines()]


@pytest.fixture
def kubectl(tmp_path, settings, monkeypatch) -> FakeKubectl:
    """Execution on, runs using the fake kubectl, and a secret in Rollcall's own environment that must not leak."""
    directory = tmp_path / "bin"
    directory.mkdir()
    fake = FakeKubectl(directory)
    settings.ROLLCALL_EXECUTION = True
    settings.ROLLCALL_KUBECTL = str(fake.path)
    settings.ROLLCALL_RUN_DIR = str(tmp_path)
    monkeypatch.setenv("DJANGO_SECRET_KEY", "rollcall-tests-only-never-in-a-run")
    monkeypatch.setenv("DATABASE_URL", os.environ.get("DATABASE_URL", "sqlite:///never-in-a-run"))
    monkeypatch.setenv(crypto.KEY_ENVIRONMENT_VARIABLE, crypto.generate_key())
    return fake


@pytest.fixture
def runnable(world, kubectl):
    """The world's release, active, its clusters with a kubeconfig path, prod-us with the database variables, and
    a few of its steps to run: customer-a's bash "Deploy app" and SQL "Run migration"."""
    for cluster in world.clusters.values():
        cluster.kubeconfig_path = f"/etc/rollcall/{cluster.name}.kubeconfig"
        cluster.save()
    prod_us = world.clusters["prod-us"]
    for key, value in {"DB_TARGET": "deploy/postgres", "DB_NAME": "app", "DB_USER": "migrator"}.items():
        variable_set(owner=prod_us, key=key, value=value, user=world.user)
    release_activate(release=world.release, user=world.user)
    steps = CustomerStep.objects.select_related("release", "customer__cluster")
    customer_a = world.customers["customer-a"]
    return SimpleNamespace(
        world=world,
        bash=steps.get(customer=customer_a, template=world.templates[0]),
        sql=steps.get(customer=customer_a, template=world.templates[1]),
        steps=steps,
    )
