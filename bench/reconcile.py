"""Reconciliation cost: QuickBooks requests per 1,000 documents, and time, against the emulator.

1. N approved invoices (default 2,000) exported by the product; a share of them paid in QuickBooks
   and caught up; reconcile: no difference expected, requests and seconds measured;
2. drift made in QuickBooks (bills deleted and edited, payments recorded without the product
   catching up); reconcile again: the differences found by kind, requests and seconds.

    .venv/bin/python bench/reconcile.py [--invoices 2000] [--pay-ratio 0.5] [--latency-ms 0]

Prints JSON. Only 127.0.0.1 is used; every loop is bounded.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections import Counter
from decimal import Decimal

from harness import EmulatorProcess, bench_company, run_against_emulator


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=2000)
    parser.add_argument("--pay-ratio", type=float, default=0.5)
    parser.add_argument("--latency-ms", type=float, default=0)
    parser.add_argument("--timeout", type=float, default=1200, help="give up on the export after this")
    args = parser.parse_args()

    run_against_emulator(run, args, limits=False)


def run(emulator: EmulatorProcess, args: argparse.Namespace) -> dict[str, object]:
    from procurement import workflow
    from procurement.inputs import DocumentData, LineData
    from procurement.services import document_create, document_transition
    from quickbooks.connection import client_for
    from quickbooks.inbound.catchup import catch_up
    from quickbooks.models import Connection, DocumentSync, SyncStatus
    from quickbooks.reconciliation import reconcile

    owner, realm, suppliers = bench_company(emulator)
    for i in range(args.invoices):
        document = document_create(
            actor=owner,
            kind="invoice",
            data=DocumentData(
                supplier_id=suppliers[i % len(suppliers)].pk,
                issue_date=dt.date(2026, 11, 2),
                supplier_unique_code=f"REC-{i}",
                lines=[
                    LineData(description="Paper", quantity=Decimal("3"), unit_price=Decimal("19.99")),
                    LineData(description="Toner", quantity=Decimal("1"), unit_price=Decimal("89.50")),
                ],
            ),
        )
        document_transition(actor=owner, document=document, action=workflow.DocumentAction.SUBMIT)
        document_transition(actor=owner, document=document, action=workflow.DocumentAction.APPROVE)
    deadline = time.monotonic() + args.timeout
    while DocumentSync.objects.filter(company_id=owner.company_id, status=SyncStatus.QUEUED).exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the export did not finish in time")
        time.sleep(0.5)
    bills = list(
        DocumentSync.objects.filter(company_id=owner.company_id, status=SyncStatus.SENT)
        .order_by("document_id")
        .values_list("qbo_id", flat=True)
    )
    paid = bills[: int(len(bills) * args.pay_ratio)]
    for bill in paid:
        emulator.control("POST", f"/companies/{realm}/bill-payments", json={"bills": [{"bill_id": bill}]})
    connection = Connection.objects.get(company_id=owner.company_id)
    catch_up(connection)
    emulator.control("POST", "/faults", json={"latency_ms": args.latency_ms})

    def measure() -> dict[str, object]:
        connection.refresh_from_db()
        client = client_for(connection)
        started = time.perf_counter()
        report = reconcile(connection, client)
        return {
            "documents": report.documents_checked,
            "api_calls": report.api_calls,
            "calls_per_1000_documents": report.calls_per_thousand,
            "seconds": round(time.perf_counter() - started, 2),
            "differences": dict(Counter(d.kind.value for d in report.differences)),
        }

    clean = measure()
    # Drift: 1 % of the bills deleted, 1 % edited, 1 % of the unpaid ones paid without a catch-up.
    step = max(1, len(bills) // max(1, len(bills) // 100))
    unpaid = bills[len(paid) :]
    for bill in unpaid[0::step][: len(bills) // 100]:
        emulator.control("DELETE", f"/companies/{realm}/bills/{bill}")
    for bill in unpaid[1::step][: len(bills) // 100]:
        emulator.control("PATCH", f"/companies/{realm}/bills/{bill}", json={"amount": 1})
    for bill in unpaid[2::step][: len(bills) // 100]:
        emulator.control("POST", f"/companies/{realm}/bill-payments", json={"bills": [{"bill_id": bill}]})
    drifted = measure()
    return {
        "invoices": args.invoices,
        "bills_paid_in_qbo": len(paid),
        "latency_ms": args.latency_ms,
        "clean": clean,
        "after_drift": drifted,
    }


if __name__ == "__main__":
    main()
