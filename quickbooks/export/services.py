"""What puts documents on their way to QuickBooks: approvals and cancellations, Send, Retry, reconnects.

Each writes the document's outbox row in the caller's transaction and queues its delivery after
commit (``delivery.queue_after_commit``).
"""

from __future__ import annotations

from django.db import transaction

from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import Document, DocumentKind, Status
from procurement.workflow import APPROVED_STATUSES, DocumentAction
from quickbooks.connection import connection_of
from quickbooks.errors import NotConnected, SendRefused
from quickbooks.export import delivery, outbox
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, SyncStatus


def document_send(*, actor: User, document: Document) -> None:
    """ "Send to QuickBooks" / Retry on one document."""
    require(actor, Permission.QUICKBOOKS_SEND)
    connection = connection_of(document.company_id)
    if connection.status == ConnectionStatus.NOT_CONNECTED:
        raise NotConnected("QuickBooks is not connected; an Admin can connect it on Integrations.")
    if document.kind != connection.document_kind:
        label = DocumentKind(connection.document_kind).label.lower()
        raise SendRefused(f"Only {label}s are sent to QuickBooks (Integrations settings).")
    if document.status not in APPROVED_STATUSES and document.status != Status.CANCELLED:
        raise SendRefused("Only approved documents are sent to QuickBooks.")
    with transaction.atomic():
        _queue(document, reason="sent by hand")


def documents_retry_failed(*, actor: User) -> int:
    """Queue every failed document of the company again; a backlog goes out through batch requests."""
    require(actor, Permission.QUICKBOOKS_SEND)
    failed = Document.objects.filter(company_id=actor.tenant_id, qbo_sync__status=SyncStatus.FAILED)
    count = 0
    with transaction.atomic():
        for document in failed:
            _queue(document, reason="retry all failed")
            count += 1
    return count


def documents_resume(connection: Connection) -> int:
    """After (re)connecting: everything that waited goes out now."""
    ids = outbox.waiting_ids(connection.company_id)
    delivery.dispatch(ids)
    return len(ids)


def on_document_transition(document: Document, action: DocumentAction, actor: User | None) -> None:
    """Listener (inside the transition's transaction): queue what QuickBooks must now reflect."""
    connection = Connection.objects.filter(company_id=document.company_id).first()
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        return
    if document.kind != connection.document_kind:
        if action is DocumentAction.APPROVE:
            DocumentSync.objects.update_or_create(
                document=document, defaults={"company_id": document.company_id, "status": SyncStatus.INTERNAL}
            )
        return
    sync = DocumentSync.objects.filter(document=document).first()
    in_qbo = bool(sync and sync.qbo_id and not sync.deleted_in_qbo)
    if action is DocumentAction.APPROVE:
        # A revision of a document already in QuickBooks always follows, so QBO never stays stale.
        if connection.auto_send or in_qbo:
            _queue(document, reason="revision approved" if in_qbo else "approved")
        else:
            DocumentSync.objects.update_or_create(
                document=document, defaults={"company_id": document.company_id, "status": SyncStatus.NOT_SENT}
            )
    elif action is DocumentAction.CANCEL and (in_qbo or outbox.has_unfinished(document)):
        _queue(document, reason="cancelled")


def _queue(document: Document, *, reason: str) -> None:
    sync, _ = DocumentSync.objects.get_or_create(document=document, defaults={"company_id": document.company_id})
    sync.status = SyncStatus.QUEUED
    sync.error_code = sync.error_message = ""
    sync.save(update_fields=["status", "error_code", "error_message", "updated_at"])
    delivery.queue_after_commit(outbox.add(document=document, reason=reason))
