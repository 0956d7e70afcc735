"""The approval workflow as an explicit transition table.

A user action moves a document from one status to another only if (status, action) is in
``TRANSITIONS``. Payment statuses (Partly Paid, Paid) are not user actions: they follow the active
payments and are set by ``payments.services`` through ``PAYMENT_STATUSES``.
"""

from __future__ import annotations

import enum

from accounts.roles import Action as Permission
from procurement.models import Status
from procuresync.errors import TransitionNotAllowed


class Action(enum.StrEnum):
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    REVISE = "revise"
    CANCEL = "cancel"


TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.DRAFT, Action.SUBMIT): Status.PENDING,
    (Status.IN_REVISION, Action.SUBMIT): Status.PENDING,
    (Status.PENDING, Action.APPROVE): Status.APPROVED,
    (Status.PENDING, Action.REJECT): Status.REJECTED,
    (Status.APPROVED, Action.REVISE): Status.IN_REVISION,
    (Status.DRAFT, Action.CANCEL): Status.CANCELLED,
    (Status.PENDING, Action.CANCEL): Status.CANCELLED,
    (Status.APPROVED, Action.CANCEL): Status.CANCELLED,
    (Status.IN_REVISION, Action.CANCEL): Status.CANCELLED,
}

PERMISSION_FOR: dict[Action, Permission] = {
    Action.SUBMIT: Permission.DOCUMENT_SUBMIT,
    Action.APPROVE: Permission.DOCUMENT_APPROVE,
    Action.REJECT: Permission.DOCUMENT_REJECT,
    Action.REVISE: Permission.DOCUMENT_REVISE,
    Action.CANCEL: Permission.DOCUMENT_CANCEL,
}

# Lines, supplier, dates, discounts and custom fields change only here.
EDITABLE_STATUSES = frozenset({Status.DRAFT, Status.IN_REVISION})
# Approved documents (paid or not) accept only a notes edit, recorded as "edit without revision".
NOTES_ONLY_STATUSES = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID, Status.PENDING})
FINAL_STATUSES = frozenset({Status.REJECTED, Status.CANCELLED})
# Statuses in which an invoice accepts payments; the payment status follows from them.
PAYABLE_STATUSES = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID})


def next_status(current: str, action: Action) -> Status:
    try:
        return TRANSITIONS[(Status(current), action)]
    except KeyError:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s == current)
        hint = f" From {Status(current).label} you can: {', '.join(allowed)}." if allowed else ""
        raise TransitionNotAllowed(
            f"Cannot {action.value} a document that is {Status(current).label}.{hint}", field="status"
        ) from None


def available_actions(current: str) -> list[Action]:
    return [action for (status, action) in TRANSITIONS if status == current]
