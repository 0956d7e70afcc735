"""The outbox rows: written with the change, claimed with compare-and-set, found again by the sweeper.

Nothing here talks to QuickBooks or sends messages (``quickbooks.export.delivery`` does both). A row
means "make QuickBooks match this document as it is now", so one pending row per document is
enough: a second change before delivery just makes the pending row due now. ``release`` and
``finish`` are called by ``delivery.settle`` only.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from procurement.models import Document
from quickbooks.models import Connection, ConnectionStatus, OutboxItem, OutboxState

# A claim not finished by then is taken to be a crashed worker's. The delivery actor's time limit
# is shorter (delivery.DELIVERY_TIME_LIMIT), so a live delivery never outlives its claim.
CLAIM_LEASE = dt.timedelta(seconds=settings.QBO_CLAIM_LEASE_SECONDS)
REDISPATCH_AFTER = dt.timedelta(seconds=60)
SWEEP_MAX = 5000


def add(*, document: Document, reason: str) -> OutboxItem:
    """The pending row for ``document``, due now. Call inside the transaction that changed it."""
    now = timezone.now()
    # Write first, read after: a row read as pending and then saved could meanwhile have been
    # claimed and finished by a worker that saw the document before this change, and saving it
    # would not bring it back (found by bench/chaos.py). An UPDATE conditioned on "still pending"
    # holds the row (PostgreSQL re-checks the condition after a concurrent claim commits).
    pending = OutboxItem.objects.filter(document=document, state=OutboxState.PENDING)
    if pending.update(reason=reason, not_before=now):
        item = pending.first()
        if item is not None:
            return item
    return OutboxItem.objects.create(company_id=document.company_id, document=document, reason=reason, not_before=now)


def mark_dispatched(item_ids: list[uuid.UUID]) -> None:
    OutboxItem.objects.filter(id__in=item_ids).update(dispatched_at=timezone.now())


def _claimable(company_id: int) -> Q:
    in_flight_documents = OutboxItem.objects.filter(company_id=company_id, state=OutboxState.IN_FLIGHT).values(
        "document_id"
    )
    return Q(company_id=company_id, state=OutboxState.PENDING, not_before__lte=timezone.now()) & ~Q(
        document_id__in=in_flight_documents
    )


def pending_row(item_id: uuid.UUID | str) -> tuple[int, int] | None:
    """(company, document) of ``item_id`` while it waits; None once another delivery took it. Most
    messages of a bulk export find their row already sent in another row's batch and stop here."""
    row = OutboxItem.objects.filter(pk=item_id, state=OutboxState.PENDING).values_list("company_id", "document_id")
    return row.first()


def row_of(item_id: uuid.UUID | str) -> tuple[int, int] | None:
    """(company, document) of ``item_id`` whatever its state."""
    return OutboxItem.objects.filter(pk=item_id).values_list("company_id", "document_id").first()


def claim(item_id: uuid.UUID | str, *, batch_up_to: int = 0) -> list[OutboxItem]:
    """Claim ``item_id`` and, when its company has a backlog, up to ``batch_up_to`` more due rows.

    Compare-and-set: only rows still pending are taken, stamped with our token, and we return the
    rows that carry it. A document never has two rows in flight (the table's constraint), so
    deliveries of one document never overlap; a claim that loses that race to another worker
    takes its own row alone, or nothing.
    """
    first = pending_row(item_id)
    if first is None:
        return []
    company_id, document_id = first
    # A backlog means bulk work (first sync, "send all", a burst of approvals): take a batch.
    extra = batch_up_to if batch_up_to and backlog(company_id) >= 2 else 0
    return _claim(company_id, item_id, document_id, extra=extra, or_oldest=False)


def claim_in_lane(item_id: uuid.UUID | str, company_id: int, document_id: int, *, up_to: int) -> list[OutboxItem]:
    """Claim up to ``up_to`` due rows of the company for a lane whose request is already paid for:
    ``item_id`` first, or, when another delivery took it meanwhile, the company's oldest due rows
    (a paid batch request left unused would be 30 documents' worth of the minute lost)."""
    return _claim(company_id, item_id, document_id, extra=up_to - 1, or_oldest=True)


def _claim(
    company_id: int, item_id: uuid.UUID | str, document_id: int, *, extra: int, or_oldest: bool
) -> list[OutboxItem]:
    token = uuid.uuid4()
    with transaction.atomic():
        wanted = list(OutboxItem.objects.filter(_claimable(company_id), pk=item_id).values_list("id", flat=True))
        if wanted and extra:
            wanted += _more_documents(company_id, extra, besides=(item_id, document_id))
        elif not wanted and or_oldest:
            wanted = _more_documents(company_id, extra + 1)
        if not wanted:
            return []
        if not _take(wanted, token) and not _take(wanted[:1], token):
            return []
    claimed = {row.id: row for row in OutboxItem.objects.filter(claim_token=token, state=OutboxState.IN_FLIGHT)}
    return [claimed[i] for i in wanted if i in claimed]


def _more_documents(
    company_id: int, up_to: int, *, besides: tuple[uuid.UUID | str, int] | None = None
) -> list[uuid.UUID]:
    """Up to ``up_to`` due rows, oldest first, one per document: a document can have two rows
    waiting (a change made while its delivery was in flight, and that delivery retried), and two
    rows of one document in one batch would send it twice."""
    rows = OutboxItem.objects.filter(_claimable(company_id))
    seen: set[int] = set()
    if besides is not None:
        rows = rows.exclude(pk=besides[0]).exclude(document_id=besides[1])
        seen.add(besides[1])
    more: list[uuid.UUID] = []
    for row_id, row_document in rows.order_by("not_before", "created_at").values_list("id", "document_id")[: up_to * 2]:
        if row_document not in seen and len(more) < up_to:
            seen.add(row_document)
            more.append(row_id)
    return more


