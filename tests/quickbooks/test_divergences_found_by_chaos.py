"""Divergences the chaos oracle found (bench/chaos.py, worker processes killed at random), each
pinned by a test that failed before its fix."""

from __future__ import annotations

import datetime as dt
import json

from django.utils import timezone

from procurement.models import Status
from quickbooks import scheduler
from quickbooks.inbound.models import EventState, WebhookEvent
from tests.quickbooks.conftest import settle
from tests.quickbooks.test_payments_in import exported_invoice, pay, status_of


def test_given_a_worker_was_killed_while_processing_webhook_events_then_the_scheduler_processes_them(
    qbo, creator, approver, supplier, settings
):
    settings.QBO_PAYMENTS_CATCHUP_MINUTES = 10_000  # only the webhook can bring this payment in
    invoice = exported_invoice(creator, approver, supplier)
    txn = pay(qbo, (invoice, None))
    event = WebhookEvent.objects.create(
        dedupe_key=f"ce:dead-worker-{txn}", format="cloudevents", realm_id=qbo.realm_id, entity="BillPayment",
        entity_id=txn, operation="Create", payload=json.dumps({"id": f"dead-worker-{txn}"}),
        state=EventState.PROCESSING, outcome="claimed:a-worker-that-was-killed",
    )
    WebhookEvent.objects.filter(pk=event.pk).update(claimed_at=timezone.now() - dt.timedelta(hours=1))

    scheduler.tick()
    settle()

    assert WebhookEvent.objects.get(pk=event.pk).state == EventState.DONE
    assert status_of(invoice) == Status.PAID


def test_given_a_live_worker_is_processing_webhook_events_then_the_scheduler_leaves_them_alone(qbo):
    event = WebhookEvent.objects.create(
        dedupe_key="ce:busy", format="cloudevents", realm_id=qbo.realm_id, entity="BillPayment", entity_id="1",
        operation="Create", payload="{}", state=EventState.PROCESSING, outcome="claimed:busy",
    )
    WebhookEvent.objects.filter(pk=event.pk).update(claimed_at=timezone.now())
    scheduler.tick()
    assert WebhookEvent.objects.get(pk=event.pk).state == EventState.PROCESSING
