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
    return document_transition(actor=creator, document=draft_invoice, action=workflow.Action.SUBMIT)

