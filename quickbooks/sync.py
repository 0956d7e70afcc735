"""The sync engine: make QuickBooks match a document as it is now (level-triggered).

``deliver`` runs in a worker for one outbox row: it claims the row (and, when a backlog has built
up, up to 29 more rows of the same company, sent through QBO's batch endpoint), takes a slot of the
company's concurrency limit, and reconciles. ``reconcile`` compares the document with its link
(QBO Id + SyncToken): no link → create (requestid derived from the outbox row, so a repeat after a
lost answer is replayed by QBO, not duplicated); link at an older revision → full update with the
current SyncToken (stale → re-read once); cancelled → delete. Every delivery leaves a SyncAttempt.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

from django.utils import timezone

from procurement.models import Document, DocumentKind, Status
from quickbooks import outbox
from quickbooks.attachments import upload_pending
from quickbooks.client import QboClient
from quickbooks.connection import client_for
from quickbooks.errors import Kind, QboError, ReconnectNeeded
from quickbooks.limits import limiter_for
from quickbooks.mapping import payload_for
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, OutboxItem, OutboxState, SyncStatus
from quickbooks.snapshots import NotMappable, document_snapshot
from quickbooks.sync_batch import deliver_batch
from quickbooks.sync_records import (
    MAX_ATTEMPTS,
    SENDABLE,
    Outcome,
    Permanent,
    after_error,
    check_books,
    mark_failed,
    mark_linked,
    record_attempt,
    request_id,
    set_status,
)
from quickbooks.vendors import ensure_vendor, quote

log = logging.getLogger(__name__)
BATCH_EXTRA = 29  # with the row itself, QBO's 30 items per batch
PAUSED = dt.timedelta(minutes=10)  # connection needs reconnect: rows wait (the reconnect re-sends them)


# ---------------------------------------------------------------------------- delivery


def deliver(item_id: str) -> None:
    # Most messages of a bulk export find their row already sent in another row's batch: stop at
    # once, before counting the backlog.
    company_id = (
        OutboxItem.objects.filter(pk=item_id, state=OutboxState.PENDING).values_list("company_id", flat=True).first()
    )
    if company_id is None:
        return
    # A backlog means bulk work (first sync, "send all", a burst of approvals): use the batch endpoint.
    extra = BATCH_EXTRA if outbox.backlog(company_id) >= 2 else 0
    items = outbox.claim(item_id, extra=extra)
    if not items:
        return
    connection = Connection.objects.select_related("default_expense_account", "default_ap_account").get(
        company_id=company_id
    )
    if connection.status != ConnectionStatus.CONNECTED:
        for row in items:
            outbox.release(row, delay=PAUSED, error="Waiting for QuickBooks to be reconnected.", count_attempt=False)
        return
    client = client_for(connection)
    try:
        with limiter_for(connection.realm_id).slot():
            _deliver_items(connection, client, items)
    except QboError as exc:  # the connection needs reconnecting, or our own limiter's wait ran out
        paused = isinstance(exc, ReconnectNeeded)
        delay = PAUSED if paused else dt.timedelta(seconds=5)
        for row in items:
            if row.state == OutboxState.IN_FLIGHT:
                outbox.release(row, delay=delay, error=exc.message, count_attempt=False)
                if not paused:
                    outbox.dispatch([row.id], delay=delay)
    except Exception as exc:
        # A bug or a database hiccup: give the rows back (counted, so a poison row ends up Failed
        # by MAX_ATTEMPTS instead of looping) and let the sweeper bring them round again.
        log.exception("Delivery of %s failed unexpectedly", [str(row.id) for row in items])
        for row in items:
            if row.state != OutboxState.IN_FLIGHT:
                continue
            if row.attempts + 1 >= MAX_ATTEMPTS:
                sync, _ = DocumentSync.objects.get_or_create(
                    document_id=row.document_id, defaults={"company_id": row.company_id}
                )
                mark_failed(row, sync, code="internal", message=f"procuresync could not send this document: {exc}")
            else:
                outbox.release(row, delay=dt.timedelta(seconds=30), error=f"Internal error: {exc}")
        raise


def _deliver_items(connection: Connection, client: QboClient, items: list[OutboxItem]) -> None:
    if len(items) > 1:
        items = deliver_batch(connection=connection, client=client, items=items)
    for item in items:
        reconcile(connection=connection, client=client, item=item)


def reconcile(*, connection: Connection, client: QboClient, item: OutboxItem) -> None:
    """Bring QuickBooks to the document's current state and record how it went."""
    document = Document.objects.select_related("supplier", "company").get(pk=item.document_id)
    sync, _ = DocumentSync.objects.get_or_create(document=document, defaults={"company_id": document.company_id})
    started = timezone.now()
    clock = time.perf_counter()
    calls_before = client.calls
    try:
        outcome = _reconcile(connection, client, item, document, sync)
    except ReconnectNeeded:
        raise
    except QboError as exc:
        record_attempt(item, document, started, clock, client.calls - calls_before, "?", exc=exc)
        after_error(connection, client, item, document, sync, exc)
        return
    except (Permanent, NotMappable) as exc:
        code = exc.code if isinstance(exc, Permanent) else "mapping"
        record_attempt(
            item, document, started, clock, client.calls - calls_before, "check", message=str(exc), code=code
        )
        mark_failed(item, sync, code=code, message=str(exc))
        return
    record_attempt(item, document, started, clock, client.calls - calls_before, outcome.operation, outcome=outcome)
    outbox.finish(item)
    connection.last_sync_at = timezone.now()
    connection.save(update_fields=["last_sync_at"])


