"""The documents lists' search and QuickBooks-status filter find what the plain query finds.

The search looks the matching suppliers up first and lists their ids (issue 13: PostgreSQL uses its
indexes then), and the rare sync statuses are found from the sync rows; both must give the rows a
plain join gives, in the same order.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from procurement import selectors
from procurement.models import Document, DocumentKind, Status, Supplier
from quickbooks.models import DocumentSync, SyncStatus
from quickbooks.selectors import filter_by_sync

TERMS = ["acme", "ACME", "Beta", "n-0001", "N-0002", "code-7", "urgent", "me t", "zzz", "a", "%", "_", "50%"]


def _documents(creator: User, outsider: User) -> None:
    names = ["Acme Tools", "Beta Paper", "Gamma 50% Off", "Delta_Works"]
    suppliers = Supplier.objects.bulk_create(
        Supplier(company_id=creator.company_id, name=name, currency="USD") for name in names
    )
    # Another company's supplier of the same name: never a way into its documents, nor ours into its.
    Supplier.objects.create(company_id=outsider.company_id, name="Acme Tools", currency="USD")
    Document.objects.bulk_create(
        Document(
            company_id=creator.company_id,
            kind=kind,
            sequence=i,
            number=f"N-{i:04d}",
            supplier=suppliers[i % len(suppliers)],
            status=Status.APPROVED,
            issue_date=dt.date(2026, 11, 1),
            currency="USD",
            supplier_unique_code=f"CODE-{i}" if kind == DocumentKind.INVOICE else "",
            notes="Urgent: me too" if i % 5 == 0 else "",
            total=Decimal("1.00"),
            created_by=creator,
        )
        for kind in (DocumentKind.INVOICE, DocumentKind.PURCHASE_ORDER)
        for i in range(1, 25)
    )


def _plain(user: User, kind: str, term: str) -> list[int]:
    """The search as one join over the suppliers' names, as it was written before."""
    return list(
        Document.objects.filter(company_id=user.tenant_id, kind=kind)
        .filter(
            Q(number__icontains=term)
            | Q(supplier__name__icontains=term)
            | Q(supplier_unique_code__icontains=term)
            | Q(notes__icontains=term)
        )
        .order_by("-sequence")
        .values_list("pk", flat=True)
    )


@pytest.mark.parametrize("ids_max", [selectors.SUPPLIER_IDS_MAX, 1])  # 1: the subquery, for many suppliers
def test_given_documents_when_searched_then_the_rows_are_those_of_the_plain_join_in_the_same_order(
    creator: User, outsider: User, monkeypatch: pytest.MonkeyPatch, ids_max: int
) -> None:
    _documents(creator, outsider)
    monkeypatch.setattr(selectors, "SUPPLIER_IDS_MAX", ids_max)

    for kind in (DocumentKind.INVOICE, DocumentKind.PURCHASE_ORDER):
        for term in TERMS:
            found = [doc.pk for doc in selectors.document_list(user=creator, kind=kind, search=term)]
            assert found == _plain(creator, kind, term), (kind, term)
    assert selectors.document_list(user=creator, kind=DocumentKind.INVOICE, search="acme").count() == 6
    assert not selectors.document_list(user=outsider, kind=DocumentKind.INVOICE, search="acme").exists()


def test_given_sync_rows_when_filtered_by_each_status_then_the_rows_are_those_of_their_sync_status(
    creator: User, outsider: User
) -> None:
    _documents(creator, outsider)
    statuses = list(SyncStatus.values)
    documents = list(Document.objects.filter(company_id=creator.company_id))
    # Every seventh has no sync row at all (it reads as "Not sent"), the others one of each status.
    DocumentSync.objects.bulk_create(
        DocumentSync(document=doc, company_id=creator.company_id, status=statuses[doc.sequence % len(statuses)])
        for doc in documents
        if doc.sequence % 7
    )

    for kind in (DocumentKind.INVOICE, DocumentKind.PURCHASE_ORDER):
        listed = selectors.document_list(user=creator, kind=kind)
        for status in statuses:
            expected = [
                doc.pk
                for doc in sorted(documents, key=lambda d: -d.sequence)
                if doc.kind == kind
                and (statuses[doc.sequence % len(statuses)] if doc.sequence % 7 else SyncStatus.NOT_SENT) == status
            ]
            found = filter_by_sync(listed, status, company_id=creator.tenant_id)
            assert [doc.pk for doc in found] == expected and found.count() == len(expected), (kind, status)
        # Another company's id finds none of ours.
        assert not filter_by_sync(listed, SyncStatus.FAILED, company_id=outsider.tenant_id).exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's indexes and table options")
def test_given_postgresql_when_not_sent_is_counted_then_its_sync_rows_can_come_from_their_partial_index(
    creator: User, outsider: User
) -> None:
    # bench/lists.py, 100,000 invoices: a parallel hash anti join read and hashed every sync row of
    # the table for the count (about 200 ms); documentsync_sent_idx merged with procurement's
    # document_kind_id_idx in id order takes a fraction of that. So the filter's condition on the
    # sync rows must stay one that PostgreSQL proves the index's condition from.
    _documents(creator, outsider)
    invoices = selectors.document_list(user=creator, kind=DocumentKind.INVOICE)
    listed = filter_by_sync(invoices, SyncStatus.NOT_SENT, company_id=creator.tenant_id)
    with CaptureQueriesContext(connection) as captured:
        listed.count()
    (count,) = [query["sql"] for query in captured.captured_queries if "COUNT(" in query["sql"]]
    condition = re.search(r'NOT \(U0\."status" = [^)]*\)', count)
    assert condition, count

    with connection.cursor() as cursor:
        # No other index of the table can serve a query without an indexed column in its WHERE.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_bitmapscan = off")
        cursor.execute(f'EXPLAIN SELECT U0."document_id" FROM "quickbooks_documentsync" U0 WHERE {condition[0]}')
        plan = "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute("SELECT reloptions FROM pg_class WHERE relname = 'procurement_document'")
        (options,) = cursor.fetchone()

    assert "using documentsync_sent_idx" in plan, plan
    # A parallel hash join is no choice of the planner's (procurement migration 0009).
    assert "parallel_workers=0" in (options or []), options
