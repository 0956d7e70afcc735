"""Payments decide whether an invoice is Approved, Partly Paid or Paid."""

import datetime as dt
from decimal import Decimal

import pytest

from payments.models import Method, Payment, PaymentStatus, Source
from payments.selectors import payment_list
from payments.services import payment_cancel, payment_record
from procurement.models import EventKind, Status
from procuresync.errors import RoleRequired, TransitionNotAllowed, ValidationFailed

D = Decimal
DAY = dt.date(2026, 11, 20)


def pay(payer, invoice, amount, method=Method.BILL_PAYMENT):
    return payment_record(actor=payer, invoice=invoice, amount=D(amount), paid_on=DAY, method=method)


def test_given_an_approved_invoice_when_part_is_paid_then_it_is_partly_paid(payer, approved_invoice):
    payment = pay(payer, approved_invoice, "20.00")
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.PARTLY_PAID
    assert (payment.source, payment.status) == (Source.RECORDED_HERE, PaymentStatus.ACTIVE)
    event = approved_invoice.events.latest("id")
    assert (event.from_status, event.to_status, event.actor) == (Status.APPROVED, Status.PARTLY_PAID, payer)


def test_given_a_partly_paid_invoice_when_the_rest_is_paid_by_any_method_then_it_is_paid(payer, approved_invoice):
    pay(payer, approved_invoice, "20.00", Method.CHEQUE)
    pay(payer, approved_invoice, "30.00", Method.CARD)
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.PAID


@pytest.mark.parametrize("method", list(Method))
def test_every_payment_method_is_accepted(payer, approved_invoice, method):
    assert pay(payer, approved_invoice, "50.00", method).get_method_display() == method.label


def test_given_a_payment_larger_than_what_is_unpaid_then_it_is_refused(payer, approved_invoice):
    pay(payer, approved_invoice, "40.00")
    with pytest.raises(ValidationFailed) as error:
        pay(payer, approved_invoice, "10.01")
    assert "only 10.00 of 50.00 USD is still unpaid" in error.value.fields["amount"][0]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize("amount", ["0", "-5", "1.001"])
def test_given_a_bad_amount_then_it_is_refused(payer, approved_invoice, amount):
    with pytest.raises(ValidationFailed) as error:
        pay(payer, approved_invoice, amount)
    assert "amount" in error.value.fields
    assert not Payment.objects.exists()


def test_given_a_draft_invoice_then_it_cannot_be_paid(payer, draft_invoice):
    with pytest.raises(TransitionNotAllowed, match="only approved invoices"):
        pay(payer, draft_invoice, "1.00")


def test_given_a_purchase_order_then_it_cannot_be_paid(payer, draft_po, creator, approver):
    from procurement import workflow
    from procurement.services import document_transition

    document_transition(actor=creator, document=draft_po, action=workflow.DocumentAction.SUBMIT)
    document_transition(actor=approver, document=draft_po, action=workflow.DocumentAction.APPROVE)
    with pytest.raises(ValidationFailed, match="not purchase orders"):
        pay(payer, draft_po, "1.00")


def test_given_a_paid_invoice_when_a_payment_is_cancelled_then_it_is_partly_paid_again(payer, approved_invoice):
    first = pay(payer, approved_invoice, "20.00")
    pay(payer, approved_invoice, "30.00")
    payment_cancel(actor=payer, payment=first, reason="bounced")
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.PARTLY_PAID
    first.refresh_from_db()
    assert (first.status, first.cancelled_by, first.cancel_reason) == (PaymentStatus.CANCELLED, payer, "bounced")


def test_given_the_only_payment_is_cancelled_then_the_invoice_is_approved_again(payer, approved_invoice):
    payment = pay(payer, approved_invoice, "50.00")
    payment_cancel(actor=payer, payment=payment)
    approved_invoice.refresh_from_db()
    assert approved_invoice.status == Status.APPROVED
    assert list(
        approved_invoice.events.filter(kind=EventKind.TRANSITION, action="payment").values_list("to_status", flat=True)
    ) == [Status.PAID, Status.APPROVED]


def test_given_a_cancelled_payment_then_it_cannot_be_cancelled_twice(payer, approved_invoice):
    payment = pay(payer, approved_invoice, "5.00")
    payment_cancel(actor=payer, payment=payment)
    with pytest.raises(TransitionNotAllowed, match="already cancelled"):
        payment_cancel(actor=payer, payment=payment)


def test_given_someone_without_the_payment_role_then_they_cannot_record_or_list(creator, approver, approved_invoice):
    with pytest.raises(RoleRequired, match="Payment role"):
        pay(approver, approved_invoice, "5.00")
    with pytest.raises(RoleRequired):
        payment_list(user=creator)


def test_payment_list_filters_by_date_supplier_method_and_status(payer, approved_invoice, supplier):
    pay(payer, approved_invoice, "5.00", Method.CHEQUE)
    card = payment_record(
        actor=payer, invoice=approved_invoice, amount=D("6"), paid_on=dt.date(2026, 10, 1), method=Method.CARD
    )
    payment_cancel(actor=payer, payment=card)
    assert payment_list(user=payer, date_from=DAY).count() == 1
    assert payment_list(user=payer, date_to=dt.date(2026, 10, 31)).get() == card
    assert payment_list(user=payer, method=Method.CHEQUE).count() == 1
    assert payment_list(user=payer, status=PaymentStatus.CANCELLED).get() == card
    assert payment_list(user=payer, supplier_id=supplier.pk).count() == 2
    assert payment_list(user=payer, supplier_id=supplier.pk + 999).count() == 0


def test_given_another_company_then_its_payer_sees_none_of_our_payments(payer, outsider, approved_invoice):
    pay(payer, approved_invoice, "5.00")
    assert payment_list(user=outsider).count() == 0
