"""The QuickBooks pages against a live emulator: connect, settings, lists, vendors, the sync panel.

The emulator runs on a real socket for the whole session; each test creates its own QuickBooks
company through the consent page (``realm=new``), so tests do not see each other's data. Deliveries
are not run by a worker here: a button that queues a document is asserted as "Queued", and the one
test that needs a real attempt runs the worker's ``deliver`` in the test thread.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import CustomField, Document, DocumentKind, ListKind, ListOption, Status, Supplier
from procurement.services import document_create, document_transition, supplier_create
from qbo_emulator.config import EmulatorConfig, Limits
from qbo_emulator.testing import RunningEmulator, running_emulator
from quickbooks.connection import client_for as qbo_client_for
from quickbooks.connection import refresh_company_settings
from quickbooks.export import delivery
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, OutboxItem, SyncStatus, VendorLink
from tests.conftest import invoice_data, use_emulator

REDIRECT_URI = "http://localhost/integrations/callback/"  # the emulator accepts localhost redirects only


@pytest.fixture(scope="session")
def emulator() -> Iterator[RunningEmulator]:
    with running_emulator(EmulatorConfig(limits=Limits(enabled=False))) as emu:
        yield emu


@pytest.fixture
def qbo(settings: Any, emulator: RunningEmulator) -> RunningEmulator:
    """The product pointed at the emulator, as an operator would with environment variables."""
    use_emulator(settings, emulator, redirect_uri=REDIRECT_URI)
    return emulator


def consent(client: Client, *, decision: str = "connect", company_name: str = "Acme Books") -> str:
    """Press Connect, answer Intuit's (the emulator's) consent page; return the callback path Intuit sends back."""
    response = client.post("/integrations/connect/")
    assert response.status_code == 302
    authorize = urlparse(response["Location"])
    fields = {name: values[0] for name, values in parse_qs(authorize.query).items()}
    answer = httpx.post(
        authorize._replace(query="").geturl(),
        data={**fields, "decision": decision, "realm": "new", "company_name": company_name},
    )
    assert answer.status_code == 302
    back = urlparse(answer.headers["location"])
    assert back.path == "/integrations/callback/"
    return f"{back.path}?{back.query}"


@pytest.fixture
def connected(qbo: RunningEmulator, client_for: Callable[[User], Client], admin: User) -> Connection:
    """The admin's company connected to a fresh QuickBooks company named "Acme Books"."""
    client = client_for(admin)
    client.get(consent(client))
    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.status == ConnectionStatus.CONNECTED
    return connection


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ------------------------------------------------------------------------- connecting


def test_given_no_connection_when_the_admin_opens_integrations_then_it_explains_and_offers_connect(
    client_for, admin: User
) -> None:
    body = text(client_for(admin).get("/integrations/"))
    assert "Not connected" in body
    assert "send approved invoices to QuickBooks as Bills" in body
    assert "Connect to QuickBooks" in body


def test_given_quickbooks_is_not_configured_when_connect_is_pressed_then_the_admin_is_told_why(
    settings: Any, tmp_path: Any, client_for, admin: User
) -> None:
    settings.QBO_CLIENT_ID = ""
    settings.QBO_CREDENTIALS_FILE = str(tmp_path / "missing.json")
    response = client_for(admin).post("/integrations/connect/", follow=True)
    assert "QuickBooks is not configured on this server" in " ".join(flashed(response))
    assert not Connection.objects.filter(company_id=admin.tenant_id, status=ConnectionStatus.CONNECTED).exists()


def test_given_the_admin_consents_when_intuit_sends_them_back_then_the_company_is_connected_and_named(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client, company_name="Acme Books")
    realm = parse_qs(urlparse(callback).query)["realmId"][0]

    response = client.get(callback, follow=True)

    assert response.redirect_chain[-1][0] == "/integrations/"
    assert "Connected to the QuickBooks company “Acme Books”." in flashed(response)
    body = text(response)
    assert "Connected" in body and "Acme Books" in body and realm in body
    assert "Import lists from QuickBooks" in body and "Disconnect" in body
    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.realm_id == realm
    assert connection.oauth_state == ""  # the state is single use


