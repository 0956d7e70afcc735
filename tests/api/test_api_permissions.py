"""The permission matrix over the API: persona x action -> allowed (2xx) or refused (403, error
shape, nothing changed). The roles themselves are decided in accounts.roles; this checks that every
endpoint reaches that decision."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from accounts.models import User
from payments.services import payment_record
from procurement import workflow
from procurement.models import Document, Supplier
from procurement.services import document_transition
from tests.api.conftest import assert_error, invoice_body

PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]
Request = tuple[str, str, dict[str, Any]]


def _pending(doc: Document, creator: User) -> Document:
    return document_transition(actor=creator, document=doc, action=workflow.DocumentAction.SUBMIT)


def _approved(doc: Document, creator: User, approver: User) -> Document:
    return document_transition(actor=approver, document=_pending(doc, creator), action=workflow.DocumentAction.APPROVE)


def _payment(doc: Document, creator: User, approver: User, payer: User) -> int:
    invoice = _approved(doc, creator, approver)
    return payment_record(
        actor=payer, invoice=invoice, amount=Decimal("5"), paid_on=dt.date(2026, 11, 5), method="card"
    ).pk


# action -> (request given the draft invoice, its supplier and the role holders; personas allowed)
Setup = Callable[[Document, Supplier, User, User, User], Request]
MATRIX: dict[str, tuple[Setup, set[str]]] = {
    "create supplier": (
        lambda d, s, c, a, p: ("post", "/api/v1/suppliers/", {"name": "Ink Ltd", "currency": "USD"}),
        {"creator", "admin"},
    ),
    "create invoice": (
        lambda d, s, c, a, p: ("post", "/api/v1/invoices/", invoice_body(s, supplier_unique_code="N-1")),
        {"creator"},
    ),
    "submit": (lambda d, s, c, a, p: ("post", f"/api/v1/invoices/{d.pk}/submit", {}), {"creator"}),
    "approve": (
        lambda d, s, c, a, p: ("post", f"/api/v1/invoices/{_pending(d, c).pk}/approve", {}),
        {"approver"},
    ),
    "reject": (
        lambda d, s, c, a, p: ("post", f"/api/v1/invoices/{_pending(d, c).pk}/reject", {"comment": "no"}),
        {"approver"},
    ),
    "revise": (
        lambda d, s, c, a, p: ("post", f"/api/v1/invoices/{_approved(d, c, a).pk}/revise", {}),
        {"creator", "approver"},
    ),
    "cancel": (lambda d, s, c, a, p: ("post", f"/api/v1/invoices/{d.pk}/cancel", {}), {"creator", "admin"}),
    "edit": (lambda d, s, c, a, p: ("patch", f"/api/v1/invoices/{d.pk}/", {"notes": "n"}), {"creator"}),
    "list payments": (lambda d, s, c, a, p: ("get", "/api/v1/payments/", {}), {"payer"}),
    "record payment": (
        lambda d, s, c, a, p: (
            "post",
            "/api/v1/payments/",
            {"invoice": _approved(d, c, a).pk, "amount": "5", "paid_on": "2026-11-05", "method": "cheque"},
        ),
        {"payer"},
    ),
    "cancel payment": (
        lambda d, s, c, a, p: ("post", f"/api/v1/payments/{_payment(d, c, a, p)}/cancel", {}),
        {"payer"},
    ),
    "read invoice": (lambda d, s, c, a, p: ("get", f"/api/v1/invoices/{d.pk}/", {}), set(PERSONAS)),
}


@pytest.mark.parametrize("persona", PERSONAS)
@pytest.mark.parametrize("action", MATRIX)
def test_given_a_persona_when_calling_an_action_then_the_role_decides(
    action: str,
    persona: str,
    request: pytest.FixtureRequest,
    as_user: Any,
    draft_invoice: Document,
    creator: User,
    approver: User,
    payer: User,
    unchanged: Any,
) -> None:
    setup, allowed = MATRIX[action]
    method, url, body = setup(draft_invoice, draft_invoice.supplier, creator, approver, payer)
    client = as_user(request.getfixturevalue(persona))

    if persona in allowed:
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code in (200, 201), response.content
    else:
        with unchanged():
            response = getattr(client, method)(url, body, format="json")
        assert_error(response, 403, code="permission_denied")
