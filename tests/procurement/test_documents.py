"""Business rules of purchase orders and invoices, as a finance user would state them."""

import datetime as dt
from decimal import Decimal

import pytest

from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentEvent, DocumentKind, EventKind, Status
from procurement.services import (
    custom_field_create,
    document_create,
    document_transition,
    document_update,
    numbering_set_prefix,
    supplier_create,
    supplier_update,
)
from procurement.validation import document_data_from
from procuresync.errors import TransitionNotAllowed, ValidationFailed
from tests.conftest import invoice_data, line, po_data

D = Decimal


def refused(fn, **kwargs) -> ValidationFailed:
    before = (Document.objects.count(), DocumentEvent.objects.count())
    with pytest.raises(ValidationFailed) as error:
        fn(**kwargs)
    assert (Document.objects.count(), DocumentEvent.objects.count()) == before, "a refusal must change nothing"
    return error.value


def test_given_two_invoices_then_they_are_numbered_in_sequence_per_company(creator, supplier, outsider):
    first = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="A1"))
    second = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="A2"))
    po = document_create(actor=creator, kind="purchase_order", data=po_data(supplier))
    assert (first.number, second.number, po.number) == ("INV-00001", "INV-00002", "PO-00001")


def test_given_a_custom_prefix_then_new_numbers_use_it(creator, admin, supplier):
    numbering_set_prefix(actor=admin, kind="purchase_order", prefix="ACME-PO-")
    po = document_create(actor=creator, kind="purchase_order", data=po_data(supplier))
    assert po.number == "ACME-PO-00001"


def test_given_a_line_and_document_discount_then_totals_follow_the_rounding_rule(creator, supplier):
    data = invoice_data(
        supplier,
        line("Chairs", "3", "19.99", discount_type="percent", discount_value=D("10")),
        line("Desk", "1", "250", discount_type="amount", discount_value=D("25")),
        discount_type="amount",
        discount_value=D("7.50"),
    )
    invoice = document_create(actor=creator, kind="invoice", data=data)
    assert invoice.subtotal == D("278.97")  # 53.97 + 225.00
    assert invoice.discount_total == D("7.50")
    assert invoice.total == D("271.47")
    assert sum(x.amount_after_document_discount for x in invoice.lines.all()) == invoice.total


@pytest.mark.parametrize(
    ("bad_line", "field", "message"),
    [
        (line(quantity="0"), "lines.0.quantity", "greater than zero"),
        (line(quantity="-1"), "lines.0.quantity", "greater than zero"),
        (line(quantity="1.00001"), "lines.0.quantity", "4 decimals"),
        (line(unit_price="-0.01"), "lines.0.unit_price", "cannot be negative"),
        (line(discount_type="amount", discount_value=D("50.01")), "lines.0.discount_value", "larger than"),
        (line(discount_type="percent", discount_value=D("101")), "lines.0.discount_value", "100%"),
        (line(description=" "), "lines.0.description", "Describe"),
        (line(tax_rate=D("-1")), "lines.0.tax_rate", "between 0 and 100"),
    ],
)
def test_given_a_bad_line_then_the_field_is_named_and_nothing_is_saved(creator, supplier, bad_line, field, message):
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(supplier, bad_line))
    assert message in error.fields[field][0]


def test_given_a_document_discount_larger_than_the_subtotal_then_it_is_refused(creator, supplier):
    data = invoice_data(supplier, discount_type="amount", discount_value=D("50.01"))
    assert (
        "larger than" in refused(document_create, actor=creator, kind="invoice", data=data).fields["discount_value"][0]
    )


def test_given_an_inactive_supplier_then_new_documents_are_refused(creator, supplier):
    supplier_update(
        actor=creator, supplier=supplier, data=SupplierData(name="Paper Co", currency="USD", is_active=False)
    )
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(supplier))
    assert "inactive" in error.fields["supplier"][0]


def test_given_another_companys_supplier_then_it_is_unknown(creator, outsider):
    theirs = supplier_create(actor=outsider, data=SupplierData(name="Theirs", currency="USD"))
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(theirs))
    assert error.fields["supplier"] == ["Choose one of your suppliers."]


def test_given_a_currency_other_than_the_suppliers_then_it_is_refused(creator, supplier):
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(supplier, currency="EUR"))
    assert "USD" in error.fields["currency"][0]


def test_given_a_foreign_currency_supplier_then_an_exchange_rate_is_required(creator):
    euro = supplier_create(actor=creator, data=SupplierData(name="Euro GmbH", currency="EUR"))
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(euro))
    assert "exchange rate" in error.fields["exchange_rate"][0]
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(euro, exchange_rate=D("1.08")))
    assert (invoice.currency, invoice.exchange_rate) == ("EUR", D("1.08"))


def test_given_a_supplier_unique_code_already_used_by_that_supplier_then_it_is_refused(creator, supplier):
    document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="SUP-9"))
    error = refused(document_create, actor=creator, kind="invoice", data=invoice_data(supplier, code="sup-9"))
    assert "already has invoice" in error.fields["supplier_unique_code"][0]


