"""A US company's tax is still folded into its lines; currencies QuickBooks cannot book are refused
before sending, each saying what to change; a bill made from an exported purchase order links its
lines to the order's lines, and QuickBooks closes the order once it is billed in full."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from accounts.models import User
from procurement.inputs import SupplierData
from procurement.models import Document, Supplier
from procurement.services import document_create, supplier_create
from quickbooks.models import Connection, SyncStatus
from quickbooks.services import connection_update_settings
from tests.conftest import invoice_data, line, po_data
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_export import approve

D = Decimal


def approved(creator: User, approver: User, kind: str, data: Any) -> Document:
    document = approve(creator, approver, document_create(actor=creator, kind=kind, data=data))
    settle()
    document.refresh_from_db()
    return document


def refused(qbo: Qbo, document: Document, doc_number: str) -> str:
    """The document failed without reaching QuickBooks; the message it shows."""
    sync = sync_of(document)
    assert sync.status == SyncStatus.FAILED
    assert qbo.query(f"SELECT * FROM Bill WHERE DocNumber = '{doc_number}'") == {}
    return sync.error_message


def multicurrency_on(qbo: Qbo) -> None:
    """A bookkeeper turns multicurrency on in QuickBooks; the product reads it with the closing date."""
    qbo.control("POST", "/multicurrency")
    Connection.objects.filter(pk=qbo.connection.pk).update(book_close_checked_at=None)


def test_given_a_us_company_when_an_invoice_has_tax_then_it_is_folded_into_the_lines_as_before(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    invoice = approved(
        creator, approver, "invoice", invoice_data(supplier, line("Paper", "3", "10", tax_rate=D("8.25")))
    )

    bill = qbo.bill(sync_of(invoice).qbo_id)

    assert bill["GlobalTaxCalculation"] == "NotApplicable"
    assert "TxnTaxDetail" not in bill or not bill["TxnTaxDetail"].get("TaxLine")
    assert [D(str(ln["Amount"])) for ln in bill["Line"]] == [D("32.48")] == [invoice.total]


def test_given_multicurrency_is_off_when_a_euro_invoice_is_approved_then_it_is_refused_with_what_to_change(
    qbo: Qbo, creator: User, approver: User
) -> None:
    euro = supplier_create(actor=creator, data=SupplierData(name="Papier GmbH", currency="EUR"))
    invoice = approved(creator, approver, "invoice", invoice_data(euro, exchange_rate=D("1.08"), code="EU-1"))

    message = refused(qbo, invoice, "EU-1")
    assert "is in EUR, but multicurrency is off in QuickBooks" in message
    assert "Turn on multicurrency" in message


def test_given_multicurrency_when_a_euro_invoice_is_approved_then_the_bill_has_its_currency_and_rate(
    qbo: Qbo, creator: User, approver: User
) -> None:
    multicurrency_on(qbo)
    euro = supplier_create(actor=creator, data=SupplierData(name="Papier GmbH", currency="EUR"))
    invoice = approved(creator, approver, "invoice", invoice_data(euro, exchange_rate=D("1.08"), code="EU-2"))

    sync = sync_of(invoice)
    assert sync.status == SyncStatus.SENT, sync.error_message
    bill = qbo.bill(sync.qbo_id)
    assert (bill["CurrencyRef"]["value"], D(str(bill["ExchangeRate"]))) == ("EUR", D("1.08"))


def test_given_a_dollar_vendor_when_a_euro_invoice_of_that_supplier_is_approved_then_it_is_refused_naming_the_vendor(
    qbo: Qbo, creator: User, approver: User
) -> None:
    multicurrency_on(qbo)
    # The bookkeeper already has this supplier in QuickBooks, as a vendor paid in dollars.
    qbo.api("POST", "vendor", json={"DisplayName": "Papier GmbH", "CurrencyRef": {"value": "USD"}})
    euro = supplier_create(actor=creator, data=SupplierData(name="Papier GmbH", currency="EUR"))

    invoice = approved(creator, approver, "invoice", invoice_data(euro, exchange_rate=D("1.08"), code="EU-3"))

    message = refused(qbo, invoice, "EU-3")
    assert "QuickBooks vendor “Papier GmbH”, whose currency is USD" in message
    assert "link the supplier to a EUR vendor" in message


def _sent_order(qbo: Qbo, creator: User, approver: User, admin: User, supplier: Supplier) -> Document:
    """A purchase order of two lines exported while the company sent orders; then it switches to invoices."""
    connection_update_settings(
        actor=admin,
        document_kind="purchase_order",
        auto_send=True,
        import_payments=True,
        default_ap_account_id=qbo.connection.default_ap_account_id,
        default_expense_account_id=qbo.connection.default_expense_account_id,
    )
    order = approved(
        creator, approver, "purchase_order", po_data(supplier, line("Chairs", "4", "50"), line("Desk", "1", "300"))
    )
    assert sync_of(order).status == SyncStatus.SENT, sync_of(order).error_message
    assert len(sync_of(order).line_ids) == 2
    connection_update_settings(
        actor=admin,
        document_kind="invoice",
        auto_send=True,
        import_payments=True,
        default_ap_account_id=qbo.connection.default_ap_account_id,
        default_expense_account_id=qbo.connection.default_expense_account_id,
    )
    return order


def test_given_an_exported_order_when_an_invoice_bills_all_its_lines_then_the_bill_links_each_line_and_the_order_closes(
    qbo: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    order = _sent_order(qbo, creator, approver, admin, supplier)
    data = invoice_data(
        supplier, line("Desk", "1", "300"), line("Chairs", "4", "50"), code="PO-BILL-1", purchase_order_id=order.pk
    )

    invoice = approved(creator, approver, "invoice", data)

    sync = sync_of(invoice)
    assert sync.status == SyncStatus.SENT, sync.error_message
    held_order = qbo.api("GET", f"purchaseorder/{sync_of(order).qbo_id}")["PurchaseOrder"]
    order_lines = {ln["Description"]: ln["Id"] for ln in held_order["Line"]}
    bill = qbo.bill(sync.qbo_id)
    links = [(ln["Description"], ln["LinkedTxn"][0]["TxnLineId"]) for ln in bill["Line"]]
    assert links == [("Desk", order_lines["Desk"]), ("Chairs", order_lines["Chairs"])]
    assert held_order["POStatus"] == "Closed"


def test_given_an_exported_order_when_an_invoice_bills_one_of_its_lines_then_the_order_stays_open(
    qbo: Qbo, creator: User, approver: User, admin: User, supplier: Supplier
) -> None:
    order = _sent_order(qbo, creator, approver, admin, supplier)
    data = invoice_data(supplier, line("Chairs", "4", "50"), code="PO-BILL-2", purchase_order_id=order.pk)

    invoice = approved(creator, approver, "invoice", data)

    assert sync_of(invoice).status == SyncStatus.SENT, sync_of(invoice).error_message
    held_order = qbo.api("GET", f"purchaseorder/{sync_of(order).qbo_id}")["PurchaseOrder"]
    assert held_order["POStatus"] == "Open"
