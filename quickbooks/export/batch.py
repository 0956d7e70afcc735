"""Bulk delivery through QBO's batch endpoint: up to 30 creates in one request.

Only plain creates go in a batch (no QBO copy yet, none possibly half-made): they need no read
first. Everything else — updates, deletes, rows whose create answer was lost — goes back to the
caller for the single-document path. Items succeed or fail independently (qbo-api.md §6). Like
``reconcile``, this returns a result per row and leaves the rows themselves to ``delivery.settle``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from procurement.models import Document
from procurement.workflow import APPROVED_STATUSES
from procuresync.bulk import update_rows
from quickbooks.client import QboClient, batch_item_error, request_id
from quickbooks.connection import closing_date
from quickbooks.errors import QboError, QboTransient, QuickBooksError
from quickbooks.export.attachments import not_uploaded, upload_pending
from quickbooks.export.attempts import DeliveryResult, Stopwatch, result_for_error
from quickbooks.export.mapping import entity_for, payload_for
from quickbooks.export.reconcile import create_attempt, mark_linked, refused_create
from quickbooks.export.snapshots import batch_reads, document_snapshot
from quickbooks.export.vendors import ensure_vendor
from quickbooks.models import Connection, DocumentSync, OutboxItem


@dataclass
class _Create:
    item: OutboxItem
    document: Document
    sync: DocumentSync
    entity: str
    payload: dict[str, Any]


def deliver_batch(
    *, connection: Connection, client: QboClient, items: list[OutboxItem]
) -> tuple[list[tuple[OutboxItem, DeliveryResult]], list[OutboxItem]]:
    """Send the batchable items: (a result for each one sent, the rest for the single path)."""
    creates, rest = _batchable(connection, client, items)
    if len(creates) < 2:
        return [], rest + [create.item for create in creates]

    # If the answer to this batch is lost, each row must look for its bill before creating again.
    for c in creates:
        c.sync.create_uncertain = True
        c.sync.create_attempt = create_attempt(c.item, c.document, c.payload)
    update_rows([c.sync for c in creates], ("create_uncertain", "create_attempt"))
    request = [{"bId": c.item.id.hex, "operation": "create", c.entity: c.payload} for c in creates]
    batch_id = request_id("batch", ",".join(sorted(c.item.id.hex for c in creates)))
    watch = Stopwatch(client)
    try:
        answers = client.batch(request, request_id=batch_id)
    except QboError as exc:
        failed: list[tuple[OutboxItem, DeliveryResult]] = []
        for position, c in enumerate(creates):
            result = _error(connection, client, c, exc, "batch create")
            # The one batch request is counted once, on its first row.
            failed.append((c.item, watch.stamp(result, api_calls=None if position == 0 else 0)))
        return failed, rest
    # The bills QuickBooks made are linked first, in one UPDATE; then each row's result in turn.
    made = [c for c in creates if c.entity in answers.get(c.item.id.hex, {})]
    sent_as = {c.item.id: str((c.sync.create_attempt or {}).get("request_id", "")) for c in made}
    for c in made:
        body = answers[c.item.id.hex][c.entity]
        mark_linked(c.sync, connection, c.entity, body, revision=c.document.revision, save=False)
    _save_linked([c.sync for c in made])
    files = not_uploaded(c.document.pk for c in made)
    results: list[tuple[OutboxItem, DeliveryResult]] = []
    for position, c in enumerate(creates):
        calls = 1 if position == 0 else 0
        answer = answers.get(c.item.id.hex, {})
        if c.entity not in answer:
            error = batch_item_error(answer) or QboTransient("QuickBooks gave no answer for this item of the batch.")
            if error.made_nothing:
                refused_create(c.sync)
            results.append(
                (c.item, watch.stamp(_error(connection, client, c, error, f"batch create {c.entity}"), api_calls=calls))
            )
            continue
        result = DeliveryResult.done(
            f"create {c.entity} (batch of {len(creates)})", qbo_id=c.sync.qbo_id, request_id=sent_as[c.item.id]
        )
        try:
            uploaded = upload_pending(
                client=client, document=c.document, sync=c.sync, files=files.get(c.document.pk, [])
            )
        except QboError as exc:
            results.append(
                (c.item, watch.stamp(_error(connection, client, c, exc, "upload attachments"), api_calls=calls))
            )
            continue
        if uploaded:
            result.operation += f" + {uploaded} attachment(s)"
        results.append((c.item, watch.stamp(result, api_calls=calls + uploaded)))
    return results, rest


def _batchable(
    connection: Connection, client: QboClient, items: list[OutboxItem]
) -> tuple[list[_Create], list[OutboxItem]]:
    documents = Document.objects.select_related("supplier", "company").in_bulk([i.document_id for i in items])
    syncs = {s.document_id: s for s in DocumentSync.objects.filter(document_id__in=documents)}
    close = closing_date(connection, client)
    # What each document's payload reads (vendor links, lines, tax codes), read once for the batch.
    reads = batch_reads([d for d in documents.values() if _is_batchable(d, syncs.get(d.pk), close)], connection)
    creates: list[_Create] = []
    rest: list[OutboxItem] = []
    for item in items:
        document = documents[item.document_id]
        sync = syncs.get(document.pk)
        if not _is_batchable(document, sync, close):
            rest.append(item)
            continue
        try:
            vendor_ref = ensure_vendor(
                connection=connection, client=client, supplier=document.supplier, links=reads.links
            )
            payload = payload_for(
                document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref, reads=reads)
            )
        except QuickBooksError:
            rest.append(item)  # the single path records the reason properly
            continue
        if sync is None:
            sync = DocumentSync.objects.create(document=document, company_id=document.company_id)
        creates.append(_Create(item, document, sync, entity_for(document.kind), payload))
    # A document revised while its payload was built may carry draft lines: the single path
    # reads it again (the same check as ``reconcile.moved_on``, in one query for the batch).
    as_read = {(c.document.pk, c.document.status, c.document.revision) for c in creates}
    now = set(
        Document.objects.filter(pk__in=[c.document.pk for c in creates]).values_list("pk", "status", "revision")
    )
    moved = {pk for pk, _, _ in as_read - now}
    rest += [c.item for c in creates if c.document.pk in moved]
    return [c for c in creates if c.document.pk not in moved], rest


def _is_batchable(document: Document, sync: DocumentSync | None, close: dt.date | None) -> bool:
    """A plain create: no QuickBooks copy yet (nor possibly one), in an open period, approved."""
    fresh = sync is None or (not sync.qbo_id and not sync.create_uncertain)
    in_open_period = close is None or document.issue_date > close
    return fresh and in_open_period and document.status in APPROVED_STATUSES


# What ``mark_linked`` sets; ``save`` would stamp ``updated_at`` too.
_LINKED_FIELDS = (
    "payments_unchecked",
    "realm_id",
    "qbo_entity",
    "qbo_id",
    "sync_token",
    "synced_revision",
    "create_uncertain",
    "create_attempt",
    "deleted_in_qbo",
    "status",
    "sent_at",
    "error_code",
    "error_message",
    "line_ids",
)


def _save_linked(syncs: list[DocumentSync]) -> None:
    """``mark_linked``'s save for a batch's rows (``save`` would write every column, one query each)."""
    now = timezone.now()
    for sync in syncs:
        sync.updated_at = now
    update_rows(syncs, (*_LINKED_FIELDS, "updated_at"))


def _error(connection: Connection, client: QboClient, c: _Create, exc: QboError, operation: str) -> DeliveryResult:
    return result_for_error(
        connection=connection, client=client, item=c.item, document=c.document, exc=exc, operation=operation
    )
