"""Credit notes through their pages: the navigation, the list and its filter, the form with the
credited invoice, and the links between a credit note and the invoice it credits."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from payments.models import Method, Payment, Source, Via
from payments.services import credit_note_status_recompute
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import document_create, document_transition, supplier_create
from tests.conftest import credit_note_data

CN = DocumentKind.CREDIT_NOTE


@pytest.fixture
def other_supplier(creator: User) -> Supplier:
    return supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))


def _page(response: Any) -> str:
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_given_a_member_then_the_navigation_offers_credit_notes_next_to_invoices(client_for, creator: User) -> None:
    page = _page(client_for(creator).get("/invoices/"))
    assert page.index(">Invoices</a>") < page.index(">Credit notes</a>") < page.index(">Purchase orders</a>")


def test_given_the_credit_notes_list_then_its_status_filter_offers_applied_and_not_paid(
    client_for, creator: User, supplier: Supplier
) -> None:
    document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-LIST-1"))
    response = client_for(creator).get("/credit-notes/")
    page = _page(response)
    statuses = dict(response.context["statuses"])
    assert {"applied", "partly_applied"} <= set(statuses) and not {"paid", "partly_paid"} & set(statuses)
    assert "CR-LIST-1" in page and "Supplier Unique Code" in page and "Due date" not in page
    invoice_statuses = dict(client_for(creator).get("/invoices/").context["statuses"])
    assert "paid" in invoice_statuses and "applied" not in invoice_statuses


def test_given_the_form_when_a_credit_note_is_created_then_it_credits_the_chosen_invoice(
    client_for, creator: User, supplier: Supplier, approved_invoice: Document, form_body
) -> None:
    client = client_for(creator)
    # "New credit note" on the invoice's page: the supplier and the invoice are filled in.
    response = client.get(f"/credit-notes/new/?credits={approved_invoice.pk}")
    page, form = _page(response), response.context["editor"].form
    assert {"credited_invoice", "supplier_unique_code"} <= set(form.fields)
    assert not {"due_date", "purchase_order"} & set(form.fields)
    assert (form["supplier"].value(), form["credited_invoice"].value()) == (supplier.pk, approved_invoice.pk)
    assert "Credits invoice" in page and f'data-supplier="{supplier.pk}"' in page
    assert f'href="/credit-notes/new/?credits={approved_invoice.pk}"' in _page(
        client.get(f"/invoices/{approved_invoice.pk}/")
    )

    body = form_body(
        supplier.pk,
        [{"description": "Returned paper", "quantity": "4", "unit_price": "5.00"}],
        supplier_unique_code="CR-FORM-1",
        credited_invoice=str(approved_invoice.pk),
    )
    response = client.post("/credit-notes/new/", body, follow=True)

    note = Document.objects.get(kind=CN)
    assert response.redirect_chain[-1][0] == f"/credit-notes/{note.pk}/"
    assert (note.total, note.credited_invoice_id, note.due_date) == (Decimal("20.00"), approved_invoice.pk, None)
    page = _page(response)
    assert f"Credit note {note.number} created as a draft." in page
    assert f'href="/invoices/{approved_invoice.pk}/">{approved_invoice.number}</a>' in page
    assert "0.00 of 20.00 USD" in page
    invoice_page = _page(client.get(f"/invoices/{approved_invoice.pk}/"))
    assert f'href="/credit-notes/{note.pk}/">{note.number}</a>' in invoice_page


def test_given_the_form_when_another_suppliers_invoice_is_chosen_then_the_field_says_so(
    client_for, creator: User, other_supplier: Supplier, approved_invoice: Document, form_body
) -> None:
    body = form_body(
        other_supplier.pk,
        [{"description": "Returned ink", "quantity": "1", "unit_price": "5.00"}],
        supplier_unique_code="CR-FORM-2",
        credited_invoice=str(approved_invoice.pk),
    )
    response = client_for(creator).post("/credit-notes/new/", body)
    assert response.status_code == 200
    assert not Document.objects.filter(kind=CN).exists()
    assert response.context["editor"].form.errors["credited_invoice"] == [
        f"Invoice {approved_invoice.number} is from another supplier; a credit note credits an invoice of its own."
    ]


def test_given_a_credit_note_then_the_invoice_pages_do_not_reach_it(
    client_for, creator: User, supplier: Supplier
) -> None:
    note = document_create(actor=creator, kind=CN, data=credit_note_data(supplier))
    assert client_for(creator).get(f"/invoices/{note.pk}/").status_code == 404
    assert client_for(creator).get(f"/credit-notes/{note.pk}/").status_code == 200


def test_given_a_credit_note_applied_to_a_bill_then_both_pages_show_it_with_the_amount_applied(
    client_for, creator: User, approver: User, payer: User, supplier: Supplier, approved_invoice: Document
) -> None:
    note = document_create(actor=creator, kind=CN, data=credit_note_data(supplier))  # 50.00
    document_transition(actor=creator, document=note, action=workflow.DocumentAction.SUBMIT)
    document_transition(actor=approver, document=note, action=workflow.DocumentAction.APPROVE)
    Payment.objects.create(
        company_id=note.company_id,
        invoice=approved_invoice,
        credit_note=note,
        amount=Decimal("20.00"),
        paid_on=dt.date(2026, 11, 20),
        method=Method.SUPPLIER_CREDIT,
        source=Source.QUICKBOOKS,
        via=Via.WEBHOOK,
    )
    credit_note_status_recompute(note)

    note_page = _page(client_for(payer).get(f"/credit-notes/{note.pk}/"))
    invoice_page = _page(client_for(payer).get(f"/invoices/{approved_invoice.pk}/"))

    assert "Partly Applied" in note_page and "20.00 of 50.00 USD" in note_page
    assert "Applied to bills" in note_page and f'href="/invoices/{approved_invoice.pk}/"' in note_page
    assert f'Supplier Credit · <a href="/credit-notes/{note.pk}/">{note.number}</a>' in invoice_page
