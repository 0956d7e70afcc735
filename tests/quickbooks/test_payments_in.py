"""Payments recorded, voided, deleted and edited in QuickBooks (through the emulator's control API, as a
QBO user would) reach our invoices: Paid, Partly Paid, back to Approved.

These tests let the periodic catch-up (CDC) bring the changes in; the webhook and import paths have
their own files and feed the same service.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from payments.models import Method, Payment, PaymentStatus, Source, Via
from procurement import workflow
from procurement.models import Document, DocumentEvent, Status
from procurement.services import document_create, document_transition
from quickbooks import scheduler
from quickbooks.inbound import catchup
from quickbooks.inbound.models import PaymentsCursor
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import Qbo, settle, sync_of

D = Decimal


def exported_invoice(
    creator: Any, approver: Any, supplier: Any, *, amount: str = "50.00", code: str = "INV-1"
) -> Document:
    """An approved invoice that the export engine has sent to QuickBooks as a Bill."""
    invoice = document_create(
        actor=creator, kind="invoice", data=invoice_data(supplier, line("Goods", "1", amount), code=code)
    )
    document_transition(actor=creator, document=invoice, action=workflow.DocumentAction.SUBMIT)
    document_transition(actor=approver, document=invoice, action=workflow.DocumentAction.APPROVE)
    settle()
    assert sync_of(invoice).qbo_id, sync_of(invoice).error_message
    return invoice


def bill_id(invoice: Document) -> str:
    return str(sync_of(invoice).qbo_id)


def pay(qbo: Qbo, *bills: tuple[Document, str | None], pay_type: str = "Check", **extra: Any) -> str:
    """A QBO user records a bill payment; amount None pays the bill's balance."""
    body = {
        "pay_type": pay_type,
        "bills": [{"bill_id": bill_id(d), **({"amount": a} if a else {})} for d, a in bills],
        **extra,
    }
    return str(qbo.control("POST", "/bill-payments", json=body)["BillPayment"]["Id"])


def catch_up(qbo: Qbo) -> None:
    qbo.connection.refresh_from_db()
    catchup.catch_up(qbo.connection)


def status_of(invoice: Document) -> str:
    invoice.refresh_from_db()
    return invoice.status


def active(invoice: Document) -> list[tuple[Decimal, str]]:
    rows = Payment.objects.filter(invoice=invoice, status=PaymentStatus.ACTIVE).order_by("id")
    return [(p.amount, p.method) for p in rows]


def test_given_a_full_payment_in_qbo_when_the_catch_up_runs_then_the_invoice_is_paid(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    assert status_of(invoice) == Status.PAID
    payment = Payment.objects.get(invoice=invoice)
    assert (payment.amount, payment.method, payment.source, payment.via) == (
        D("50.00"), Method.CHEQUE, Source.QUICKBOOKS, Via.CATCH_UP
    )
    assert (payment.qbo_realm_id, payment.qbo_txn_id) == (qbo.realm_id, txn)
    event = DocumentEvent.objects.filter(document=invoice, to_status=Status.PAID).get()
    assert event.source == f"QuickBooks bill payment {txn} (catch-up)"


def test_given_partial_payments_then_partly_paid_and_then_paid(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, "20.00"))
    catch_up(qbo)
    assert status_of(invoice) == Status.PARTLY_PAID
    pay(qbo, (invoice, "30.00"), pay_type="CreditCard")
    catch_up(qbo)
    assert status_of(invoice) == Status.PAID
    assert active(invoice) == [(D("20.00"), Method.CHEQUE), (D("30.00"), Method.CARD)]


def test_given_a_cheque_not_to_print_then_it_is_a_bill_payment(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, None), print_status="NotSet")
    catch_up(qbo)
    assert active(invoice) == [(D("50.00"), Method.BILL_PAYMENT)]


def test_given_a_supplier_credit_applied_then_cash_and_credit_parts_add_up_to_the_bill(
    qbo, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier)
    vendor = qbo.bill(bill_id(invoice))["VendorRef"]["value"]
    credit = qbo.control("POST", "/vendor-credits", json={"vendor_id": vendor, "amount": "15.00"})["VendorCredit"]
    pay(qbo, (invoice, None), vendor_credits=[{"vendor_credit_id": credit["Id"]}])
    catch_up(qbo)
    assert status_of(invoice) == Status.PAID
    assert sorted(active(invoice)) == [(D("15.00"), Method.SUPPLIER_CREDIT), (D("35.00"), Method.CHEQUE)]


def test_given_one_payment_for_two_bills_then_both_invoices_are_paid(qbo, creator, approver, supplier):
    first = exported_invoice(creator, approver, supplier, code="INV-A")
    second = exported_invoice(creator, approver, supplier, amount="80.00", code="INV-B")
    txn = pay(qbo, (first, None), (second, "30.00"))
    catch_up(qbo)
    assert (status_of(first), status_of(second)) == (Status.PAID, Status.PARTLY_PAID)
    assert Payment.objects.filter(qbo_txn_id=txn).count() == 2


def test_given_a_voided_payment_then_the_invoice_goes_back(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, "20.00"))
    second = pay(qbo, (invoice, "30.00"))
    catch_up(qbo)
    assert status_of(invoice) == Status.PAID
    qbo.control("POST", f"/bill-payments/{second}/void")
    catch_up(qbo)
    assert status_of(invoice) == Status.PARTLY_PAID
    voided = Payment.objects.get(qbo_txn_id=second)
    assert (voided.status, voided.cancel_reason) == (PaymentStatus.CANCELLED, "Bill payment voided in QuickBooks")


