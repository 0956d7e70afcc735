"""Connecting QuickBooks, as it must be: one procuresync company per QuickBooks company, a connect
that reads the QuickBooks company before trusting it, the same home currency on both sides, vendor
creates that follow a renamed supplier, and token refreshes that never hold the database.

Given/when/then against the live emulator (tests/quickbooks/conftest.py).
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from django.db import connection as db_connection
from django.utils import timezone

from accounts.models import Company, User
from accounts.roles import Role
from accounts.services import company_create
from payments.models import Payment
from procurement import workflow
from procurement.inputs import SupplierData
from procurement.models import Document, ListKind, ListOption, Supplier
from procurement.services import document_create, document_transition, supplier_create, supplier_update
from quickbooks import crypto, oauth
from quickbooks.client import quote
from quickbooks.connection import client_for
from quickbooks.errors import QuickBooksError
from quickbooks.export.services import document_send
from quickbooks.inbound.models import EventState, WebhookEvent
from quickbooks.models import Connection, ConnectionStatus, SyncStatus, VendorLink
from quickbooks.services import (
    connection_complete,
    connection_disconnect,
    connection_start,
    connection_update_settings,
    lists_import,
)
from tests.conftest import invoice_data, make_user
from tests.quickbooks.conftest import REDIRECT_URI, Qbo, consent, settle, sync_of
from tests.quickbooks.test_payments_in import exported_invoice, pay
from tests.quickbooks.test_payments_webhooks import cloudevent, post

A = workflow.DocumentAction
TOKEN_PATH = "/oauth2/v1/tokens/bearer"


# ------------------------------------------------------------------------- helpers


def company_admin(name: str, *, currency: str = "USD") -> User:
    """The one user of another procuresync company, with every role."""
    company = company_create(name=name, home_currency=currency)
    return make_user(company, f"{name.lower().replace(' ', '-')}-admin", *Role)


def back_from_intuit(admin: User, *, realm: str = "new") -> dict[str, str]:
    """Press Connect and choose a QuickBooks company (an existing realm, or a new one) on Intuit's page."""
    return consent(connection_start(actor=admin, redirect_uri=REDIRECT_URI), realm=realm)


def complete(admin: User, answer: dict[str, str]) -> Connection:
    return connection_complete(
        actor=admin, code=answer["code"], state=answer["state"], realm_id=answer["realmId"], redirect_uri=REDIRECT_URI
    )


def connect_to(admin: User, realm: str) -> Connection:
    """Connect ``admin``'s company to QuickBooks company ``realm``, import lists, pick the accounts."""
    complete(admin, back_from_intuit(admin, realm=realm))
    lists_import(actor=admin)
    accounts = ListOption.objects.filter(company_id=admin.tenant_id, kind=ListKind.ACCOUNT)
    expense = accounts.filter(detail="Expense").first()
    payable = accounts.filter(detail="Accounts Payable").first()
    assert expense is not None and payable is not None
    return connection_update_settings(
        actor=admin,
        document_kind="invoice",
        auto_send=True,
        import_payments=True,
        default_expense_account_id=expense.pk,
        default_ap_account_id=payable.pk,
    )


def approved_invoice(creator: User, approver: User, supplier: Supplier, code: str) -> Document:
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code))
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    return document_transition(actor=approver, document=invoice, action=A.APPROVE)


def connection_facts(company_id: int) -> tuple[Any, ...]:
    c = Connection.objects.get(company_id=company_id)
    return (c.status, c.realm_id, c.qbo_company_name, c.token_version, c.access_token, c.refresh_token, c.home_currency)


def token_calls(qbo: Qbo) -> int:
    log = qbo.emulator.control("GET", "/requests", params={"limit": 10_000})["requests"]
    return sum(1 for entry in log if entry["path"] == TOKEN_PATH)


