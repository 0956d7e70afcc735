"""The single-document path: make QuickBooks match one document as it is now (level-triggered).

``reconcile`` compares the document with its link (QBO Id + SyncToken): no link → create
(requestid derived from the outbox row, so a repeat after a lost answer is replayed by QBO, not
duplicated); link at an older revision → full update with the current SyncToken (stale → re-read
once); cancelled → delete. It returns a ``DeliveryResult`` and never touches the outbox row:
``delivery.settle`` does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from procurement.models import Document, DocumentLine
from procurement.workflow import APPROVED_STATUSES, FINAL_STATUSES
from quickbooks.client import QboClient, quote, request_id
from quickbooks.connection import closed_books_held_message, closed_books_message, closing_date
from quickbooks.errors import (
    NotMappable,
    QboDuplicate,
    QboError,
    QboNotFound,
    QboRejected,
    QboStale,
    ReconnectNeeded,
    SendRefused,
)
from quickbooks.export.attachments import upload_pending
from quickbooks.export.attempts import DeliveryResult, Outcome, Stopwatch, result_for_error
from quickbooks.export.mapping import entity_for, our_marker, payload_for
from quickbooks.export.snapshots import document_snapshot
from quickbooks.export.vendors import ensure_vendor
from quickbooks.models import Connection, DocumentSync, OutboxItem, SyncStatus

NOW = dt.timedelta(0)


def write_id(item: OutboxItem, operation: str, sync_token: str = "") -> str:
    """The same logical write always gets the same id; a new write (new SyncToken) a new one."""
    return request_id("document", f"{item.id}:{operation}:{sync_token}")


def reconcile(*, connection: Connection, client: QboClient, item: OutboxItem) -> DeliveryResult:
    """Bring QuickBooks to the document's current state; say how it went."""
    document = Document.objects.select_related("supplier", "company").get(pk=item.document_id)
    sync, _ = DocumentSync.objects.get_or_create(document=document, defaults={"company_id": document.company_id})
    watch = Stopwatch(client)
    try:
        result = _reconcile(connection, client, item, document, sync)
    except ReconnectNeeded:
        raise  # the whole delivery pauses until an Admin reconnects
    except QboError as exc:
        result = result_for_error(
            connection=connection, client=client, item=item, document=document, exc=exc, operation="?"
        )
    except (SendRefused, NotMappable) as exc:
        result = DeliveryResult.refused(exc)
    return watch.stamp(result)


def _reconcile(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync
) -> DeliveryResult:
    entity = entity_for(document.kind)
    if document.status in FINAL_STATUSES:
        return _remove(connection, client, item, document, sync, entity)
    if document.status not in APPROVED_STATUSES:
        # In Revision or back in approval: QuickBooks keeps what it holds (the last approved
        # revision sent) and the change goes out when it is approved again. A failure stays shown.
        # A bill a lost answer left there is linked now: it can be paid in QuickBooks meanwhile,
        # and those payments must come back while the revision waits.
        _link_lost_create(connection, client, document, sync, entity, give_up=False)
        if sync.qbo_id:
            set_status(sync, SyncStatus.SENT)
        elif sync.status != SyncStatus.FAILED:
            set_status(sync, SyncStatus.NOT_SENT)
        return DeliveryResult.done("nothing to send yet")
    result = _upsert(connection, client, item, document, sync, entity)
    if result.outcome is Outcome.DONE:
        uploaded = upload_pending(client=client, document=document, sync=sync)
        if uploaded:
            result.operation += f" + {uploaded} attachment(s)"
    return result


def _upsert(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, entity: str
) -> DeliveryResult:
    if sync.qbo_id and not sync.deleted_in_qbo and sync.synced_revision == document.revision:
        set_status(sync, SyncStatus.SENT)
        return DeliveryResult.done("already up to date", qbo_id=sync.qbo_id)
    check_books(connection, client, document)
    vendor_ref = ensure_vendor(connection=connection, client=client, supplier=document.supplier)
    payload = payload_for(document_snapshot(document=document, connection=connection, vendor_ref=vendor_ref))
    if moved_on(document):
        # Revised (or re-approved) between our first read and the lines: what we built may hold
        # draft lines. Deliver again at once, from the document as it is now.
        return DeliveryResult.paused("The document changed while it was being sent.", delay=NOW, redispatch=True)
    if not sync.qbo_id:
        # After a lost answer the bill may have been in QuickBooks, and paid there, for a while.
        was_uncertain = sync.create_uncertain
        body, made_for = _create(client, item, document, sync, entity, payload)
        mark_linked(sync, connection, entity, body, revision=made_for, payments_unchecked=was_uncertain)
        if made_for == document.revision:
            return DeliveryResult.done(f"create {entity}", qbo_id=sync.qbo_id, request_id=sync_request(sync))
        # A create whose answer was lost holds an older revision (or one we cannot tell): update it.
    return _update(connection, client, item, document, sync, entity, payload)


