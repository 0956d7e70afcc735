"""Page-test helpers: a logged-in client per persona and the documents the pages act on."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.models import User
from procurement import workflow
from procurement.models import Document
from procurement.services import document_transition


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def login(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return login


@pytest.fixture
def pending_invoice(creator: User, draft_invoice: Document) -> Document:
    return document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.SUBMIT)



LINE_DEFAULTS = {
    "description": "", "item": "", "quantity": "1", "unit_price": "", "discount_type": "", "discount_value": "",
    "account": "", "line_class": "", "customer_project": "", "tax_code": "", "tax_rate": "0",
}


def document_form(supplier_id: int, lines: list[dict[str, str]], *, initial_lines: int = 0, **header: str) -> dict:
    """The POST body the create/edit page sends: header fields plus the lines formset."""
    data: dict[str, object] = {
        "supplier": supplier_id, "issue_date": "2026-11-02", "due_date": "2026-12-02",
        "supplier_unique_code": "SUP-9001", "purchase_order": "", "currency": "", "exchange_rate": "",
        "discount_type": "", "discount_value": "", "notes": "",
        "lines-TOTAL_FORMS": len(lines), "lines-INITIAL_FORMS": initial_lines,
        "lines-MIN_NUM_FORMS": 0, "lines-MAX_NUM_FORMS": 1000,
    }
    data.update(header)
    for index, line in enumerate(lines):
        for name, value in {**LINE_DEFAULTS, **line}.items():
            data[f"lines-{index}-{name}"] = value
    return data


@pytest.fixture
def form_body() -> object:
    return document_form
