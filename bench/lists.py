"""How fast the documents list renders with 10,000 invoices (issue: "well under a second").

Builds a throw-away SQLite database (or uses DATABASE_URL if set), bulk-creates the invoices,
then renders list pages through Django's test client and prints JSON timings in milliseconds.

    .venv/bin/python bench/lists.py [--invoices 10000] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--invoices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    os.environ.setdefault("PROCURESYNC_VAR_DIR", tempfile.mkdtemp(prefix="procuresync-bench-"))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procuresync.settings")
    os.environ["DEBUG"] = "0"
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ALLOWED_HOSTS = ["testserver"]
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("migrate", verbosity=0)

    from accounts.roles import Role
    from accounts.services import company_create, user_create
    from procurement.models import Document, DocumentKind, Status, Supplier

    company = company_create(name=f"Bench {time.time_ns()}")
    user = user_create(company=company, username=f"bench{time.time_ns()}", password="bench-password", roles=set(Role))
    suppliers = Supplier.objects.bulk_create(
        Supplier(company=company, name=f"Supplier {i}", currency="USD") for i in range(50)
    )
    statuses = [Status.DRAFT, Status.PENDING, Status.APPROVED, Status.PAID, Status.PARTLY_PAID, Status.CANCELLED]
    started = time.perf_counter()
    Document.objects.bulk_create(
        (
            Document(
                company=company,
                kind=DocumentKind.INVOICE,
                sequence=i,
                number=f"INV-{i:05d}",
                supplier=suppliers[i % 50],
                status=statuses[i % len(statuses)],
                issue_date="2026-11-01",
                due_date="2026-12-01",
                currency="USD",
                supplier_unique_code=f"S-{i}",
                total=Decimal("123.45"),
                subtotal=Decimal("123.45"),
                created_by=user,
            )
            for i in range(1, args.invoices + 1)
        ),
        batch_size=2000,
    )
    seeded = time.perf_counter() - started

    client = Client()
    client.force_login(user)
    results: dict[str, object] = {"invoices": args.invoices, "seed_seconds": round(seeded, 2)}
    for label, url in {
        "first_page": "/invoices/",
        "status_filter": "/invoices/?status=approved",
        "search": "/invoices/?q=Supplier%207",
        "page_100": "/invoices/?page=100",
    }.items():
        timings = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            response = client.get(url)
            timings.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        results[label] = {
            "p50_ms": round(statistics.median(timings), 1),
            "max_ms": round(max(timings), 1),
            "queries": len(queries),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
