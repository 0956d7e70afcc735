"""What a delivery leaves behind: the document's link and sync status, the outbox row, the attempt.

Shared by the single-document path (``quickbooks.sync``) and the batch path (``quickbooks.sync_batch``).
"""

from __future__ import annotations

import datetime as dt
import time
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils import timezone

from procurement.models import Document, Status
from quickbooks import outbox
from quickbooks.client import QboClient
from quickbooks.connection import closed_books_message, closing_date, refresh_company_settings
from quickbooks.errors import Kind, QboError, retry_delay
from quickbooks.models import Connection, DocumentSync, OutboxItem, SyncAttempt, SyncStatus

SENDABLE = frozenset({Status.APPROVED, Status.PARTLY_PAID, Status.PAID})
MAX_ATTEMPTS = 10
_NS = uuid.UUID("0f7c8d1e-3b9a-4c55-8e0b-5a1d2f3c4b6e")


def request_id(item: OutboxItem, operation: str, sync_token: str = "") -> str:
    """The same logical write always gets the same id; a new write (new SyncToken) a new one."""
    return str(uuid.uuid5(_NS, f"{item.id}:{operation}:{sync_token}"))


@dataclass
class Outcome:
    operation: str
    qbo_id: str = ""
    message: str = ""


class Permanent(Exception):
    """A refusal the user must resolve; never retried by itself."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def check_books(connection: Connection, client: QboClient, document: Document) -> None:
    close = closing_date(connection, client)
    if close is not None and document.issue_date <= close:
        raise Permanent(
            closed_books_message(document_date=document.issue_date, close_date=close, number=document.number),
            code="closed_period",
        )


def mark_linked(
    sync: DocumentSync, connection: Connection, entity: str, body: dict[str, Any], document: Document
) -> None:
    sync.realm_id = connection.realm_id
    sync.qbo_entity = entity
    sync.qbo_id = str(body["Id"])
    sync.sync_token = str(body.get("SyncToken", ""))
    sync.synced_revision = document.revision
    sync.create_uncertain = False
    sync.deleted_in_qbo = False
    sync.status = SyncStatus.SENT
    sync.sent_at = timezone.now()
    sync.error_code = sync.error_message = ""
    sync.save()


def set_status(sync: DocumentSync, status: str) -> None:
    if sync.status != status:
        sync.status = status
        sync.save(update_fields=["status", "updated_at"])


def mark_failed(item: OutboxItem, sync: DocumentSync, *, code: str, message: str) -> None:
    sync.status = SyncStatus.FAILED
    sync.error_code = code[:40]
    sync.error_message = message
    sync.save(update_fields=["status", "error_code", "error_message", "updated_at"])
    outbox.finish(item, failed=True, error=message)


def user_message(exc: QboError) -> str:
    detail = f" {exc.detail}" if exc.detail and exc.detail not in exc.message else ""
    if exc.kind is Kind.NOT_FOUND:
        return (
            f"QuickBooks could not find something this document uses ({exc.message}.{detail}). It may have been "
            "deleted or made inactive in QuickBooks: import the lists again on Integrations, correct the "
            "document in a revision if needed, then press Retry."
        )
    if exc.kind is Kind.DUPLICATE:
        return f"QuickBooks refused a duplicate: {exc.message}.{detail} Correct the number, then press Retry."
    if exc.kind in (Kind.TRANSIENT, Kind.THROTTLED):
        return f"QuickBooks kept failing ({exc.message}). Press Retry to try again."
    return f"QuickBooks refused the document: {exc.message}.{detail}"


def after_error(
    connection: Connection, client: QboClient, item: OutboxItem, document: Document, sync: DocumentSync, exc: QboError
) -> None:
    if exc.kind is Kind.CLOSED_PERIOD:
        # QBO's own closed-period fault: same message as our pre-check, never retried blindly.
        refresh_company_settings(connection, client)
        close = connection.book_close_date
        message = (
            closed_books_message(document_date=document.issue_date, close_date=close, number=document.number)
            if close
            else f"QuickBooks says the accounting period of {document.number} is closed. Ask your accountant "
            "to reopen it in QuickBooks, or revise the document's date, then press Retry."
        )
        mark_failed(item, sync, code="closed_period", message=message)
        return
    delay = retry_delay(exc.kind, item.attempts + 1, scale=float(settings.QBO_RETRY_SCALE))
    if delay is not None and item.attempts + 1 < MAX_ATTEMPTS:
        sync.status = SyncStatus.QUEUED
        sync.error_message = f"Retrying: {exc.message}"
        sync.save(update_fields=["status", "error_message", "updated_at"])
        wait = dt.timedelta(seconds=delay)
        outbox.release(item, delay=wait, error=str(exc))
        outbox.dispatch([item.id], delay=wait)
        return
    mark_failed(item, sync, code=exc.code or exc.kind.value, message=user_message(exc))


def record_attempt(
    item: OutboxItem,
    document: Document,
    started: dt.datetime,
    clock: float,
    calls: int,
    operation: str,
    *,
    outcome: Outcome | None = None,
    exc: QboError | None = None,
    message: str = "",
    code: str = "",
) -> None:
    if exc is not None:
        result = "retry" if exc.retryable else "failed"
        message, code = str(exc.message), exc.code
    else:
        result = "ok" if outcome is not None else "failed"
    SyncAttempt.objects.create(
        outbox=item,
        document=document,
        operation=operation,
        request_id=request_id(item, "create") if operation.startswith("create") else "",
        started_at=started,
        duration_ms=int((time.perf_counter() - clock) * 1000),
        http_status=exc.http_status if exc else None,
        outcome=result,
        fault_code=code[:40],
        message=message or (outcome.message if outcome else ""),
        qbo_id=outcome.qbo_id if outcome else "",
        api_calls=calls,
    )
