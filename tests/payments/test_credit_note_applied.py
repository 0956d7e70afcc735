"""A credit note is Partly Applied or Applied as QuickBooks applies it to bills: its supplier-credit
payments decide, as an invoice's payments decide Partly Paid and Paid. Payments are never recorded
here against a credit note."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import User
from payments.models import Method, Payment, PaymentStatus, Source, Via
from payments.services import (
    ImportedPart,
    applied_amount,
    credit_note_status_recompute,
    payment_cancel,
    payment_record,
    qbo_payments_apply,
)
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentKind, EventKind, Status, Supplier
from procurement.services import document_create, document_transition, document_update, supplier_create
from procurement.validation import document_data_from
from procuresync.errors import TransitionNotAllowed, ValidationFailed
from tests.conftest import credit_note_data, invoice_data, line

A = workflow.DocumentAction
D = Decimal
DAY = dt.date(2026, 11, 20)
REALM = "9130"


def approve(document: Document, creator: User, approver: User) -> Document:
    document_transition(actor=creator, document=document, action=A.SUBMIT)
    return document_transition(actor=approver, document=document, action=A.APPROVE)


@pytest.fixture
def bill(creator: User, approver: User, supplier: Supplier) -> Document:
    """An approved invoice of 200.00 that the credit is applied to."""
    data = invoice_data(supplier, line("Printer", "1", "200.00"), code="BILL-1")
    return approve(document_create(actor=creator, kind=DocumentKind.INVOICE, data=data), creator, approver)


@pytest.fixture
def credit_note(creator: User, approver: User, supplier: Supplier) -> Document:
    """An approved credit note of 100.00."""
    data = credit_note_data(supplier, line("Returned printer", "1", "100.00"))
    note = document_create(actor=creator, kind=DocumentKind.CREDIT_NOTE, data=data)
    return approve(note, creator, approver)


def supplier_credit(bill: Document, credit_note: Document, amount: str) -> Payment:
    """What an import of a QuickBooks bill payment with a supplier credit line leaves here."""
    return Payment.objects.create(
        company_id=bill.company_id,
        invoice=bill,
        credit_note=credit_note,
        amount=D(amount),
        paid_on=DAY,
        method=Method.SUPPLIER_CREDIT,
        source=Source.QUICKBOOKS,
        via=Via.WEBHOOK,
    )


def status_of(document: Document) -> str:
    document.refresh_from_db()
    return document.status


def test_given_an_approved_credit_note_of_100_when_40_then_100_is_applied_then_it_is_partly_applied_then_applied(
    bill: Document, credit_note: Document
) -> None:
    supplier_credit(bill, credit_note, "40.00")
    credit_note_status_recompute(credit_note)
    assert credit_note.status == status_of(credit_note) == Status.PARTLY_APPLIED
    event = credit_note.events.latest("id")
    assert (event.kind, event.action, event.actor) == (EventKind.TRANSITION, "applied", None)
    assert event.source == "QuickBooks"
    assert (event.from_status, event.to_status) == (Status.APPROVED, Status.PARTLY_APPLIED)
    assert event.comment == "Applied 40.00 of 100.00 USD to bills"

    supplier_credit(bill, credit_note, "60.00")
    credit_note_status_recompute(credit_note)
    assert status_of(credit_note) == Status.APPLIED
    assert applied_amount(credit_note) == D("100.00")


def test_given_nothing_changed_when_recomputed_again_then_no_event_is_written(
    bill: Document, credit_note: Document
) -> None:
    supplier_credit(bill, credit_note, "40.00")
    credit_note_status_recompute(credit_note)
    events = credit_note.events.count()
    credit_note_status_recompute(credit_note)
    assert credit_note.events.count() == events


def test_given_a_partly_applied_credit_note_when_its_application_is_cancelled_here_then_it_is_approved_again(
    payer: User, bill: Document, credit_note: Document
) -> None:
    application = supplier_credit(bill, credit_note, "40.00")
    credit_note_status_recompute(credit_note)

    payment_cancel(actor=payer, payment=application, reason="entered against the wrong bill")

    assert status_of(credit_note) == Status.APPROVED
    event = credit_note.events.latest("id")
    assert (event.actor, event.from_status, event.to_status) == (payer, Status.PARTLY_APPLIED, Status.APPROVED)
    assert applied_amount(credit_note) == D("0.00")


def test_given_a_credit_note_in_revision_then_applications_wait_until_it_is_approved_again(
    creator: User, approver: User, bill: Document, credit_note: Document
) -> None:
    document_transition(actor=creator, document=credit_note, action=A.REVISE)
    supplier_credit(bill, credit_note, "40.00")
    credit_note_status_recompute(credit_note)
    assert status_of(credit_note) == Status.IN_REVISION

    approve(credit_note, creator, approver)

    assert status_of(credit_note) == Status.PARTLY_APPLIED
    assert credit_note.events.latest("id").actor == approver


def test_given_applications_when_the_credit_note_in_revision_is_cancelled_or_cut_below_them_then_it_is_refused(
    creator: User, approver: User, bill: Document, credit_note: Document
) -> None:
    document_transition(actor=creator, document=credit_note, action=A.REVISE)
    supplier_credit(bill, credit_note, "40.00")
    with pytest.raises(TransitionNotAllowed, match=r"QuickBooks has applied 40\.00 of it"):
        document_transition(actor=creator, document=credit_note, action=A.CANCEL)

    data = document_data_from(credit_note)
    data.lines = [line("Returned cable", "1", "30.00")]
    document_update(actor=creator, document=credit_note, data=data)
    document_transition(actor=creator, document=credit_note, action=A.SUBMIT)
    with pytest.raises(TransitionNotAllowed, match=r"more than its new total of 30\.00"):
        document_transition(actor=approver, document=credit_note, action=A.APPROVE)
    assert status_of(credit_note) == Status.PENDING


def test_given_a_credit_note_when_a_payment_is_recorded_against_it_here_then_it_is_refused(
    payer: User, credit_note: Document
) -> None:
    with pytest.raises(ValidationFailed) as refused:
        payment_record(actor=payer, invoice=credit_note, amount=D("10.00"), paid_on=DAY, method=Method.CHEQUE)
    assert refused.value.fields["invoice"] == [
        f"{credit_note.number} is a credit note: payments are recorded against invoices only. QuickBooks applies "
        "a credit note to bills, and those applications come back here by themselves."
    ]
    assert not Payment.objects.exists()
    assert status_of(credit_note) == Status.APPROVED


# ---------------------------------------------------------------- through the QuickBooks import


def apply(bill: Document, txn: str, *parts: ImportedPart) -> None:
    qbo_payments_apply(
        company_id=bill.company_id,
        realm_id=REALM,
        txns={txn: list(parts)},
        via=Via.WEBHOOK,
        source=lambda txn_id: f"QuickBooks bill payment {txn_id}",
    )


def credit_part(bill: Document, credit_note_id: int | None, amount: str, key: str = "credit:77") -> ImportedPart:
    return ImportedPart(
        invoice_id=bill.pk,
        line_key=f"bill:1:{key}",
        amount=D(amount),
        paid_on=DAY,
        method=Method.SUPPLIER_CREDIT,
        reference="",
        credit_note_id=credit_note_id,
    )


def test_given_a_bill_payment_with_a_supplier_credit_when_imported_then_the_credit_note_follows_it(
    bill: Document, credit_note: Document
) -> None:
    apply(bill, "501", credit_part(bill, credit_note.pk, "40.00"))
    payment = Payment.objects.get()
    assert (payment.invoice_id, payment.credit_note_id, payment.status) == (bill.pk, credit_note.pk, "active")
    assert (status_of(bill), status_of(credit_note)) == (Status.PARTLY_PAID, Status.PARTLY_APPLIED)
    assert credit_note.events.latest("id").source == "QuickBooks bill payment 501"

    apply(bill, "501", credit_part(bill, credit_note.pk, "100.00"))  # edited in QuickBooks
    assert status_of(credit_note) == Status.APPLIED

    apply(bill, "501")  # voided in QuickBooks
    assert Payment.objects.get().status == PaymentStatus.CANCELLED
    assert (status_of(bill), status_of(credit_note)) == (Status.APPROVED, Status.APPROVED)


def test_given_a_supplier_credit_naming_another_companys_credit_note_then_it_is_not_linked(
    outsider: User, bill: Document, credit_note: Document
) -> None:
    theirs_supplier = supplier_create(actor=outsider, data=SupplierData(name="Theirs", currency="USD"))
    theirs = document_create(actor=outsider, kind=DocumentKind.CREDIT_NOTE, data=credit_note_data(theirs_supplier))
    approve(theirs, outsider, outsider)

    apply(bill, "502", credit_part(bill, theirs.pk, "40.00"), credit_part(bill, bill.pk, "10.00", key="credit:78"))

    assert [p.credit_note_id for p in Payment.objects.order_by("pk")] == [None, None]
    assert status_of(theirs) == Status.APPROVED
