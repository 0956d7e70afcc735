"""How fast the invoice, purchase-order and payment lists answer with 100,000 documents (issue 13).

Builds a throw-away database (a SQLite file, or, with DATABASE_URL=postgres://..., that database,
dropped and created again, and dropped at the end), bulk-creates one company's invoices, purchase
orders, their QuickBooks sync rows and payments, and asks for each list page (the HTML pages and
the REST endpoints) through Django's test client: first page, a deep page, the filters and searches
the pages offer. It measures once at ``--small`` documents and again at ``--documents`` and prints
JSON: p50 / p95 / max milliseconds and the query count per page, and whether the query count is
the same at both sizes.

    .venv/bin/python bench/lists.py [--documents 100000] [--small 1000] [--repeat 20] [--explain]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/procuresync_bench_lists .venv/bin/python bench/lists.py

``--explain`` prints the plan of every query slower than 5 ms to stderr (EXPLAIN ANALYZE on
PostgreSQL, EXPLAIN QUERY PLAN on SQLite).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import json
import math
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

SUPPLIERS = 500
CHUNK = 5_000
# Most invoices of a company that has run for a while are paid; the rest spread over the workflow.
INVOICE_STATUSES = ["paid"] * 6 + ["partly_paid", "approved", "pending", "draft", "cancelled", "rejected"]
PO_STATUSES = ["approved"] * 6 + ["pending", "draft", "cancelled", "rejected", "in_revision"]
FIRST_DAY = dt.date(2024, 1, 1)


def _database(action: str, url: str) -> None:
    """Create (dropping any leftover) or drop the PostgreSQL database DATABASE_URL names."""
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if action == "create":
            connection.execute(f'CREATE DATABASE "{name}"')


def _seed(company: Any, user: Any, suppliers: list[Any], start: int, stop: int, total: int) -> None:
    """Invoices and purchase orders ``start``..``stop - 1`` with their sync rows and payments."""
    from django.db import transaction

    from payments.models import Method, Payment, PaymentStatus, Source, Via
    from procurement.models import Document, DocumentKind
    from quickbooks.models import DocumentSync, SyncStatus

    methods = list(Method.values)
    for low in range(start, stop, CHUNK):
        high = min(low + CHUNK, stop)
        with transaction.atomic():
            docs = []
            for i in range(low, high):
                day = FIRST_DAY + dt.timedelta(days=i * 1000 // total)  # about three years
                supplier = suppliers[(i * 7919) % len(suppliers)]
                for kind, prefix, statuses in (
                    (DocumentKind.INVOICE, "INV", INVOICE_STATUSES),
                    (DocumentKind.PURCHASE_ORDER, "PO", PO_STATUSES),
                ):
                    docs.append(
                        Document(
                            company=company, kind=kind, sequence=i, number=f"{prefix}-{i:06d}", supplier=supplier,
                            status=statuses[i % len(statuses)], issue_date=day,
                            due_date=day + dt.timedelta(days=30) if kind == DocumentKind.INVOICE else None,
                            currency="USD", supplier_unique_code=f"S{i}" if kind == DocumentKind.INVOICE else "",
                            notes="Monthly order" if i % 10 == 0 else "", subtotal=Decimal("123.45"),
                            total=Decimal("123.45"), created_by=user,
                        )
                    )
            Document.objects.bulk_create(docs)
            created = list(
                Document.objects.filter(company=company, sequence__gte=low, sequence__lt=high)
                .values_list("pk", "kind", "status", "sequence", "supplier_id")
            )
            syncs, payments = [], []
            for pk, kind, status, sequence, _supplier in created:
                if status in ("approved", "paid", "partly_paid", "cancelled"):
                    failed = sequence % 50 == 0
                    syncs.append(
                        DocumentSync(
                            document_id=pk, company=company,
                            status=SyncStatus.FAILED if failed else SyncStatus.SENT,
                            realm_id="9130", qbo_entity="Bill" if kind == "invoice" else "PurchaseOrder",
                            qbo_id="" if failed else str(pk), error_message="Closed books" if failed else "",
                        )
                    )
                if kind == "invoice" and status in ("paid", "partly_paid"):
                    # About one payment per document (100,000 at 100,000): most paid invoices carry two.
                    for part in range(2 if sequence % 4 else 1):
                        from_qbo = sequence % 4 == 0
                        payments.append(
                            Payment(
                                company=company, invoice_id=pk, amount=Decimal("61.72"),
                                paid_on=FIRST_DAY + dt.timedelta(days=sequence * 1000 // total + 20 + part),
                                method=methods[sequence % len(methods)],
                                source=Source.QUICKBOOKS if from_qbo else Source.RECORDED_HERE,
                                via=Via.IMPORT if from_qbo else Via.RECORDED_HERE,
                                status=PaymentStatus.CANCELLED if sequence % 97 == 0 else PaymentStatus.ACTIVE,
                                reference=f"CHQ {sequence}-{part}", created_by=user,
                                qbo_realm_id="9130" if from_qbo else "", qbo_txn_id=f"{sequence}" if from_qbo else "",
                                qbo_line_key=f"bill-{part}" if from_qbo else "",
                            )
                        )
            DocumentSync.objects.bulk_create(syncs)
            Payment.objects.bulk_create(payments)


def _pages(documents: int, supplier_id: int) -> dict[str, str]:
    """What a user asks for: each list's first page, its last page, and its filters and searches."""
    last = max(1, math.ceil(documents / 50))
    middle = max(1, last // 2)
    api_last = max(1, math.ceil(documents / 50))
    return {
        "invoices.first_page": "/invoices/",
        "invoices.deep_page": f"/invoices/?page={last}",
        "invoices.status_approved": "/invoices/?status=approved",
        "invoices.status_paid_deep": f"/invoices/?status=paid&page={max(1, middle // 2)}",
        "invoices.sync_failed": "/invoices/?sync=failed",
        "invoices.sync_not_sent": "/invoices/?sync=not_sent",
        "invoices.search_supplier": "/invoices/?q=Supplier%20017",
        "invoices.search_number": "/invoices/?q=INV-000777",
        "invoices.search_none": "/invoices/?q=nothing-like-this",
        "pos.first_page": "/purchase-orders/",
        "pos.deep_page": f"/purchase-orders/?page={last}",
        "pos.status_pending": "/purchase-orders/?status=pending",
        "pos.search_supplier": "/purchase-orders/?q=Supplier%20017",
        "payments.first_page": "/payments/",
        "payments.deep_page": f"/payments/?page={middle}",
        # The first month: payments at both sizes, so the query counts compare like with like.
        "payments.date_range": f"/payments/?date_from={FIRST_DAY}&date_to={FIRST_DAY + dt.timedelta(days=30)}",
        "payments.supplier": f"/payments/?supplier={supplier_id}",
        "payments.method": "/payments/?method=card",
        "payments.cancelled": "/payments/?status=cancelled",
        "api.invoices.first_page": "/api/v1/invoices/",
        "api.invoices.deep_page": f"/api/v1/invoices/?page={api_last}",
        "api.invoices.supplier": f"/api/v1/invoices/?supplier={supplier_id}",
        "api.invoices.search": "/api/v1/invoices/?search=Supplier%20017",
        "api.pos.first_page": "/api/v1/purchase-orders/",
        "api.pos.status": "/api/v1/purchase-orders/?status=pending",
        "api.payments.first_page": "/api/v1/payments/",
        "api.payments.deep_page": f"/api/v1/payments/?page={middle}",
        "api.payments.supplier": f"/api/v1/payments/?supplier={supplier_id}",
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def _explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
        return "\n".join(" ".join(str(c) for c in row) for row in cursor.fetchall())


def _measure(client: Any, pages: dict[str, str], repeat: int, explain: bool) -> dict[str, dict[str, Any]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    results: dict[str, dict[str, Any]] = {}
    for label, url in pages.items():
        with CaptureQueriesContext(connection) as queries:  # also the warm-up
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        captured = list(queries.captured_queries)  # a view of the log, which the next request clears
        timings = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
        results[label] = {
            "url": url,
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(_percentile(timings, 0.95), 1),
            "max_ms": round(max(timings), 1),
            "queries": len(captured),
        }
        if explain:
            for query in captured:
                if float(query["time"]) > 0.005 and query["sql"].lstrip().upper().startswith("SELECT"):
                    print(f"--- {label}: {float(query['time']) * 1000:.1f} ms\n{query['sql']}", file=sys.stderr)
                    print(_explain(query["sql"]), file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=100_000, help="invoices, and as many purchase orders")
    parser.add_argument("--small", type=int, default=1_000, help="the size whose query counts must be the same")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()

    database_url = os.environ.get("DATABASE_URL", "")
    postgres = database_url.startswith(("postgres://", "postgresql://"))
    if postgres:
        _database("create", database_url)
    os.environ.setdefault("PROCURESYNC_VAR_DIR", tempfile.mkdtemp(prefix="procuresync-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procuresync.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    try:
        call_command("migrate", verbosity=0)
        from accounts.roles import Role
        from accounts.services import company_create, user_create
        from procurement.models import Supplier

        company = company_create(name="Bench lists")
        user = user_create(company=company, username="bench", password="bench-password", roles=set(Role))
        suppliers = Supplier.objects.bulk_create(
            Supplier(company=company, name=f"Supplier {i:03d}", currency="USD") for i in range(SUPPLIERS)
        )
        client = Client()
        client.force_login(user)

        def analyze() -> None:
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("VACUUM ANALYZE")

        started = time.perf_counter()
        _seed(company, user, suppliers, 1, args.small + 1, args.documents)
        analyze()
        small = _measure(client, _pages(args.small, suppliers[17].pk), max(3, args.repeat // 4), explain=False)
        _seed(company, user, suppliers, args.small + 1, args.documents + 1, args.documents)
        analyze()  # what autovacuum does after a bulk of inserts (and index-only scans need)
        seeded = time.perf_counter() - started
        # As the web process does once it has loaded (procuresync/wsgi.py): full collections leave
        # alone what is there by now, or each would scan the seeding's leftovers with the start-up heap.
        gc.freeze()
        large = _measure(client, _pages(args.documents, suppliers[17].pk), args.repeat, args.explain)

        from payments.models import Payment
        from procurement.models import Document

        for label, row in large.items():
            row["queries_at_small"] = small[label]["queries"]
            row["constant_queries"] = row["queries"] == small[label]["queries"]
        report = {
            "database": connection.vendor,
            "documents": {"invoices": args.documents, "purchase_orders": args.documents,
                          "all_rows": Document.objects.count(), "payments": Payment.objects.count()},
            "small": args.small,
            "repeat": args.repeat,
            "seed_seconds": round(seeded, 1),
            "worst_p95_ms": max(row["p95_ms"] for row in large.values()),
            "all_constant_queries": all(row["constant_queries"] for row in large.values()),
            "pages": large,
        }
        print(json.dumps(report, indent=2))
    finally:
        if postgres:
            connection.close()
            _database("drop", database_url)


if __name__ == "__main__":
    main()
