"""Payments from QuickBooks applied against the right state: under the invoice's lock, and only within
the company whose books they came from.

These feed BillPayments (as QuickBooks answers them) through ``quickbooks.inbound.feed.feed``, the
one entry point of the webhook, catch-up and import; no emulator is needed for that. The scenarios
with a live emulator are in tests/quickbooks/test_divergences_payments.py.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.models.query import QuerySet

from accounts.models import Company, User
from accounts.roles import Role
from payments.models import Payment, PaymentStatus
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, Status
from procurement.services import document_create, document_transition, supplier_create
from quickbooks.inbound.feed import feed
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, SyncStatus
from tests.conftest import invoice_data, line, make_user

D = Decimal
REALM = "9130350000000001"
A = workflow.DocumentAction


def connected(company: Company) -> Connection:
    return Connection.objects.create(
        company=company, realm_id=REALM, status=ConnectionStatus.CONNECTED, import_payments=True
    )


def exported(invoice: Document, bill: str) -> Document:
    """The invoice as the export engine leaves it once QuickBooks holds it as Bill ``bill``."""
    DocumentSync.objects.create(
        document=invoice,
        company_id=invoice.company_id,
        realm_id=REALM,
        qbo_entity="Bill",
        qbo_id=bill,
        status=SyncStatus.SENT,
    )
    return invoice


def bill_payment(txn: str, version: int, *paid: tuple[str, str]) -> dict[str, Any]:
    """A BillPayment as QuickBooks answers it: ``paid`` is (bill id, amount) per line."""
    return {
        "Id": txn,
        "SyncToken": str(version),
        "TxnDate": dt.date(2026, 11, 20).isoformat(),
        "PayType": "Check",
        "TotalAmt": float(sum(D(a) for _, a in paid)),
        "Line": [{"Amount": float(D(a)), "LinkedTxn": [{"TxnId": b, "TxnType": "Bill"}]} for b, a in paid],
    }


def status_of(invoice: Document) -> str:
    invoice.refresh_from_db()
    return invoice.status


# ---------------------------------------------------------------- scoped by company as well as realm


def test_given_two_companies_once_on_the_same_qbo_company_then_one_s_bill_payment_never_touches_the_other_s(
    company: Company, other_company: Company, approved_invoice: Document
) -> None:
    """One BillPayment (same realm, same txn id) pays a bill of each company; each company's feed
    sees only its own part and must leave the other company's payment alone."""
    globex = make_user(other_company, "globex", Role.CREATE, Role.APPROVE)
    globex_supplier = supplier_create(actor=globex, data=SupplierData(name="Paper Co", currency="USD"))
    theirs = document_create(
        actor=globex, kind="invoice", data=invoice_data(globex_supplier, line("Goods", "1", "50.00"), code="G-1")
    )
    document_transition(actor=globex, document=theirs, action=A.SUBMIT)
    document_transition(actor=globex, document=theirs, action=A.APPROVE)
    ours = exported(approved_invoice, bill="10")
    exported(theirs, bill="20")
    acme_books, globex_books = connected(company), connected(other_company)
    both = bill_payment("77", 0, ("10", "20.00"), ("20", "30.00"))

    feed(acme_books, [both], via="webhook")
    feed(globex_books, [both], via="webhook")  # Globex's feed knows only bill 20
    feed(acme_books, [{"Id": "77", "status": "Deleted", "domain": "QBO"}], via="webhook")  # gone from Acme's books

    mine = Payment.objects.get(company=company)
    other = Payment.objects.get(company=other_company)
    assert (mine.invoice_id, mine.status, mine.cancel_reason) == (
        ours.pk,
        PaymentStatus.CANCELLED,
        "Bill payment deleted in QuickBooks",
    )
    assert (other.invoice_id, other.amount, other.status) == (theirs.pk, D("30.00"), PaymentStatus.ACTIVE)
    assert (status_of(ours), status_of(theirs)) == (Status.APPROVED, Status.PARTLY_PAID)


# ---------------------------------------------------------------- lock the invoices, then read the payments