def hold_token_answers(qbo: Qbo, *, count: int = 1, seconds: float = 3.0) -> None:
    """Intuit's token endpoint is slow: it does the refresh, then holds the answer ``seconds``."""
    qbo.fault(kind="timeout", after_commit=True, seconds=seconds, count=count, match=TOKEN_PATH)


def wait_until_token_calls_arrived(qbo: Qbo) -> None:
    deadline = time.monotonic() + 10
    while qbo.emulator.control("GET", "/faults")["pending"]:
        assert time.monotonic() < deadline, "the refresh never reached the token endpoint"
        time.sleep(0.02)


def refresh_in_thread(connection_id: int, rejected: str, results: list[Any]) -> threading.Thread:
    """A worker thread whose request was refused with ``rejected`` asks for a fresh token."""

    def run() -> None:
        try:
            results.append(oauth.ConnectionTokens(connection_id).refresh(rejected))
        except Exception as exc:  # the test looks at it
            results.append(exc)
        finally:
            db_connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


# ------------------------------------------------------------------------- 1. one company per realm


def test_given_acme_holds_a_quickbooks_company_when_globex_connects_to_it_then_it_is_refused_without_naming_acme(
    qbo: Qbo, admin: User
) -> None:
    acme_before = connection_facts(admin.tenant_id)
    globex = company_admin("Globex")

    with pytest.raises(QuickBooksError) as refused:
        complete(globex, back_from_intuit(globex, realm=qbo.realm_id))

    message = refused.value.message
    assert "already connected to another procuresync company" in message
    assert "Disconnect it there first, or choose another QuickBooks company" in message
    assert "Acme" not in message
    globex_connection = Connection.objects.get(company_id=globex.tenant_id)
    assert globex_connection.status == ConnectionStatus.NOT_CONNECTED
    assert (globex_connection.realm_id, globex_connection.access_token) == ("", "")
    assert connection_facts(admin.tenant_id) == acme_before
    # Acme still talks to its QuickBooks company.
    assert client_for(Connection.objects.get(company_id=admin.tenant_id)).company_info()["CompanyName"]


def test_given_acme_disconnected_when_globex_connects_the_same_quickbooks_company_then_its_suppliers_link_there_too(
    qbo: Qbo, admin: User, creator: User, approver: User, supplier: Supplier
) -> None:
    acme_invoice = approved_invoice(creator, approver, supplier, "ACME-1")
    settle()
    acme_vendor = qbo.bill(sync_of(acme_invoice).qbo_id)["VendorRef"]["value"]
    connection_disconnect(actor=admin)
    globex = company_admin("Globex")
    globex_supplier = supplier_create(actor=globex, data=SupplierData(name=supplier.name, currency="USD"))

    connect_to(globex, qbo.realm_id)  # links the suppliers whose names are vendors there
    globex_invoice = approved_invoice(globex, globex, globex_supplier, "GLOBEX-1")
    settle()

    assert sync_of(globex_invoice).status == SyncStatus.SENT, sync_of(globex_invoice).error_message
    assert qbo.bill(sync_of(globex_invoice).qbo_id)["VendorRef"]["value"] == acme_vendor
    assert VendorLink.objects.get(supplier=globex_supplier).company_id == globex.tenant_id
    assert VendorLink.objects.get(supplier=supplier).qbo_id == acme_vendor  # Acme's link stays Acme's


def test_given_quickbooks_cannot_read_the_company_when_the_admin_comes_back_then_it_is_not_connected_and_told_why(
    qbo_settings: Any, admin: User
) -> None:
    answer = back_from_intuit(admin)
    qbo_settings.control(
        "POST", "/faults", json={"kind": "status", "status": 503, "count": 10, "match": "/companyinfo"}
    )
    try:
        with pytest.raises(QuickBooksError) as refused:
            complete(admin, answer)
    finally:
        qbo_settings.control("DELETE", "/faults")

    assert "QuickBooks was not connected" in refused.value.message
    assert "Press Connect again" in refused.value.message
    connection = Connection.objects.get(company_id=admin.tenant_id)
    assert connection.status == ConnectionStatus.NOT_CONNECTED
    assert (connection.realm_id, connection.access_token) == ("", "")


