"""Shared personas and builders. A test reads as: given <persona> and <document>, when ..., then ...

Personas (all in the company "Acme" unless named otherwise):
- ``creator``: Create role; ``approver``: Approve; ``payer``: Payment; ``admin``: Admin;
- ``nobody``: a member with no role; ``outsider``: Create+Approve+Payment+Admin in *another* company.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings

from accounts.models import Company, User
from accounts.roles import Role
from accounts.services import company_create, user_create
from procurement import workflow
from procurement.inputs import DocumentData, LineData, SupplierData
from procurement.models import Document, DocumentKind, Supplier
from procurement.services import document_create, document_transition, supplier_create

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def _fast_passwords_and_private_media(tmp_path_factory: pytest.TempPathFactory) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = str(tmp_path_factory.getbasetemp() / "media")
    from django.core.cache import cache

    cache.clear()  # throttling counters (e.g. the token endpoint's) never carry over between tests


@pytest.fixture
def company(db: None) -> Company:
    return company_create(name="Acme", home_currency="USD")


@pytest.fixture
def other_company(db: None) -> Company:
    return company_create(name="Globex", home_currency="USD")


def make_user(company: Company, username: str, *roles: Role) -> User:
    return user_create(
        company=company, username=username, password=PASSWORD, roles=set(roles), first_name=username.title()
    )


@pytest.fixture
def creator(company: Company) -> User:
    return make_user(company, "creator", Role.CREATE)


@pytest.fixture
def approver(company: Company) -> User:
    return make_user(company, "approver", Role.APPROVE)


@pytest.fixture
def payer(company: Company) -> User:
    return make_user(company, "payer", Role.PAYMENT)


@pytest.fixture
def admin(company: Company) -> User:
    return make_user(company, "admin", Role.ADMIN)


@pytest.fixture
def nobody(company: Company) -> User:
    return make_user(company, "nobody")


@pytest.fixture
def outsider(other_company: Company) -> User:
    return make_user(other_company, "outsider", *Role)


@pytest.fixture
def supplier(creator: User) -> Supplier:
    return supplier_create(actor=creator, data=SupplierData(name="Paper Co", currency="USD", email="ap@paper.example"))


def line(description: str = "A4 paper", quantity: str = "10", unit_price: str = "5.00", **kwargs: Any) -> LineData:
    return LineData(description=description, quantity=Decimal(quantity), unit_price=Decimal(unit_price), **kwargs)


def invoice_data(
    supplier: Supplier,
    *lines: LineData,
    code: str = "SUP-1001",
    issue_date: dt.date = dt.date(2026, 11, 2),
    due_date: dt.date | None = dt.date(2026, 12, 2),
    **kwargs: Any,
) -> DocumentData:
    return DocumentData(
        supplier_id=supplier.pk,
        issue_date=issue_date,
        due_date=due_date,
        lines=list(lines) or [line()],
        supplier_unique_code=code,
        **kwargs,
    )


def credit_note_data(
    supplier: Supplier, *lines: LineData, code: str = "CR-501", issue_date: dt.date = dt.date(2026, 11, 12),
    **kwargs: Any,
) -> DocumentData:
    """A supplier credit note: 2 × 25.00 of returned goods unless ``lines`` say otherwise."""
    return DocumentData(
        supplier_id=supplier.pk,
        issue_date=issue_date,
        lines=list(lines) or [line("Returned toner", "2", "25.00")],
        supplier_unique_code=code,
        **kwargs,
    )


def po_data(
    supplier: Supplier, *lines: LineData, issue_date: dt.date = dt.date(2026, 11, 2), **kwargs: Any
) -> DocumentData:
    return DocumentData(supplier_id=supplier.pk, issue_date=issue_date, lines=list(lines) or [line()], **kwargs)


@pytest.fixture
def draft_invoice(creator: User, supplier: Supplier) -> Document:
    return document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier))


@pytest.fixture
def approved_invoice(creator: User, approver: User, draft_invoice: Document) -> Document:
    document_transition(actor=creator, document=draft_invoice, action=workflow.DocumentAction.SUBMIT)
    return document_transition(actor=approver, document=draft_invoice, action=workflow.DocumentAction.APPROVE)


@pytest.fixture
def draft_po(creator: User, supplier: Supplier) -> Document:
    return document_create(actor=creator, kind=DocumentKind.PURCHASE_ORDER, data=po_data(supplier))


def use_emulator(settings: Any, emulator: Any, *, redirect_uri: str | None = None) -> None:
    """Point the product at a running QBO emulator, as an operator would with environment variables."""
    from quickbooks import oauth

    creds = emulator.credentials
    settings.QBO_CLIENT_ID = creds["client_id"]
    settings.QBO_CLIENT_SECRET = creds["client_secret"]
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = creds["verifier_token"]
    settings.QBO_API_BASE_URL = creds["base_url"]
    settings.QBO_AUTH_URL = creds["auth_url"]
    settings.QBO_TOKEN_URL = creds["token_url"]
    settings.QBO_REVOKE_URL = creds["revoke_url"]
    settings.QBO_RETRY_SCALE = 0.001  # retries wait milliseconds, not seconds
    if redirect_uri is not None:
        settings.QBO_REDIRECT_URI = redirect_uri
    oauth.set_http_client(None)  # a fresh connection pool with these settings
