"""Payments from QuickBooks against the emulator (QBO's limits on).

In one run:
1. date-range import of N bill payments (default 10,000; the issue's goal is 100,000 in ≤ 30 s)
   paying N of our invoices: seconds, QBO API calls, and the import's memory (the bench process's
   peak RSS during the import above its RSS when it started, from /proc's VmHWM after resetting
   it; with --tracemalloc also tracemalloc's peak of Python allocations, which slows the import);
2. payment recorded in the emulator → invoice Paid here, through a signed webhook to the product's
   web process (target p50 ≤ 1 s);
3. webhook acknowledgement latency at a steady rate (200 requests a second for ``serve``, 500 for
   gunicorn), signed CloudEvents bodies for real bill payments, measured by an open-loop client
   (target p99 ≤ 50 ms).

--server serve (default): the embedded layout, SQLite and ``manage.py serve`` (runserver with the
embedded worker). --server gunicorn: the production layout of deploy/Procfile on a throw-away
PostgreSQL database and a Redis namespace of its own: gunicorn (2 workers × 4 threads, no worker in
it) serves the webhooks, and a ``manage.py rundramatiq`` process does the processing.

    .venv/bin/python bench/payments.py [--payments 10000] [--paid-samples 20] [--acks N] [--rps R]
        [--server serve|gunicorn] [--parts import,paid,acks] [--tracemalloc]

Prints JSON. Only 127.0.0.1 is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import gc
import hashlib
import hmac
import json
import logging
import os
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from harness import ROOT, EmulatorProcess, connect, free_port, percentile, setup_product


def serve(addrport: str, threads: int) -> None:
    """``manage.py serve`` (runserver + embedded worker) with TCP_NODELAY on accepted sockets, as
    production servers set it: runserver writes headers and body separately, and without it a
    kept-alive connection waits for the client's delayed ACK (~40 ms) on every response."""
    import socketserver

    socketserver.StreamRequestHandler.disable_nagle_algorithm = True
    sys.setswitchinterval(0.001)  # request threads get the GIL back from busy worker threads sooner
    os.environ["DJANGO_SETTINGS_MODULE"] = "procuresync.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("serve", addrport, worker_threads=threads)


