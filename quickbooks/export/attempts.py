"""What one delivery of an outbox row came to, and the attempt row it leaves.

The single-document path (``reconcile``) and the batch path (``batch``) each return a
``DeliveryResult`` per outbox row; ``delivery.settle`` alone acts on it (finish, release or
re-dispatch the row, the document's sync status) and writes its ``SyncAttempt`` with
``record_attempt``.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.utils import timezone

from procurement.models import Document
from quickbooks.client import QboClient
from quickbooks.connection import closed_books_message, refresh_company_settings
from quickbooks.errors import (
    QboBooksClosed,
    QboDuplicate,
    QboError,
    QboNotFound,
    QboThrottled,
    QboTransient,
    QuickBooksError,
    retry_delay,
)
from quickbooks.models import Connection, OutboxItem, SyncAttempt

MAX_ATTEMPTS = 10


class Outcome(enum.StrEnum):
    DONE = "done"  # QuickBooks matches the document (or there was nothing to do)
    RETRY = "retry"  # try again after ``delay``; the document shows "Retrying: ..."
    FAILED = "failed"  # the user must act; the document shows the message
    PAUSED = "paused"  # not our turn (not connected, our own limiter): back to pending, not counted
    CRASHED = "crashed"  # a bug or a database hiccup: counted, so a poison row ends Failed


@dataclass
class DeliveryResult:
    outcome: Outcome
    operation: str = ""  # what was done or tried, as the attempt log says it
    message: str = ""  # the attempt's message (QuickBooks' words)
    user_message: str = ""  # what the document shows when it failed or is retrying ("" = message)
    code: str = ""  # QuickBooks' fault code, or our reason (closed_period, mapping, ...)
    error_code: str = ""  # the document's error code when it failed ("" = code)
    qbo_id: str = ""
    qbo_status: int | None = None
    request_id: str = ""
    delay: dt.timedelta = field(default_factory=dt.timedelta)
    redispatch: bool = False  # PAUSED: also send a message for when the delay is over
    until_reconnected: bool = False  # PAUSED for a reconnect: go at once if it has happened meanwhile
    # Filled by Stopwatch.stamp; a result that was never stamped leaves no attempt row.
    started_at: dt.datetime | None = None
    duration_ms: int = 0
    api_calls: int = 0

    @property
    def shown(self) -> str:
        return self.user_message or self.message

    @classmethod
    def done(cls, operation: str, *, qbo_id: str = "", request_id: str = "") -> DeliveryResult:
        return cls(Outcome.DONE, operation=operation, qbo_id=qbo_id, request_id=request_id)

    @classmethod
    def refused(cls, exc: QuickBooksError, *, operation: str = "check") -> DeliveryResult:
        """Our own refusal (closed books, unmappable line, PO already billed): failed, user acts."""
        return cls(Outcome.FAILED, operation=operation, message=exc.message, code=exc.code)

    @classmethod
    def paused(
        cls, message: str, *, delay: dt.timedelta, redispatch: bool = False, until_reconnected: bool = False
    ) -> DeliveryResult:
        return cls(
            Outcome.PAUSED, message=message, delay=delay, redispatch=redispatch, until_reconnected=until_reconnected
        )


class Stopwatch:
    """Started when a delivery begins; ``stamp`` puts its time and QuickBooks calls on a result."""

    def __init__(self, client: QboClient) -> None:
        self.client = client
        self.started_at = timezone.now()
        self._clock = time.perf_counter()
        self._calls = client.calls

    def stamp(self, result: DeliveryResult, *, api_calls: int | None = None) -> DeliveryResult:
        return replace(
            result,
            started_at=self.started_at,
            duration_ms=int((time.perf_counter() - self._clock) * 1000),
            api_calls=self.client.calls - self._calls if api_calls is None else api_calls,
        )


def user_message(exc: QboError) -> str:
    detail = f" {exc.detail}" if exc.detail and exc.detail not in exc.message else ""
    if isinstance(exc, QboNotFound):
        return (
            f"QuickBooks could not find something this document uses ({exc.message}.{detail}). It may have been "
            "deleted or made inactive in QuickBooks: import the lists again on Integrations, correct the "
            "document in a revision if needed, then press Retry."
        )
    if isinstance(exc, QboDuplicate) and exc.fault_code == "6240":  # a name (our vendor's) is taken
        return f"QuickBooks refused a duplicate name: {exc.message}.{detail}"
    if isinstance(exc, QboDuplicate):
        return f"QuickBooks refused a duplicate: {exc.message}.{detail} Correct the number, then press Retry."
    if isinstance(exc, QboTransient | QboThrottled):
        return f"QuickBooks kept failing ({exc.message}). Press Retry to try again."
    return f"QuickBooks refused the document: {exc.message}.{detail}"


def result_for_error(
    *, connection: Connection, client: QboClient, item: OutboxItem, document: Document, exc: QboError, operation: str
) -> DeliveryResult:
    """A QuickBooks failure as a result: retried after a delay from the retry table, or failed with
    a message that says what to do."""
    failed = DeliveryResult(
        Outcome.FAILED, operation=operation, message=exc.message, code=exc.fault_code, qbo_status=exc.qbo_status
    )
    if isinstance(exc, QboBooksClosed):
        # QBO's own closed-period fault: same message as our pre-check, never retried blindly.
        refresh_company_settings(connection, client)
        close = connection.book_close_date
        shown = (
            closed_books_message(document_date=document.issue_date, close_date=close, number=document.number)
            if close
            else f"QuickBooks says the accounting period of {document.number} is closed. Ask your accountant "
            "to reopen it in QuickBooks, or revise the document's date, then press Retry."
        )
        return replace(failed, user_message=shown, error_code="closed_period")
    delay = retry_delay(exc, item.attempts + 1, scale=float(settings.QBO_RETRY_SCALE))
    if delay is not None and item.attempts + 1 < MAX_ATTEMPTS:
        return replace(
            failed, outcome=Outcome.RETRY, user_message=f"Retrying: {exc.message}", delay=dt.timedelta(seconds=delay)
        )
    return replace(failed, user_message=user_message(exc), error_code=exc.fault_code or exc.cause)


_ATTEMPT_OUTCOME = {Outcome.DONE: "ok", Outcome.RETRY: "retry", Outcome.FAILED: "failed"}


def record_attempt(*, item: OutboxItem, result: DeliveryResult) -> None:
    """The attempt row of a stamped result (pauses and crashes leave none: nothing was tried)."""
    record_attempts([(item, result)])


def record_attempts(results: list[tuple[OutboxItem, DeliveryResult]]) -> None:
    """``record_attempt`` for several rows at once (a batch's), in one INSERT."""
    attempts = [
        _attempt(item, result, result.started_at)
        for item, result in results
        if result.started_at is not None and result.outcome in _ATTEMPT_OUTCOME
    ]
    if len(attempts) == 1:
        attempts[0].save(force_insert=True)
    elif attempts:
        SyncAttempt.objects.bulk_create(attempts)


def _attempt(item: OutboxItem, result: DeliveryResult, started_at: dt.datetime) -> SyncAttempt:
    return SyncAttempt(
        outbox=item,
        document_id=item.document_id,
        operation=result.operation[:60],
        request_id=result.request_id,
        started_at=started_at,
        duration_ms=result.duration_ms,
        http_status=result.qbo_status,
        outcome=_ATTEMPT_OUTCOME[result.outcome],
        fault_code=result.code[:40],
        message=result.message,
        qbo_id=result.qbo_id,
        api_calls=result.api_calls,
    )