def _take(ids: list[uuid.UUID], token: uuid.UUID) -> bool:
    """Stamp the rows still pending with ``token``; False when another worker took a row of one of
    their documents meanwhile (the one-in-flight constraint refused the whole statement)."""
    try:
        with transaction.atomic():
            OutboxItem.objects.filter(id__in=ids, state=OutboxState.PENDING).update(
                state=OutboxState.IN_FLIGHT, claim_token=token, claimed_until=timezone.now() + CLAIM_LEASE
            )
    except IntegrityError:
        return False
    return True


def backlog(company_id: int) -> int:
    return OutboxItem.objects.filter(_claimable(company_id)).count()


def has_backlog(company_id: int) -> bool:
    """Two or more rows due: bulk work. Counts no further, so it costs the same at 5,000 rows."""
    return OutboxItem.objects.filter(_claimable(company_id))[:2].count() >= 2


def oldest_waiting(company_id: int) -> tuple[uuid.UUID, int] | None:
    """(row, document) of the company's oldest due row nobody has claimed."""
    rows = OutboxItem.objects.filter(_claimable(company_id)).order_by("not_before", "created_at")
    return rows.values_list("id", "document_id").first()


def release(item: OutboxItem, *, delay: dt.timedelta, error: str = "", count_attempt: bool = True) -> bool:
    """Back to pending, due after ``delay``; only while the claim is ours (compare-and-set)."""
    return _settle_row(
        item,
        state=OutboxState.PENDING,
        not_before=timezone.now() + delay,
        claimed_until=None,
        last_error=error[:2000],
        attempts=item.attempts + (1 if count_attempt else 0),
    )


def finish(item: OutboxItem, *, failed: bool = False, error: str = "") -> bool:
    """Done (or failed for good); only while the claim is ours (compare-and-set)."""
    return _settle_row(
        item,
        state=OutboxState.FAILED if failed else OutboxState.DONE,
        finished_at=timezone.now(),
        last_error=error[:2000],
        attempts=item.attempts + 1,
    )


def finish_all(items: list[OutboxItem]) -> bool:
    """``finish`` (done) for rows claimed together, in one UPDATE, all or none: True when every row
    was still ours (compare-and-set on the claim's token) and is done now. False changes nothing,
    and the caller finishes them row by row, to know each one's outcome (a row whose lease ran out
    may have been taken by another worker)."""
    tokens = {item.claim_token for item in items}
    if len(tokens) != 1 or None in tokens:
        return False
    now = timezone.now()
    with transaction.atomic():
        done = OutboxItem.objects.filter(
            pk__in=[item.pk for item in items], state=OutboxState.IN_FLIGHT, claim_token=tokens.pop()
        ).update(
            claim_token=None, state=OutboxState.DONE, finished_at=now, last_error="", attempts=F("attempts") + 1
        )
        if done != len(items):
            transaction.set_rollback(True)
            return False
    for item in items:  # as ``_settle_row`` leaves a row it finished
        item.state, item.finished_at, item.last_error = OutboxState.DONE, now, ""
        item.attempts += 1
        item.claim_token = None
    return True


def _settle_row(item: OutboxItem, **changes: object) -> bool:
    won = OutboxItem.objects.filter(pk=item.pk, state=OutboxState.IN_FLIGHT, claim_token=item.claim_token).update(
        claim_token=None, **changes
    )
    if won:
        for name, value in changes.items():
            setattr(item, name, value)
        item.claim_token = None
    return bool(won)


def due_now(item: OutboxItem) -> None:
    """A pending row is due at once (its wait is over early)."""
    OutboxItem.objects.filter(pk=item.pk, state=OutboxState.PENDING).update(not_before=timezone.now())


def waiting_ids(company_id: int) -> list[uuid.UUID]:
    """After (re)connecting: every pending row of the company, made due now."""
    waiting = OutboxItem.objects.filter(company_id=company_id, state=OutboxState.PENDING)
    waiting.update(not_before=timezone.now())
    return list(waiting.values_list("id", flat=True))


def has_unfinished(document: Document) -> bool:
    return OutboxItem.objects.filter(document=document, state__in=[OutboxState.PENDING, OutboxState.IN_FLIGHT]).exists()


def due_for_sweep(*, leave_out: list[int] | None = None) -> list[tuple[uuid.UUID, int]]:
    """(row, company) of rows of crashed workers (their claim's lease ran out) and of rows whose
    message was lost, but none of the companies in ``leave_out``."""
    now = timezone.now()
    # A claim past its lease belonged to a worker that died: the row is due again at once.
    OutboxItem.objects.filter(state=OutboxState.IN_FLIGHT, claimed_until__lt=now).update(
        state=OutboxState.PENDING, claim_token=None, claimed_until=None, dispatched_at=None
    )
    live = Connection.objects.filter(status=ConnectionStatus.CONNECTED).values("company_id")
    due = OutboxItem.objects.filter(state=OutboxState.PENDING, not_before__lte=now, company_id__in=live).filter(
        Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=now - REDISPATCH_AFTER)
    )
    if leave_out:
        due = due.exclude(company_id__in=leave_out)
    return list(due.values_list("id", "company_id")[:SWEEP_MAX])