def _create(
    client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, entity: str, payload: dict[str, Any]
) -> tuple[dict[str, Any], int | None]:
    """Create the document in QuickBooks, or find the one a lost answer left there. Returns the
    body and the revision it holds (None when it cannot be told)."""
    attempt = sync.create_attempt if sync.create_uncertain else None
    if sync.create_uncertain:
        sent = attempt or {"doc_number": payload["DocNumber"], "vendor": payload["VendorRef"]["value"]}
        found = find_ours(client, entity, document, doc_number=sent["doc_number"], vendor=sent["vendor"])
        if found is not None:
            return found, (attempt or {}).get("revision")
    if attempt is None:
        attempt = create_attempt(item, document, payload)
        # Committed before the call: if the answer is lost, the next delivery looks first.
        sync.create_uncertain = True
        sync.create_attempt = attempt
        sync.save(update_fields=["create_uncertain", "create_attempt"])
    # The first try's request id: if QuickBooks made it after all, it replays that answer.
    try:
        return client.create(entity, payload, request_id=attempt["request_id"]), attempt["revision"]
    except QboError as exc:
        if exc.made_nothing:
            refused_create(sync)
        raise


def create_attempt(item: OutboxItem, document: Document, payload: dict[str, Any]) -> dict[str, Any]:
    """What a create is about to send, kept until its answer is known. Each new attempt of a row has
    its own request id (a repeat of one attempt after a lost answer reuses the attempt's)."""
    return {
        "revision": document.revision,
        "doc_number": payload["DocNumber"],
        "vendor": payload["VendorRef"]["value"],
        "request_id": write_id(item, "create", str(item.attempts)),
    }


def refused_create(sync: DocumentSync) -> None:
    """QuickBooks refused the create (a fault, not a lost answer): it made nothing, so there is
    nothing to look for, and the next try is a new request with a new id. Reusing the id could
    bring back the stored refusal: requestid semantics are UNCONFIRMED (qbo-api.md §3), and the
    safe reading is that a repeated id replays its first answer, errors included."""
    sync.create_uncertain = False
    sync.create_attempt = None
    sync.save(update_fields=["create_uncertain", "create_attempt"])


def _update(
    connection: Connection,
    client: QboClient,
    item: OutboxItem,
    document: Document,
    sync: DocumentSync,
    entity: str,
    payload: dict[str, Any],
) -> DeliveryResult:
    current = client.read(entity, sync.qbo_id)
    check_held_books(connection, client, document, current)
    if entity == "PurchaseOrder":
        billed = [t for t in current.get("LinkedTxn", []) if t.get("TxnType") == "Bill"]
        if billed:
            raise SendRefused(
                f"QuickBooks already holds {len(billed)} bill(s) against purchase order {document.number}, so "
                "this revision is not sent (it would change a PO that has been billed). Change the PO in "
                "QuickBooks if it must match.",
                code="po_billed",
            )
    for attempt in (1, 2):
        body = {**payload, "Id": sync.qbo_id, "SyncToken": current["SyncToken"]}
        try:
            updated = client.update(entity, body, request_id=write_id(item, "update", str(current["SyncToken"])))
        except QboStale:
            if attempt == 2:
                raise
            current = client.read(entity, sync.qbo_id)
            continue
        mark_linked(sync, connection, entity, updated, revision=document.revision)
        return DeliveryResult.done(f"update {entity}", qbo_id=sync.qbo_id)
    raise AssertionError("unreachable")


def _link_lost_create(
    connection: Connection, client: QboClient, document: Document, sync: DocumentSync, entity: str, *, give_up: bool
) -> None:
    """Link the bill (or PO) that a create whose answer was lost left in QuickBooks, if it did.
    ``give_up``: when it is not there, stop looking (the document leaves QuickBooks for good);
    otherwise the next create looks again and replays the same request id."""
    if sync.qbo_id or not sync.create_uncertain:
        return
    sent = sync.create_attempt or {}
    found = find_ours(client, entity, document, doc_number=sent.get("doc_number", ""), vendor=sent.get("vendor", ""))
    if found is not None:
        mark_linked(sync, connection, entity, found, revision=sent.get("revision"), payments_unchecked=True)
    elif give_up:
        sync.create_uncertain = False
        sync.save(update_fields=["create_uncertain"])


def _remove(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, entity: str
) -> DeliveryResult:
    # A create whose answer was lost may have made it: find it, so it can be removed too.
    _link_lost_create(connection, client, document, sync, entity, give_up=True)
    if not sync.qbo_id or sync.deleted_in_qbo:
        set_status(sync, SyncStatus.SENT if sync.qbo_id else SyncStatus.NOT_SENT)
        return DeliveryResult.done("nothing to remove")
    try:
        current = client.read(entity, sync.qbo_id)
        check_held_books(connection, client, document, current)
        client.delete(entity, sync.qbo_id, str(current["SyncToken"]), request_id=write_id(item, "delete"))
    except QboNotFound:
        pass  # already gone from QuickBooks: that is what we wanted
    except (QboRejected, QboDuplicate) as exc:
        raise SendRefused(
            f"QuickBooks would not delete the {entity.lower()}: {exc.message}. {exc.detail} If payments are "
            "linked to it in QuickBooks, delete or void those there first, then press Retry.",
            code=exc.fault_code,
        ) from exc
    sync.deleted_in_qbo = True
    sync.status = SyncStatus.SENT
    sync.error_code = sync.error_message = ""
    sync.save(update_fields=["deleted_in_qbo", "status", "error_code", "error_message", "updated_at"])
    return DeliveryResult.done(f"delete {entity}", qbo_id=sync.qbo_id)