POSTGRES = "postgres://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/13"


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--paid-samples", type=int, default=20)
    parser.add_argument("--acks", type=int, default=None, help="default: 10 seconds' worth at --rps")
    parser.add_argument("--rps", type=float, default=None, help="default: 200 (serve), 500 (gunicorn)")
    parser.add_argument("--server", choices=["serve", "gunicorn"], default="serve")
    parser.add_argument("--parts", default="import,paid,acks", help="which of import,paid,acks to run")
    parser.add_argument("--tracemalloc", action="store_true", help="also trace the import's Python allocations")
    parser.add_argument("--server-worker-threads", type=int, default=4,
                        help="serve: worker threads embedded in the web process that receives the webhooks")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn: processes (Procfile's default)")
    parser.add_argument("--web-threads", type=int, default=4, help="gunicorn: threads per process")
    parser.add_argument("--worker-threads", type=int, default=4, help="gunicorn: rundramatiq's threads")
    parser.add_argument("--postgres", default=POSTGRES, help="gunicorn: server for a throw-away database")
    parser.add_argument("--redis", default=REDIS, help="gunicorn: Redis for the broker (own namespace)")
    args = parser.parse_args()
    args.rps = args.rps or (500.0 if args.server == "gunicorn" else 200.0)
    args.acks = args.acks or int(args.rps * 10)
    args.parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    logging.getLogger("httpx").setLevel(logging.WARNING)

    scaled = ScaledOut(args) if args.server == "gunicorn" else None
    emulator = EmulatorProcess(limits=True)
    processes: list[subprocess.Popen[bytes]] = []
    worker: Any = None
    try:
        worker = setup_product(emulator)
        result = run(emulator, args, worker, processes)
        print(json.dumps(result, indent=2))
    finally:
        for process in processes:  # SIGTERM to each process we started, by its own id
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if worker is not None and not getattr(args, "worker_stopped", False):
            worker.stop()
        emulator.stop()
        if scaled is not None:
            scaled.drop()


class ScaledOut:
    """The production layout's backing services for one run: a new PostgreSQL database and a
    Redis namespace, set in this process's environment (inherited by gunicorn and rundramatiq)."""

    def __init__(self, args: argparse.Namespace) -> None:
        import psycopg

        self.admin_url = f"{args.postgres.rstrip('/')}/postgres"
        self.name = f"bench_payments_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.redis_url = args.redis
        self.namespace = f"bench-payments-{uuid.uuid4().hex[:12]}"
        os.environ.update({
            "DATABASE_URL": f"{args.postgres.rstrip('/')}/{self.name}",
            "DATABASE_CONN_MAX_AGE": "60",  # deploy/env.example's
            "DRAMATIQ_BROKER_URL": self.redis_url,
            "DRAMATIQ_NAMESPACE": self.namespace,
            "SECRET_KEY": f"bench-{uuid.uuid4().hex}{uuid.uuid4().hex}",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DEBUG": "0",
        })

    def drop(self) -> None:
        import psycopg
        import redis
        from django.db import connections

        connections.close_all()
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        client = redis.Redis.from_url(self.redis_url)
        keys = list(client.scan_iter(f"{self.namespace}*", count=1000))
        if keys:
            client.delete(*keys)


def run(
    emulator: EmulatorProcess, args: argparse.Namespace, worker: Any, processes: list[subprocess.Popen[bytes]]
) -> dict[str, Any]:
    from django.db import connection

    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement.inputs import SupplierData
    from procurement.services import supplier_create

    company = company_create(name="Bench Co")
    owner = user_create(company=company, username="bench-owner", password="quartz-ledger-walk", roles=set(Role))
    realm = connect(owner, emulator)
    supplier = supplier_create(actor=owner, data=SupplierData(name="Bench Supplier", currency="USD"))
    api = Api(emulator, realm)

    result: dict[str, Any] = {"server": args.server, "database": connection.vendor}
    if "import" in args.parts:
        result["import"] = bench_import(emulator, api, owner, supplier, args.payments, args.tracemalloc)
    if not args.parts & {"paid", "acks"}:
        return result
    if args.server == "gunicorn":
        worker.stop()  # from here on the webhooks' work is done by a rundramatiq process, as in production
        args.worker_stopped = True
        url = start_scaled_out(args, processes)
        result["web"] = {"gunicorn_workers": args.web_workers, "gunicorn_threads": args.web_threads,
                         "rundramatiq_threads": args.worker_threads}
    else:
        server, url = start_server(emulator, args.server_worker_threads)
        processes.append(server)
        result["server_worker_threads"] = args.server_worker_threads
    if "paid" in args.parts:
        result["payment_to_paid_s"] = bench_paid_latency(emulator, api, owner, supplier, url, args.paid_samples)
    if "acks" in args.parts:
        result["webhook_ack_ms"] = bench_acks(emulator, api, url, args.acks, args.rps)
    return result


class Api:
    """The emulator's v3 API with a bearer of its own (for seeding, not counted)."""

    def __init__(self, emulator: EmulatorProcess, realm: str) -> None:
        self.realm = realm
        token = emulator.control("POST", f"/companies/{realm}/tokens")["access_token"]
        self.http = httpx.Client(base_url=f"{emulator.base_url}/v3/company/{realm}", timeout=120,
                                 headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})

    def query_all(self, entity: str, where: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        start = 1
        while True:
            for _attempt in range(30):
                response = self.http.get("/query", params={
                    "query": f"SELECT * FROM {entity} WHERE {where} STARTPOSITION {start} MAXRESULTS 1000"})
                if response.status_code != 429:
                    break
                time.sleep(2)
            page = response.json()["QueryResponse"].get(entity, [])
            rows += page
            if len(page) < 1000:
                return rows
            start += 1000


def seed_invoices(owner: Any, supplier: Any, realm: str, bills: list[dict[str, Any]]) -> list[int]:
    """Our side of bills already in QuickBooks: approved invoices and their DocumentSync rows, in bulk."""
    from django.db.models import Max

    from procurement.models import Document, DocumentKind, Status
    from quickbooks.models import DocumentSync, SyncStatus

    first = (Document.objects.filter(company_id=owner.tenant_id).aggregate(m=Max("sequence"))["m"] or 0) + 1
    documents = [Document(
        company_id=owner.tenant_id, kind=DocumentKind.INVOICE, sequence=first + i, number=f"INV-B{first + i}",
        supplier=supplier, status=Status.APPROVED, issue_date=dt.date.fromisoformat(bill["TxnDate"]),
        currency="USD", supplier_unique_code=bill.get("DocNumber") or f"B{bill['Id']}",
        subtotal=Decimal(str(bill["TotalAmt"])), total=Decimal(str(bill["TotalAmt"])), created_by=owner,
    ) for i, bill in enumerate(bills)]
    Document.objects.bulk_create(documents, batch_size=1000)
    ids = dict(Document.objects.filter(company_id=owner.tenant_id, sequence__gte=first).values_list("number", "pk"))
    syncs = [DocumentSync(
        document_id=ids[f"INV-B{first + i}"], company_id=owner.tenant_id, status=SyncStatus.SENT, realm_id=realm,
        qbo_entity="Bill", qbo_id=bill["Id"], sync_token=bill["SyncToken"],
    ) for i, bill in enumerate(bills)]
    DocumentSync.objects.bulk_create(syncs, batch_size=1000)
    return [ids[f"INV-B{first + i}"] for i in range(len(bills))]


def bench_import(
    emulator: EmulatorProcess, api: Api, owner: Any, supplier: Any, count: int, trace: bool
) -> dict[str, Any]:
    from payments.models import Payment
    from procurement.models import Document, Status
    from quickbooks.inbound.models import PaymentImportRun
    from quickbooks.inbound.payments_import import import_start

    today = dt.date.today()
    start = today - dt.timedelta(days=30)
    loaded = emulator.control("POST", f"/companies/{api.realm}/bulk",
                              json={"bills": count, "pay_ratio": 1.0, "start": start.isoformat(), "days": 28})
    bills = api.query_all("Bill", "DocNumber LIKE 'BULK-%'")
    invoice_ids = seed_invoices(owner, supplier, api.realm, bills)
    del bills  # the seeding's own memory, not the import's
    gc.collect()
    emulator.control("DELETE", "/requests")
    before = realm_requests(emulator, api.realm)
    rss_before = reset_peak_rss()
    if trace:
        tracemalloc.start()
    started = time.monotonic()
    run = import_start(actor=owner, date_from=start - dt.timedelta(days=1), date_to=today)
    while time.monotonic() - started < 600:
        run.refresh_from_db()
        if run.finished:
            break
        time.sleep(0.05)
    seconds = time.monotonic() - started
    memory: dict[str, Any] = {"rss_at_start_mb": mb(rss_before), "rss_peak_mb": mb(proc_status("VmHWM")),
                              "rss_growth_mb": mb(proc_status("VmHWM") - rss_before)}
    if trace:
        memory["tracemalloc_peak_mb"] = mb(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    paid = Document.objects.filter(pk__in=invoice_ids, status=Status.PAID).count()
    return {
        "bill_payments_in_qbo": loaded["payments"],
        "seconds": round(seconds, 2),
        "api_calls": run.api_calls,
        "memory": memory,
        "emulator_requests": realm_requests(emulator, api.realm) - before,
        "state": run.state,
        "new": run.new, "known": run.known, "not_linked": run.unlinked,
        "invoices_paid": paid,
        "payments_here": Payment.objects.count(),
        "error": run.error,
        "runs": PaymentImportRun.objects.count(),
    }


def proc_status(field: str) -> int:
    """A size from /proc/self/status (VmRSS, VmHWM), in bytes."""
    for line in open("/proc/self/status"):  # noqa: SIM115 - a short read of a virtual file
        if line.startswith(field + ":"):
            return int(line.split()[1]) * 1024
    return 0


def reset_peak_rss() -> int:
    """Reset the kernel's peak RSS (VmHWM) to the current RSS and return it."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    return proc_status("VmRSS")


def mb(size: int) -> float:
    return round(size / 2**20, 1)


def realm_requests(emulator: EmulatorProcess, realm: str) -> int:
    return int(emulator.control("GET", "/counters")["counters"].get(f"realm.{realm}.requests", 0))


def start_server(emulator: EmulatorProcess, threads: int) -> tuple[subprocess.Popen[bytes], str]:
    """The product's web process (embedded worker included), on the bench's database."""
    port = free_port()
    env = {**os.environ, "DEBUG": "0"}
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "payments.py"), "--serve", f"127.0.0.1:{port}", str(threads)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    return server, webhook_url_once_up(port, seconds=30)


def webhook_url_once_up(port: int, *, seconds: float) -> str:
    """The product's webhook URL on ``port``, once it answers (405 to a GET), within ``seconds``."""
    url = f"http://127.0.0.1:{port}/quickbooks/webhooks"
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 405:
                return url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the product's web server did not start")


def start_scaled_out(args: argparse.Namespace, processes: list[subprocess.Popen[bytes]]) -> str:
    """deploy/Procfile's web (gunicorn) and worker (rundramatiq) processes on the run's PostgreSQL
    database and Redis namespace; returns the webhook URL once gunicorn answers."""
    port = free_port()
    env = {**os.environ}
    python = Path(sys.executable)
    processes.append(subprocess.Popen(
        [str(python.with_name("gunicorn")), "procuresync.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.web_workers), "--threads", str(args.web_threads), "--access-logfile", "-"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ))
    processes.append(subprocess.Popen(
        [sys.executable, "manage.py", "rundramatiq", "--processes", "1", "--threads", str(args.worker_threads)],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    ))
    return webhook_url_once_up(port, seconds=60)


def bench_paid_latency(
    emulator: EmulatorProcess, api: Api, owner: Any, supplier: Any, url: str, samples: int
) -> dict[str, Any]:
    from procurement.models import Document, Status

    emulator.control("PUT", "/webhooks", json={"url": url, "format": "cloudevents"})
    vendor = api.http.get("/query", params={"query": "SELECT * FROM Vendor MAXRESULTS 1"}).json()
    vendor_id = vendor["QueryResponse"]["Vendor"][0]["Id"]
    bills = [emulator.control("POST", f"/companies/{api.realm}/bills",
                              json={"vendor_id": vendor_id, "amount": "42.00", "doc_number": f"LAT-{i}"})["Bill"]
             for i in range(samples)]
    invoice_ids = seed_invoices(owner, supplier, api.realm, bills)
    latencies: list[float] = []
    for bill, invoice_id in zip(bills, invoice_ids, strict=True):
        started = time.monotonic()
        emulator.control("POST", f"/companies/{api.realm}/bill-payments", json={"bills": [{"bill_id": bill["Id"]}]})
        while time.monotonic() - started < 30:
            if Document.objects.filter(pk=invoice_id, status=Status.PAID).exists():
                break
            time.sleep(0.01)
        latencies.append(time.monotonic() - started)
    emulator.control("PUT", "/webhooks", json={"url": ""})
    return {"p50": round(statistics.median(latencies), 3), "p99": round(percentile(latencies, 99), 3),
            "max": round(max(latencies), 3), "n": len(latencies)}


def bench_acks(emulator: EmulatorProcess, api: Api, url: str, count: int, rps: float) -> dict[str, Any]:
    """Open loop: request i is sent at t0 + i/rps whatever the previous answers did."""
    token = emulator.credentials["verifier_token"]
    payment_ids = [bp["Id"] for bp in api.query_all("BillPayment", "TxnDate >= '2000-01-01'")[:count]]
    if not payment_ids:  # the events name payments QuickBooks holds; the import part makes them
        raise SystemExit("The acks part needs bill payments in QuickBooks: run it with --parts import,acks.")
    bodies = []
    for i in range(count):
        event = [{"specversion": "1.0", "id": str(uuid.uuid4()), "source": "intuit.bench",
                  "type": "qbo.billpayment.updated.v1", "datacontenttype": "application/json",
                  "time": dt.datetime.now(dt.UTC).isoformat(), "intuitentityid": payment_ids[i % len(payment_ids)],
                  "intuitaccountid": api.realm, "data": {}}]
        body = json.dumps(event).encode()
        signature = base64.b64encode(hmac.new(token.encode(), body, hashlib.sha256).digest()).decode()
        bodies.append((body, signature))
    latencies: list[float] = [0.0] * count
    statuses: list[int] = [0] * count
    threads = max(16, int(rps // 8))  # enough that a slow answer does not hold back the next sends
    t0 = time.monotonic() + 0.5

    def client(offset: int) -> None:
        with httpx.Client(timeout=10) as http:
            for i in range(offset, count, threads):
                wait = t0 + i / rps - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                body, signature = bodies[i]
                sent = time.monotonic()
                response = http.post(url, content=body, headers={
                    "content-type": "application/cloudevents+json", "intuit-signature": signature})
                latencies[i] = (time.monotonic() - sent) * 1000
                statuses[i] = response.status_code

    workers = [threading.Thread(target=client, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    elapsed = time.monotonic() - t0
    return {"requests": count, "target_rps": rps, "achieved_rps": round(count / elapsed, 1),
            "p50": round(percentile(latencies, 50), 2), "p99": round(percentile(latencies, 99), 2),
            "max": round(max(latencies), 2), "non_200": sum(1 for s in statuses if s != 200),
            "events_after_processing": processed_events()}


def processed_events(timeout: float = 60) -> dict[str, int]:
    """What the worker made of the stored events (QBO's 500 requests a minute throttle some reads;
    those are 'failed' and left to the catch-up)."""
    from django.db.models import Count

    from quickbooks.inbound.models import EventState, WebhookEvent

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        open_ = WebhookEvent.objects.filter(state__in=[EventState.PENDING, EventState.PROCESSING]).count()
        if not open_:
            break
        time.sleep(0.5)
    return dict(WebhookEvent.objects.values_list("state").annotate(n=Count("pk")).values_list("state", "n"))


if __name__ == "__main__":
    main()