def test_given_a_callback_with_another_state_when_it_arrives_then_it_is_refused_and_nothing_connects(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client)
    forged = callback.replace("state=", "state=forged")

    response = client.get(forged, follow=True)

    assert "The QuickBooks sign-in expired or did not start here; press Connect again." in flashed(response)
    assert Connection.objects.get(company_id=admin.tenant_id).status == ConnectionStatus.NOT_CONNECTED


def test_given_the_admin_cancels_on_intuits_page_when_sent_back_then_they_are_told_so(
    qbo: RunningEmulator, client_for, admin: User
) -> None:
    client = client_for(admin)
    callback = consent(client, decision="deny")
    assert "error=access_denied" in callback

    response = client.get(callback, follow=True)

    assert "You cancelled the connection; QuickBooks was not connected." in flashed(response)
    assert "Connect to QuickBooks" in text(response)


def test_given_a_connection_when_the_admin_disconnects_then_it_is_not_connected_and_the_tokens_are_gone(
    connected: Connection, client_for, admin: User
) -> None:
    response = client_for(admin).post("/integrations/disconnect/", follow=True)

    assert any("QuickBooks disconnected" in m for m in flashed(response))
    assert "Connect to QuickBooks" in text(response)
    connected.refresh_from_db()
    assert connected.status == ConnectionStatus.NOT_CONNECTED
    assert connected.access_token == connected.refresh_token == ""


def test_given_quickbooks_refused_the_refresh_when_the_admin_looks_then_needs_reconnect_is_shown_with_reconnect(
    connected: Connection, client_for, admin: User
) -> None:
    Connection.objects.filter(pk=connected.pk).update(
        status=ConnectionStatus.NEEDS_RECONNECT, last_error="QuickBooks refused the sign-in (invalid_grant)."
    )
    body = text(client_for(admin).get("/integrations/"))
    assert "Needs reconnect" in body
    assert "QuickBooks refused the sign-in (invalid_grant)." in body
    assert ">Reconnect</button>" in body


# ------------------------------------------------------------------------- lists and settings


def test_given_a_connection_when_lists_are_imported_then_the_counts_show_and_the_account_selects_fill(
    connected: Connection, client_for, admin: User
) -> None:
    client = client_for(admin)
    response = client.post("/integrations/lists/", follow=True)

    message = " ".join(flashed(response))
    assert "Imported from QuickBooks: 10 accounts, 2 classes, 2 locations" in message
    form = response.context["settings_form"]
    assert [o.name for o in form.fields["default_ap_account"].queryset] == ["Accounts Payable (A/P)"]
    expense = {o.name for o in form.fields["default_expense_account"].queryset}
    assert {"Office Supplies", "Travel"} <= expense and "Accounts Payable (A/P)" not in expense
    assert "Accounts Payable (A/P)" in text(response)


def test_given_imported_lists_when_the_admin_saves_settings_then_the_connection_keeps_them(
    connected: Connection, client_for, admin: User
) -> None:
    client = client_for(admin)
    client.post("/integrations/lists/")
    ap = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Accounts Payable (A/P)")
    expense = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Office Supplies")
    location = CustomField.objects.create(company_id=admin.tenant_id, name="Site")

    response = client.post("/integrations/settings/", {
        "document_kind": DocumentKind.PURCHASE_ORDER, "import_payments": "on",
        "default_ap_account": ap.pk, "default_expense_account": expense.pk, "location_field": location.pk,
    }, follow=True)

    assert "QuickBooks settings saved." in flashed(response)
    connected.refresh_from_db()
    assert connected.document_kind == DocumentKind.PURCHASE_ORDER
    assert connected.auto_send is False and connected.import_payments is True
    assert (connected.default_ap_account, connected.default_expense_account) == (ap, expense)
    assert connected.location_field == location


