"""Payments from QuickBooks against the emulator (QBO's limits on).

In one run:
1. date-range import of N bill payments (default 10,000) paying N of our invoices: seconds and
   QBO API calls (targets ≤ 20 s, ≤ 12 calls);
2. payment recorded in the emulator → invoice Paid here, through a signed webhook to the product
   served by ``manage.py serve`` in a subprocess (target p50 ≤ 1 s);
3. webhook acknowledgement latency at a steady 200 requests a second, signed CloudEvents bodies
   for real bill payments, measured by an open-loop client (target p99 ≤ 50 ms).

    .venv/bin/python bench/payments.py [--payments 10000] [--paid-samples 20] [--acks 2000] [--rps 200]

Prints JSON. Only 127.0.0.1 is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
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
import uuid
from decimal import Decimal
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


def main() -> None:
    if sys.argv[1:2] == ["--serve"]:
        serve(sys.argv[2], int(sys.argv[3]))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--paid-samples", type=int, default=20)
    parser.add_argument("--acks", type=int, default=2000)
    parser.add_argument("--rps", type=float, default=200)
    parser.add_argument("--server-worker-threads", type=int, default=4,
                        help="worker threads embedded in the web process that receives the webhooks")
    args = parser.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)

    emulator = EmulatorProcess(limits=True)
    worker = setup_product(emulator)
    server: subprocess.Popen[bytes] | None = None
    try:
        result, server = run(emulator, args)
        print(json.dumps(result, indent=2))
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
        worker.stop()
        emulator.stop()


def run(emulator: EmulatorProcess, args: argparse.Namespace) -> tuple[dict[str, Any], subprocess.Popen[bytes]]:
    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement.inputs import SupplierData
    from procurement.services import supplier_create

    company = company_create(name="Bench Co")
    owner = user_create(company=company, username="bench-owner", password="quartz-ledger-walk", roles=set(Role))
    realm = connect(owner, emulator)
    supplier = supplier_create(actor=owner, data=SupplierData(name="Bench Supplier", currency="USD"))
    api = Api(emulator, realm)

    imported = bench_import(emulator, api, owner, supplier, args.payments)
    server, url = start_server(emulator, args.server_worker_threads)
    paid = bench_paid_latency(emulator, api, owner, supplier, url, args.paid_samples)
    acks = bench_acks(emulator, api, url, args.acks, args.rps)
    return {"import": imported, "payment_to_paid_s": paid, "webhook_ack_ms": acks,
            "server_worker_threads": args.server_worker_threads}, server


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


def bench_import(emulator: EmulatorProcess, api: Api, owner: Any, supplier: Any, count: int) -> dict[str, Any]:
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
    emulator.control("DELETE", "/requests")
    before = realm_requests(emulator, api.realm)
    started = time.monotonic()
    run = import_start(actor=owner, date_from=start - dt.timedelta(days=1), date_to=today)
    while time.monotonic() - started < 300:
        run.refresh_from_db()
        if run.finished:
            break
        time.sleep(0.05)
    seconds = time.monotonic() - started
    paid = Document.objects.filter(pk__in=invoice_ids, status=Status.PAID).count()
    return {
        "bill_payments_in_qbo": loaded["payments"],
        "seconds": round(seconds, 2),
        "api_calls": run.api_calls,
        "emulator_requests": realm_requests(emulator, api.realm) - before,
        "state": run.state,
        "new": run.new, "known": run.known, "not_linked": run.unlinked,
        "invoices_paid": paid,
        "payments_here": Payment.objects.count(),
        "error": run.error,
        "runs": PaymentImportRun.objects.count(),
    }


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
    url = f"http://127.0.0.1:{port}/quickbooks/webhooks"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 405:
                return server, url
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the product's web server did not start")


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
    threads = 16
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
