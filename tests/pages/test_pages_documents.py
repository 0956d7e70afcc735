"""Invoices and purchase orders through their pages: lists, create and edit forms, workflow buttons."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from accounts.models import User
from procurement.models import Document, DocumentKind, EventKind, Status, Supplier
from procurement.services import document_create
from tests.conftest import invoice_data

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse  # the test client's response


def _text(response: TestResponse) -> str:
    return response.content.decode()


def test_given_a_creator_when_they_create_an_invoice_with_a_line_discount_then_the_total_is_right(
    client_for, creator: User, supplier: Supplier, form_body
) -> None:
    body = form_body(supplier.pk, [
        {"description": "A4 paper", "quantity": "10", "unit_price": "5.00", "discount_type": "percent",
         "discount_value": "10"},
        {"description": "Stapler", "quantity": "1", "unit_price": "20.00", "tax_rate": "10"},
    ])
    response = client_for(creator).post("/invoices/new/", body, follow=True)
    invoice = Document.objects.get(kind=DocumentKind.INVOICE)
    # 10 × 5.00 − 10% = 45.00; 20.00 + 10% tax = 22.00
    assert invoice.total == Decimal("67.00")
    assert invoice.status == Status.DRAFT
    assert response.redirect_chain[-1][0] == f"/invoices/{invoice.pk}/"
    page = _text(response)
    assert f"Invoice {invoice.number} created as a draft." in page
    assert "67.00 USD" in page and "45.00" in page


def test_given_a_bad_quantity_when_the_form_is_sent_then_the_message_is_next_to_the_field_and_nothing_is_saved(
    client_for, creator: User, supplier: Supplier, form_body
) -> None:
    body = form_body(supplier.pk, [{"description": "Toner cartridge", "quantity": "0", "unit_price": "80"}],
                     notes="Urgent")
    response = client_for(creator).post("/invoices/new/", body)
    assert response.status_code == 200
    assert not Document.objects.exists()
    line = response.context["editor"].lines.forms[0]
    assert line.errors["quantity"] == ["Quantity must be greater than zero."]
    page = _text(response)
    assert "Please correct the highlighted fields; nothing was saved." in page
    # What the user typed is still there.
    assert 'value="Toner cartridge"' in page and "Urgent" in page and 'value="SUP-9001"' in page


def test_given_a_missing_code_and_a_non_number_when_sent_then_each_field_says_what_is_wrong(
    client_for, creator: User, supplier: Supplier, form_body
) -> None:
    body = form_body(supplier.pk, [{"description": "Desk", "quantity": "1", "unit_price": "100"}],
                     supplier_unique_code="")
    response = client_for(creator).post("/invoices/new/", body)
    assert response.context["editor"].form.errors["supplier_unique_code"] == [
        "Enter the supplier's own invoice number (Supplier Unique Code)."
    ]
    body = form_body(supplier.pk, [{"description": "Desk", "quantity": "lots", "unit_price": "100"}])
    response = client_for(creator).post("/invoices/new/", body)
    assert "Enter a number." in response.context["editor"].lines.forms[0].errors["quantity"]
    assert not Document.objects.exists()


def test_given_a_draft_when_the_creator_removes_a_line_and_adds_another_then_the_total_follows(
    client_for, creator: User, draft_invoice: Document, form_body
) -> None:
    body = form_body(draft_invoice.supplier_id, [
        {"description": "A4 paper", "quantity": "10", "unit_price": "5.00", "DELETE": "on"},
        {"description": "Envelopes", "quantity": "3", "unit_price": "2.50"},
    ], initial_lines=1, supplier_unique_code=draft_invoice.supplier_unique_code)
    response = client_for(creator).post(f"/invoices/{draft_invoice.pk}/edit/", body)
    assert response.status_code == 302
    draft_invoice.refresh_from_db()
    assert draft_invoice.total == Decimal("7.50")
    assert [line.description for line in draft_invoice.lines.all()] == ["Envelopes"]
    assert draft_invoice.events.filter(kind=EventKind.EDITED).exists()


def test_given_the_edit_page_then_it_shows_the_document_as_it_is(client_for, creator, draft_invoice) -> None:
    page = _text(client_for(creator).get(f"/invoices/{draft_invoice.pk}/edit/"))
    assert 'value="A4 paper"' in page and 'value="SUP-1001"' in page
    assert 'id="line-template"' in page  # the empty row "Add line" copies


def test_given_a_draft_when_submitted_and_approved_by_buttons_then_it_is_approved(
    client_for, creator: User, approver: User, draft_invoice: Document
) -> None:
    client_for(creator).post(f"/invoices/{draft_invoice.pk}/submit/")
    response = client_for(approver).post(f"/invoices/{draft_invoice.pk}/approve/", follow=True)
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == Status.APPROVED
    assert f"Invoice {draft_invoice.number} approved." in _text(response)


def test_given_a_pending_invoice_when_rejected_without_a_reason_then_it_says_why_and_nothing_changes(
    client_for, approver: User, pending_invoice: Document
) -> None:
    response = client_for(approver).post(f"/invoices/{pending_invoice.pk}/reject/", {"comment": ""}, follow=True)
    assert "Say why the document is rejected." in _text(response)
    pending_invoice.refresh_from_db()
    assert pending_invoice.status == Status.PENDING


def test_given_a_pending_invoice_when_rejected_with_a_reason_then_the_history_shows_it(
    client_for, approver: User, pending_invoice: Document
) -> None:
    response = client_for(approver).post(
        f"/invoices/{pending_invoice.pk}/reject/", {"comment": "Wrong supplier"}, follow=True
    )
    pending_invoice.refresh_from_db()
    assert pending_invoice.status == Status.REJECTED
    page = _text(response)
    assert "Wrong supplier" in page and "Pending → Rejected" in page


def test_given_an_approved_invoice_when_revised_then_it_is_in_revision_and_editable(
    client_for, approver: User, creator: User, approved_invoice: Document
) -> None:
    client_for(approver).post(f"/invoices/{approved_invoice.pk}/revise/")
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.IN_REVISION
    assert approved_invoice.revision == 1
    page = _text(client_for(creator).get(f"/invoices/{approved_invoice.pk}/edit/"))
    assert "lines-TOTAL_FORMS" in page


def test_given_a_draft_when_cancelled_then_it_is_cancelled_and_offers_no_more_buttons(
    client_for, creator: User, draft_invoice: Document
) -> None:
    response = client_for(creator).post(f"/invoices/{draft_invoice.pk}/cancel/", follow=True)
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == Status.CANCELLED
    assert response.context["actions"] == []
    assert not response.context["can_edit"]


def test_given_an_approver_on_a_pending_invoice_then_only_their_buttons_show(
    client_for, approver: User, creator: User, pending_invoice: Document
) -> None:
    actions = client_for(approver).get(f"/invoices/{pending_invoice.pk}/").context["actions"]
    assert [a["value"] for a in actions] == ["approve", "reject"]
    actions = client_for(creator).get(f"/invoices/{pending_invoice.pk}/").context["actions"]
    assert [a["value"] for a in actions] == ["cancel"]


def test_given_an_approved_invoice_when_its_notes_change_then_it_is_an_edit_without_revision(
    client_for, creator: User, approved_invoice: Document
) -> None:
    client = client_for(creator)
    page = _text(client.get(f"/invoices/{approved_invoice.pk}/edit/"))
    assert "Changes to lines need a revision; notes changed now are not sent to QuickBooks" in page
    assert "lines-TOTAL_FORMS" not in page
    response = client.post(f"/invoices/{approved_invoice.pk}/edit/", {"notes": "Deliver to dock 4"}, follow=True)
    approved_invoice.refresh_from_db()
    assert approved_invoice.notes == "Deliver to dock 4"
    assert approved_invoice.status == Status.APPROVED
    assert approved_invoice.events.filter(kind=EventKind.EDIT_WITHOUT_REVISION).count() == 1
    assert "Edited without revision" in _text(response)


def test_given_invoices_when_searching_by_supplier_unique_code_then_only_matches_show(
    client_for, creator: User, supplier: Supplier, draft_invoice: Document
) -> None:
    other = document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="ZX-77"))
    response = client_for(creator).get("/invoices/?q=zx-7", HTTP_HX_REQUEST="true")
    page = _text(response)
    assert other.number in page and draft_invoice.number not in page
    assert "<html" not in page  # htmx gets only the table
    assert response["Vary"].count("HX-Request") == 1
    full = _text(client_for(creator).get("/invoices/?status=pending"))
    assert "<html" in full and "No invoices match these filters." in full


def test_given_a_creator_when_they_create_a_purchase_order_then_it_is_numbered_as_a_po(
    client_for, creator: User, supplier: Supplier, form_body
) -> None:
    body = form_body(supplier.pk, [{"description": "Chairs", "quantity": "4", "unit_price": "120"}])
    response = client_for(creator).post("/purchase-orders/new/", body, follow=True)
    po = Document.objects.get(kind=DocumentKind.PURCHASE_ORDER)
    assert po.number.startswith("PO-") and po.total == Decimal("480.00")
    assert "Purchase order" in _text(response)
    assert po.number in _text(client_for(creator).get("/purchase-orders/"))
