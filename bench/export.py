"""Export throughput and latency against the emulator with QBO's limits on and 150 ms per request.

In one run:
1. single approvals with nothing queued: approval → visible in QBO (target p50 ≤ 0.5 s);
2. bulk: N approved invoices (default 5,000) exported by the product — documents a minute per
   company (target ≥ 1,450: the batch lane's 38 requests of 30 a minute plus the single lane's
   requests, within QBO's 500 a minute less a reserve for reads), each lane's share, API calls per
   document, 429s QBO answered and documents that ended Failed (what users would see), p50/p99
   approval → visible;
3. a naive client beside it: one POST /bill per bill, in sequence, for a sample of bills.

    .venv/bin/python bench/export.py [--invoices 5000] [--naive 300] [--latency-ms 150]

Prints JSON. Only 127.0.0.1 is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import time
from decimal import Decimal

from harness import EmulatorProcess, bench_company, percentile, run_against_emulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=5000)
    parser.add_argument("--naive", type=int, default=300)
    parser.add_argument("--singles", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=150)
    parser.add_argument("--timeout", type=float, default=1200, help="give up on the bulk export after this")
    args = parser.parse_args()

    run_against_emulator(run, args, limits=True)


def run(emulator: EmulatorProcess, args: argparse.Namespace) -> dict[str, object]:
    from django.conf import settings
    from django.db.models import Count

    from procurement import workflow
    from procurement.inputs import DocumentData, LineData
    from procurement.models import Document, DocumentEvent
    from procurement.services import document_create, document_transition
    from quickbooks.models import DocumentSync, SyncAttempt, SyncStatus

    owner, realm, suppliers = bench_company(emulator)
    emulator.control("POST", "/faults", json={"latency_ms": args.latency_ms})

    def draft(i: int) -> Document:
        return document_create(actor=owner, kind="invoice", data=DocumentData(
            supplier_id=suppliers[i % len(suppliers)].pk, issue_date=dt.date(2026, 11, 2),
            supplier_unique_code=f"BENCH-{i}",
            lines=[LineData(description="Paper", quantity=Decimal("3"), unit_price=Decimal("19.99"),
                            discount_type="percent", discount_value=Decimal("5")),
                   LineData(description="Toner", quantity=Decimal("1"), unit_price=Decimal("89.50"))],
            discount_type="amount", discount_value=Decimal("1.50")))

    def approval_time(document: Document) -> dt.datetime:
        return DocumentEvent.objects.filter(document=document, action="approve").latest("id").created_at

    def wait_sent(documents: list[Document], timeout: float) -> float:
        started = time.monotonic()
        ids = [d.pk for d in documents]
        while time.monotonic() - started < timeout:
            open_ = DocumentSync.objects.filter(document_id__in=ids, status__in=[SyncStatus.QUEUED]).count()
            missing = len(ids) - DocumentSync.objects.filter(document_id__in=ids).count()
            if open_ == 0 and missing == 0:
                break
            time.sleep(0.05)
        return time.monotonic() - started

    # 1. Single approvals, nothing queued (vendors already linked by a warm-up approval each).
    A = workflow.DocumentAction
    warm = [draft(100_000 + i) for i in range(len(suppliers))]
    for document in warm:
        document_transition(actor=owner, document=document, action=A.SUBMIT)
        document_transition(actor=owner, document=document, action=A.APPROVE)
    wait_sent(warm, 120)
    singles = []
    for i in range(args.singles):
        document = draft(200_000 + i)
        document_transition(actor=owner, document=document, action=A.SUBMIT)
        document_transition(actor=owner, document=document, action=A.APPROVE)
        wait_sent([document], 30)
        sync = DocumentSync.objects.get(document=document)
        singles.append((sync.sent_at - approval_time(document)).total_seconds() if sync.sent_at else 30.0)

    # 2. Bulk: prepare N pending invoices, then approve them all and let the engine export.
    prepared_at = time.monotonic()
    bulk = [draft(i) for i in range(args.invoices)]
    for document in bulk:
        document_transition(actor=owner, document=document, action=A.SUBMIT)
    prepare_seconds = time.monotonic() - prepared_at
    emulator.control("DELETE", "/requests")
    counters_before = emulator.control("GET", "/counters")
    started = time.monotonic()
    for document in bulk:
        document_transition(actor=owner, document=document, action=A.APPROVE)
    approve_seconds = time.monotonic() - started
    waited = wait_sent(bulk, args.timeout)
    elapsed = time.monotonic() - started
    counters_after = emulator.control("GET", "/counters")
    syncs = DocumentSync.objects.filter(document__in=bulk).select_related("document")
    sent = [s for s in syncs if s.status == SyncStatus.SENT]
    latencies = [(s.sent_at - approval_time(s.document)).total_seconds() for s in sent[:: max(1, len(sent) // 500)]
                 if s.sent_at]
    first_sent = min((s.sent_at for s in sent if s.sent_at), default=None)
    last_sent = max((s.sent_at for s in sent if s.sent_at), default=None)
    export_window = (last_sent - first_sent).total_seconds() if first_sent and last_sent else elapsed
    attempts = SyncAttempt.objects.filter(document__in=bulk)
    throttled = attempts.filter(fault_code="3001").count()
    api_calls = sum(attempts.values_list("api_calls", flat=True))
    statuses = dict(syncs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    # How full the batch requests were: "create Bill (batch of N)" is recorded on each of its rows.
    sizes = [
        int(op.rsplit(" ", 1)[1].rstrip(")"))
        for op in attempts.filter(operation__contains="(batch of", api_calls=1).values_list("operation", flat=True)
    ]
    # Each lane's documents, from the attempts that created them.
    single_creates = attempts.filter(operation="create Bill", outcome="ok").count()
    batched = attempts.filter(operation__contains="(batch of", outcome="ok").count()

    # 3. The naive client: one POST per bill, in sequence, in a QBO company of its own so that it
    #    gets the full per-company budget as the product did.
    naive_realm = emulator.control("POST", "/companies", json={"name": "Naive Books", "seed": True})["realmId"]
    naive = naive_client(emulator, naive_realm, args.naive)

    per_minute = len(sent) / export_window * 60 if export_window else 0.0
    return {
        "latency_ms_per_request": args.latency_ms,
        "single_approval_to_visible_s": {
            "p50": round(statistics.median(singles), 3), "p99": round(percentile(singles, 99), 3), "n": len(singles)},
        "bulk": {
            "invoices": args.invoices,
            "sent": len(sent),
            "statuses": statuses,
            "prepare_seconds": round(prepare_seconds, 1),
            "approve_loop_seconds": round(approve_seconds, 1),
            "seconds_until_all_visible": round(elapsed, 1),
            "waited_seconds": round(waited, 1),
            "documents_per_minute": round(per_minute, 1),
            "share_of_1200_per_minute": round(per_minute / 1200, 3),
            "lanes": {
                "batch": {"documents": batched, "share": round(batched / max(1, len(sent)), 3),
                          "requests": len(sizes)},
                "single": {"documents": single_creates, "share": round(single_creates / max(1, len(sent)), 3),
                           "requests": single_creates},
                "read_reserve_per_minute": settings.QBO_READ_RESERVE_PER_MINUTE,
            },
            "api_calls_per_document": round(api_calls / max(1, len(sent)), 3),
            "batch_requests": len(sizes),
            "mean_batch_size": round(statistics.mean(sizes), 1) if sizes else 0,
            "batches_under_30": sum(1 for n in sizes if n < 30),
            "single_creates": single_creates,
            "emulator_requests_per_document": round(
                (realm_requests(counters_after, realm) - realm_requests(counters_before, realm)) / max(1, len(sent)),
                3,
            ),
            "qbo_429_answers_seen_by_the_engine": throttled,
            "emulator_throttled_total": counters_after["counters"].get("throttled", 0),
            "documents_failed_seen_by_users": statuses.get(SyncStatus.FAILED, 0),
            "approval_to_visible_s": {"p50": round(percentile(latencies, 50), 2),
                                      "p99": round(percentile(latencies, 99), 2)},
        },
        "naive_client": naive,
        "speedup_vs_naive": round(per_minute / naive["bills_per_minute"], 2) if naive["bills_per_minute"] else None,
    }


def realm_requests(counters: dict[str, dict[str, int]], realm: str) -> int:
    return int(counters["counters"].get(f"realm.{realm}.requests", 0))


def naive_client(emulator: EmulatorProcess, realm: str, count: int) -> dict[str, float]:
    """One POST /bill per bill, waiting for each answer, as a simple integration would."""
    import httpx

    token = emulator.control("POST", f"/companies/{realm}/tokens")["access_token"]
    api = f"{emulator.base_url}/v3/company/{realm}"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    with httpx.Client(headers=headers, timeout=60) as http:
        vendor = http.get(f"{api}/query", params={"query": "SELECT * FROM Vendor MAXRESULTS 1"}).json()
        vendor_id = vendor["QueryResponse"]["Vendor"][0]["Id"]
        account = http.get(f"{api}/query", params={
            "query": "SELECT * FROM Account WHERE AccountType = 'Expense' MAXRESULTS 1"}).json()
        account_id = account["QueryResponse"]["Account"][0]["Id"]
        throttled = 0
        started = time.monotonic()
        done = 0
        while done < count and time.monotonic() - started < 600:
            body = {"VendorRef": {"value": vendor_id}, "DocNumber": f"NAIVE-{done}", "Line": [{
                "Amount": 10, "DetailType": "AccountBasedExpenseLineDetail",
                "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account_id}}}]}
            response = http.post(f"{api}/bill", json=body)
            if response.status_code == 429:
                throttled += 1
                time.sleep(1)
                continue
            done += 1
        seconds = time.monotonic() - started
    return {"bills": done, "seconds": round(seconds, 1), "bills_per_minute": round(done / seconds * 60, 1),
            "throttled": throttled}


if __name__ == "__main__":
    main()
