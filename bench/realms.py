"""Many QuickBooks companies at once, scaled out: PostgreSQL + Redis, `rundramatiq` and the scheduler.

20 companies (each connected through the product's OAuth flow to its own emulator company, suppliers
linked to vendors), 250 submitted invoices each; every invoice is approved (by-company: one
company's bulk approval after the other's, or interleaved across companies) and the worker
processes export them to the emulator (QBO's limits on, 150 ms per request). Reported:

- aggregate documents a minute against the ideal (companies × the per-company ceiling, default
  1,540/min; also against the batch-only 1,200/min);
- fairness: the slowest company's documents a minute ÷ the mean, and the spread of finish times;
- the product's CPU per exported document, read from /proc for the `rundramatiq` process and all its
  child processes (the workers), before and after the export; the scheduler's and the emulator's
  CPU separately; 429s (SyncAttempt fault 3001), failed documents, API calls per document.

"All queued at once" (the default, ``--hold``): the workers and the scheduler are started and
warmed up (one invoice per company, the first payments catch-up), then stopped with SIGSTOP while
every approval is made, and resumed with SIGCONT; the clock (and the CPU reading) starts at the
SIGCONT. With ``--live`` they keep running during the approvals and the clock starts when the
approvals start.

``--profile`` runs the same export in one in-process Dramatiq worker (the Redis broker, the same
threads) with a cProfile profiler per worker thread timing thread CPU (``--profile-clock wall`` for
wall time) and prints the top functions by cumulative and by own time, the product's functions
alone, and CPU per document by package.

    .venv/bin/python bench/realms.py --workers 1 [--threads 4] [--order by-company|interleaved]
    .venv/bin/python bench/realms.py --workers 2
    .venv/bin/python bench/realms.py --profile

Needs PostgreSQL (127.0.0.1:5432, user postgres, trust) and Redis (127.0.0.1:6379). Creates and
drops its own database and Dramatiq namespace. Prints JSON (the profile's tables go to stderr).
Only 127.0.0.1 is used; every loop is bounded; the processes it starts are stopped on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import datetime as dt
import io
import json
import os
import pstats
import re
import resource
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path
from types import FrameType
from typing import Any

import dramatiq
from harness import ROOT, EmulatorProcess, connect

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PRODUCT_APPS = ("quickbooks", "procurement", "payments", "procuresync", "accounts")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--companies", type=int, default=20)
    parser.add_argument("--invoices", type=int, default=250, help="approved invoices per company")
    parser.add_argument("--suppliers", type=int, default=5, help="suppliers (linked vendors) per company")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (rundramatiq --processes N)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker process (the Procfile's default)")
    parser.add_argument(
        "--separate",
        action="store_true",
        help="N rundramatiq commands of one process each, instead of one rundramatiq --processes N",
    )
    parser.add_argument("--order", choices=["by-company", "interleaved"], default="by-company")
    parser.add_argument("--live", action="store_true", help="workers keep running while the approvals are made")
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--ceiling", type=float, default=1540, help="per-company ceiling, documents a minute")
    parser.add_argument("--timeout", type=float, default=900, help="give up on the export after this many seconds")
    parser.add_argument("--profile", action="store_true", help="one in-process worker under cProfile")
    parser.add_argument("--profile-clock", choices=["cpu", "wall"], default="cpu")
    parser.add_argument("--profile-out", default="", help="also save the merged pstats here")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--keep-logs", action="store_true", help="leave the worker and scheduler logs")
    args = parser.parse_args()
    for host in (args.postgres, args.redis):
        if "127.0.0.1" not in host:
            parser.error("only 127.0.0.1 is used")

    run_id = secrets.token_hex(4)
    database = f"procuresync_bench_realms_{run_id}"
    namespace = f"procuresync-bench-realms-{run_id}"
    logs = Path(tempfile.mkdtemp(prefix="procuresync-realms-"))
    # SIGTERM (and SIGHUP) end the run through the same clean-up as ctrl-C.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _interrupt)
    _database("create", args.postgres, database)
    emulator: EmulatorProcess | None = None
    cluster: Cluster | None = None
    realms: list[str] = []
    try:
        emulator = EmulatorProcess(limits=True)
        env = {
            **os.environ,
            "DATABASE_URL": f"{args.postgres}/{database}",
            "DRAMATIQ_BROKER_URL": args.redis,
            "DRAMATIQ_NAMESPACE": namespace,
            "DATABASE_CONN_MAX_AGE": "60",  # deploy/env.example's: a worker keeps its connections
            "QBO_CREDENTIALS_FILE": str(emulator.dir / "creds.json"),
            "PROCURESYNC_VAR_DIR": str(logs / "var"),
            "DEBUG": "0",
            "DJANGO_SETTINGS_MODULE": "procuresync.settings",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(env)
        cluster = Cluster(env, args, logs)
        result = run(args, emulator, cluster, realms)
        result["run"] = {"database": database, "namespace": namespace, "logs": str(logs) if args.keep_logs else ""}
        print(json.dumps(result, indent=2))
    finally:
        if cluster is not None:
            cluster.stop()
        if emulator is not None:
            emulator.stop()
        with contextlib.suppress(Exception):
            from django.db import connections

            connections.close_all()
        _database("drop", args.postgres, database)
        _redis_clean(args.redis, namespace, realms)
        if not args.keep_logs:
            for path in sorted(logs.rglob("*"), reverse=True):
                with contextlib.suppress(OSError):
                    path.rmdir() if path.is_dir() else path.unlink()
            with contextlib.suppress(OSError):
                logs.rmdir()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------------------- processes and their CPU


def cpu_seconds(pid: int, *, reaped_children: bool = False) -> float:
    """utime + stime of one process (plus its reaped children's), from /proc; 0 once it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0.0
    fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": fields[0] is the state (field 3)
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    if reaped_children:
        ticks += int(fields[13]) + int(fields[14])  # cutime, cstime (fields 16 and 17)
    return ticks / CLOCK_TICKS


def descendants(root: int) -> list[int]:
    """Every live process under ``root`` (not ``root`` itself)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found: list[int] = []
    frontier = [root]
    for _ in range(10):  # process trees are shallow; bounded anyway
        children = [pid for pid, parent in parents.items() if parent in frontier]
        if not children:
            break
        found += children
        frontier = children
    return found


def tree_cpu_seconds(root: int) -> dict[str, float]:
    """CPU of ``root`` and every live descendant (read while they live), plus the reaped ones."""
    children = descendants(root)
    return {
        "main": cpu_seconds(root, reaped_children=True),
        "children": sum(cpu_seconds(pid) for pid in children),
        "processes": 1 + len(children),
    }


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy (the "cpu" line of /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle, iowait
    return (sum(values[:8]) - idle) / CLOCK_TICKS


def engine_fingerprint() -> dict[str, str]:
    """What delivery engine the workers loaded: a digest of its files as they are when they start
    (the tree may be edited between runs), and whether they differ from git's HEAD."""
    import hashlib

    files = sorted([*(ROOT / "quickbooks" / "export").glob("*.py"), ROOT / "quickbooks" / "limits.py"])
    digest = hashlib.sha256(b"".join(path.read_bytes() for path in files)).hexdigest()[:12]
    changed = subprocess.run(
        ["git", "diff", "--name-only", "HEAD", "--", *(str(path.relative_to(ROOT)) for path in files)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout.split()
    return {"digest": digest, "differs_from_head": ", ".join(changed) or "no"}


def _total(tree: dict[str, float]) -> float:
    return tree["main"] + tree["children"]


class Cluster:
    """The product's processes: the `rundramatiq` worker command(s) and one `qbo_scheduler`."""

    def __init__(self, env: dict[str, str], args: argparse.Namespace, logs: Path) -> None:
        self.env = env
        self.args = args
        self.logs = logs
        self.workers: list[subprocess.Popen[bytes]] = []
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.held = False

    def _start(self, name: str, *command: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("wb") as log:
            return subprocess.Popen(
                [sys.executable, "manage.py", *command],
                cwd=ROOT,
                env=self.env,
                start_new_session=True,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def start(self) -> None:
        threads = str(self.args.threads)
        if self.args.separate:
            for i in range(self.args.workers):
                self.workers.append(self._start(f"worker-{i}", "rundramatiq", "--processes", "1", "--threads", threads))
        else:
            processes = str(self.args.workers)
            self.workers.append(self._start("worker", "rundramatiq", "--processes", processes, "--threads", threads))
        self.scheduler = self._start("scheduler", "qbo_scheduler")

    def all(self) -> list[subprocess.Popen[bytes]]:
        return self.workers + ([self.scheduler] if self.scheduler else [])

    def dead(self) -> list[int]:
        return [p.pid for p in self.all() if p.poll() is not None]

    def worker_cpu(self) -> dict[str, float]:
        parts = [tree_cpu_seconds(p.pid) for p in self.workers]
        return {
            "seconds": sum(part["main"] + part["children"] for part in parts),
            "processes": sum(part["processes"] for part in parts),
        }

    def scheduler_cpu(self) -> float:
        return cpu_seconds(self.scheduler.pid, reaped_children=True) if self.scheduler else 0.0

    def hold(self) -> None:
        """Freeze every process (each is its own process group) so that nothing is consumed."""
        for process in self.all():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGSTOP)
        self.held = True

    def resume(self) -> None:
        for process in self.all():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGCONT)
        self.held = False

    def log_tracebacks(self) -> dict[str, int]:
        return {
            path.stem: path.read_text(errors="replace").count("Traceback") for path in sorted(self.logs.glob("*.log"))
        }

    def sweeper_resent(self) -> int:
        """Rows the scheduler's sweeper sent a message for again (its log line per tick)."""
        path = self.logs / "scheduler.log"
        text = path.read_text(errors="replace") if path.exists() else ""
        return sum(int(n) for n in re.findall(r"Outbox sweeper re-sent (\d+) row", text))

    def stop(self) -> None:
        """SIGTERM to each main process (Dramatiq passes it on), then SIGKILL to what is left."""
        if self.held:
            self.resume()
        for process in self.all():
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 30
        for process in self.all():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=10)


# ---------------------------------------------------------------------------- the run


def wait_until(what: str, probe: Any, timeout: float, cluster: Cluster | None = None, every: float = 0.5) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if probe():
            return time.monotonic() - started
        if cluster is not None and cluster.dead():
            raise RuntimeError(f"a product process exited while waiting for {what}: {cluster.dead()}")
        time.sleep(every)
    raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")


def run(args: argparse.Namespace, emulator: EmulatorProcess, cluster: Cluster, realms: list[str]) -> dict[str, Any]:
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from django.db.models import Count, Max, Min, Q, Sum
    from django.utils import timezone

    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement import workflow
    from procurement.inputs import DocumentData, LineData, SupplierData
    from procurement.models import Document
    from procurement.services import document_create, document_transition, supplier_create
    from quickbooks.connection import client_for
    from quickbooks.export.vendors import ensure_vendor
    from quickbooks.inbound.models import PaymentsCursor
    from quickbooks.models import Connection, DocumentSync, SyncAttempt, SyncStatus

    A = workflow.DocumentAction
    settled = [SyncStatus.SENT, SyncStatus.FAILED]

    # 1. Companies, each connected (OAuth against the emulator) to its own QuickBooks company, with
    #    suppliers linked to vendors; then the invoices, submitted (pending approval).
    setup_started = time.monotonic()
    owners: list[Any] = []
    suppliers: dict[int, list[Any]] = {}
    for c in range(args.companies):
        company = company_create(name=f"Realm Co {c}")
        owner = user_create(
            company=company, username=f"realm-owner-{c}", password="quartz-ledger-walk", roles=set(Role)
        )
        realms.append(connect(owner, emulator))
        made = [
            supplier_create(actor=owner, data=SupplierData(name=f"Realm {c} Supplier {i}", currency="USD"))
            for i in range(args.suppliers)
        ]
        connection = Connection.objects.get(company=company)
        client = client_for(connection)
        for supplier in made:
            ensure_vendor(connection=connection, client=client, supplier=supplier)
        owners.append(owner)
        suppliers[c] = made
    connect_seconds = time.monotonic() - setup_started

    def draft(c: int, i: int, code: str) -> Document:
        return document_create(
            actor=owners[c],
            kind="invoice",
            data=DocumentData(
                supplier_id=suppliers[c][i % len(suppliers[c])].pk,
                issue_date=dt.date(2026, 11, 2),
                supplier_unique_code=code,
                lines=[
                    LineData(
                        description="Paper",
                        quantity=Decimal("3"),
                        unit_price=Decimal("19.99"),
                        discount_type="percent",
                        discount_value=Decimal("5"),
                    ),
                    LineData(description="Toner", quantity=Decimal("1"), unit_price=Decimal("89.50")),
                ],
                discount_type="amount",
                discount_value=Decimal("1.50"),
            ),
        )

    warm = [draft(c, 0, f"WARM-{c}") for c in range(args.companies)]
    for c, document in enumerate(warm):
        document_transition(actor=owners[c], document=document, action=A.SUBMIT)
    warm_max = max(d.pk for d in warm)
    bulk: dict[int, list[Document]] = {}
    for c in range(args.companies):
        bulk[c] = [draft(c, i, f"R{c}-{i}") for i in range(args.invoices)]
        for document in bulk[c]:
            document_transition(actor=owners[c], document=document, action=A.SUBMIT)
    prepare_seconds = time.monotonic() - setup_started - connect_seconds
    total = args.companies * args.invoices
    if args.order == "by-company":
        order = [(c, d) for c in range(args.companies) for d in bulk[c]]
    else:
        order = [(c, bulk[c][i]) for i in range(args.invoices) for c in range(args.companies)]

    emulator.control("POST", "/faults", json={"latency_ms": args.latency_ms})

    def approve_all() -> float:
        started = time.monotonic()
        for c, document in order:
            document_transition(actor=owners[c], document=document, action=A.APPROVE)
        return time.monotonic() - started

    def bulk_settled() -> int:
        return DocumentSync.objects.filter(document_id__gt=warm_max, status__in=settled).count()

    # 2. The workers: warmed up by one invoice per company (and, scaled out, the scheduler's first
    #    payments catch-up of every company) before anything is measured.
    profiler: Profiling | None = None
    worker: Any = None
    engine = engine_fingerprint()
    if args.profile:
        broker = dramatiq.get_broker()
        profiler = Profiling(clock=args.profile_clock)
        broker.add_middleware(profiler)
        worker = dramatiq.Worker(broker, worker_threads=args.threads, worker_timeout=100)
        worker.start()
    else:
        cluster.start()
    try:
        for c, document in enumerate(warm):
            document_transition(actor=owners[c], document=document, action=A.APPROVE)
        warm_seconds = wait_until(
            "the warm-up invoices",
            lambda: DocumentSync.objects.filter(document__in=warm, status__in=settled).count() == len(warm),
            180,
            None if args.profile else cluster,
        )
        if not args.profile:
            wait_until(
                "every company's first payments catch-up",
                lambda: PaymentsCursor.objects.filter(last_finished_at__isnull=False).count() >= args.companies,
                90,
                cluster,
            )
        time.sleep(1)  # let the last warm-up messages and acks finish

        # 3. All queued at once, then exported.
        counters_before = emulator.control("GET", "/counters")["counters"]
        emulator_cpu_before = _total(tree_cpu_seconds(emulator.process.pid))
        bench_before = resource.getrusage(resource.RUSAGE_SELF)
        machine_before = machine_busy_seconds()
        if args.profile:
            worker.pause()  # approvals first; the profiled worker resumes when all are queued
            approve_seconds = approve_all()
            bench_after_approvals = resource.getrusage(resource.RUSAGE_SELF)
            assert profiler is not None
            profiler.enabled = True
            started_at = timezone.now()
            started = time.monotonic()
            process_before = resource.getrusage(resource.RUSAGE_SELF)
            worker.resume()
            workers_before = {"seconds": 0.0, "processes": 1}
            scheduler_before = 0.0
        else:
            if not args.live:
                cluster.hold()
            workers_before = cluster.worker_cpu()
            scheduler_before = cluster.scheduler_cpu()
            if args.live:
                started_at = timezone.now()
                started = time.monotonic()
            approve_seconds = approve_all()
            bench_after_approvals = resource.getrusage(resource.RUSAGE_SELF)
            if not args.live:
                started_at = timezone.now()
                started = time.monotonic()
                cluster.resume()
        waited = wait_until(
            "the export", lambda: bulk_settled() >= total, args.timeout, None if args.profile else cluster
        )
        elapsed = time.monotonic() - started
        # A document reads Sent a moment before its attempt row is written (settle comes after).
        with contextlib.suppress(TimeoutError):
            wait_until(
                "the last attempt rows",
                lambda: (
                    SyncAttempt.objects.filter(document_id__gt=warm_max).values("document_id").distinct().count()
                    >= total
                ),
                10,
                every=0.2,
            )
        if args.profile:
            process_after = resource.getrusage(resource.RUSAGE_SELF)
            workers_after = {
                "seconds": (process_after.ru_utime + process_after.ru_stime)
                - (process_before.ru_utime + process_before.ru_stime),
                "processes": 1,
            }
            scheduler_after = 0.0
        else:
            workers_after = cluster.worker_cpu()
            scheduler_after = cluster.scheduler_cpu()
        emulator_cpu_after = _total(tree_cpu_seconds(emulator.process.pid))
        machine_after = machine_busy_seconds()
        bench_after = resource.getrusage(resource.RUSAGE_SELF)
        counters_after = emulator.control("GET", "/counters")["counters"]
    finally:
        if worker is not None:
            worker.stop()

    # 4. Figures.
    per_company = list(
        DocumentSync.objects.filter(document_id__gt=warm_max)
        .values("company_id")
        .annotate(
            sent=Count("pk", filter=Q(status=SyncStatus.SENT)),
            failed=Count("pk", filter=Q(status=SyncStatus.FAILED)),
            first=Min("sent_at"),
            last=Max("sent_at"),
        )
        .order_by("company_id")
    )
    sent = sum(row["sent"] for row in per_company)
    failed = sum(row["failed"] for row in per_company)
    finish = [(row["last"] - started_at).total_seconds() for row in per_company if row["last"]]
    first = [(row["first"] - started_at).total_seconds() for row in per_company if row["first"]]
    rates = [
        row["sent"] / (row["last"] - started_at).total_seconds() * 60
        for row in per_company
        if row["last"] and row["last"] > started_at
    ]
    window = max(finish) if finish else elapsed
    aggregate = sent / window * 60 if window > 0 else 0.0
    ideal = args.companies * args.ceiling
    attempts = SyncAttempt.objects.filter(document_id__gt=warm_max)
    api_calls = attempts.aggregate(n=Sum("api_calls"))["n"] or 0
    outcomes = dict(attempts.values_list("outcome").annotate(n=Count("pk")).values_list("outcome", "n"))
    batch_rows = attempts.filter(operation__contains="(batch of").count()
    batch_requests = attempts.filter(operation__contains="(batch of", api_calls__gte=1).count()
    realm_requests = sum(
        counters_after.get(f"realm.{realm}.requests", 0) - counters_before.get(f"realm.{realm}.requests", 0)
        for realm in realms
    )
    product_cpu = workers_after["seconds"] - workers_before["seconds"]
    bench_cpu = (bench_after_approvals.ru_utime + bench_after_approvals.ru_stime) - (
        bench_before.ru_utime + bench_before.ru_stime
    )
    slowest = min(rates) if rates else 0.0
    mean = statistics.mean(rates) if rates else 0.0
    result: dict[str, Any] = {
        "mode": "profile (one in-process worker under cProfile)" if args.profile else "scaled out",
        "companies": args.companies,
        "invoices_per_company": args.invoices,
        "workers": 1 if args.profile else args.workers,
        "layout": (
            "in-process dramatiq.Worker"
            if args.profile
            else (
                f"{args.workers} x rundramatiq --processes 1 --threads {args.threads}"
                if args.separate
                else f"rundramatiq --processes {args.workers} --threads {args.threads}"
            )
        ),
        "threads_per_process": args.threads,
        "engine_when_workers_started": engine,
        "order": args.order,
        "clock_starts": (
            "when the approvals start (workers running)"
            if args.live and not args.profile
            else "when every approval is committed and queued (workers held until then)"
        ),
        "latency_ms_per_request": args.latency_ms,
        "setup_seconds": {
            "connect_and_link": round(connect_seconds, 1),
            "prepare_invoices": round(prepare_seconds, 1),
            "warm_up": round(warm_seconds, 1),
        },
        "approve_loop_seconds": round(approve_seconds, 1),
        "approve_cpu_ms_per_document_in_the_bench_process": round(bench_cpu / total * 1000, 2),
        "seconds_until_all_settled": round(elapsed, 1),
        "waited_seconds": round(waited, 1),
        "documents": total,
        "sent": sent,
        "failed": failed,
        "aggregate_documents_per_minute": round(aggregate, 1),
        "ideal_documents_per_minute": ideal,
        "share_of_ideal": round(aggregate / ideal, 3) if ideal else None,
        "share_of_batch_only_ideal_1200": round(aggregate / (args.companies * 1200), 3),
        "per_company_documents_per_minute": {
            "min": round(slowest, 1),
            "mean": round(mean, 1),
            "max": round(max(rates), 1) if rates else 0.0,
        },
        "fairness_slowest_over_mean": round(slowest / mean, 3) if mean else 0.0,
        "per_company_finish_seconds": {
            "min": round(min(finish), 1) if finish else None,
            "median": round(statistics.median(finish), 1) if finish else None,
            "max": round(max(finish), 1) if finish else None,
        },
        "per_company_first_sent_seconds": {
            "min": round(min(first), 1) if first else None,
            "median": round(statistics.median(first), 1) if first else None,
            "max": round(max(first), 1) if first else None,
        },
        "product_cpu": {
            "worker_processes_seen": workers_after["processes"],
            "worker_cpu_seconds": round(product_cpu, 2),
            "ms_per_exported_document": round(product_cpu / max(1, sent) * 1000, 2),
            "goal_ms_per_document": 5,
            "scheduler_cpu_seconds": round(scheduler_after - scheduler_before, 2),
        },
        "emulator_cpu_seconds": round(emulator_cpu_after - emulator_cpu_before, 2),
        "emulator_cpu_ms_per_document": round((emulator_cpu_after - emulator_cpu_before) / max(1, sent) * 1000, 2),
        "api_calls_per_document": round(api_calls / max(1, sent), 3),
        "emulator_requests_per_document": round(realm_requests / max(1, sent), 3),
        "batch_requests": batch_requests,
        "documents_sent_in_batches": batch_rows,
        "attempt_outcomes": outcomes,
        "qbo_429_answers_seen_by_the_engine": attempts.filter(fault_code="3001").count(),
        "emulator_throttled_total": counters_after.get("throttled", 0) - counters_before.get("throttled", 0),
        "noise": {
            "machine_busy_cpu_seconds_from_approvals_to_the_end": round(machine_after - machine_before, 1),
            "of_which_not_this_bench": round(
                (machine_after - machine_before)
                - (0 if args.profile else product_cpu + scheduler_after - scheduler_before)
                - (emulator_cpu_after - emulator_cpu_before)
                - ((bench_after.ru_utime + bench_after.ru_stime) - (bench_before.ru_utime + bench_before.ru_stime)),
                1,
            ),
            "seconds_from_approvals_to_the_end": round(approve_seconds + elapsed, 1)
            if not args.live
            else round(elapsed, 1),
        },
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "cpus": os.cpu_count(),
    }
    if not args.profile:
        result["log_tracebacks"] = cluster.log_tracebacks()
        # Each is one more Dramatiq message, on top of the one each approval sent.
        result["sweeper_resent_messages"] = cluster.sweeper_resent()
    if profiler is not None:
        result["profile"] = profiler.report(
            sent=max(1, sent), top=args.top, out=args.profile_out, clock=args.profile_clock
        )
    return result


# ---------------------------------------------------------------------------- the profile


class Profiling(dramatiq.Middleware):
    """A cProfile profiler per worker thread, enabled around every message it processes."""

    def __init__(self, *, clock: str) -> None:
        self.enabled = False
        self.clock = clock
        self.local = threading.local()
        self.lock = threading.Lock()
        self.profiles: list[cProfile.Profile] = []
        self.messages: Counter[str] = Counter()

    def _profile(self) -> cProfile.Profile:
        profile: cProfile.Profile | None = getattr(self.local, "profile", None)
        if profile is None:
            profile = cProfile.Profile(time.thread_time) if self.clock == "cpu" else cProfile.Profile()
            self.local.profile = profile
            with self.lock:
                self.profiles.append(profile)
        return profile

    def before_process_message(self, broker: Any, message: Any) -> None:
        if self.enabled:
            with self.lock:
                self.messages[message.actor_name] += 1
            self._profile().enable()

    def after_process_message(self, broker: Any, message: Any, *, result: Any = None, exception: Any = None) -> None:
        profile = getattr(self.local, "profile", None)
        if profile is not None:
            profile.disable()

    def after_skip_message(self, broker: Any, message: Any) -> None:
        self.after_process_message(broker, message)

    def report(self, *, sent: int, top: int, out: str, clock: str) -> dict[str, Any]:
        if not self.profiles:
            return {"error": "no message was profiled"}
        stats = pstats.Stats(self.profiles[0])
        for profile in self.profiles[1:]:
            stats.add(profile)
        if out:
            stats.dump_stats(out)
        raw: dict[tuple[str, int, str], tuple[int, int, float, float, Any]] = stats.stats  # type: ignore[attr-defined]
        total = sum(tt for _, _, tt, _, _ in raw.values())
        unit = "thread CPU" if clock == "cpu" else "wall"

        def where(filename: str) -> str:
            if filename.startswith(str(ROOT)) and ".venv" not in filename:
                app = Path(filename).relative_to(ROOT).parts[0]
                return f"product:{app}" if app in PRODUCT_APPS else f"other:{app}"
            for package in (
                "django",
                "psycopg",
                "httpx",
                "httpcore",
                "h11",
                "dramatiq",
                "redis",
                "json",
                "ssl",
                "cryptography",
                "decimal",
                "logging",
                "uuid",
                "socket",
                "selectors",
            ):
                if f"/{package}/" in filename or filename.endswith(f"/{package}.py"):
                    return package
            if filename == "~":
                return "builtins (C)"
            return "other"

        by_package: dict[str, float] = {}
        for (filename, _, _), (_, _, tt, _, _) in raw.items():
            by_package[where(filename)] = by_package.get(where(filename), 0.0) + tt

        def cumulative(module: str, function: str) -> tuple[int, float]:
            calls, seconds = 0, 0.0
            for (filename, _, name), (_, nc, _, ct, _) in raw.items():
                if name == function and filename.endswith(module):
                    calls, seconds = calls + nc, seconds + ct
            return calls, seconds

        steps = [
            ("quickbooks/export/delivery.py", "deliver"),
            ("quickbooks/export/outbox.py", "pending_row"),
            ("quickbooks/export/outbox.py", "has_backlog"),
            ("quickbooks/limits.py", "bulk_turn"),
            ("quickbooks/limits.py", "bulk_lane"),
            ("quickbooks/export/delivery.py", "_next_turn"),
            ("quickbooks/export/outbox.py", "oldest_waiting"),
            ("quickbooks/export/outbox.py", "claim"),
            ("quickbooks/export/outbox.py", "claim_in_lane"),
            ("quickbooks/export/outbox.py", "backlog"),
            ("quickbooks/export/outbox.py", "_more_documents"),
            ("quickbooks/export/outbox.py", "_take"),
            ("quickbooks/export/delivery.py", "_send"),
            ("quickbooks/connection.py", "client_for"),
            ("quickbooks/limits.py", "slot"),
            ("quickbooks/limits.py", "before_request"),
            ("quickbooks/export/batch.py", "deliver_batch"),
            ("quickbooks/export/batch.py", "_batchable"),
            ("quickbooks/connection.py", "closing_date"),
            ("quickbooks/export/vendors.py", "ensure_vendor"),
            ("quickbooks/export/snapshots.py", "document_snapshot"),
            ("quickbooks/export/mapping.py", "payload_for"),
            ("quickbooks/export/reconcile.py", "create_attempt"),
            ("quickbooks/client.py", "batch"),
            ("quickbooks/export/reconcile.py", "mark_linked"),
            ("quickbooks/export/attachments.py", "upload_pending"),
            ("quickbooks/export/reconcile.py", "reconcile"),
            ("quickbooks/export/delivery.py", "settle"),
            ("quickbooks/export/attempts.py", "record_attempt"),
            ("quickbooks/export/outbox.py", "finish"),
            ("quickbooks/export/outbox.py", "release"),
            ("quickbooks/export/delivery.py", "dispatch"),
            ("quickbooks/inbound/catchup.py", "catch_up"),
        ]
        per_step = {}
        for module, function in steps:
            calls, seconds = cumulative(module, function)
            if calls:
                per_step[f"{module.removeprefix('quickbooks/')}:{function}"] = {
                    "calls": calls,
                    "ms_per_document": round(seconds / sent * 1000, 3),
                }
        deliveries = cumulative("quickbooks/export/delivery.py", "deliver")[0]
        with_rows = cumulative("quickbooks/export/delivery.py", "_send")[0]
        text = io.StringIO()
        for title, sort, restrict in (
            (f"top {top} by cumulative {unit} time", "cumulative", ()),
            (f"top {top} by own ({unit}) time", "tottime", ()),
            (f"product code, top {top} by cumulative {unit} time", "cumulative", (rf"^{ROOT}/(?!\.venv)",)),
            (f"product code, top {top} by own ({unit}) time", "tottime", (rf"^{ROOT}/(?!\.venv)",)),
        ):
            text.write(f"\n==== {title}\n")
            stats.stream = text  # type: ignore[attr-defined]
            stats.sort_stats(sort).print_stats(*restrict, top)
        print(text.getvalue(), file=sys.stderr)
        return {
            "clock": unit,
            "profiled_seconds": round(total, 2),
            "profiled_ms_per_document": round(total / sent * 1000, 2),
            "messages": dict(self.messages),
            "delivery_messages": deliveries,
            "delivery_messages_that_claimed_rows": with_rows,
            "delivery_messages_with_nothing_to_do": deliveries - with_rows,
            "ms_per_document_by_package_own_time": {
                name: round(seconds / sent * 1000, 3)
                for name, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])
            },
            "ms_per_document_by_step_cumulative": per_step,
            "tables": "printed on stderr",
        }


# ---------------------------------------------------------------------------- PostgreSQL and Redis


def _database(action: str, server: str, name: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=10) as connection:
        if action == "create":
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _redis_clean(url: str, namespace: str, realms: list[str]) -> None:
    """The run's Dramatiq keys and its realms' limiter keys (those are not namespaced)."""
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=3, socket_timeout=10)
    try:
        for pattern in [f"{namespace}*", *(f"qbo:{realm}:*" for realm in realms)]:
            keys = list(client.scan_iter(match=pattern, count=1000))
            for start in range(0, len(keys), 1000):
                client.delete(*keys[start : start + 1000])
    finally:
        client.close()


if __name__ == "__main__":
    main()