@pytest.mark.parametrize(("field", "value"), [("document_kind", "credit_note"), ("default_ap_account", "expense")])
def test_given_bad_settings_when_saved_then_they_are_refused_next_to_the_field_and_nothing_changes(
    connected: Connection, client_for, admin: User, field: str, value: str
) -> None:
    client = client_for(admin)
    client.post("/integrations/lists/")
    expense = ListOption.objects.get(company_id=admin.tenant_id, kind=ListKind.ACCOUNT, name="Office Supplies")
    bad = expense.pk if value == "expense" else value  # an expense account is no A/P account
    body = {"document_kind": DocumentKind.INVOICE, "auto_send": "on", field: bad}
    connected.refresh_from_db()
    ap_account_before = connected.default_ap_account_id  # the single A/P account, chosen on import

    response = client.post("/integrations/settings/", body)

    assert response.status_code == 400
    assert response.context["settings_form"].errors[field]
    assert "The settings were not saved" in text(response)
    connected.refresh_from_db()
    assert connected.default_ap_account_id == ap_account_before
    assert connected.document_kind == DocumentKind.INVOICE


# ------------------------------------------------------------------------- vendors


def hicks_hardware(connection: Connection) -> str:
    """The id of a vendor every seeded sandbox company has."""
    found = qbo_client_for(connection).query("SELECT * FROM Vendor WHERE DisplayName = 'Hicks Hardware'")
    return str(found["Vendor"][0]["Id"])

def test_given_an_unlinked_supplier_when_the_admin_names_a_quickbooks_vendor_then_it_is_linked_by_hand(
    connected: Connection, client_for, admin: User, supplier: Supplier
) -> None:
    client = client_for(admin)
    assert "Not linked yet (created in QuickBooks when first needed)" in text(client.get("/integrations/"))
    vendor_id = hicks_hardware(connected)

    response = client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": vendor_id}, follow=True)

    assert f"{supplier.name} is now linked to the QuickBooks vendor “Hicks Hardware”." in flashed(response)
    link = VendorLink.objects.get(supplier=supplier)
    assert (link.qbo_id, link.how, link.realm_id) == (vendor_id, "by hand", connected.realm_id)
    assert "by hand" in text(response)


def test_given_a_vendor_linked_to_another_supplier_when_mapped_again_then_it_is_refused(
    connected: Connection, client_for, admin: User, creator: User, supplier: Supplier
) -> None:
    other = supplier_create(actor=creator, data=SupplierData(name="Ink Ltd", currency="USD"))
    vendor_id = hicks_hardware(connected)
    client = client_for(admin)
    client.post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": vendor_id})
    assert VendorLink.objects.filter(supplier=supplier, qbo_id=vendor_id).exists()

    response = client.post("/integrations/vendors/", {"supplier": other.pk, "vendor_id": vendor_id}, follow=True)

    assert any(f"is already linked to {supplier.name}" in m for m in flashed(response))
    assert not VendorLink.objects.filter(supplier=other).exists()


def test_given_a_vendor_id_quickbooks_does_not_have_when_mapped_then_the_admin_is_told_and_nothing_links(
    connected: Connection, client_for, admin: User, supplier: Supplier
) -> None:
    response = client_for(admin).post("/integrations/vendors/", {"supplier": supplier.pk, "vendor_id": "99999"},
                                      follow=True)
    assert "QuickBooks has no vendor with id 99999; check the id in QuickBooks." in flashed(response)
    assert not VendorLink.objects.filter(supplier=supplier).exists()


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


# ------------------------------------------------------------------------- who may do what

PERSONAS = ["creator", "approver", "payer", "admin", "nobody"]
ADMIN_ONLY_POSTS = ["/integrations/connect/", "/integrations/disconnect/", "/integrations/settings/",
                    "/integrations/lists/", "/integrations/vendors/"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_given_a_persona_when_they_open_integrations_or_press_its_buttons_then_only_an_admin_may(
    request: pytest.FixtureRequest, client_for, persona: str
) -> None:
    client = client_for(request.getfixturevalue(persona))
    expected = 200 if persona == "admin" else 403
    assert client.get("/integrations/").status_code == expected
    assert client.get("/integrations/callback/?error=access_denied").status_code == (302 if expected == 200 else 403)
    if persona != "admin":
        for url in ADMIN_ONLY_POSTS:
            response = client.post(url)
            assert response.status_code == 403, url
            assert "You can't open this page" in text(response)


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
