"""Supplier credit notes: numbered, coded and approved like invoices, optionally crediting one of the
supplier's invoices, and shown on their own pages next to the invoices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, transaction

from accounts.models import User
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, DocumentEvent, DocumentKind, EventKind, Status, Supplier
from procurement.selectors import document_list
from procurement.services import document_create, document_transition, document_update, supplier_create
from procurement.validation import document_data_from
from procuresync.errors import TransitionNotAllowed, ValidationFailed
from tests.conftest import credit_note_data, invoice_data, po_data

A = workflow.DocumentAction
CN = DocumentKind.CREDIT_NOTE


def refused(**kwargs: Any) -> ValidationFailed:
    before = (Document.objects.count(), DocumentEvent.objects.count())
    with pytest.raises(ValidationFailed) as error:
        document_create(**kwargs)
    assert (Document.objects.count(), DocumentEvent.objects.count()) == before, "a refusal must change nothing"
    return error.value


@pytest.fixture
def other_supplier(creator: User) -> Supplier:
    return supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))


# ---------------------------------------------------------------- create, submit, approve


def test_given_a_credit_note_when_created_submitted_and_approved_then_it_walks_the_invoice_workflow(
    creator: User, approver: User, supplier: Supplier, approved_invoice: Document
) -> None:
    note = document_create(
        actor=creator, kind=CN, data=credit_note_data(supplier, credited_invoice_id=approved_invoice.pk)
    )
    assert (note.number, note.status, note.total) == ("CN-00001", Status.DRAFT, Decimal("50.00"))
    assert (note.supplier_unique_code, note.credited_invoice_id) == ("CR-501", approved_invoice.pk)

    document_transition(actor=creator, document=note, action=A.SUBMIT)
    note = document_transition(actor=approver, document=note, action=A.APPROVE, comment="goods back")

    assert note.status == Status.APPROVED
    event = note.events.latest("id")
    assert (event.kind, event.actor, event.from_status, event.to_status) == (
        EventKind.TRANSITION,
        approver,
        Status.PENDING,
        Status.APPROVED,
    )
    assert list(approved_invoice.credit_notes.all()) == [note]


def test_given_credit_notes_and_invoices_then_each_kind_is_numbered_in_its_own_series(
    creator: User, supplier: Supplier
) -> None:
    invoice = document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="I-1"))
    first = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="C-1"))
    second = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="C-2"))
    assert (invoice.number, first.number, second.number) == ("INV-00001", "CN-00001", "CN-00002")


def test_given_a_due_date_and_a_purchase_order_when_a_credit_note_is_saved_then_neither_is_kept(
    creator: User, supplier: Supplier, draft_po: Document
) -> None:
    data = credit_note_data(supplier, due_date=dt.date(2026, 12, 1), purchase_order_id=draft_po.pk)
    note = document_create(actor=creator, kind=CN, data=data)
    assert (note.due_date, note.purchase_order_id) == (None, None)


def test_given_an_invoice_or_purchase_order_when_a_credited_invoice_is_sent_then_it_is_not_kept(
    creator: User, supplier: Supplier, approved_invoice: Document
) -> None:
    invoice = document_create(
        actor=creator,
        kind=DocumentKind.INVOICE,
        data=invoice_data(supplier, code="I-9", credited_invoice_id=approved_invoice.pk),
    )
    po = document_create(actor=creator, kind=DocumentKind.PURCHASE_ORDER, data=po_data(supplier))
    assert invoice.credited_invoice_id is None and po.credited_invoice_id is None


# ---------------------------------------------------------------- Supplier Unique Code


def test_given_no_supplier_unique_code_then_the_credit_note_is_refused_naming_the_field(
    creator: User, supplier: Supplier
) -> None:
    error = refused(actor=creator, kind=CN, data=credit_note_data(supplier, code="  "))
    assert error.fields["supplier_unique_code"] == [
        "Enter the supplier's own credit note number (Supplier Unique Code)."
    ]


def test_given_a_code_longer_than_quickbooks_takes_then_it_is_refused(creator: User, supplier: Supplier) -> None:
    error = refused(actor=creator, kind=CN, data=credit_note_data(supplier, code="C" * 22))
    assert "21 characters" in error.fields["supplier_unique_code"][0]


def test_given_a_code_used_by_another_credit_note_of_the_supplier_then_it_is_refused_whatever_its_case(
    creator: User, supplier: Supplier
) -> None:
    first = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-7"))
    error = refused(actor=creator, kind=CN, data=credit_note_data(supplier, code="cr-7"))
    assert error.fields["supplier_unique_code"] == [
        f"Paper Co already has credit note {first.number} with the code 'cr-7'."
    ]


def test_given_a_code_used_by_an_invoice_or_by_another_supplier_then_the_credit_note_may_use_it(
    creator: User, supplier: Supplier, other_supplier: Supplier
) -> None:
    document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="SAME-1"))
    document_create(actor=creator, kind=CN, data=credit_note_data(other_supplier, code="SAME-1"))
    note = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="SAME-1"))
    assert note.supplier_unique_code == "SAME-1"


def test_given_a_cancelled_credit_note_then_its_code_is_free_again(creator: User, supplier: Supplier) -> None:
    first = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-8"))
    document_transition(actor=creator, document=first, action=A.CANCEL)
    again = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-8"))
    assert again.status == Status.DRAFT


def test_given_two_credit_notes_written_past_the_service_then_the_database_refuses_the_second_code(
    creator: User, supplier: Supplier
) -> None:
    first = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-9"))
    second = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-10"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Document.objects.filter(pk=second.pk).update(supplier_unique_code="cr-9")
    assert Document.objects.get(pk=first.pk).supplier_unique_code == "CR-9"


# ---------------------------------------------------------------- the credited invoice


def test_given_an_invoice_of_another_supplier_then_the_credit_note_is_refused_naming_that_invoice(
    creator: User, other_supplier: Supplier, approved_invoice: Document
) -> None:
    error = refused(
        actor=creator, kind=CN, data=credit_note_data(other_supplier, credited_invoice_id=approved_invoice.pk)
    )
    assert error.fields["credited_invoice"] == [
        f"Invoice {approved_invoice.number} is from another supplier; a credit note credits an invoice of its own."
    ]


@pytest.mark.parametrize("action", [A.CANCEL, A.REJECT])
def test_given_a_cancelled_or_rejected_invoice_then_it_cannot_be_credited(
    creator: User, approver: User, supplier: Supplier, draft_invoice: Document, action: workflow.DocumentAction
) -> None:
    if action == A.REJECT:
        document_transition(actor=creator, document=draft_invoice, action=A.SUBMIT)
    document_transition(
        actor=approver if action == A.REJECT else creator, document=draft_invoice, action=action, comment="wrong"
    )
    draft_invoice.refresh_from_db()
    error = refused(actor=creator, kind=CN, data=credit_note_data(supplier, credited_invoice_id=draft_invoice.pk))
    assert error.fields["credited_invoice"] == [
        f"Invoice {draft_invoice.number} is {draft_invoice.get_status_display()}; there is nothing to credit."
    ]


def test_given_a_purchase_order_or_another_companys_invoice_then_it_is_not_an_invoice_to_credit(
    creator: User, outsider: User, supplier: Supplier, draft_po: Document
) -> None:
    theirs_supplier = supplier_create(actor=outsider, data=SupplierData(name="Theirs", currency="USD"))
    theirs = document_create(actor=outsider, kind=DocumentKind.INVOICE, data=invoice_data(theirs_supplier))
    for wrong in (draft_po.pk, theirs.pk):
        error = refused(actor=creator, kind=CN, data=credit_note_data(supplier, credited_invoice_id=wrong))
        assert error.fields["credited_invoice"] == ["Choose one of your invoices."]


def test_given_a_draft_credit_note_when_its_credited_invoice_changes_then_the_edit_names_the_change(
    creator: User, supplier: Supplier, draft_invoice: Document, approved_invoice: Document
) -> None:
    other = document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="I-2"))
    note = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, credited_invoice_id=other.pk))
    data = document_data_from(note)
    data.credited_invoice_id = None
    document_update(actor=creator, document=note, data=data)
    note.refresh_from_db()
    assert note.credited_invoice_id is None
    assert note.events.latest("id").changes == {"credited_invoice": {"from": other.pk, "to": None}}


# ---------------------------------------------------------------- the approved family


@pytest.mark.parametrize("status", [Status.PARTLY_APPLIED, Status.APPLIED])
def test_given_an_applied_credit_note_then_only_its_notes_change_and_it_cannot_be_revised_or_cancelled(
    creator: User, approver: User, supplier: Supplier, status: Status
) -> None:
    note = document_create(actor=creator, kind=CN, data=credit_note_data(supplier))
    document_transition(actor=creator, document=note, action=A.SUBMIT)
    document_transition(actor=approver, document=note, action=A.APPROVE)
    Document.objects.filter(pk=note.pk).update(status=status)
    note.refresh_from_db()

    data = document_data_from(note)
    data.notes = "Supplier confirmed by phone"
    document_update(actor=creator, document=note, data=data)
    assert note.events.latest("id").kind == EventKind.EDIT_WITHOUT_REVISION
    data.supplier_unique_code = "CR-CHANGED"
    with pytest.raises(TransitionNotAllowed, match="revise it first"):
        document_update(actor=creator, document=note, data=data)
    with pytest.raises(TransitionNotAllowed, match="Cannot revise"):
        document_transition(actor=creator, document=note, action=A.REVISE)
    with pytest.raises(TransitionNotAllowed, match="Cannot cancel a credit note that is"):
        document_transition(actor=creator, document=note, action=A.CANCEL)
    note.refresh_from_db()
    assert note.status == status


def test_the_applied_statuses_are_in_the_approved_family_and_set_by_no_user_action() -> None:
    applied = {Status.PARTLY_APPLIED, Status.APPLIED}
    assert applied <= workflow.APPROVED_STATUSES
    assert applied <= workflow.NOTES_ONLY_STATUSES
    assert not applied & set(workflow.TRANSITIONS.values())
    assert not any(status in applied for status, _ in workflow.TRANSITIONS)


# ---------------------------------------------------------------- lists


def test_given_credit_notes_and_invoices_when_listed_by_status_then_each_list_holds_its_own_kind(
    creator: User, approver: User, supplier: Supplier, approved_invoice: Document
) -> None:
    draft = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-1"))
    approved = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-2"))
    document_transition(actor=creator, document=approved, action=A.SUBMIT)
    document_transition(actor=approver, document=approved, action=A.APPROVE)
    applied = document_create(actor=creator, kind=CN, data=credit_note_data(supplier, code="CR-3"))
    Document.objects.filter(pk=applied.pk).update(status=Status.APPLIED)

    def listed(kind: str, **filters: Any) -> list[int]:
        return [doc.pk for doc in document_list(user=creator, kind=kind, **filters)]

    assert listed(CN) == [applied.pk, approved.pk, draft.pk]
    assert listed(CN, status=Status.APPROVED) == [approved.pk]
    assert listed(CN, status=Status.APPLIED) == [applied.pk]
    assert listed(CN, search="cr-2") == [approved.pk]
    assert listed(DocumentKind.INVOICE) == [approved_invoice.pk]
