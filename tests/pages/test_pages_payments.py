"""Recording and cancelling payments from the invoice page, and the Payments page."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from django.test import Client

from accounts.models import User
from payments.models import Payment, PaymentStatus
from procurement.models import Document, Status

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as TestResponse  # the test client's response


def _pay(client: Client, invoice: Document, amount: str, method: str = "cheque") -> TestResponse:
    body = {"amount": amount, "paid_on": "2026-11-20", "method": method, "reference": "CHK 7"}
    return client.post(f"/payments/record/{invoice.pk}/", body, follow=True)


def test_given_an_approved_invoice_when_paid_in_two_parts_then_it_is_partly_paid_then_paid(
    client_for, payer: User, approved_invoice: Document
) -> None:
    client = client_for(payer)
    page = client.get(f"/invoices/{approved_invoice.pk}/")
    assert page.context["payment_form"].initial["amount"] == Decimal("50.00")  # the outstanding amount

    response = _pay(client, approved_invoice, "20.00")
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.PARTLY_PAID
    text = response.content.decode()
    assert "it is now Partly Paid" in text
    assert response.context["outstanding"] == Decimal("30.00")

    response = _pay(client, approved_invoice, "30.00", method="card")
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.PAID
    assert "it is now Paid" in response.content.decode()
    assert "payment_form" not in response.context  # nothing left to pay


def test_given_an_approved_invoice_when_overpaid_then_the_amount_field_says_why_and_nothing_is_recorded(
    client_for, payer: User, approved_invoice: Document
) -> None:
    response = client_for(payer).post(
        f"/payments/record/{approved_invoice.pk}/", {"amount": "80.00", "paid_on": "2026-11-20", "method": "cheque"}
    )
    assert response.status_code == 400
    form = response.context["payment_form"]
    assert "would overpay" in form.errors["amount"][0]
    assert form["amount"].value() == "80.00"  # as typed
    assert not Payment.objects.exists()


def test_given_a_partly_paid_invoice_when_the_payment_is_cancelled_then_it_is_approved_again(
    client_for, payer: User, approved_invoice: Document
) -> None:
    client = client_for(payer)
    _pay(client, approved_invoice, "20.00")
    payment = Payment.objects.get()
    response = client.post(f"/payments/{payment.pk}/cancel/", {"next": f"/invoices/{approved_invoice.pk}/"},
                           follow=True)
    payment.refresh_from_db()
    approved_invoice.refresh_from_db()
    assert payment.status == PaymentStatus.CANCELLED
    assert approved_invoice.status == Status.APPROVED
    assert "cancelled; it is now Approved" in response.content.decode()


def test_given_payments_when_the_payer_filters_by_method_then_only_those_show(
    client_for, payer: User, approved_invoice: Document
) -> None:
    client = client_for(payer)
    _pay(client, approved_invoice, "10.00", method="cheque")
    _pay(client, approved_invoice, "15.00", method="card")
    page = client.get("/payments/?method=card", HTTP_HX_REQUEST="true")
    rows = list(page.context["page_obj"])
    assert [p.amount for p in rows] == [Decimal("15.00")]
    assert "<html" not in page.content.decode()
    full = client.get("/payments/?date_from=2026-12-01").content.decode()
    assert "No payments match these filters." in full


def test_given_a_pending_invoice_when_a_payment_is_tried_then_it_is_refused_on_the_page(
    client_for, payer: User, pending_invoice: Document
) -> None:
    response = client_for(payer).post(
        f"/payments/record/{pending_invoice.pk}/", {"amount": "1.00", "paid_on": "2026-11-20", "method": "cheque"}
    )
    assert response.status_code == 400
    assert "only approved invoices can be paid" in response.content.decode()
    assert not Payment.objects.exists()
