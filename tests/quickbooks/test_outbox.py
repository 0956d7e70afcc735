"""The outbox never loses work: lost messages and crashed workers are recovered by the sweeper."""

import datetime as dt

import dramatiq
import pytest
from django.utils import timezone

from procurement import workflow
from procurement.services import document_create, document_transition
from quickbooks.export import delivery
from quickbooks.models import OutboxItem, OutboxState, SyncStatus
from quickbooks.scheduler import tick
from tests.conftest import invoice_data
from tests.quickbooks.conftest import settle, sync_of

A = workflow.DocumentAction


def approved(creator, approver, supplier, code):
    invoice = document_create(actor=creator, kind="invoice", data=invoice_data(supplier, code=code))
    document_transition(actor=creator, document=invoice, action=A.SUBMIT)
    return document_transition(actor=approver, document=invoice, action=A.APPROVE)


def test_given_the_message_is_lost_then_the_sweeper_sends_the_bill(qbo, creator, approver, supplier, monkeypatch):
    monkeypatch.setattr(delivery, "dispatch", lambda ids, **options: None)  # the broker drops it
    invoice = approved(creator, approver, supplier, "LOST-1")
    assert sync_of(invoice).status == SyncStatus.QUEUED
    monkeypatch.undo()
    OutboxItem.objects.update(dispatched_at=None)
    tick()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT


@pytest.mark.in_process_worker
def test_given_a_worker_crashed_mid_delivery_then_its_claim_expires_and_the_bill_is_sent_once(
    qbo, creator, approver, supplier, worker
):
    worker.pause()
    invoice = approved(creator, approver, supplier, "CRASH-1")
    broker = dramatiq.get_broker()
    broker.flush_all()  # the message died with the worker...
    item = OutboxItem.objects.get(document=invoice)
    OutboxItem.objects.filter(pk=item.pk).update(  # ...which had claimed the row
        state=OutboxState.IN_FLIGHT, claimed_until=timezone.now() - dt.timedelta(seconds=1)
    )
    worker.resume()
    tick()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
    assert qbo.query("SELECT COUNT(*) FROM Bill WHERE DocNumber = 'CRASH-1'")["totalCount"] == 1


@pytest.mark.in_process_worker
def test_given_two_changes_before_delivery_then_one_pending_row_carries_them(
    qbo, creator, approver, supplier, worker
):
    worker.pause()
    invoice = approved(creator, approver, supplier, "TWICE-1")
    from quickbooks.export.services import document_send

    document_send(actor=creator, document=invoice)
    assert OutboxItem.objects.filter(document=invoice, state=OutboxState.PENDING).count() == 1
    worker.resume()
    settle()
    assert sync_of(invoice).status == SyncStatus.SENT
