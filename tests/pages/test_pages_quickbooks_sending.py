"""The QuickBooks pages against a live emulator: the sync panel on a document, sending and
retrying, the closed-books warning, the invoice list's sync column, and who may send.

The emulator runs on a real socket for the whole session; each test creates its own QuickBooks
company through the consent page (``realm=new``), so tests do not see each other's data. The
shared fixtures are in conftest.py, the helpers in quickbooks_pages.py. Deliveries are not run by a
worker here: a button that queues a document is asserted as "Queued", and the one test that needs a
real attempt runs the worker's ``deliver`` in the test thread.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from procurement import workflow
from procurement.models import Document, DocumentKind, Status, Supplier
from procurement.services import document_create, document_transition
from qbo_emulator.testing import RunningEmulator
from quickbooks.connection import client_for as qbo_client_for
from quickbooks.connection import refresh_company_settings
from quickbooks.export import delivery
from quickbooks.models import Connection, DocumentSync, OutboxItem, SyncStatus
from tests.conftest import invoice_data
from tests.pages.quickbooks_pages import flashed, text

# ------------------------------------------------------------------------- documents


def close_books(emulator: RunningEmulator, connection: Connection, date: str) -> None:
    """A user closes the books in QuickBooks, and we read the closing date again (as every 5 minutes)."""
    emulator.control("PUT", f"/companies/{connection.realm_id}/closing-date", json={"date": date})
    refresh_company_settings(connection, qbo_client_for(connection))


@pytest.fixture
def approved_after_connecting(connected: Connection, creator: User, approver: User, supplier: Supplier) -> Document:
    """Approved with "send automatically" on, so it is queued for QuickBooks (no worker runs here)."""
    document = document_create(actor=creator, kind=DocumentKind.INVOICE, data=invoice_data(supplier, code="Q-1"))
    document_transition(actor=creator, document=document, action=workflow.DocumentAction.SUBMIT)
    return document_transition(actor=approver, document=document, action=workflow.DocumentAction.APPROVE)


def test_given_an_invoice_approved_while_connected_when_its_page_opens_then_the_panel_says_queued(
    approved_after_connecting: Document, client_for, creator: User
) -> None:
    body = text(client_for(creator).get(f"/invoices/{approved_after_connecting.pk}/"))
    assert 'id="quickbooks"' in body
    assert '<span class="badge status-pending">Queued</span>' in body
    assert "No attempts yet." in body


def test_given_no_connection_when_a_document_page_opens_then_there_is_no_quickbooks_panel(
    client_for, creator: User, approved_invoice: Document
) -> None:
    assert 'id="quickbooks"' not in text(client_for(creator).get(f"/invoices/{approved_invoice.pk}/"))


def test_given_the_books_are_closed_when_an_invoice_is_delivered_then_it_fails_with_the_reason_and_retry_queues_it(
    qbo: RunningEmulator, approved_after_connecting: Document, connected: Connection, client_for, creator: User
) -> None:
    invoice = approved_after_connecting
    close_books(qbo, connected, "2026-11-30")
    delivery.deliver(str(OutboxItem.objects.get(document=invoice).pk))  # what the worker would do
    assert DocumentSync.objects.get(document=invoice).status == SyncStatus.FAILED

    client = client_for(creator)
    body = text(client.get(f"/invoices/{invoice.pk}/"))
    assert '<span class="badge status-rejected"' in body and "QuickBooks did not accept it:" in body
    assert "<h3>Attempts</h3>" in body and "ms</td>" in body
    assert ">Retry</button>" in body

    response = client.post(f"/integrations/documents/{invoice.pk}/send/", follow=True)

    assert f"{invoice.number} queued for QuickBooks." in flashed(response)
    assert DocumentSync.objects.get(document=invoice).status == SyncStatus.QUEUED
    assert '<span class="badge status-pending">Queued</span>' in text(response)


def test_given_failed_documents_when_the_admin_retries_all_then_they_are_queued_and_counted(
    approved_after_connecting: Document, client_for, admin: User
) -> None:
    DocumentSync.objects.filter(document=approved_after_connecting).update(status=SyncStatus.FAILED,
                                                                           error_message="Stale object")
    client = client_for(admin)
    page = client.get("/integrations/")
    assert {row.status: row.count for row in page.context["sync_counts"]}[SyncStatus.FAILED] == 1
    assert 'href="/invoices/?sync=failed"' in text(page)

    response = client.post("/integrations/retry-failed/", follow=True)

    assert "1 failed document queued to send again." in flashed(response)
    assert DocumentSync.objects.get(document=approved_after_connecting).status == SyncStatus.QUEUED


def test_given_books_closed_after_the_invoice_date_when_its_page_opens_then_the_warning_names_both_dates(
    qbo: RunningEmulator, connected: Connection, client_for, approver: User, creator: User, supplier: Supplier
) -> None:
    invoice = document_create(actor=creator, kind=DocumentKind.INVOICE,
                              data=invoice_data(supplier, code="Q-9", issue_date=dt.date(2026, 11, 2)))
    document_transition(actor=creator, document=invoice, action=workflow.DocumentAction.SUBMIT)
    close_books(qbo, connected, "2026-11-30")

    body = text(client_for(approver).get(f"/invoices/{invoice.pk}/"))

    assert "dated 02 Nov 2026, on or before QuickBooks&#x27; closing date 30 Nov 2026" in body
    assert 'aria-describedby="closed-books"' in body  # next to the Approve button
    assert "Approving now will send it to QuickBooks, which will refuse it." in body


def test_given_books_closed_before_the_invoice_date_when_its_page_opens_then_there_is_no_warning(
    qbo: RunningEmulator, connected: Connection, client_for, creator: User, draft_invoice: Document
) -> None:
    close_books(qbo, connected, "2026-10-31")
    assert 'id="closed-books"' not in text(client_for(creator).get(f"/invoices/{draft_invoice.pk}/"))


def test_given_an_invoice_already_in_quickbooks_when_its_period_is_closed_then_its_page_does_not_warn(
    qbo: RunningEmulator, connected: Connection, approved_after_connecting: Document, client_for, creator: User
) -> None:
    DocumentSync.objects.filter(document=approved_after_connecting).update(status=SyncStatus.SENT, qbo_id="77")
    close_books(qbo, connected, "2026-11-30")
    body = text(client_for(creator).get(f"/invoices/{approved_after_connecting.pk}/"))
    assert 'id="closed-books"' not in body
    assert "77" in body  # the QuickBooks id


# ------------------------------------------------------------------------- lists of documents


def test_given_a_connection_when_the_invoice_list_is_filtered_by_sync_status_then_not_sent_includes_rowless(
    approved_after_connecting: Document, draft_invoice: Document, client_for, creator: User
) -> None:
    client = client_for(creator)
    assert not DocumentSync.objects.filter(document=draft_invoice).exists()

    everything = text(client.get("/invoices/"))
    not_sent = text(client.get("/invoices/?sync=not_sent"))
    queued = text(client.get("/invoices/?sync=queued"))

    assert "<th>QuickBooks</th>" in everything
    assert draft_invoice.number in not_sent and approved_after_connecting.number not in not_sent
    assert approved_after_connecting.number in queued and draft_invoice.number not in queued
    assert "No invoices match these filters." in text(client.get("/invoices/?sync=sent"))


def test_given_synced_documents_when_the_list_renders_5_or_60_then_the_sync_column_costs_no_extra_queries(
    connected: Connection, client_for, creator: User, supplier: Supplier
) -> None:
    client = client_for(creator)

    def add(count: int, start: int) -> None:
        documents = Document.objects.bulk_create(
            Document(company_id=creator.tenant_id, kind=DocumentKind.INVOICE, sequence=start + i,
                     number=f"N-{start + i:05d}", supplier=supplier, status=Status.APPROVED,
                     issue_date=dt.date(2026, 11, 1), currency="USD", supplier_unique_code=f"C-{start + i}",
                     created_by=creator)
            for i in range(count)
        )
        # Every other one has a sync row; the rest read as "Not sent".
        DocumentSync.objects.bulk_create(
            DocumentSync(document=d, company_id=creator.tenant_id, status=SyncStatus.SENT, qbo_id=str(d.pk))
            for d in documents[::2]
        )

    def queries() -> int:
        with CaptureQueriesContext(db_connection) as captured:
            response = client.get("/invoices/")
        assert response.status_code == 200 and "<th>QuickBooks</th>" in text(response)
        return len(captured)

    add(5, 1)
    few = queries()
    add(55, 100)
    assert queries() == few


# ------------------------------------------------------------------------- who may send


@pytest.mark.parametrize(("persona", "expected"),
                         [("creator", 302), ("approver", 302), ("admin", 302), ("payer", 403), ("nobody", 403)])
def test_given_a_persona_when_they_press_send_to_quickbooks_then_create_approve_and_admin_may(
    request: pytest.FixtureRequest, client_for, approved_after_connecting: Document, persona: str, expected: int
) -> None:
    DocumentSync.objects.filter(document=approved_after_connecting).update(status=SyncStatus.FAILED)
    client = client_for(request.getfixturevalue(persona))
    shows_button = ">Retry</button>" in text(client.get(f"/invoices/{approved_after_connecting.pk}/"))
    assert shows_button is (expected == 302)

    response = client.post(f"/integrations/documents/{approved_after_connecting.pk}/send/")

    assert response.status_code == expected
    queued = DocumentSync.objects.get(document=approved_after_connecting).status == SyncStatus.QUEUED
    assert queued is (expected == 302)


def test_given_another_companys_document_when_send_is_pressed_then_it_is_not_found(
    client_for, outsider: User, approved_invoice: Document
) -> None:
    assert client_for(outsider).post(f"/integrations/documents/{approved_invoice.pk}/send/").status_code == 404
