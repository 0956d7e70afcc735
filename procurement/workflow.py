"""The approval workflow as an explicit transition table.

A user action moves a document from one status to another only if (status, action) is in
``TRANSITIONS``. Payment statuses (Partly Paid, Paid) are not user actions: they follow an
invoice's active payments and are set by ``payments.services``.

Credit notes walk the same table. Their counterpart of Paid is Applied: QuickBooks applies a
credit note to bills (a "Supplier Credit" part of a bill payment, imported as a payment of that
bill pointing at the credit note), and ``payments.services.credit_note_status_recompute`` moves it
between Approved, Partly Applied and Applied. Like Partly Paid and Paid, both belong to the
approved family (``APPROVED_STATUSES``): they take a notes edit only, and cannot be revised or
cancelled, because QuickBooks has already used the credit.
"""

from __future__ import annotations

import enum

from accounts.roles import Permission
from procurement.models import Status
from procuresync.errors import TransitionNotAllowed


class DocumentAction(enum.StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    REVISE = "revise"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[Status, DocumentAction], Status] = {
    (Status.DRAFT, DocumentAction.SUBMIT): Status.PENDING,
    (Status.IN_REVISION, DocumentAction.SUBMIT): Status.PENDING,
    (Status.PENDING, DocumentAction.APPROVE): Status.APPROVED,
    (Status.PENDING, DocumentAction.REJECT): Status.REJECTED,
    (Status.APPROVED, DocumentAction.REVISE): Status.IN_REVISION,
    (Status.DRAFT, DocumentAction.CANCEL): Status.CANCELLED,
    (Status.PENDING, DocumentAction.CANCEL): Status.CANCELLED,
    (Status.APPROVED, DocumentAction.CANCEL): Status.CANCELLED,
    (Status.IN_REVISION, DocumentAction.CANCEL): Status.CANCELLED,
}

PERMISSION_FOR: dict[DocumentAction, Permission] = {
    DocumentAction.SUBMIT: Permission.DOCUMENT_SUBMIT,
    DocumentAction.APPROVE: Permission.DOCUMENT_APPROVE,
    DocumentAction.REJECT: Permission.DOCUMENT_REJECT,
    DocumentAction.REVISE: Permission.DOCUMENT_REVISE,
    DocumentAction.CANCEL: Permission.DOCUMENT_CANCEL,
}

# Lines, supplier, dates, discounts and custom fields change only here.
EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.IN_REVISION})
# Approved documents (paid, applied or not) accept only a notes edit, recorded as "edit without revision".
NOTES_ONLY_STATUSES = frozenset(
    {Status.APPROVED, Status.PARTLY_PAID, Status.PAID, Status.PARTLY_APPLIED, Status.APPLIED, Status.PENDING}
)
FINAL_STATUSES = frozenset({Status.REJECTED, Status.CANCELLED})
# The approved family: an invoice accepts payments and a credit note applications in these, and its
# payment (application) status follows from them.
APPROVED_STATUSES = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID, Status.PARTLY_APPLIED, Status.APPLIED})
# Set by payments only, never by a user action; a document in one of them cannot be cancelled.
PAYMENT_STATUSES = frozenset({Status.PARTLY_PAID, Status.PAID})
APPLICATION_STATUSES = frozenset({Status.PARTLY_APPLIED, Status.APPLIED})


def next_status(current: str, action: DocumentAction) -> Status:
    try:
        return TRANSITIONS[(Status(current), action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == current)
        hint = f" From {Status(current).label} you can: {', '.join(allowed)}." if allowed else ""
        raise TransitionNotAllowed(
            f"Cannot {action.value} a document that is {Status(current).label}.{hint}", field="status"
        ) from None


def available_actions(current: str) -> list[DocumentAction]:
    return [action for (status, action) in TRANSITIONS if status == current]