def _reconcile(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync
) -> Outcome:
    entity = "Bill" if document.kind == DocumentKind.INVOICE else "PurchaseOrder"
    if document.status == Status.CANCELLED:
        return _remove(connection, client, item, document, sync, entity)
    if document.status not in SENDABLE:
        # In Revision or back in approval: the change goes out when it is approved again.
        set_status(sync, SyncStatus.SENT if sync.qbo_id else SyncStatus.NOT_SENT)
        return Outcome("nothing to send yet")
    outcome = _upsert(connection, client, item, document, sync, entity)
    uploaded = upload_pending(client=client, document=document, sync=sync)
    if uploaded:
        outcome.operation += f" + {uploaded} attachment(s)"
    return outcome


def _upsert(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, entity: str
) -> Outcome:
    if sync.qbo_id and not sync.deleted_in_qbo and sync.synced_revision == document.revision:
        set_status(sync, SyncStatus.SENT)
        return Outcome("already up to date", qbo_id=sync.qbo_id)
    check_books(connection, client, document)
    vendor_ref = ensure_vendor(connection=connection, client=client, supplier=document.supplier)
    payload = payload_for(document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref))
    if not sync.qbo_id:
        existing = _find_existing(client, entity, payload) if sync.create_uncertain else None
        if existing is None:
            sync.create_uncertain = True  # committed before the call: if the answer is lost, look first
            sync.save(update_fields=["create_uncertain"])
            existing = client.create(entity, payload, request_id=request_id(item, "create"))
        mark_linked(sync, connection, entity, existing, document)
        return Outcome(f"create {entity}", qbo_id=sync.qbo_id)
    current = client.read(entity, sync.qbo_id)
    if entity == "PurchaseOrder":
        billed = [t for t in current.get("LinkedTxn", []) if t.get("TxnType") == "Bill"]
        if billed:
            raise Permanent(
                f"QuickBooks already holds {len(billed)} bill(s) against purchase order {document.number}, so "
                "this revision is not sent (it would change a PO that has been billed). Change the PO in "
                "QuickBooks if it must match.",
                code="po_billed",
            )
    for attempt in (1, 2):
        body = {**payload, "Id": sync.qbo_id, "SyncToken": current["SyncToken"]}
        try:
            updated = client.update(entity, body, request_id=request_id(item, "update", str(current["SyncToken"])))
        except QboError as exc:
            if exc.kind is Kind.STALE and attempt == 1:
                current = client.read(entity, sync.qbo_id)
                continue
            raise
        mark_linked(sync, connection, entity, updated, document)
        return Outcome(f"update {entity}", qbo_id=sync.qbo_id)
    raise AssertionError("unreachable")


def _remove(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, entity: str
) -> Outcome:
    if not sync.qbo_id or sync.deleted_in_qbo:
        set_status(sync, SyncStatus.SENT if sync.qbo_id else SyncStatus.NOT_SENT)
        return Outcome("nothing to remove")
    check_books(connection, client, document)
    try:
        current = client.read(entity, sync.qbo_id)
        client.delete(entity, sync.qbo_id, str(current["SyncToken"]), request_id=request_id(item, "delete"))
    except QboError as exc:
        if exc.kind is Kind.NOT_FOUND:
            pass  # already gone from QuickBooks: that is what we wanted
        elif exc.kind in (Kind.VALIDATION, Kind.DUPLICATE):
            raise Permanent(
                f"QuickBooks would not delete the {entity.lower()}: {exc.message}. {exc.detail} If payments are "
                "linked to it in QuickBooks, delete or void those there first, then press Retry.",
                code=exc.code,
            ) from exc
        else:
            raise
    sync.deleted_in_qbo = True
    sync.status = SyncStatus.SENT
    sync.error_code = sync.error_message = ""
    sync.save(update_fields=["deleted_in_qbo", "status", "error_code", "error_message", "updated_at"])
    return Outcome(f"delete {entity}", qbo_id=sync.qbo_id)


def _find_existing(client: QboClient, entity: str, payload: dict[str, Any]) -> dict[str, Any] | None:
    """After a create whose answer never came: is it in QuickBooks already? (DocNumber + vendor)."""
    rows = client.query(f"SELECT * FROM {entity} WHERE DocNumber = {quote(payload['DocNumber'])}").get(entity, [])
    vendor = payload["VendorRef"]["value"]
    return next((row for row in rows if str(row.get("VendorRef", {}).get("value")) == str(vendor)), None)
