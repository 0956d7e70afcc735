"""Supplier credit notes in QuickBooks: sent as VendorCredits on approval, revised and removed like
bills; applied to a bill in QuickBooks, the invoice's Supplier Credit payment points at the credit
note, which shows Applied or Partly Applied."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounts.models import User
from payments.models import Method, Payment, PaymentStatus
from procurement import workflow
from procurement.models import Document, Status, Supplier
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from quickbooks.models import SyncStatus
from quickbooks.reconciliation import DifferenceKind
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_export import approve
from tests.quickbooks.test_payments_in import bill_id, catch_up, exported_invoice, pay
from tests.quickbooks.test_reconciliation import check

A = workflow.DocumentAction
D = Decimal


def credit_note(creator: User, approver: User, supplier: Supplier, amount: str, **kwargs: Any) -> Document:
    data = invoice_data(
        supplier, line("Returned paper", "1", amount), code=kwargs.pop("code", "CN-1"), due_date=None, **kwargs
    )
    note = approve(creator, approver, document_create(actor=creator, kind="credit_note", data=data))
    settle()
    note.refresh_from_db()
    return note


def vendor_credit(qbo: Qbo, note: Document) -> dict[str, Any]:
    held: dict[str, Any] = qbo.api("GET", f"vendorcredit/{sync_of(note).qbo_id}")["VendorCredit"]
    return held


def test_given_an_approved_credit_note_then_quickbooks_holds_a_vendor_credit_numbered_with_the_supplier_code(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    note = credit_note(creator, approver, supplier, "40.00", code="RMA-17")

    sync = sync_of(note)
    assert (sync.status, sync.qbo_entity) == (SyncStatus.SENT, "VendorCredit"), sync.error_message
    held = vendor_credit(qbo, note)
    assert held["DocNumber"] == "RMA-17"
    assert held["PrivateNote"] == f"procuresync credit note {note.number}"
    assert D(str(held["TotalAmt"])) == note.total == D("40.00")


def test_given_a_credit_note_revised_and_cancelled_then_quickbooks_follows(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    note = credit_note(creator, approver, supplier, "40.00")
    document_transition(actor=approver, document=note, action=A.REVISE)
    data = document_data_from(note)
    data.lines[0].unit_price = D("55.00")
    document_update(actor=creator, document=note, data=data)
    approve(creator, approver, note)
    settle()
    assert D(str(vendor_credit(qbo, note)["TotalAmt"])) == D("55.00")

    document_transition(actor=creator, document=note, action=A.CANCEL)
    settle()

    assert sync_of(note).deleted_in_qbo
    assert qbo.query(f"SELECT * FROM VendorCredit WHERE Id = '{sync_of(note).qbo_id}'") == {}


def test_given_a_credit_note_applied_in_quickbooks_then_the_invoice_payment_points_at_it_and_it_shows_applied(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    invoice = exported_invoice(creator, approver, supplier)  # 50.00
    note = credit_note(creator, approver, supplier, "30.00", credited_invoice_id=invoice.pk)
    pay(qbo, (invoice, "20.00"), vendor_credits=[{"vendor_credit_id": sync_of(note).qbo_id, "amount": 20.0}])

    catch_up(qbo)

    credit = Payment.objects.get(invoice=invoice, method=Method.SUPPLIER_CREDIT, status=PaymentStatus.ACTIVE)
    assert (credit.amount, credit.credit_note_id) == (D("20.00"), note.pk)
    note.refresh_from_db()
    assert note.status == Status.PARTLY_APPLIED

    rest = exported_invoice(creator, approver, supplier, code="SUP-2002")
    pay(qbo, (rest, "10.00"), vendor_credits=[{"vendor_credit_id": sync_of(note).qbo_id, "amount": 10.0}])
    catch_up(qbo)

    note.refresh_from_db()
    assert note.status == Status.APPLIED
    assert bill_id(rest)


def test_given_credit_notes_sent_when_reconciled_then_a_vendor_credit_deleted_in_quickbooks_is_found(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    kept = credit_note(creator, approver, supplier, "12.00", code="CN-KEPT")
    gone = credit_note(creator, approver, supplier, "15.00", code="CN-GONE")
    held = vendor_credit(qbo, gone)
    qbo.api(
        "POST", "vendorcredit", params={"operation": "delete"}, json={"Id": held["Id"], "SyncToken": held["SyncToken"]}
    )

    report = check(qbo)

    assert report.documents_checked == 2
    assert [(d.number, d.kind) for d in report.differences] == [(gone.number, DifferenceKind.DELETED)]
    assert kept.number not in " ".join(d.message for d in report.differences)
