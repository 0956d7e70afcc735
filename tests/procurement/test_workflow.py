"""The whole transition table, and what each transition leaves behind."""

import pytest

from procurement import workflow
from procurement.models import Document, DocumentEvent, EventKind, Status
from procurement.services import document_transition
from procuresync.errors import TransitionNotAllowed

A = workflow.DocumentAction
EXPECTED = {
    (Status.DRAFT, A.SUBMIT): Status.PENDING,
    (Status.DRAFT, A.CANCEL): Status.CANCELLED,
    (Status.PENDING, A.APPROVE): Status.APPROVED,
    (Status.PENDING, A.REJECT): Status.REJECTED,
    (Status.PENDING, A.CANCEL): Status.CANCELLED,
    (Status.APPROVED, A.REVISE): Status.IN_REVISION,
    (Status.APPROVED, A.CANCEL): Status.CANCELLED,
    (Status.IN_REVISION, A.SUBMIT): Status.PENDING,
    (Status.IN_REVISION, A.CANCEL): Status.CANCELLED,
}


def test_the_table_is_exactly_the_documented_workflow():
    assert workflow.TRANSITIONS == EXPECTED


@pytest.fixture
def all_roles_user(company):
    from accounts.roles import Role
    from tests.conftest import make_user

    return make_user(company, "owner", *Role)


@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("action", list(A))
def test_every_status_and_action_pair(all_roles_user, draft_invoice, status, action):
    # Given an invoice in <status>
    Document.objects.filter(pk=draft_invoice.pk).update(status=status)
    events_before = DocumentEvent.objects.count()
    expected = EXPECTED.get((status, action))
    # When <action> is taken
    if expected is None:
        # Then an illegal move gets one clear error and changes nothing
        with pytest.raises(TransitionNotAllowed) as error:
            document_transition(actor=all_roles_user, document=draft_invoice, action=action, comment="why")
        assert "Cannot" in error.value.message or "payments first" in error.value.message
        draft_invoice.refresh_from_db()
        assert draft_invoice.status == status
        assert DocumentEvent.objects.count() == events_before
    else:
        # Then the status moves and an event row records who, from, to and why
        document_transition(actor=all_roles_user, document=draft_invoice, action=action, comment="why")
        draft_invoice.refresh_from_db()
        assert draft_invoice.status == expected
        event = DocumentEvent.objects.latest("id")
        assert (event.kind, event.actor, event.from_status, event.to_status, event.comment) == (
            EventKind.TRANSITION,
            all_roles_user,
            status,
            expected,
            "why",
        )


def test_given_a_paid_invoice_when_cancelling_then_the_user_is_told_to_cancel_payments_first(
    all_roles_user, approved_invoice
):
    Document.objects.filter(pk=approved_invoice.pk).update(status=Status.PAID)
    with pytest.raises(TransitionNotAllowed, match="Cancel its payments first"):
        document_transition(actor=all_roles_user, document=approved_invoice, action=A.CANCEL)


def test_given_a_revision_when_approved_again_then_the_revision_number_counts_up(creator, approver, approved_invoice):
    document_transition(actor=creator, document=approved_invoice, action=A.REVISE)
    document_transition(actor=creator, document=approved_invoice, action=A.SUBMIT)
    document = document_transition(actor=approver, document=approved_invoice, action=A.APPROVE)
    assert document.status == Status.APPROVED
    assert document.revision == 1
    assert [e.action for e in document.events.filter(kind=EventKind.TRANSITION)] == [
        "submit",
        "approve",
        "revise",
        "submit",
        "approve",
    ]


def test_given_a_pending_invoice_when_rejected_without_a_reason_then_it_is_refused(creator, approver, draft_invoice):
    from procuresync.errors import ValidationFailed

    document_transition(actor=creator, document=draft_invoice, action=A.SUBMIT)
    with pytest.raises(ValidationFailed) as error:
        document_transition(actor=approver, document=draft_invoice, action=A.REJECT, comment=" ")
    assert "comment" in error.value.fields
    draft_invoice.refresh_from_db()
    assert draft_invoice.status == Status.PENDING


def test_events_are_append_only(draft_invoice):
    event = draft_invoice.events.first()
    event.comment = "rewritten"
    with pytest.raises(RuntimeError):
        event.save()
