"""The chaos oracle at scale: PostgreSQL, Redis, several ``rundramatiq`` processes killed at random.

The same driver and oracle as tests/quickbooks/test_chaos.py (tests/chaos/), scaled out:
the product's workers and scheduler run as separate processes against PostgreSQL and a Redis
broker, the emulator sends signed webhooks to a gunicorn web process (lost, duplicated and
reordered when the emulator supports it), and ``--kill-workers`` SIGKILLs a worker process now and
then (mid-delivery or not) and starts a new one. Then the world settles and the oracle checks
QuickBooks through its own API.

    .venv/bin/python bench/chaos.py --documents 1000 --fault-rate 0.2 --kill-workers --seed 1

Needs PostgreSQL (127.0.0.1:5432, user postgres, trust) and Redis (127.0.0.1:6379). Creates and
drops its own database. Prints JSON. Only 127.0.0.1 is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any

import httpx
from harness import ROOT, EmulatorProcess, connect, free_port

WORKER_THREADS = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=1000)
    parser.add_argument("--steps", type=int, default=0, help="user and QuickBooks actions (default 8 per document)")
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--kill-workers", action="store_true")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--settle-timeout", type=float, default=1800)
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a look afterwards")
    args = parser.parse_args()
    steps = args.steps or 8 * args.documents
    database = f"procuresync_chaos_{args.seed}_{os.getpid()}"
    _database("create", args.postgres, database)
    emulator = EmulatorProcess(limits=False)
    env = {
        **os.environ,
        "DATABASE_URL": f"{args.postgres}/{database}",
        "DRAMATIQ_BROKER_URL": args.redis,
        "DRAMATIQ_NAMESPACE": f"procuresync-chaos-{os.getpid()}",
        "QBO_CREDENTIALS_FILE": str(emulator.dir / "creds.json"),
        "QBO_RETRY_SCALE": "0.02",  # retries wait a fiftieth of production's delays
        "QBO_CLAIM_LEASE_SECONDS": "20",  # a killed worker's rows are taken over after 20 s
        "QBO_PAYMENTS_CATCHUP_MINUTES": "0.25",
        "PROCURESYNC_VAR_DIR": tempfile.mkdtemp(prefix="procuresync-chaos-"),
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "procuresync.settings",
    }
    os.environ.update(env)
    cluster = Cluster(env, args.workers)
    try:
        print(json.dumps(run(args, steps, emulator, cluster), indent=2))
    finally:
        cluster.stop()
        emulator.stop()
        if args.keep_database:
            print(f"database kept: {args.postgres}/{database}", file=sys.stderr)
        else:
            _database("drop", args.postgres, database)


class Cluster:
    """The product's processes: workers, one scheduler, one web process for webhooks."""

    def __init__(self, env: dict[str, str], workers: int) -> None:
        self.env = env
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []
        self.size = workers
        self.kills = 0
        self.web_port = free_port()

    def _start(self, *command: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, *command],
            cwd=ROOT,
            env=self.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def start(self) -> None:
        for _ in range(self.size):
            self.workers.append(
                self._start("manage.py", "rundramatiq", "--processes", "1", "--threads", str(WORKER_THREADS))
            )
        self.others.append(self._start("manage.py", "qbo_scheduler", "--every", "2"))
        self.others.append(
            self._start(
                "-m",
                "gunicorn",
                "procuresync.wsgi",
                "--bind",
                f"127.0.0.1:{self.web_port}",
                "--workers",
                "2",
                "--threads",
                "4",
            )
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{self.web_port}/", timeout=1)
                return
            except httpx.HTTPError:
                time.sleep(0.2)

    def kill_one(self, rng: random.Random) -> bool:
        """SIGKILL a worker, whatever it is doing, and start another in its place."""
        victim = rng.choice(self.workers)
        os.killpg(victim.pid, signal.SIGKILL)
        victim.wait()
        self.workers.remove(victim)
        self.workers.append(
            self._start("manage.py", "rundramatiq", "--processes", "1", "--threads", str(WORKER_THREADS))
        )
        self.kills += 1
        return True

    def stop(self) -> None:
        for process in self.workers + self.others:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.workers + self.others:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def busy() -> bool:
    from django.db.models import F, Q

    from quickbooks.models import (
        EventState,
        OutboxItem,
        OutboxState,
        PaymentsCursor,
        WebhookEvent,
    )

    rows = OutboxItem.objects.filter(state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT])
    events = WebhookEvent.objects.filter(state__in=[EventState.PENDING, EventState.PROCESSING])
    catch_ups = PaymentsCursor.objects.filter(last_started_at__isnull=False, last_error="").filter(
        Q(last_finished_at__isnull=True) | Q(last_finished_at__lt=F("last_started_at"))
    )
    return rows.exists() or events.exists() or catch_ups.exists()


