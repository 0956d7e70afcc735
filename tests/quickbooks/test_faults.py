"""QuickBooks misbehaving, via the emulator's fault injection: never a duplicate, never a lost change."""

from decimal import Decimal

import httpx
import pytest

from procurement import workflow
from procurement.services import document_create, document_transition, document_update
from procurement.validation import document_data_from
from quickbooks import oauth
from quickbooks.client import QboClient
from quickbooks.models import Connection, ConnectionStatus, OutboxItem, OutboxState, SyncStatus
from quickbooks.services import connection_complete, connection_start
from tests.conftest import invoice_data, line
from tests.quickbooks.conftest import REDIRECT_URI, settle, sync_of

A = workflow.DocumentAction


def approved_invoice(creator, approver, supplier, code="F-1"):
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code))
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    return document_transition(actor=approver, document=invoice, action=A.APPROVE)


def bills_numbered(qbo, code):
    return qbo.query(f"SELECT * FROM Bill WHERE DocNumber = '{code}'").get("Bill", [])


@pytest.mark.parametrize("status", [500, 503])
def test_given_qbo_answers_5xx_once_then_the_bill_is_created_once(qbo, creator, approver, supplier, status):
    qbo.fault(kind="status", status=status, count=1, match="/bill")
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1


def test_given_qbo_keeps_failing_then_the_document_fails_with_a_message_and_retry_sends_it(
    qbo, creator, approver, supplier, settings
):
    from quickbooks.export.services import document_send

    qbo.fault(kind="status", status=503, count=40, match="/bill")
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    sync = sync_of(invoice)
    assert sync.status == SyncStatus.FAILED
    assert "Press Retry" in sync.error_message
    assert invoice.qbo_attempts.count() >= 2
    qbo.emulator.control("DELETE", "/faults")
    document_send(actor=creator, document=invoice)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1


@pytest.mark.parametrize("xml", [False, True])
def test_given_a_throttle_then_the_bill_is_sent_after_waiting(qbo, creator, approver, supplier, xml):
    qbo.fault(kind="throttle", count=1, match="/bill", xml=xml)
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    attempts = list(invoice.qbo_attempts.order_by("started_at").values_list("outcome", "fault_code"))
    assert attempts == [("retry", "3001"), ("ok", "")]
    assert len(bills_numbered(qbo, "F-1")) == 1


def test_given_the_connection_drops_after_qbo_committed_then_there_is_no_duplicate_bill(
    qbo, creator, approver, supplier
):
    qbo.fault(kind="drop", count=1, match="/bill")
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1


def test_given_every_answer_is_lost_until_the_delivery_gives_up_then_the_next_one_finds_the_bill(
    qbo, creator, approver, supplier
):
    # Three drops beat the client's two quick retries: the row is retried later, and the create
    # that did happen in QBO is found (DocNumber + vendor) instead of being made again.
    qbo.fault(kind="drop", count=3, match="/bill")
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1


@pytest.mark.in_process_worker
def test_given_a_timeout_after_commit_then_the_retry_is_replayed_not_duplicated(
    qbo, creator, approver, supplier, settings
):
    settings.QBO_HTTP_TIMEOUT = 1
    oauth.set_http_client(None)
    qbo.fault(kind="timeout", count=1, match="/bill", after_commit=True, seconds=3)
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1


@pytest.mark.in_process_worker
def test_given_a_stale_sync_token_then_the_revision_is_re_read_and_applied_once(
    qbo, creator, approver, supplier, monkeypatch
):
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    qbo_id = sync_of(invoice).qbo_id
    original_read = QboClient.read
    edits = []

    def read_then_someone_edits(self, entity, object_id):
        body = original_read(self, entity, object_id)
        if not edits:  # a bookkeeper saves the bill in QBO between our read and our write
            edits.append(qbo.control("PATCH", f"/bills/{qbo_id}", json={"PrivateNote": "touched"}))
        return body

    monkeypatch.setattr(QboClient, "read", read_then_someone_edits)
    document_transition(actor=creator, document=invoice, action=A.REVISE)
    data = document_data_from(invoice)
    data.lines = [line("Revised paper", "4", "10")]
    document_update(actor=creator, document=invoice, data=data)
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    document_transition(actor=approver, document=invoice, action=A.APPROVE)
    settle()
    assert edits, "the concurrent edit happened"
    assert sync_of(invoice).status == SyncStatus.SENT, sync_of(invoice).error_message
    bill = qbo.bill(qbo_id)
    assert [ln["Description"] for ln in bill["Line"]] == ["Revised paper"]
    assert Decimal(str(bill["TotalAmt"])) == Decimal("40.00")


def test_given_the_access_token_expires_mid_run_then_it_is_refreshed_and_the_bill_sent(
    qbo, creator, approver, supplier
):
    version = Connection.objects.get(pk=qbo.connection.pk).token_version
    qbo.fault(kind="expire_tokens", realm=qbo.realm_id)
    invoice = approved_invoice(creator, approver, supplier)
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert Connection.objects.get(pk=qbo.connection.pk).token_version == version + 1


def test_given_the_refresh_token_is_revoked_then_sync_pauses_and_resumes_after_reconnect(
    qbo, admin, creator, approver, supplier
):
    from quickbooks import crypto
    from tests.quickbooks.conftest import consent

    connection = Connection.objects.get(pk=qbo.connection.pk)
    refresh_token = crypto.decrypt(connection.refresh_token)
    creds = qbo.emulator.credentials
    revoked = httpx.post(
        creds["revoke_url"], json={"token": refresh_token}, auth=(creds["client_id"], creds["client_secret"])
    )
    assert revoked.status_code == 200
    qbo.fault(kind="expire_tokens", realm=qbo.realm_id)

    invoice = approved_invoice(creator, approver, supplier)
    settle()
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.NEEDS_RECONNECT
    assert sync_of(invoice).status == SyncStatus.QUEUED
    assert OutboxItem.objects.get(document=invoice).state == OutboxState.PENDING
    assert bills_numbered(qbo, "F-1") == []

    # An Admin reconnects to the same QuickBooks company: the waiting bill goes out.
    url = connection_start(actor=admin, redirect_uri=REDIRECT_URI)
    answer = consent(url, realm=qbo.realm_id)
    connection_complete(
        actor=admin, code=answer["code"], state=answer["state"], realm_id=answer["realmId"], redirect_uri=REDIRECT_URI
    )
    settle()
    assert Connection.objects.get(pk=connection.pk).status == ConnectionStatus.CONNECTED
    assert sync_of(invoice).status == SyncStatus.SENT
    assert len(bills_numbered(qbo, "F-1")) == 1