def test_given_the_same_code_from_another_supplier_then_it_is_accepted(creator, supplier):
    other = supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))
    document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code="SUP-9"))
    assert document_create(actor=creator, kind="invoice", data=invoice_data(other, code="SUP-9")).pk


def test_given_a_cancelled_invoice_then_its_code_can_be_used_again(creator, supplier, draft_invoice):
    document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.CANCEL)
    again = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, code=draft_invoice.supplier_unique_code)
    )
    assert again.status == Status.DRAFT


def test_given_an_invoice_without_a_supplier_unique_code_then_it_is_refused(creator, supplier):
    assert (
        "Supplier Unique Code"
        in refused(document_create, actor=creator, kind="invoice", data=invoice_data(supplier, code="")).fields[
            "supplier_unique_code"
        ][0]
    )


def test_given_a_due_date_before_the_issue_date_then_it_is_refused(creator, supplier):
    data = invoice_data(supplier, due_date=dt.date(2026, 1, 1))
    assert "due_date" in refused(document_create, actor=creator, kind="invoice", data=data).fields


def test_given_an_approved_po_then_an_invoice_may_reference_it(creator, approver, supplier, draft_po):
    error = refused(
        document_create, actor=creator, kind="invoice", data=invoice_data(supplier, purchase_order_id=draft_po.pk)
    )
    assert "not approved" in error.fields["purchase_order"][0]
    document_transition(actor=creator, document=draft_po, action=workflow.DocumentAction.SUBMIT)
    document_transition(actor=approver, document=draft_po, action=workflow.DocumentAction.APPROVE)
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, purchase_order_id=draft_po.pk))
    assert invoice.purchase_order == draft_po


def test_given_a_draft_when_lines_are_edited_then_totals_follow_and_the_edit_is_logged(creator, draft_invoice):
    data = document_data_from(draft_invoice)
    data.lines.append(line("Toner", "2", "30"))
    document = document_update(actor=creator, document=draft_invoice, data=data)
    assert document.total == D("110.00")
    event = document.events.latest("id")
    assert event.kind == EventKind.EDITED and "lines" in event.changes


def test_given_an_approved_invoice_when_only_notes_change_then_it_is_an_edit_without_revision(
    creator, approved_invoice
):
    data = document_data_from(approved_invoice)
    data.notes = "Delivered to the back door"
    document = document_update(actor=creator, document=approved_invoice, data=data)
    assert document.notes == "Delivered to the back door"
    event = document.events.latest("id")
    assert event.kind == EventKind.EDIT_WITHOUT_REVISION
    assert event.changes == {"notes": {"from": "", "to": "Delivered to the back door"}}


def test_given_an_approved_invoice_when_lines_change_then_a_revision_is_required(creator, approved_invoice):
    data = document_data_from(approved_invoice)
    data.lines[0].quantity = D("11")
    with pytest.raises(TransitionNotAllowed, match="revise it first"):
        document_update(actor=creator, document=approved_invoice, data=data)
    approved_invoice.refresh_from_db()
    assert approved_invoice.total == D("50.00")


def test_given_an_invoice_in_revision_then_lines_and_custom_fields_can_change(
    creator, admin, approver, approved_invoice
):
    location = custom_field_create(actor=admin, name="Location")
    document_transition(actor=creator, document=approved_invoice, action=workflow.DocumentAction.REVISE)
    data = document_data_from(approved_invoice)
    data.lines = [line("Different paper", "4", "12.50")]
    data.custom_values = {location.pk: "Berlin"}
    document = document_update(actor=creator, document=approved_invoice, data=data)
    assert document.total == D("50.00")
    assert document.custom_values.get().value == "Berlin"
    assert document.status == Status.IN_REVISION


def test_given_a_cancelled_invoice_then_it_cannot_be_edited(creator, draft_invoice):
    document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.CANCEL)
    data = document_data_from(draft_invoice)
    data.notes = "x"
    with pytest.raises(TransitionNotAllowed, match="no longer be edited"):
        document_update(actor=creator, document=draft_invoice, data=data)


def test_given_a_document_without_lines_then_it_cannot_be_submitted(creator, draft_invoice):
    draft_invoice.lines.all().delete()
    with pytest.raises(ValidationFailed, match="at least one line"):
        document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.SUBMIT)


def test_given_a_purchase_order_then_invoice_only_fields_are_not_kept(creator, supplier):
    po = document_create(
        actor=creator, kind=DocumentKind.PURCHASE_ORDER, data=po_data(supplier, supplier_unique_code="X")
    )
    assert po.supplier_unique_code == "" and po.due_date is None


def test_given_supplier_names_differing_only_in_case_then_the_second_is_refused(creator, supplier):
    with pytest.raises(ValidationFailed) as error:
        supplier_create(actor=creator, data=SupplierData(name="PAPER co", currency="USD"))
    assert "already exists" in error.value.fields["name"][0]


def test_given_a_bad_currency_then_the_supplier_is_refused(creator):
    with pytest.raises(ValidationFailed) as error:
        supplier_create(actor=creator, data=SupplierData(name="X", currency="dollars"))
    assert "currency" in error.value.fields