def find_ours(
    client: QboClient, entity: str, document: Document, *, doc_number: str, vendor: str
) -> dict[str, Any] | None:
    """After a create whose answer never came: is it in QuickBooks? Same DocNumber and vendor, and
    our marker in PrivateNote, so a bill a bookkeeper typed with that number is never taken over."""
    if not doc_number:
        return None
    rows = client.query(f"SELECT * FROM {entity} WHERE DocNumber = {quote(doc_number)}").get(entity, [])
    marker = our_marker(document.kind, document.number)
    return next(
        (
            row
            for row in rows
            if str(row.get("VendorRef", {}).get("value")) == str(vendor)
            and is_our_note(str(row.get("PrivateNote", "")), marker)
        ),
        None,
    )


def is_our_note(note: str, marker: str) -> bool:
    """Our marker, alone or followed by words a bookkeeper added ("INV-1" is not "INV-10")."""
    return note == marker or note.startswith(marker + " ")


def moved_on(document: Document) -> bool:
    """Has the document's status or revision changed since ``document`` was read?"""
    return not Document.objects.filter(pk=document.pk, status=document.status, revision=document.revision).exists()


def sync_request(sync: DocumentSync) -> str:
    return str((sync.create_attempt or {}).get("request_id", ""))


# ---------------------------------------------------------------------------- the document's link


def check_books(connection: Connection, client: QboClient, document: Document) -> None:
    """Our date must be after QuickBooks' closing date."""
    close = closing_date(connection, client)
    if close is not None and document.issue_date <= close:
        raise SendRefused(
            closed_books_message(document_date=document.issue_date, close_date=close, number=document.number),
            code="closed_period",
        )


def check_held_books(connection: Connection, client: QboClient, document: Document, held: dict[str, Any]) -> None:
    """The date QuickBooks holds must be after the closing date too, or it changes nothing there."""
    close = closing_date(connection, client)
    held_date = dt.date.fromisoformat(str(held.get("TxnDate", ""))[:10]) if held.get("TxnDate") else None
    if close is not None and held_date is not None and held_date <= close:
        raise SendRefused(
            closed_books_held_message(held_date=held_date, close_date=close, number=document.number),
            code="closed_period",
        )


def mark_linked(
    sync: DocumentSync,
    connection: Connection,
    entity: str,
    body: dict[str, Any],
    *,
    revision: int | None,
    payments_unchecked: bool = False,
    save: bool = True,
) -> None:
    """QuickBooks holds ``body`` for this document, at ``revision`` (None: an unknown one).
    ``payments_unchecked``: it may have been paid there before we knew it (the catch-up looks).
    ``save=False``: the caller saves what was set (``batch`` saves a batch's rows in one UPDATE)."""
    sync.payments_unchecked = sync.payments_unchecked or payments_unchecked
    sync.realm_id = connection.realm_id
    sync.qbo_entity = entity
    sync.qbo_id = str(body["Id"])
    sync.sync_token = str(body.get("SyncToken", ""))
    sync.synced_revision = revision
    sync.create_uncertain = False
    sync.create_attempt = None
    sync.deleted_in_qbo = False
    sync.status = SyncStatus.SENT
    sync.sent_at = timezone.now()
    sync.error_code = sync.error_message = ""
    if entity == "PurchaseOrder" and revision is not None:
        sync.line_ids = order_line_ids(sync.document_id, revision, body)
    if save:
        sync.save()


def order_line_ids(document_id: int, revision: int, body: dict[str, Any]) -> dict[str, str]:
    """Our order lines → the Ids QuickBooks gave them, in the order we sent them (QuickBooks answers
    the lines in that order). Empty when the lines we hold now are not the revision QuickBooks holds."""
    lines = body.get("Line", [])
    theirs = [str(line["Id"]) for line in lines if str(line.get("DetailType", "")).endswith("ExpenseLineDetail")]
    ours = list(
        DocumentLine.objects.filter(document_id=document_id, document__revision=revision).values_list("pk", flat=True)
    )
    return {str(pk): qbo_id for pk, qbo_id in zip(ours, theirs, strict=True)} if len(ours) == len(theirs) else {}


def set_status(sync: DocumentSync, status: str) -> None:
    if sync.status != status:
        sync.status = status
        sync.save(update_fields=["status", "updated_at"])