def test_given_two_companies_left_connected_to_one_quickbooks_company_when_a_payment_webhook_comes_then_neither_guesses(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    # Data from before the one-company rule: another company connected to the same realm.
    globex = company_create(name="Globex", home_currency="USD")
    Connection.objects.create(company=globex, realm_id=qbo.realm_id, status=ConnectionStatus.CONNECTED)

    assert post(cloudevent(qbo.realm_id, txn), token=qbo.emulator.verifier_token).status_code == 200
    settle()

    event = WebhookEvent.objects.get()
    assert event.state == EventState.IGNORED
    assert "more than one procuresync company" in event.outcome
    assert not Payment.objects.exists()


def test_given_the_connection_needs_reconnect_when_a_payment_webhook_comes_then_it_is_left_to_the_catch_up(
    qbo: Qbo, creator: User, approver: User, supplier: Supplier
) -> None:
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    Connection.objects.filter(pk=qbo.connection.pk).update(status=ConnectionStatus.NEEDS_RECONNECT)

    assert post(cloudevent(qbo.realm_id, txn), token=qbo.emulator.verifier_token).status_code == 200
    settle()

    event = WebhookEvent.objects.get()
    assert event.state == EventState.IGNORED
    assert "needs reconnecting" in event.outcome and "unknown" not in event.outcome


# ------------------------------------------------------------------------- 2. vendor create follows the supplier


def test_given_a_supplier_named_like_a_quickbooks_customer_when_renamed_and_retried_then_the_vendor_is_made_and_sent(
    qbo: Qbo, creator: User, approver: User
) -> None:
    clash = qbo.query("SELECT * FROM Customer MAXRESULTS 1")["Customer"][0]["DisplayName"]
    supplier = supplier_create(actor=creator, data=SupplierData(name=clash, currency="USD"))
    invoice = approved_invoice(creator, approver, supplier, "RENAME-1")
    settle()
    failed = sync_of(invoice)
    assert failed.status == SyncStatus.FAILED
    assert "cannot be a vendor too" in failed.error_message

    supplier_update(actor=creator, supplier=supplier, data=SupplierData(name=f"{clash} Supplies", currency="USD"))
    document_send(actor=creator, document=invoice)
    settle()

    sent = sync_of(invoice)
    assert sent.status == SyncStatus.SENT, sent.error_message
    vendors = qbo.query(f"SELECT * FROM Vendor WHERE DisplayName = {quote(clash + ' Supplies')}")["Vendor"]
    assert len(vendors) == 1
    assert qbo.bill(sent.qbo_id)["VendorRef"]["value"] == vendors[0]["Id"]


# ------------------------------------------------------------------------- 3. home currency


def test_given_a_euro_company_when_it_connects_a_dollar_quickbooks_company_then_it_is_refused_naming_both(
    qbo_settings: Any, db: None
) -> None:
    euro = company_admin("Euro GmbH", currency="EUR")

    with pytest.raises(QuickBooksError) as refused:
        complete(euro, back_from_intuit(euro))

    assert "EUR" in refused.value.message and "USD" in refused.value.message
    connection = Connection.objects.get(company_id=euro.tenant_id)
    assert connection.status == ConnectionStatus.NOT_CONNECTED
    assert (connection.realm_id, connection.access_token) == ("", "")


def test_given_a_dollar_company_when_it_connects_a_euro_quickbooks_company_then_it_is_refused_naming_both(
    qbo_settings: Any, admin: User
) -> None:
    realm = qbo_settings.control("POST", "/companies", json={"name": "Euro Books", "home_currency": "EUR"})["realmId"]

    with pytest.raises(QuickBooksError) as refused:
        complete(admin, back_from_intuit(admin, realm=realm))

    assert "USD" in refused.value.message and "EUR" in refused.value.message
    assert Connection.objects.get(company_id=admin.tenant_id).status == ConnectionStatus.NOT_CONNECTED


def test_given_a_euro_company_when_it_connects_a_euro_quickbooks_company_then_it_is_connected(
    qbo_settings: Any, db: None
) -> None:
    euro = company_admin("Euro GmbH", currency="EUR")
    realm = qbo_settings.control("POST", "/companies", json={"name": "Euro Books", "home_currency": "EUR"})["realmId"]

    connection = complete(euro, back_from_intuit(euro, realm=realm))

    assert (connection.status, connection.realm_id, connection.home_currency) == (
        ConnectionStatus.CONNECTED,
        realm,
        "EUR",
    )


# ------------------------------------------------------------------------- 4. token refresh and the database


def test_given_the_token_endpoint_is_slow_when_a_refresh_waits_for_it_then_others_can_still_write(qbo: Qbo) -> None:
    connection = Connection.objects.get(pk=qbo.connection.pk)
    version = connection.token_version
    hold_token_answers(qbo, seconds=4)
    results: list[Any] = []
    thread = refresh_in_thread(connection.pk, crypto.decrypt(connection.access_token), results)
    try:
        wait_until_token_calls_arrived(qbo)

        started = time.monotonic()
        Connection.objects.filter(pk=connection.pk).update(last_sync_at=timezone.now())
        Company.objects.filter(pk=connection.company_id).update(name="Acme Ltd")
        waited = time.monotonic() - started
    finally:
        thread.join(30)

    assert waited < 1.5, f"a writer waited {waited:.1f}s for the refresh's HTTP call"
    assert isinstance(results[0], str), results
    after = Connection.objects.get(pk=connection.pk)
    assert after.token_version == version + 1
    assert crypto.decrypt(after.access_token) == results[0]
    assert after.last_sync_at is not None  # the other writer's change was not overwritten


def test_given_two_threads_refresh_at_once_then_one_token_pair_is_fetched_and_stored(qbo: Qbo) -> None:
    connection = Connection.objects.get(pk=qbo.connection.pk)
    version = connection.token_version
    rejected = crypto.decrypt(connection.access_token)
    calls = token_calls(qbo)
    hold_token_answers(qbo, count=2, seconds=1)
    results: list[Any] = []

    threads = [refresh_in_thread(connection.pk, rejected, results) for _ in range(2)]
    for thread in threads:
        thread.join(30)

    assert len(results) == 2 and all(isinstance(r, str) for r in results), results
    assert results[0] == results[1]
    assert token_calls(qbo) == calls + 1
    after = Connection.objects.get(pk=connection.pk)
    assert after.token_version == version + 1
    assert crypto.decrypt(after.access_token) == results[0]
    assert client_for(after).company_info()["CompanyName"]


def test_given_another_worker_stores_new_tokens_while_a_refresh_is_in_flight_then_theirs_are_kept_and_used(
    qbo: Qbo,
) -> None:
    connection = Connection.objects.get(pk=qbo.connection.pk)
    version = connection.token_version
    hold_token_answers(qbo, seconds=3)
    results: list[Any] = []
    thread = refresh_in_thread(connection.pk, crypto.decrypt(connection.access_token), results)
    try:
        wait_until_token_calls_arrived(qbo)
        # A worker in another process refreshed too, and stored first.
        theirs = qbo.control("POST", "/tokens")
        oauth.store_tokens(
            Connection.objects.get(pk=connection.pk),
            oauth.TokenSet(theirs["access_token"], theirs["refresh_token"], int(theirs["expires_in"]), None),
        )
    finally:
        thread.join(30)

    assert results == [theirs["access_token"]]
    after = Connection.objects.get(pk=connection.pk)
    assert after.token_version == version + 1
    assert (crypto.decrypt(after.access_token), crypto.decrypt(after.refresh_token)) == (
        theirs["access_token"],
        theirs["refresh_token"],
    )
    assert after.status == ConnectionStatus.CONNECTED
