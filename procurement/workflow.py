"""The approval workflow as an explicit transition table.

A user action moves a document from one status to another only if (status, action) is in
``TRANSITIONS``. Payment statuses (Partly Paid, Paid) are not user actions: they follow the active
payments and are set by ``payments.services`` through ``PAYMENT_STATUSES``.
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
# Approved documents (paid or not) accept only a notes edit, recorded as "edit without revision".
NOTES_ONLY_STATUSES = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID, Status.PENDING})
FINAL_STATUSES = frozenset({Status.REJECTED, Status.CANCELLED})
# Statuses in which an invoice accepts payments; the payment status follows from them.
APPROVED_STATUSES = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID})


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