def test_given_a_deleted_payment_then_the_invoice_is_approved_again(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    qbo.control("DELETE", f"/bill-payments/{txn}")
    catch_up(qbo)
    assert status_of(invoice) == Status.APPROVED
    assert Payment.objects.get(qbo_txn_id=txn).cancel_reason == "Bill payment deleted in QuickBooks"


def test_given_a_payment_edited_in_qbo_then_the_amount_here_follows(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    bp = qbo.api("GET", f"billpayment/{txn}")["BillPayment"]
    bp["Line"][0]["Amount"] = 10
    bp["TotalAmt"] = 10
    qbo.api("POST", "billpayment", json=bp)
    catch_up(qbo)
    assert status_of(invoice) == Status.PARTLY_PAID
    assert active(invoice) == [(D("10.00"), Method.CHEQUE)]


def test_given_a_payment_of_a_bill_entered_in_qbo_then_nothing_changes_here(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    vendor = qbo.bill(bill_id(invoice))["VendorRef"]["value"]
    theirs = qbo.control("POST", "/bills", json={"vendor_id": vendor, "amount": "99.00"})["Bill"]
    qbo.control("POST", "/bill-payments", json={"bills": [{"bill_id": theirs["Id"]}]})
    catch_up(qbo)
    assert status_of(invoice) == Status.APPROVED
    assert not Payment.objects.exists()


def test_given_the_same_state_fed_twice_then_it_counts_once(qbo, creator, approver, supplier):
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, "20.00"))
    catch_up(qbo)
    PaymentsCursor.objects.update(changed_since=None)  # the next run starts from the connection again
    catch_up(qbo)
    catch_up(qbo)
    assert Payment.objects.filter(qbo_txn_id=txn).count() == 1
    assert status_of(invoice) == Status.PARTLY_PAID


def test_given_a_payment_cancelled_here_then_qbo_is_not_touched_and_reimport_keeps_it_cancelled(
    qbo, creator, approver, supplier, payer
):
    from payments.services import payment_cancel

    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    catch_up(qbo)
    payment_cancel(actor=payer, payment=Payment.objects.get(qbo_txn_id=txn), reason="duplicate")
    PaymentsCursor.objects.update(changed_since=None)
    catch_up(qbo)
    assert status_of(invoice) == Status.APPROVED
    assert qbo.api("GET", f"billpayment/{txn}")["BillPayment"]["TotalAmt"] == 50


def test_given_the_scheduler_ticks_then_a_missed_payment_is_healed_without_any_webhook(
    qbo, creator, approver, supplier
):
    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, None))  # no webhook URL is configured: this payment is never announced
    scheduler.tick()
    settle()
    assert status_of(invoice) == Status.PAID
    assert Payment.objects.get(invoice=invoice).via == Via.CATCH_UP
    scheduler.tick()  # too soon for another catch-up
    settle()
    assert PaymentsCursor.objects.get().last_finished_at is not None


def test_given_an_older_read_arriving_after_the_void_then_the_void_stands(qbo, creator, approver, supplier):
    from quickbooks.inbound.feed import feed

    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    before_void = qbo.api("GET", f"billpayment/{txn}")["BillPayment"]
    catch_up(qbo)
    qbo.control("POST", f"/bill-payments/{txn}/void")
    catch_up(qbo)
    feed(qbo.connection, [before_void], via="webhook")  # a slow worker's read from before the void
    assert status_of(invoice) == Status.APPROVED
    qbo.control("DELETE", f"/bill-payments/{txn}")
    catch_up(qbo)
    feed(qbo.connection, [before_void], via="webhook")
    assert status_of(invoice) == Status.APPROVED
    assert Payment.objects.get(qbo_txn_id=txn).status == PaymentStatus.CANCELLED


def test_given_more_changes_than_one_cdc_answer_holds_then_the_catch_up_repeats_until_all_are_seen(qbo):
    import datetime as dt

    from django.utils import timezone

    PaymentsCursor.objects.update_or_create(
        connection=qbo.connection, defaults={"changed_since": timezone.now() - dt.timedelta(minutes=1)}
    )
    loaded = qbo.control("POST", "/bulk", json={"bills": 700, "pay_ratio": 1.0})  # 1,400+ changed objects
    qbo.connection.refresh_from_db()
    qbo.emulator.control("DELETE", "/requests")
    result = catchup.catch_up(qbo.connection)
    assert result.unlinked >= loaded["payments"] == 700  # none are our bills, but every one was seen
    log = qbo.emulator.control("GET", "/requests", params={"realm": qbo.realm_id, "limit": 50})
    assert sum(1 for r in log["requests"] if r["path"].endswith("/cdc")) >= 2


def test_given_a_cursor_older_than_cdc_allows_then_the_catch_up_queries_by_last_update(
    qbo, creator, approver, supplier
):
    import datetime as dt

    from django.utils import timezone

    invoice = exported_invoice(creator, approver, supplier)
    pay(qbo, (invoice, None))
    old = timezone.now() - dt.timedelta(days=45)
    PaymentsCursor.objects.update_or_create(connection=qbo.connection, defaults={"changed_since": old})
    catch_up(qbo)
    assert status_of(invoice) == Status.PAID
    assert PaymentsCursor.objects.get().changed_since > timezone.now() - dt.timedelta(minutes=5)
