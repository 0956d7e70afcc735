"""What puts documents on their way to QuickBooks: approvals and cancellations, Send, Retry, reconnects.

Each writes the document's outbox row in the caller's transaction and queues its delivery after
commit (``delivery.queue_after_commit``).
"""

from __future__ import annotations

from django.db import transaction

from accounts.audit import Action, record
from accounts.models import User
from accounts.roles import Permission, require
from procurement.models import Document, DocumentKind
from procurement.workflow import APPROVED_STATUSES, FINAL_STATUSES, DocumentAction
from quickbooks.connection import connection_of, forget_closing_date
from quickbooks.errors import NotConnected, SendRefused
from quickbooks.export import delivery, outbox
from quickbooks.models import Connection, ConnectionStatus, DocumentSync, OutboxItem, SyncStatus
from quickbooks.progress import send_run_start


def document_send(*, actor: User, document: Document) -> None:
    """ "Send to QuickBooks" / Retry on one document."""
    require(actor, Permission.QUICKBOOKS_SEND)
    _check_sendable(document, not_approved="Only approved documents are sent to QuickBooks.")
    with transaction.atomic():
        _queue(document, reason="sent by hand")


def _check_sendable(document: Document, *, not_approved: str) -> None:
    """Refuse what a person cannot send now, with the reason; then forget the cached closing date,
    since whoever presses Send or Retry may just have had the books reopened."""
    connection = connection_of(document.company_id)
    if connection.status == ConnectionStatus.NOT_CONNECTED:
        raise NotConnected("QuickBooks is not connected; an Admin can connect it on Integrations.")
    if not connection.sends(document.kind):
        label = " and ".join(f"{DocumentKind(kind).label.lower()}s" for kind in connection.sent_kinds)
        raise SendRefused(f"Only {label} are sent to QuickBooks (Integrations settings).")
    if document.status not in APPROVED_STATUSES and document.status not in FINAL_STATUSES:
        raise SendRefused(not_approved)
    forget_closing_date(document.company_id)


def documents_retry_failed(*, actor: User) -> int:
    """Queue every failed document of the company again; a backlog goes out through batch requests."""
    require(actor, Permission.QUICKBOOKS_SEND)
    # Only what has something to send now: a failed document back in revision keeps its failure
    # (and goes out when approved); a rejected or cancelled one with nothing in QuickBooks has none.
    failed = Document.objects.filter(
        company_id=actor.tenant_id, qbo_sync__status=SyncStatus.FAILED, status__in=APPROVED_STATUSES | FINAL_STATUSES
    )
    forget_closing_date(actor.tenant_id)
    ids = []
    with transaction.atomic():
        for document in failed:
            _queue(document, reason="retry all failed")
            ids.append(document.pk)
        if ids:  # a press with nothing to retry changed nothing
            record(Action.RETRY_ALL_FAILED, actor=actor, target="Failed documents", details={"documents": len(ids)})
            send_run_start(company_id=actor.tenant_id, document_ids=ids, reason="retry all failed", actor=actor)
    return len(ids)


def documents_resume(connection: Connection) -> int:
    """After (re)connecting: everything that waited goes out now."""
    ids = outbox.waiting_ids(connection.company_id)
    waiting = OutboxItem.objects.filter(pk__in=ids).values_list("document_id", flat=True)
    send_run_start(company_id=connection.company_id, document_ids=waiting, reason="waiting documents", actor=None)
    delivery.dispatch(ids)
    return len(ids)


def on_document_transition(document: Document, action: DocumentAction, actor: User | None) -> None:
    """Listener (inside the transition's transaction): queue what QuickBooks must now reflect."""
    connection = Connection.objects.filter(company_id=document.company_id).first()
    if connection is None or connection.status == ConnectionStatus.NOT_CONNECTED:
        return
    if not connection.sends(document.kind):
        if action is DocumentAction.APPROVE:
            DocumentSync.objects.update_or_create(
                document=document, defaults={"company_id": document.company_id, "status": SyncStatus.INTERNAL}
            )
        return
    sync = DocumentSync.objects.filter(document=document).first()
    # In QuickBooks, or possibly (a create whose answer was lost), or on its way there.
    in_qbo = bool(sync and (sync.qbo_id or sync.create_uncertain) and not sync.deleted_in_qbo)
    if action is DocumentAction.APPROVE:
        if sync is not None and sync.error_code == "closed_period":
            forget_closing_date(document.company_id)  # the revision may answer a closed period
        # A revision of a document already in QuickBooks always follows, so QBO never stays stale.
        if connection.auto_send or in_qbo:
            _queue(document, reason="revision approved" if in_qbo else "approved")
        else:
            DocumentSync.objects.update_or_create(
                document=document, defaults={"company_id": document.company_id, "status": SyncStatus.NOT_SENT}
            )
    elif action in (DocumentAction.CANCEL, DocumentAction.REJECT):
        # Cancelled, or rejected (final: it will never be paid here): QuickBooks must not hold it.
        if in_qbo or outbox.has_unfinished(document):
            _queue(document, reason="cancelled" if action is DocumentAction.CANCEL else "rejected")
        elif sync is not None and sync.status == SyncStatus.FAILED:
            # Never sent, and now never will be: keep the failure as the record of why.
            sync.status = SyncStatus.INTERNAL
            sync.error_message = (
                f"Not sent: the document was {document.get_status_display().lower()}. "
                f"Its last attempt had failed: {sync.error_message}"
            )
            sync.save(update_fields=["status", "error_message", "updated_at"])


def _queue(document: Document, *, reason: str) -> None:
    sync, _ = DocumentSync.objects.get_or_create(document=document, defaults={"company_id": document.company_id})
    sync.status = SyncStatus.QUEUED
    sync.error_code = sync.error_message = ""
    sync.save(update_fields=["status", "error_code", "error_message", "updated_at"])
    delivery.queue_after_commit(outbox.add(document=document, reason=reason))


def document_send_again(*, actor: User, document: Document, gone_from_qbo: bool = False) -> None:
    """Reconciliation's "Send ours again": make QuickBooks hold the document as it is now, whatever
    QuickBooks holds at the moment.

    A link to a bill QuickBooks deleted (``gone_from_qbo``: the caller found it gone; or
    ``deleted_in_qbo`` on an approved document) is cleared — QBO id, SyncToken, revision sent — so
    the delivery creates it again. A link to a bill that is still there is marked as holding no
    known revision, so the delivery writes ours over it with a full update (an edit made in
    QuickBooks, or fields that differ, are replaced by ours). Cancelled and rejected documents are
    removed from QuickBooks, as always.
    """
    require(actor, Permission.QUICKBOOKS_SEND)
    _check_sendable(
        document,
        not_approved=f"{document.number} is {document.get_status_display()}; it is sent again once it is approved.",
    )
    with transaction.atomic():
        sync, _ = DocumentSync.objects.select_for_update().get_or_create(
            document=document, defaults={"company_id": document.company_id}
        )
        if document.status in APPROVED_STATUSES and sync.qbo_id:
            if gone_from_qbo or sync.deleted_in_qbo:
                sync.qbo_id = sync.sync_token = ""
                sync.deleted_in_qbo = False
                sync.create_uncertain = False
                sync.create_attempt = None
            sync.synced_revision = None
            sync.save(
                update_fields=[
                    "qbo_id",
                    "sync_token",
                    "synced_revision",
                    "deleted_in_qbo",
                    "create_uncertain",
                    "create_attempt",
                    "updated_at",
                ]
            )
        _queue(document, reason="sent again (reconciliation)")
