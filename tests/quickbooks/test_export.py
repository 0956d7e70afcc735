"""The seed's rules, end to end against the emulator over HTTP: what QuickBooks holds afterwards."""

import datetime as dt
from decimal import Decimal

from procurement import workflow
from procurement.models import DocumentKind
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from quickbooks.models import SyncStatus
from tests.conftest import invoice_data, line, po_data
from tests.quickbooks.conftest import settle, sync_of

A = workflow.DocumentAction
D = Decimal


def approve(creator, approver, document):
    document_transition(actor=creator, document=document, action=A.SUBMIT)
    return document_transition(actor=approver, document=document, action=A.APPROVE)


def test_given_an_approved_invoice_then_qbo_holds_a_bill_numbered_with_the_supplier_code(
    qbo, creator, approver, supplier
):
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="NW-7731"))
    approve(creator, approver, invoice)
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.SENT, sync.error_message
    bill = qbo.bill(sync.qbo_id)
    assert bill["DocNumber"] == "NW-7731"
    assert invoice.number in bill["PrivateNote"]
    assert D(str(bill["TotalAmt"])) == invoice.total == D("50.00")
    assert bill["VendorRef"]["name"] == supplier.name
    assert [(ln["Description"], D(str(ln["Amount"]))) for ln in bill["Line"]] == [("A4 paper", D("50.00"))]


def test_given_line_and_document_discounts_then_the_bill_total_equals_ours_to_the_cent(
    qbo, creator, approver, supplier
):
    data = invoice_data(
        supplier,
        line("Chairs", "3", "19.99", discount_type="percent", discount_value=D("12.5")),
        line("Desk", "1", "250", discount_type="amount", discount_value=D("25")),
        line("Pens", "7", "1.3333"),
        discount_type="percent",
        discount_value=D("3.3"),
        code="DISC-1",
    )
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=data))
    settle()
    bill = qbo.bill(sync_of(invoice).qbo_id)
    assert D(str(bill["TotalAmt"])) == invoice.total
    assert sum(D(str(ln["Amount"])) for ln in bill["Line"]) == invoice.total


def test_given_a_revision_when_approved_again_then_qbo_has_the_new_lines_and_location(
    qbo, creator, approver, admin, supplier
):
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    first = qbo.bill(sync_of(invoice).qbo_id)
    document_transition(actor=creator, document=invoice, action=A.REVISE)
    data = document_data_from(invoice)
    data.lines = [line("Toner", "2", "80.00"), line("Staples", "10", "1.25")]
    document_update(actor=creator, document=invoice, data=data)
    approve(creator, approver, invoice)
    settle()
    sync = sync_of(invoice)
    bill = qbo.bill(sync.qbo_id)
    assert sync.status == SyncStatus.SENT
    assert bill["Id"] == first["Id"], "a revision updates the same bill"
    assert [ln["Description"] for ln in bill["Line"]] == ["Toner", "Staples"]
    assert D(str(bill["TotalAmt"])) == D("172.50")
    assert int(bill["SyncToken"]) > int(first["SyncToken"])


def test_given_an_edit_without_revision_then_qbo_does_not_change(qbo, creator, approver, supplier):
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    before = qbo.bill(sync_of(invoice).qbo_id)
    data = document_data_from(invoice)
    data.notes = "Paid by the CFO's card — do not chase"
    document_update(actor=creator, document=invoice, data=data)
    settle()
    after = qbo.bill(sync_of(invoice).qbo_id)
    assert after["SyncToken"] == before["SyncToken"]
    assert "CFO" not in str(after)


def test_given_a_cancelled_invoice_then_its_bill_is_gone_from_qbo(qbo, creator, approver, supplier):
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    qbo_id = sync_of(invoice).qbo_id
    document_transition(actor=creator, document=invoice, action=A.CANCEL)
    settle()
    assert sync_of(invoice).deleted_in_qbo
    assert qbo.query(f"SELECT * FROM Bill WHERE Id = '{qbo_id}'") == {}


def test_given_an_edit_in_qbo_then_nothing_changes_here(qbo, creator, approver, supplier):
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    qbo.control("PATCH", f"/bills/{sync_of(invoice).qbo_id}", json={"PrivateNote": "edited by the bookkeeper"})
    invoice.refresh_from_db()
    assert invoice.total == D("50.00") and invoice.status == "approved"


def test_given_a_closed_period_then_the_invoice_is_not_sent_and_the_user_is_told_why(qbo, creator, approver, supplier):
    qbo.close_books(dt.date(2026, 11, 30))
    invoice = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, issue_date=dt.date(2026, 11, 20), code="OLD-1")
    )
    approve(creator, approver, invoice)
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    assert "20 Nov 2026" in sync.error_message and "30 Nov 2026" in sync.error_message
    assert "reopen the period" in sync.error_message
    assert qbo.query("SELECT * FROM Bill WHERE DocNumber = 'OLD-1'") == {}
    assert invoice.qbo_attempts.get().outcome == "failed"


def test_given_purchase_orders_are_chosen_then_pos_go_to_qbo_and_invoices_stay_internal(
    qbo_settings, worker, admin, creator, approver, supplier
):
    from tests.quickbooks.conftest import _EMULATOR, connect

    _EMULATOR[:] = [qbo_settings]
    qbo = connect(admin, document_kind=DocumentKind.PURCHASE_ORDER)
    po = approve(creator, approver, document_create(actor=creator, kind="purchase_order", data=po_data(supplier)))
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    po_sync = sync_of(po)
    assert po_sync.status == SyncStatus.SENT, po_sync.error_message
    purchase_order = qbo.api("GET", f"purchaseorder/{po_sync.qbo_id}")["PurchaseOrder"]
    assert purchase_order["DocNumber"] == po.number
    assert D(str(purchase_order["TotalAmt"])) == po.total
    assert sync_of(invoice).status == SyncStatus.INTERNAL


def test_given_the_books_close_after_our_check_then_qbos_own_fault_gives_the_same_message_and_no_retry(
    qbo, creator, approver, supplier
):
    # Our cached closing date says "open"; the accountant closes the books in QBO just now.
    invoice = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, issue_date=dt.date(2026, 11, 20), code="LATE-1")
    )
    qbo.control("PUT", "/closing-date", json={"date": "2026-11-25"})
    approve(creator, approver, invoice)
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    assert sync.error_code == "closed_period"
    assert "20 Nov 2026" in sync.error_message and "25 Nov 2026" in sync.error_message
    attempts = list(invoice.qbo_attempts.values_list("outcome", "fault_code"))
    assert attempts == [("failed", "6210")], "refused once by QBO, never retried blindly"