@pytest.fixture
def paid_in_qbo(company: Company, approved_invoice: Document) -> tuple[Connection, Document]:
    """Acme's 50.00 invoice, exported as bill 10, with 20.00 paid by bill payment 77 (SyncToken 1)."""
    books = connected(company)
    invoice = exported(approved_invoice, bill="10")
    feed(books, [bill_payment("77", 1, ("10", "20.00"))], via="webhook")
    assert status_of(invoice) == Status.PARTLY_PAID
    return books, invoice


def test_given_a_newer_payment_state_saved_while_waiting_for_the_invoice_lock_then_an_older_read_does_not_undo_it(
    paid_in_qbo: tuple[Connection, Document],
) -> None:
    """A webhook worker read SyncToken 2 (30.00); meanwhile the catch-up applied SyncToken 3 (10.00)
    and committed just before the webhook worker got the invoice's lock. SyncToken 2 must not win."""
    books, invoice = paid_in_qbo
    newer_applied: list[bool] = []

    def catch_up_commits_first(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        if not newer_applied and sql.lstrip().upper().startswith("SELECT") and '"procurement_document"' in sql:
            newer_applied.append(True)
            Payment.objects.filter(qbo_txn_id="77").update(amount=D("10.00"), qbo_version=3)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(catch_up_commits_first):
        feed(books, [bill_payment("77", 2, ("10", "30.00"))], via="webhook")

    assert newer_applied, "the invoice was locked"
    payment = Payment.objects.get(qbo_txn_id="77")
    assert (payment.amount, payment.qbo_version, payment.status) == (D("10.00"), 3, PaymentStatus.ACTIVE)
    assert status_of(invoice) == Status.PARTLY_PAID


def test_given_a_bill_payment_to_apply_then_its_existing_payments_are_read_after_the_invoices_are_locked(
    paid_in_qbo: tuple[Connection, Document],
) -> None:
    """The order of what the apply does: lock the invoices (SELECT ... FOR UPDATE on PostgreSQL;
    SQLite has no FOR UPDATE, so there the select_for_update call is recorded), then read the
    payments it decides with."""
    books, _invoice = paid_in_qbo
    log: list[tuple[str, str]] = []
    select_for_update = QuerySet.select_for_update

    def recording_lock(self: QuerySet[Any], *args: Any, **kwargs: Any) -> QuerySet[Any]:
        log.append(("lock", self.model._meta.label))
        return select_for_update(self, *args, **kwargs)

    def recording_sql(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        log.append(("sql", sql))
        return execute(sql, params, many, context)

    with mock.patch.object(QuerySet, "select_for_update", recording_lock), connection.execute_wrapper(recording_sql):
        feed(books, [bill_payment("77", 2, ("10", "30.00"))], via="webhook")

    asked = log.index(("lock", "procurement.Document"))
    locked = next(
        i for i, (what, sql) in enumerate(log) if i > asked and what == "sql" and 'FROM "procurement_document"' in sql
    )
    if connection.features.has_select_for_update:
        assert "FOR UPDATE" in log[locked][1]
    payment_reads = [
        i
        for i, (what, sql) in enumerate(log)
        if what == "sql" and 'FROM "payments_payment"' in sql and '"qbo_txn_id"' in sql and "SUM(" not in sql.upper()
    ]
    assert payment_reads, "the existing payments of the bill payment are read"
    assert payment_reads[-1] > locked, "the payments the apply decides with are read under the invoice lock"


def test_given_a_payment_moved_to_another_invoice_then_both_invoices_are_locked_and_follow(
    company: Company, approved_invoice: Document, creator: User, approver: User, supplier: Any
) -> None:
    """Bill payment 77 paid bill 10; its edit pays bill 20 instead. The first invoice is found only
    through its existing payment, and still goes back to Approved."""
    second = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, line("Goods", "1", "80.00"), code="SUP-2")
    )
    document_transition(actor=creator, document=second, action=A.SUBMIT)
    document_transition(actor=approver, document=second, action=A.APPROVE)
    books = connected(company)
    first, second = exported(approved_invoice, bill="10"), exported(second, bill="20")
    feed(books, [bill_payment("77", 1, ("10", "20.00"))], via="webhook")
    feed(books, [bill_payment("77", 2, ("20", "20.00"))], via="webhook")
    assert (status_of(first), status_of(second)) == (Status.APPROVED, Status.PARTLY_PAID)
