"""List pages cost the same number of queries for 5 rows as for 60 (no per-row queries)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from axes.models import AccessAttempt
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from accounts.models import User
from accounts.roles import Role
from payments.models import Method, Payment
from procurement.models import Document, DocumentKind, Status, Supplier
from quickbooks.models import DocumentSync, SyncStatus
from tests.conftest import make_user


def _add_documents(creator: User, kind: str, count: int, start: int) -> None:
    suppliers = Supplier.objects.bulk_create(
        Supplier(company_id=creator.company_id, name=f"Supplier {kind} {start + i}", currency="USD") for i in range(3)
    )
    Document.objects.bulk_create(
        Document(
            company_id=creator.company_id, kind=kind, sequence=start + i, number=f"N-{start + i:05d}",
            supplier=suppliers[i % 3], status=Status.APPROVED, issue_date=dt.date(2026, 11, 1),
            due_date=dt.date(2026, 12, 1), currency="USD", supplier_unique_code=f"C-{start + i}",
            total=Decimal("10.00"), created_by=creator,
        )
        for i in range(count)
    )
    # Every other one has been sent to QuickBooks (some failed), so the QuickBooks column and its
    # filter are on the page, read through the same query as the rows.
    DocumentSync.objects.bulk_create(
        DocumentSync(document=document, company_id=creator.company_id,
                     status=SyncStatus.FAILED if document.sequence % 4 == 0 else SyncStatus.SENT)
        for document in Document.objects.filter(company_id=creator.company_id, kind=kind, sequence__gte=start)
        if document.sequence % 2 == 0
    )


def _add_payments(payer: User, invoice: Document, count: int) -> None:
    Payment.objects.bulk_create(
        Payment(company_id=payer.company_id, invoice=invoice, amount=Decimal("0.01"), paid_on=dt.date(2026, 11, 3),
                method=Method.CHEQUE, created_by=payer)
        for _ in range(count)
    )


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


@pytest.mark.parametrize(("url", "kind"), [("/invoices/", DocumentKind.INVOICE),
                                           ("/credit-notes/", DocumentKind.CREDIT_NOTE),
                                           ("/purchase-orders/", DocumentKind.PURCHASE_ORDER)])
def test_given_5_or_60_documents_when_the_list_renders_then_the_query_count_is_the_same(
    client_for, creator: User, url: str, kind: str
) -> None:
    client = client_for(creator)
    _add_documents(creator, kind, 5, start=1)
    few = _queries(client, url)
    _add_documents(creator, kind, 55, start=100)
    many = _queries(client, url)
    assert few == many
    # A search looks the matching suppliers up first (their ids let PostgreSQL use its indexes).
    assert _queries(client, url + "?q=Supplier&status=approved&page=2") == many + 1
    # The last page, and the QuickBooks filters (rows without a sync row count as "Not sent").
    assert _queries(client, url + "?page=2") == many
    assert _queries(client, url + "?sync=failed") == _queries(client, url + "?sync=not_sent") == many - 2


def test_given_5_or_60_payments_when_the_payments_page_renders_then_the_query_count_is_the_same(
    client_for, payer: User, approved_invoice: Document
) -> None:
    client = client_for(payer)
    _add_payments(payer, approved_invoice, 5)
    few = _queries(client, "/payments/")
    _add_payments(payer, approved_invoice, 55)
    assert _queries(client, "/payments/") == few
    assert _queries(client, "/payments/?page=2") == few  # the last page


def test_given_payments_of_many_invoices_when_the_payments_page_is_filtered_then_the_query_count_is_the_same(
    client_for, payer: User, creator: User
) -> None:
    client = client_for(payer)
    _add_documents(creator, DocumentKind.INVOICE, 5, start=1)
    for invoice in Document.objects.filter(company_id=payer.company_id):
        _add_payments(payer, invoice, 1)
    supplier = Supplier.objects.filter(company_id=payer.company_id).first()
    assert supplier is not None
    filtered = f"/payments/?supplier={supplier.pk}&method=cheque&date_from=2026-11-01&date_to=2026-11-30"
    few, few_filtered = _queries(client, "/payments/"), _queries(client, filtered)
    _add_documents(creator, DocumentKind.INVOICE, 55, start=100)
    for invoice in Document.objects.filter(company_id=payer.company_id, sequence__gte=100):
        _add_payments(payer, invoice, 2)

    assert _queries(client, "/payments/") == _queries(client, "/payments/?page=3") == few
    assert _queries(client, filtered) == few_filtered


def _add_users(admin: User, count: int, start: int) -> None:
    """Approvers, every other one with two-factor authentication on and one of them locked out."""
    assert admin.company is not None
    for i in range(start, start + count):
        member = make_user(admin.company, f"user{i}", Role.APPROVE)
        if i % 2:
            TOTPDevice.objects.create(user=member, name="Authenticator app", confirmed=True)
    AccessAttempt.objects.create(username=f"user{start}", ip_address="10.0.0.1", user_agent="",
                                 failures_since_start=100, get_data="", post_data="", http_accept="", path_info="")


def test_given_5_or_60_users_with_two_factor_and_lockouts_then_user_management_costs_the_same_queries(
    client_for, admin: User
) -> None:
    two_factor.set_company_requirement(actor=admin, required=True)
    TOTPDevice.objects.create(user=admin, name="Authenticator app", confirmed=True)
    client = client_for(admin)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = TOTPDevice.objects.get(user=admin).persistent_id  # passed the code
    session.save()
    _add_users(admin, 5, start=1)
    few = _queries(client, "/users/")
    _add_users(admin, 55, start=100)
    page = client.get("/users/").content.decode()

    assert _queries(client, "/users/") == few
    assert page.count("2FA on") == 1 + 30 and page.count("required, not set up") == 30
    assert page.count("Locked out") == 2


def test_given_60_invoices_when_the_last_page_is_asked_then_it_shows_the_oldest_newest_first_and_all_are_counted(
    client_for, creator: User
) -> None:
    _add_documents(creator, DocumentKind.INVOICE, 60, start=1)  # N-00001 .. N-00060, 50 a page
    client = client_for(creator)

    page = client.get("/invoices/?page=2").content.decode()
    api = client.get("/api/v1/invoices/?page=2").json()
    not_sent = client.get("/invoices/?sync=not_sent").content.decode()

    shown = [f"N-{n:05d}" for n in range(10, 0, -1)]
    positions = [page.find(f">{number}<") for number in shown]
    assert -1 not in positions and positions == sorted(positions)
    assert ">N-00011<" not in page and "Page 2 of 2 · 60 in all" in page
    assert [row["number"] for row in api["results"]] == shown and api["count"] == 60
    assert ">N-00059<" in not_sent and ">N-00060<" not in not_sent  # even ones were sent
