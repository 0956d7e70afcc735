"""Payments from QuickBooks that arrive while an invoice is being revised, and what approving or
cancelling that invoice must then do. Live emulator: the QBO user pays through its control API,
the catch-up brings the payment in, and the export engine sends the revision as it would.
"""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

import pytest

from payments.models import Payment
from payments.services import payment_cancel
from procurement import workflow
from procurement.models import Document, DocumentEvent, EventKind, Status
from procurement.services import document_transition, document_update
from procurement.validation import document_data_from
from procuresync.errors import TransitionNotAllowed
from quickbooks.models import OutboxItem, SyncStatus
from tests.conftest import line
from tests.quickbooks.conftest import Qbo, settle, sync_of
from tests.quickbooks.test_payments_in import bill_id, catch_up, exported_invoice, pay, status_of

D = Decimal
A = workflow.DocumentAction


def in_revision(creator: Any, invoice: Document) -> Document:
    return document_transition(actor=creator, document=invoice, action=A.REVISE)


def transitions(invoice: Document) -> list[tuple[str, str, str]]:
    return [
        (e.action, e.from_status, e.to_status)
        for e in DocumentEvent.objects.filter(document=invoice, kind=EventKind.TRANSITION).order_by("id")
    ]


# ---------------------------------------------------------------- 1. status recomputed on approval


@pytest.mark.parametrize("submitted", [False, True], ids=["paid while in revision", "paid while pending"])
@pytest.mark.parametrize(("paid", "expected"), [("20.00", Status.PARTLY_PAID), (None, Status.PAID)])
def test_given_a_qbo_payment_during_a_revision_when_the_revision_is_approved_then_the_invoice_shows_it_paid(
    qbo: Qbo, creator: Any, approver: Any, supplier: Any, paid: str | None, expected: Status, submitted: bool
) -> None:
    invoice = exported_invoice(creator, approver, supplier)
    in_revision(creator, invoice)
    if submitted:
        document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    pay(qbo, (invoice, paid))
    catch_up(qbo)
    kept = Status.PENDING if submitted else Status.IN_REVISION
    assert status_of(invoice) == kept  # a revised invoice keeps its status meanwhile

    if not submitted:
        document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)

    assert status_of(invoice) == expected
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT, sync_of(invoice).error_message


# ---------------------------------------------------------------- 5. the history says why


def test_given_a_qbo_payment_during_a_revision_when_approved_then_the_history_records_the_payment_status(
    qbo: Qbo, creator: Any, approver: Any, supplier: Any
) -> None:
    invoice = exported_invoice(creator, approver, supplier)
    in_revision(creator, invoice)
    pay(qbo, (invoice, "20.00"))
    catch_up(qbo)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)

    trail = transitions(invoice)
    assert trail[-2:] == [
        ("approve", Status.PENDING, Status.APPROVED),
        ("payment", Status.APPROVED, Status.PARTLY_PAID),
    ]
    # Every step starts where the previous one ended, and the last one is what the invoice shows.
    assert all(prev[2] == nxt[1] for prev, nxt in itertools.pairwise(trail))
    assert trail[-1][2] == status_of(invoice)
    event = DocumentEvent.objects.filter(document=invoice, action="payment").latest("id")
    assert event.actor == approver
    assert event.comment.startswith("Paid 20.00 of 50.00 USD")


# ---------------------------------------------------------------- 2. no cancelling with active payments


@pytest.mark.parametrize("submitted", [False, True], ids=["in revision", "pending"])
def test_given_a_revised_invoice_paid_in_qbo_when_cancelled_then_it_is_refused_until_its_payments_are_cancelled(
    qbo: Qbo, creator: Any, approver: Any, payer: Any, supplier: Any, submitted: bool
) -> None:
    invoice = exported_invoice(creator, approver, supplier)
    in_revision(creator, invoice)
    pay(qbo, (invoice, "20.00"))
    catch_up(qbo)
    if submitted:
        document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    before = status_of(invoice)
    outbox_rows = OutboxItem.objects.count()

    with pytest.raises(TransitionNotAllowed) as refused:
        document_transition(actor=creator, document=invoice, action=A.CANCEL)

    assert "20.00 of 50.00 USD is paid" in refused.value.message
    assert "Cancel its payments first" in refused.value.message
    assert status_of(invoice) == before
    assert OutboxItem.objects.count() == outbox_rows, "nothing is queued to delete the bill"
    assert qbo.bill(bill_id(invoice))["Id"] == bill_id(invoice)

    payment_cancel(actor=payer, payment=Payment.objects.get(invoice=invoice), reason="refunded")
    document_transition(actor=creator, document=invoice, action=A.CANCEL)
    assert status_of(invoice) == Status.CANCELLED


# ---------------------------------------------------------------- 3. no total below what is paid


def test_given_a_revision_below_what_qbo_already_paid_when_approved_then_it_is_refused_with_both_amounts(
    qbo: Qbo, creator: Any, approver: Any, supplier: Any
) -> None:
    invoice = exported_invoice(creator, approver, supplier, amount="12213.16")
    in_revision(creator, invoice)
    pay(qbo, (invoice, None))
    catch_up(qbo)
    data = document_data_from(invoice)
    data.lines = [line("Goods", "1", "589.02")]
    document_update(actor=creator, document=invoice, data=data)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    outbox_rows = OutboxItem.objects.count()

    with pytest.raises(TransitionNotAllowed) as refused:
        document_transition(actor=approver, document=invoice, action=A.APPROVE)

    assert "12,213.16 USD is already paid" in refused.value.message
    assert "new total of 589.02 USD" in refused.value.message
    assert status_of(invoice) == Status.PENDING
    assert OutboxItem.objects.count() == outbox_rows, "nothing is sent for QuickBooks to refuse"
    assert D(str(qbo.bill(bill_id(invoice))["TotalAmt"])) == D("12213.16")


def test_given_a_revision_equal_to_what_qbo_already_paid_when_approved_then_it_is_paid_and_sent(
    qbo: Qbo, creator: Any, approver: Any, supplier: Any
) -> None:
    invoice = exported_invoice(creator, approver, supplier, amount="50.00")
    in_revision(creator, invoice)
    pay(qbo, (invoice, "40.00"))
    catch_up(qbo)
    data = document_data_from(invoice)
    data.lines = [line("Goods", "1", "40.00")]
    document_update(actor=creator, document=invoice, data=data)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    assert status_of(invoice) == Status.PAID
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT, sync_of(invoice).error_message
    assert D(str(qbo.bill(bill_id(invoice))["TotalAmt"])) == D("40.00")
