"""Vendors, attachments, bulk retries through /batch, and QBO refusals the user must resolve."""

import datetime as dt

from django.core.files.uploadedfile import SimpleUploadedFile

from procurement import workflow
from procurement.inputs import SupplierData
from procurement.services import (
    attachment_add,
    document_create,
    document_transition,
    document_update,
    supplier_create,
)
from procurement.validation import document_data_from
from quickbooks.client import quote
from quickbooks.export.services import documents_retry_failed
from quickbooks.models import SyncStatus, VendorLink
from tests.conftest import invoice_data, line, po_data
from tests.quickbooks.conftest import settle, sync_of

A = workflow.DocumentAction


def approve(creator, approver, document):
    document_transition(actor=creator, document=document, action=A.SUBMIT)
    return document_transition(actor=approver, document=document, action=A.APPROVE)


def test_given_a_supplier_whose_name_is_already_a_qbo_vendor_then_it_is_linked_not_duplicated(qbo, creator, approver):
    existing = qbo.query("SELECT * FROM Vendor MAXRESULTS 1")["Vendor"][0]
    supplier = supplier_create(actor=creator, data=SupplierData(name=existing["DisplayName"].upper(), currency="USD"))
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    assert qbo.bill(sync_of(invoice).qbo_id)["VendorRef"]["value"] == existing["Id"]
    vendors = qbo.query(f"SELECT COUNT(*) FROM Vendor WHERE DisplayName = {quote(existing['DisplayName'])}")
    assert vendors["totalCount"] == 1
    assert VendorLink.objects.get(supplier=supplier).how == "name"


def test_given_a_new_supplier_then_a_vendor_is_created_once_for_all_its_invoices(qbo, creator, approver):
    supplier = supplier_create(actor=creator, data=SupplierData(name="Brand New Supplies", currency="USD"))
    for code in ("N-1", "N-2"):
        approve(
            creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code))
        )
    settle()
    assert qbo.query("SELECT COUNT(*) FROM Vendor WHERE DisplayName = 'Brand New Supplies'")["totalCount"] == 1
    # The two invoices may go out at once; the loser of that race links the vendor the winner made.
    assert VendorLink.objects.get(supplier=supplier).how in {"created", "name"}
    assert {sync_of(d).status for d in supplier.documents.all()} == {SyncStatus.SENT}


def test_given_attachments_then_pdfs_reach_qbo_and_zip_or_heic_do_not(qbo, creator, approver, supplier):
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier))
    for name, kind in (
        ("invoice.pdf", "application/pdf"),
        ("photos.zip", "application/zip"),
        ("receipt.heic", "image/heic"),
    ):
        attachment_add(actor=creator, document=invoice, upload=SimpleUploadedFile(name, b"%PDF-1.4 test", kind))
    approve(creator, approver, invoice)
    settle()
    qbo_id = sync_of(invoice).qbo_id
    found = qbo.query(f"SELECT * FROM Attachable WHERE AttachableRef.EntityRef.value = '{qbo_id}'").get(
        "Attachable", []
    )
    assert [a["FileName"] for a in found] == ["invoice.pdf"]
    assert invoice.attachments.exclude(qbo_attachable_id="").count() == 1


def test_given_many_failed_invoices_when_retrying_all_then_they_go_through_batch_requests_once_each(
    qbo, creator, approver, admin, supplier
):
    qbo.close_books(dt.date(2026, 12, 31))
    invoices = [
        approve(
            creator,
            approver,
            document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=f"B-{i}")),
        )
        for i in range(12)
    ]
    settle()
    assert {sync_of(i).status for i in invoices} == {SyncStatus.FAILED}
    qbo.close_books(None)
    qbo.emulator.control("DELETE", "/requests")
    assert documents_retry_failed(actor=admin) == 12
    settle()
    assert {sync_of(i).status for i in invoices} == {SyncStatus.SENT}
    log = qbo.emulator.control("GET", "/requests", params={"realm": qbo.realm_id, "limit": 1000})["requests"]
    paths = [entry.get("path", "") for entry in log]
    assert any(p.endswith("/batch") for p in paths), paths
    assert sum(1 for p in paths if p.endswith("/bill")) < 12, "most creates went through /batch"
    assert qbo.query("SELECT COUNT(*) FROM Bill WHERE DocNumber LIKE 'B-%'")["totalCount"] == 12


def test_given_a_po_billed_in_qbo_then_its_revision_is_not_sent_and_the_user_is_told_why(
    qbo_settings, worker, admin, creator, approver, supplier
):
    from tests.quickbooks.conftest import _EMULATOR, connect

    _EMULATOR[:] = [qbo_settings]
    qbo = connect(admin, document_kind="purchase_order")
    po = approve(creator, approver, document_create(actor=creator, kind="purchase_order", data=po_data(supplier)))
    settle()
    po_id = sync_of(po).qbo_id
    vendor = qbo.api("GET", f"purchaseorder/{po_id}")["PurchaseOrder"]["VendorRef"]["value"]
    account = qbo.query("SELECT * FROM Account WHERE AccountType = 'Expense' MAXRESULTS 1")["Account"][0]["Id"]
    qbo.api(
        "POST",
        "bill",
        json={
            "VendorRef": {"value": vendor},
            "LinkedTxn": [{"TxnId": po_id, "TxnType": "PurchaseOrder"}],
            "Line": [
                {
                    "Amount": 50,
                    "DetailType": "AccountBasedExpenseLineDetail",
                    "AccountBasedExpenseLineDetail": {"AccountRef": {"value": account}},
                }
            ],
        },
    )
    document_transition(actor=creator, document=po, action=A.REVISE)
    data = document_data_from(po)
    data.lines = [line("More paper", "20", "5")]
    document_update(actor=creator, document=po, data=data)
    approve(creator, approver, po)
    settle()
    sync = sync_of(po)
    assert sync.status == SyncStatus.FAILED
    assert "bill(s) against purchase order" in sync.error_message
    assert float(qbo.api("GET", f"purchaseorder/{po_id}")["PurchaseOrder"]["TotalAmt"]) == 50.0


def test_given_a_payment_in_qbo_when_the_invoice_is_cancelled_then_the_user_sees_why_it_stays(
    qbo, creator, approver, supplier
):
    invoice = approve(creator, approver, document_create(actor=creator, kind="invoice", data=invoice_data(supplier)))
    settle()
    bill_id = sync_of(invoice).qbo_id
    qbo.control("POST", "/bill-payments", json={"pay_type": "Check", "bills": [{"bill_id": bill_id, "amount": "10"}]})
    document_transition(actor=creator, document=invoice, action=A.CANCEL)
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    assert "delete or void those there first" in sync.error_message
    assert qbo.bill(bill_id)["Id"] == bill_id
