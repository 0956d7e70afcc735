"""Reconciliation of payments and statuses against the live emulator: a bill payment made, voided or
deleted in QuickBooks without the product catching up, an amount or a status that drifted here, is
found as its own kind of difference, and "Import payments" or "Recompute the status" puts it right
(the next run finds nothing). A payment a person cancelled here is left to a person in QuickBooks,
and with the payments import switched off QuickBooks' payments are not compared at all.
"""

from __future__ import annotations

from decimal import Decimal

from payments.models import Payment, PaymentStatus
from procurement.models import Document, Status
from quickbooks.models import Connection
from quickbooks.reconciliation import DifferenceKind as K
from quickbooks.reconciliation import Fix
from tests.quickbooks.test_payments_in import catch_up, exported_invoice, pay, status_of
from tests.quickbooks.test_reconciliation import check, fixed_by, messages, one

D = Decimal


def test_given_a_payment_in_qbo_not_caught_up_then_payment_not_here_and_import_brings_it(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="PAY-1")
    txn = pay(qbo, (invoice, "20.00"))  # no webhook, no catch-up: the product does not know

    found = one(check(qbo), K.PAYMENT_NOT_HERE)

    assert (found.number, found.fix, found.qbo_id, found.payment_ids) == (
        invoice.number,
        Fix.IMPORT_PAYMENTS,
        txn,
        (txn,),
    )
    assert "applies 20.00 (a payment)" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert status_of(invoice) == Status.PARTLY_PAID


def test_given_a_payment_voided_in_qbo_then_active_here_but_voided_there_and_import_cancels_it(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="VOID-1")
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    qbo.control("POST", f"/bill-payments/{txn}/void")

    found = one(check(qbo), K.PAYMENT_GONE)

    assert "was voided in QuickBooks" in found.message and found.fix == Fix.IMPORT_PAYMENTS
    assert messages(fixed_by(qbo, admin)) == []
    assert status_of(invoice) == Status.APPROVED


def test_given_a_payment_deleted_in_qbo_then_active_here_but_deleted_there(qbo, creator, approver, supplier, admin):
    invoice = exported_invoice(creator, approver, supplier, code="PDEL-1")
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    qbo.control("DELETE", f"/bill-payments/{txn}")

    found = one(check(qbo), K.PAYMENT_GONE)

    assert f"bill payment {txn} was deleted in QuickBooks" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert Payment.objects.get(qbo_txn_id=txn).status == PaymentStatus.CANCELLED


def test_given_a_payment_amount_that_drifted_here_then_amount_differs_and_import_corrects_it(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="AMT-1")
    txn = pay(qbo, (invoice, "30.00"))
    catch_up(qbo)
    Payment.objects.filter(qbo_txn_id=txn).update(amount=D("25.00"))

    found = one(check(qbo), K.PAYMENT_AMOUNT)

    assert "QuickBooks applies 30.00, procuresync has 25.00" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert Payment.objects.get(qbo_txn_id=txn).amount == D("30.00")


def test_given_a_payment_cancelled_here_by_a_person_then_it_is_reported_with_open_in_quickbooks(
    qbo, creator, approver, supplier, payer
):
    from payments.services import payment_cancel

    invoice = exported_invoice(creator, approver, supplier, code="PCAN-1")
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    payment_cancel(actor=payer, payment=Payment.objects.get(qbo_txn_id=txn), reason="duplicate")

    found = one(check(qbo), K.PAYMENT_NOT_HERE)

    assert found.fix == Fix.OPEN_IN_QBO and "A person cancelled it here" in found.message


def test_given_a_status_that_disagrees_with_the_payments_then_status_and_recompute_fixes_it(
    qbo, creator, approver, supplier, admin
):
    invoice = exported_invoice(creator, approver, supplier, code="ST-1")
    Document.objects.filter(pk=invoice.pk).update(status=Status.PAID)  # as if a status write went astray

    found = one(check(qbo), K.STATUS)

    assert found.fix == Fix.RECOMPUTE_STATUS
    assert "is Paid, but its active payments here add up to 0.00 of 50.00" in found.message
    assert messages(fixed_by(qbo, admin)) == []
    assert status_of(invoice) == Status.APPROVED


def test_given_payments_import_switched_off_then_qbo_payments_are_not_compared(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier, code="OFF-1")
    pay(qbo, (invoice, "20.00"))
    Connection.objects.filter(pk=qbo.connection.pk).update(import_payments=False)

    report = check(qbo)

    assert messages(report) == [] and report.api_calls == 1
