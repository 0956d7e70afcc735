"""Bulk delivery through QBO's batch endpoint: up to 30 creates in one request.

Only plain creates go in a batch (no QBO copy yet, none possibly half-made): they need no read
first. Everything else — updates, deletes, rows whose create answer was lost — goes back to the
caller for the single-document path. Items succeed or fail independently (qbo-api.md §6).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from django.utils import timezone

from procurement.models import Document, DocumentKind
from quickbooks import outbox
from quickbooks.attachments import upload_pending
from quickbooks.client import QboClient, batch_item_error
from quickbooks.connection import closing_date
from quickbooks.errors import Kind, QboError
from quickbooks.mapping import payload_for
from quickbooks.models import Connection, DocumentSync
from quickbooks.snapshots import NotMappable, document_snapshot
from quickbooks.sync_records import SENDABLE, Outcome, after_error, mark_linked, record_attempt
from quickbooks.vendors import ensure_vendor

_NS = uuid.UUID("9b0e4f3a-2c1d-4e8f-a7b6-5c4d3e2f1a0b")


def deliver_batch(
    *, connection: Connection, client: QboClient, items: list[outbox.OutboxItem]
) -> list[outbox.OutboxItem]:
    """Send the batchable items; return the rest for the single-document path."""
    documents = Document.objects.select_related("supplier", "company").in_bulk([i.document_id for i in items])
    syncs = {s.document_id: s for s in DocumentSync.objects.filter(document_id__in=documents)}
    close = closing_date(connection, client)
    batch: list[tuple[outbox.OutboxItem, Document, DocumentSync, str, dict[str, Any]]] = []
    rest: list[outbox.OutboxItem] = []
    for item in items:
        document = documents[item.document_id]
        sync = syncs.get(document.pk)
        fresh = sync is None or (not sync.qbo_id and not sync.create_uncertain)
        in_open_period = close is None or document.issue_date > close
        if not (fresh and in_open_period and document.status in SENDABLE):
            rest.append(item)
            continue
        try:
            vendor_ref = ensure_vendor(connection=connection, client=client, supplier=document.supplier)
            payload = payload_for(document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref))
        except (NotMappable, QboError):
            rest.append(item)  # the single path records the reason properly
            continue
        if sync is None:
            sync = DocumentSync.objects.create(document=document, company_id=document.company_id)
        entity = "Bill" if document.kind == DocumentKind.INVOICE else "PurchaseOrder"
        batch.append((item, document, sync, entity, payload))
    if len(batch) < 2:
        return rest + [entry[0] for entry in batch]

    # If the answer to this batch is lost, each row must look for its bill before creating again.
    DocumentSync.objects.filter(document_id__in=[entry[1].pk for entry in batch]).update(create_uncertain=True)
    request = [{"bId": entry[0].id.hex, "operation": "create", entry[3]: entry[4]} for entry in batch]
    batch_id = str(uuid.uuid5(_NS, ",".join(sorted(entry[0].id.hex for entry in batch))))
    started, clock, calls = timezone.now(), time.perf_counter(), client.calls
    try:
        answers = client.batch(request, request_id=batch_id)
    except QboError as exc:
        for position, (item, document, sync, _, _) in enumerate(batch):
            sync.create_uncertain = True
            spent = client.calls - calls if position == 0 else 0
            record_attempt(item, document, started, clock, spent, "batch create", exc=exc)
            after_error(connection, client, item, document, sync, exc)
        return rest
    for position, (item, document, sync, entity, _) in enumerate(batch):
        calls = 1 if position == 0 else 0  # the one batch request is counted once, on its first row
        answer = answers.get(item.id.hex, {})
        error = batch_item_error(answer)
        if entity in answer:
            mark_linked(sync, connection, entity, answer[entity], document)
            outcome = Outcome(f"create {entity} (batch of {len(batch)})", qbo_id=sync.qbo_id)
            try:
                uploaded = upload_pending(client=client, document=document, sync=sync)
            except QboError as exc:
                record_attempt(item, document, started, clock, calls, "upload attachments", exc=exc)
                after_error(connection, client, item, document, sync, exc)
                continue
            if uploaded:
                outcome.operation += f" + {uploaded} attachment(s)"
            record_attempt(item, document, started, clock, calls + uploaded, outcome.operation, outcome=outcome)
            outbox.finish(item)
        else:
            error = error or QboError(Kind.TRANSIENT, "QuickBooks gave no answer for this item of the batch.")
            record_attempt(item, document, started, clock, calls, f"batch create {entity}", exc=error)
            after_error(connection, client, item, document, sync, error)
    connection.last_sync_at = timezone.now()
    connection.save(update_fields=["last_sync_at"])
    return rest
