"""Page-test helpers: a logged-in client per persona, the documents the pages act on, and the
QuickBooks emulator with a connected company for the QuickBooks pages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from procurement import workflow
from procurement.models import Document
from procurement.services import document_transition
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, running_emulator
from quickbooks.models import Connection, ConnectionStatus
from tests.conftest import use_emulator
from tests.pages.quickbooks_pages import REDIRECT_URI, consent


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


# --- QuickBooks: the emulator on a real socket for the whole session; each test that connects
# creates its own QuickBooks company through the consent page (``realm=new``).

@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        yield emu


@pytest.fixture
def qbo(settings: Any, emulator: RunningEmulator) -> RunningEmulator:
    """The product pointed at the emulator, as an operator would with environment variables."""
    use_emulator(settings, emulator, redirect_uri=REDIRECT_URI)
    return emulator


@pytest.fixture
def connected(qbo: RunningEmulator, client_for: Callable[[User], Client], admin: User) -> Connection:
    """The admin's company connected to a fresh QuickBooks company named "Acme Books"."""
    client = client_for(admin)
    client.get(consent(client))
    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.status == ConnectionStatus.CONNECTED
    return connection