def run(args: argparse.Namespace, steps: int, emulator: EmulatorProcess, cluster: Cluster) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)
    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement.inputs import SupplierData
    from procurement.services import supplier_create
    from quickbooks.export.services import documents_retry_failed
    from quickbooks.inbound import catchup
    from quickbooks.models import Connection
    from tests.chaos.driver import ChaosDriver
    from tests.chaos.emulator import EmulatorQuickBooks, EmulatorSignIn

    company = company_create(name="Chaos Co")
    owner = user_create(company=company, username="chaos-owner", password="quartz-ledger-walk", roles=set(Role))
    realm = connect(owner, emulator)
    suppliers = [
        supplier_create(actor=owner, data=SupplierData(name=f"Chaos Supplier {i}", currency="USD")) for i in range(8)
    ]
    cluster.start()
    emulator.control(
        "PUT",
        "/webhooks",
        json={
            "url": f"http://127.0.0.1:{cluster.web_port}/quickbooks/webhooks",
            "format": "cloudevents",
            "retry_scale": 0.01,
            "lose": args.fault_rate / 2,
            "duplicate": args.fault_rate / 2,
            "reorder": True,
            "seed": args.seed,
        },
    )
    qbo = EmulatorQuickBooks(emulator.base_url, realm)
    driver = ChaosDriver(
        seed=args.seed,
        user=owner,
        suppliers=suppliers,
        qbo=qbo,
        documents=args.documents,
        fault_rate=args.fault_rate,
        crash=cluster.kill_one if args.kill_workers else None,
        sign_in=EmulatorSignIn(emulator.base_url, realm, owner),
    )
    started = time.monotonic()
    driver.run(steps)
    acted = time.monotonic() - started

    def settle() -> None:
        deadline = time.monotonic() + args.settle_timeout
        quiet = 0
        while time.monotonic() < deadline and quiet < 3:
            quiet = quiet + 1 if not busy() else 0
            time.sleep(1)

    def catch_up() -> None:
        catchup.catch_up(Connection.objects.get(company=company))

    marks: dict[str, str] = {}

    def retry_all_failed() -> None:
        marks["retry_all_failed"] = time.strftime("%H:%M:%S")
        marks["retried_documents"] = str(documents_retry_failed(actor=owner))

    driver.remedy(settle, retry_all_failed, catch_up)
    report = driver.check()
    summary = report.summary()
    summary["kills"] = cluster.kills
    summary["seconds"] = round(time.monotonic() - started, 1)
    summary["seconds_acting"] = round(acted, 1)
    summary["seed"] = args.seed
    summary["marks"] = marks
    summary["fault_rate"] = args.fault_rate
    hooks = emulator.control("GET", "/webhooks")
    summary["webhooks"] = {k: hooks.get(k) for k in ("lose", "duplicate", "reorder", "lost", "duplicated")}
    summary["divergences"] = report.divergences()[:20]
    summary["failed_with_a_reason_shown_examples"] = report.failed_with_reason[:5]
    # What happened to each diverged document (and a few failed ones), to find the cause from one run.
    named = [line.split(" ", 1)[0] for line in report.divergences()[:10] + report.failed_with_reason[:5]]
    summary["histories"] = {number: history(company, number) for number in dict.fromkeys(named)}
    return summary


def history(company: Any, number: str) -> dict[str, list[str]]:
    """A document's outbox rows and delivery attempts, oldest first."""
    from quickbooks.models import OutboxItem, SyncAttempt

    rows = OutboxItem.objects.filter(document__company=company, document__number=number).order_by("created_at")
    attempts = SyncAttempt.objects.filter(document__company=company, document__number=number).order_by("started_at")
    from procurement.models import DocumentEvent
    from quickbooks.models import DocumentSync

    sync = DocumentSync.objects.filter(document__company=company, document__number=number).first()
    events = DocumentEvent.objects.filter(document__company=company, document__number=number).order_by("created_at")
    return {
        "sync": [f"{sync.updated_at:%H:%M:%S.%f} {sync.status} {sync.error_message[:80]}" if sync else "none"],
        "events": [f"{e.created_at:%H:%M:%S.%f} {e.kind} {e.from_status}→{e.to_status}" for e in events],
        "outbox": [
            f"{r.created_at:%H:%M:%S.%f} {r.reason}: {r.state}, {r.attempts} attempts, {r.last_error[:120]}"
            for r in rows
        ],
        "attempts": [
            f"{a.started_at:%H:%M:%S.%f} {a.operation} {a.outcome} {a.fault_code} {a.message[:120]}" for a in attempts
        ],
    }


def _database(action: str, server: str, name: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as connection:
        if action == "create":
            connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
            connection.execute(f'CREATE DATABASE "{name}"')
        else:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
